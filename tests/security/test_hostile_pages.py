"""The server errors the page crawl (test_page_fuzzing.py) found, one test each: hostile input is refused or
ignored with a 4xx or a 200, never a 500."""

from axes.models import AccessAttempt
from django.test import Client

from invoicing.services.invoices import invoice_create_prepaid
from msgplatform.accounts.models import User
from tests.factories import PortalLoginFactory, StaffFactory

HUGE = "99999999999999999999"  # beyond 64 bits: SQLite raises OverflowError, PostgreSQL an out-of-range error


def test_a_next_address_that_is_not_a_path_sends_back_to_the_invoice(admin, user):
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00", as_draft=True
    )

    for hostile in ["nan", "[]", "'\"<script>", "https://evil.example/", "//evil.example/", "/\\evil.example/"]:
        response = admin.client.post(f"/invoicing/invoices/{draft.id}/approve/", {"next": hostile})

        assert response.status_code == 302, hostile
        assert response["Location"] == f"/invoicing/invoices/{draft.id}/", hostile


def test_a_next_address_on_this_site_is_kept(admin, user):
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00", as_draft=True
    )

    response = admin.client.post(f"/invoicing/invoices/{draft.id}/approve/", {"next": "/invoicing/invoices/?tab=all"})

    assert response["Location"] == "/invoicing/invoices/?tab=all"


def test_the_code_step_ignores_a_next_address_that_is_not_a_path(db):
    client = Client()
    client.force_login(StaffFactory())

    response = client.get("/login/code/", {"next": "nan"})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_an_invoice_page_beyond_any_offset_shows_the_first_page(admin, user):
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00")

    response = admin.client.get("/invoicing/invoices/", {"page": HUGE})

    assert response.status_code == 200
    assert invoice.number in response.content.decode()


def test_the_invoice_search_refuses_a_page_beyond_any_offset(admin):
    from invoicing.selectors.invoices import InvoiceFilters, invoice_search
    from msgplatform.core.errors import ValidationFailed

    try:
        invoice_search(tenant=admin.tenant, filters=InvoiceFilters(), page=10**20)
    except ValidationFailed as error:
        assert (error.field, error.message) == ("page", "Page must be between 1 and 1,000,000.")
    else:
        raise AssertionError("no refusal")


def test_ids_beyond_64_bits_are_no_rows(admin):
    assert admin.client.get("/invoicing/invoices/approve/", {"invoice_ids": HUGE}).status_code == 200
    assert admin.client.get("/invoicing/payments/new/", {"account": HUGE}).status_code == 200


def test_a_nul_byte_in_a_page_query_is_a_bad_request(admin, user):
    for url in ["/users/", "/invoicing/settings/taxes/", "/invoicing/invoices/"]:
        assert admin.client.get(url, {"q": "a\x00b"}).status_code == 400, url


def test_a_nul_byte_in_a_posted_form_is_a_bad_request(admin):
    response = admin.client.post("/invoicing/settings/taxes/new/", {"name": "VAT\x00", "rate": "7"})

    assert response.status_code == 400


def test_the_api_answers_a_nul_byte_itself(admin):
    from tests.api.conftest import token_client

    response = token_client(admin.tenant).get("/api/v1/invoices/", {"q": "a\x00b"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_username_longer_than_any_login_is_refused_before_authentication(db):
    response = Client().post("/login/", {"username": "a" * 5000, "password": "x"})

    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_the_admin_never_shows_an_authenticators_secret(db):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "correct-horse-battery"))

    assert client.get("/django-admin/otp_totp/totpdevice/1/config/").status_code == 403
    assert client.get("/django-admin/otp_totp/totpdevice/1/qrcode/").status_code == 403


def test_portal_pages_with_a_nul_byte_are_a_bad_request(admin, user):
    client = Client()
    client.force_login(PortalLoginFactory(account=user))

    assert client.get("/me/usage/", {"month": "\x00"}).status_code == 400
