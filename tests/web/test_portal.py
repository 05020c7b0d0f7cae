"""The user's own portal: approved invoices only, its PDFs and payments, balance, usage; never anyone else's."""

from django.test import Client

from invoicing.services.invoices import invoice_create_prepaid
from tests.factories import AccountFactory, PortalLoginFactory

from .conftest import ingest


def html(response) -> str:
    return response.content.decode()


def portal(account) -> Client:
    client = Client()
    client.force_login(PortalLoginFactory(account=account))
    return client


def test_user_sees_only_its_approved_invoices(admin, book, user):
    stranger = AccountFactory(tenant=admin.tenant, name="Zeta Ltd")
    theirs = invoice_create_prepaid(
        tenant=admin.tenant, account_id=stranger.id, actor_id=admin.login.id, recharge_amount="9"
    )
    client = portal(user)

    page = html(client.get("/me/invoices/"))

    assert "INV-2026-00001" in page and "PARTIALLY PAID" in page and "$575.00" in page
    assert theirs.number not in page and "DRAFT" not in page
    assert client.get(f"/me/invoices/{theirs.id}/").status_code == 404
    assert client.get(f"/me/invoices/{book.draft.id}/").status_code == 404
    assert client.get(f"/me/invoices/{theirs.id}/pdf/").status_code == 404


def test_user_opens_its_invoice_pdf_and_payments(admin, book, user):
    client = portal(user)

    detail = html(client.get(f"/me/invoices/{book.paid_part.id}/"))
    pdf = client.get(f"/me/invoices/{book.paid_part.id}/pdf/")
    payments = html(client.get("/me/payments/"))

    assert "VAT (7.5 %)" in detail and "$1,075.00" in detail
    assert pdf.content[:4] == b"%PDF"
    assert "INV-2026-00001" in payments and "$500.00" in payments


def test_portal_home_shows_the_balance_and_usage_by_country(admin, book, postpaid_user):
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-03")
    client = portal(postpaid_user)

    home = html(client.get("/me/"))
    usage = html(client.get("/me/usage/"))
    february = html(client.get("/me/usage/?month=2026-02"))

    assert 'data-testid="portal-balance">-$0.02<' in home and "My invoices" in home
    assert "Usage in March 2026" in usage and "<strong>2</strong> messages" in usage and "$0.02" in usage
    assert "No messages this month." in february


def test_user_of_an_unlicensed_admin_sees_not_licensed(admin, book, user):
    admin.tenant.invoicing_license.delete()
    client = portal(user)

    home = html(client.get("/me/"))
    invoices = client.get("/me/invoices/")

    assert 'data-testid="portal-not-licensed"' in home
    assert invoices.status_code == 403 and "not licensed" in html(invoices)


def test_staff_cannot_open_portal_pages(admin, book):
    assert admin.client.get("/me/invoices/").status_code == 403
