"""The user's own portal and its credits (SPEC §4): the credit notes of its invoices with their PDFs, its customer
credit with the ledger, refunds and credit notes; never anyone else's."""

import io

from django.test import Client
from pypdf import PdfReader

from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.customer_credit import credit_adjust, refund_record, refund_reverse
from invoicing.services.invoices import invoice_create_prepaid
from tests.factories import AccountFactory, PortalLoginFactory


def html(response) -> str:
    return response.content.decode()


def portal(account) -> Client:
    client = Client()
    client.force_login(PortalLoginFactory(account=account))
    return client


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def credit(admin, book, **kwargs):
    """CN-2026-00001 on INV-2026-00001 (1,075.00, 500.00 paid): 200.00 + 15.00 VAT, balance due 360.00."""
    return credit_note_issue(
        tenant=admin.tenant,
        invoice_id=book.paid_part.id,
        actor_id=admin.login.id,
        reason="Recharge billed twice",
        lines={book.paid_part.lines.get().id: "200.00"},
        **kwargs,
    )


def test_user_sees_the_credit_notes_of_its_invoice_and_downloads_their_pdf(admin, book, user):
    note = credit(admin, book)
    client = portal(user)

    page = html(client.get(f"/me/invoices/{book.paid_part.id}/"))
    pdf = client.get(f"/me/credit-notes/{note.id}/pdf/")

    assert "CN-2026-00001" in page and "Recharge billed twice" in page and "$215.00" in page
    assert 'data-testid="portal-effective-total">$860.00<' in page and "$360.00" in page
    assert f'href="/me/credit-notes/{note.id}/pdf/"' in page
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf["Content-Disposition"] == 'attachment; filename="CN-2026-00001.pdf"'
    assert "Credit note for invoice INV-2026-00001 of 2026-03-20" in pdf_text(pdf.content)


def test_another_users_credit_note_is_not_found_and_staff_cannot_open_portal_downloads(admin, other_admin, book, user):
    note = credit(admin, book)
    neighbour = AccountFactory(tenant=admin.tenant, name="Zeta Ltd")
    theirs = invoice_create_prepaid(tenant=admin.tenant, account_id=neighbour.id, actor_id=None, recharge_amount="50")
    their_note = credit_note_issue(
        tenant=admin.tenant, invoice_id=theirs.id, actor_id=None, reason="Zeta only", amount="5.00"
    )
    foreign_user = AccountFactory(tenant=other_admin.tenant, name="Foreign Ltd")

    mine = portal(user)
    assert mine.get(f"/me/credit-notes/{their_note.id}/pdf/").status_code == 404
    assert "Zeta only" not in html(mine.get("/me/credit/")) and their_note.number not in html(mine.get("/me/credit/"))
    assert portal(neighbour).get(f"/me/credit-notes/{note.id}/pdf/").status_code == 404
    assert portal(foreign_user).get(f"/me/credit-notes/{note.id}/pdf/").status_code == 404
    # Staff, of this admin or another, use the staff pages: the portal's download is not theirs
    assert other_admin.client.get(f"/me/credit-notes/{note.id}/pdf/").status_code == 403
    assert admin.client.get(f"/me/credit-notes/{note.id}/pdf/").status_code == 403
    assert mine.get("/me/credit-notes/99999999999999999999/pdf/").status_code == 404


def test_credit_page_shows_the_balance_ledger_refunds_and_credit_notes_without_staff_details(admin, book, user):
    credit(admin, book)
    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, amount="50.00", reason="Goodwill")
    refund = refund_record(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=admin.login.id,
        amount="20.00",
        method="bank_transfer",
        reference="RF-7",
        notes="Approved by the finance lead",
    )
    refund_record(tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, amount="5.00", method="cash")
    refund_reverse(tenant=admin.tenant, refund_id=refund.id, actor_id=admin.login.id, reason="Bank returned it")
    client = portal(user)

    page = html(client.get("/me/credit/"))

    # 50.00 - 20.00 - 5.00 + 20.00 (the reversal) = 45.00
    assert 'data-testid="portal-credit-balance">$45.00<' in page
    entries = page.split('data-testid="portal-credit-entries"')[1].split("</table>")[0]
    for text in (
        "Manual adjustment",
        "Goodwill",
        "$50.00",
        "Refunded",
        "Refund by bank transfer RF-7",
        "-$20.00",
        "Refund reversed",
        "$45.00",
    ):
        assert text in entries, text
    refunds = page.split('data-testid="portal-refunds"')[1].split("</table>")[0]
    assert "RF-7" in refunds and "Bank transfer" in refunds and "Reversed" in refunds and "Refunded" in refunds
    notes = page.split('data-testid="portal-credit-notes"')[1].split("</table>")[0]
    assert "CN-2026-00001" in notes and "INV-2026-00001" in notes and "$215.00" in notes
    # Who recorded what, and the staff's own notes, stay on the staff pages
    assert admin.login.username not in page and "Approved by the finance lead" not in page


def test_credit_page_of_a_user_without_credit_says_so(admin, book, user):
    page = html(portal(user).get("/me/credit/"))

    assert 'data-testid="portal-credit-balance">$0.00<' in page
    assert "No credit yet." in page and "No refunds." in page and "No credit notes." in page


def test_portal_navigation_has_a_credit_entry_marked_on_its_page(admin, book, user):
    page = html(portal(user).get("/me/credit/"))

    assert '<a class="nav-link active" aria-current="page" href="/me/credit/">Credit</a>' in page
    assert '<a class="nav-link" href="/me/invoices/">My invoices</a>' in page


def test_credit_page_of_an_unlicensed_admins_user_says_not_licensed(admin, book, user):
    admin.tenant.invoicing_license.delete()

    response = portal(user).get("/me/credit/")

    assert response.status_code == 403 and "not licensed" in html(response)
