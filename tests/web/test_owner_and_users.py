"""Platform owner's licence page (with the test clock) and the host's user pages the console links to."""

from django.test import Client

from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record
from tests.factories import PortalLoginFactory

from .conftest import D


def test_licence_page_has_the_test_clock_form_when_enabled(admin, django_user_model, settings):
    settings.INVOICING_TEST_CLOCK = True
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw-pw-pw-pw"))

    page = client.get(f"/platform/admins/{admin.tenant.id}/licence/").content.decode()
    moved = client.post(f"/platform/admins/{admin.tenant.id}/test-clock/", {"days": "3"}, follow=True)

    assert "<title>Licence of Acme · Messaging billing</title>" in page
    assert "Move forward (days)" in page and "Today for Acme: <strong>2026-03-20</strong>" in page
    assert "today is now 2026-03-23" in moved.content.decode()


def test_user_list_exports_csv_and_formats_balances(admin, book, user):
    page = admin.client.get("/users/").content.decode()
    body = b"".join(admin.client.get("/users/?format=csv").streaming_content).decode()

    assert "$465.12" in page  # 500.00 of 1,075.00 paid credits 465.12 of the 1,000.00 recharge
    assert body.splitlines()[0].startswith("name,account_type,billing_method")
    assert any(line.startswith("Nimbus Ltd,user,prepaid") for line in body.splitlines())


def test_user_page_links_to_invoicing_and_exports_its_ledger(admin, book, user):
    page = admin.client.get(f"/users/{user.id}/").content.decode()
    body = b"".join(admin.client.get(f"/users/{user.id}/?format=csv").streaming_content).decode()

    assert f"/invoicing/invoices/?account_id={user.id}" in page and "Create invoice" in page
    assert "recharge,invoice INV-2026-00001 payment,465.12" in body


def test_portal_ledger_export_is_the_users_own(admin, book, user, postpaid_user):
    other = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, recharge_amount="1"
    )
    payment_record(
        tenant=admin.tenant,
        invoice_id=other.id,
        actor_id=admin.login.id,
        amount="1.08",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )
    client = Client()
    client.force_login(PortalLoginFactory(account=postpaid_user))

    body = b"".join(client.get("/me/?format=csv").streaming_content).decode()

    assert "INV-2026" not in body  # the postpaid user has no payments; Nimbus's rows are not its own
