"""Settings pages: general defaults, business profile and logo, taxes, bank details, email templates, reminder
policy, API tokens."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from invoicing.models import BankDetails, EmailTemplate, InvoicingSettings, TaxRate
from msgplatform.accounts.models import ApiToken, StaffRole
from msgplatform.accounts.services.tokens import token_authenticate
from tests.conftest import staff_client
from tests.security.images import image_bytes

PNG = image_bytes("PNG", (1, 1))


def html(response) -> str:
    return response.content.decode()


GENERAL = {
    "number_format": "ACME-{YY}{MM}-{seq:04}",
    "credit_note_number_format": "ACME-CN-{seq:04}",
    "default_due_days": "30",
    "default_terms": "Net 30",
    "default_notes": "Thank you",
    "email_on_approval": "on",
    "anomaly_threshold_percent": "25",
    "bill_delivered_only": "on",
}


def test_general_defaults_are_saved(admin):
    response = admin.client.post("/invoicing/settings/", GENERAL)

    row = InvoicingSettings.objects.get(tenant=admin.tenant)
    assert response.status_code == 302
    assert (row.number_format, row.default_due_days, row.email_on_approval, row.bill_delivered_only) == (
        "ACME-{YY}{MM}-{seq:04}",
        30,
        True,
        True,
    )
    assert (row.anomaly_threshold_percent, row.issue_zero_invoices) == (Decimal("25"), False)
    assert row.credit_note_number_format == "ACME-CN-{seq:04}"


def test_a_bad_number_format_is_shown_at_its_field(admin):
    response = admin.client.post("/invoicing/settings/", {**GENERAL, "number_format": "INV-{YYYY}"})

    assert response.status_code == 200 and 'id="id_number_format-error"' in html(response)
    assert "must contain {seq}" in html(response)
    wrong = admin.client.post("/invoicing/settings/", {**GENERAL, "credit_note_number_format": "CN-{YYYY}"})
    assert wrong.status_code == 200 and 'id="id_credit_note_number_format-error"' in html(wrong)
    assert InvoicingSettings.objects.get(tenant=admin.tenant).credit_note_number_format == "CN-{YYYY}-{seq:05}"


def test_viewer_sees_the_settings_read_only(admin):
    page = html(staff_client(admin.tenant, StaffRole.VIEWER).get("/invoicing/settings/"))

    assert "<fieldset disabled>" in page and ">Save</button>" not in page and "API tokens" not in page


def test_business_profile_and_logo(admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    profile = admin.client.post(
        "/invoicing/settings/business/",
        {"action": "profile", "business_name": "Acme Messaging Inc", "business_email": "billing@acme.example"},
    )
    bad_logo = admin.client.post(
        "/invoicing/settings/business/",
        {"action": "logo", "logo": SimpleUploadedFile("logo.gif", b"GIF89a", content_type="image/gif")},
    )
    logo = admin.client.post(
        "/invoicing/settings/business/",
        {"action": "logo", "logo": SimpleUploadedFile("logo.png", PNG, content_type="image/png")},
    )
    shown = admin.client.get("/invoicing/settings/business/logo/")

    row = InvoicingSettings.objects.get(tenant=admin.tenant)
    assert profile.status_code == 302 and row.business_name == "Acme Messaging Inc"
    assert 'id="id_logo-error"' in html(bad_logo) and "The logo must be a PNG, JPEG or WebP image." in html(bad_logo)
    assert logo.status_code == 302 and row.logo.name.endswith(".png")
    assert shown.content == PNG and "sandbox" in shown["Content-Security-Policy"]
    admin.client.post("/invoicing/settings/business/", {"action": "logo-remove"})
    assert not InvoicingSettings.objects.get(tenant=admin.tenant).logo


def test_taxes_list_create_edit_delete(admin, vat):
    listing = html(admin.client.get("/invoicing/settings/taxes/"))
    created = admin.client.post(
        "/invoicing/settings/taxes/new/", {"name": "Levy", "rate": "2.5", "description": "City levy", "active": "on"}
    )
    levy = TaxRate.objects.get(name="Levy")
    edited = admin.client.post(
        f"/invoicing/settings/taxes/{levy.id}/edit/", {"name": "Levy", "rate": "3", "applicable": "on", "active": "on"}
    )
    deleted = admin.client.post(f"/invoicing/settings/taxes/{vat.id}/delete/")

    assert "VAT" in listing and "7.5 %" in listing and "Statutory VAT" in listing and "Active" in listing
    assert created.status_code == 302 and (levy.rate, levy.applicable) == (Decimal("2.5"), False)
    levy.refresh_from_db()
    assert edited.status_code == 302 and (levy.rate, levy.applicable) == (Decimal("3"), True)
    vat.refresh_from_db()
    assert deleted.status_code == 302 and vat.deleted_at is not None
    assert "Statutory VAT" not in html(admin.client.get("/invoicing/settings/taxes/"))


def test_tax_rate_errors_at_the_field_and_search(admin, vat):
    bad = admin.client.post("/invoicing/settings/taxes/new/", {"name": "Odd", "rate": "150"})
    found = html(admin.client.get("/invoicing/settings/taxes/?q=statutory"))
    csv = b"".join(admin.client.get("/invoicing/settings/taxes/?format=csv").streaming_content).decode()

    assert 'id="id_rate-error"' in html(bad) and "between 0 and 100" in html(bad)
    assert not TaxRate.objects.filter(name="Odd").exists()
    assert "VAT" in found and "VAT,7.5" in csv


def test_bank_details_with_required_fields(admin):
    missing = admin.client.post("/invoicing/settings/bank/", {"branch": "Main"})
    saved = admin.client.post(
        "/invoicing/settings/bank/",
        {"branch": "Main", "swift": "ACMEUS33", "account_holder": "Acme Messaging", "account_number": "000123"},
    )

    assert 'id="id_account_holder-error"' in html(missing) and 'id="id_account_number-error"' in html(missing)
    row = BankDetails.objects.get(tenant=admin.tenant)
    assert saved.status_code == 302 and (row.swift, row.account_number) == ("ACMEUS33", "000123")


def test_email_template_preview_and_save(admin):
    page = html(admin.client.get("/invoicing/settings/emails/reminder/"))
    preview = admin.client.post(
        "/invoicing/settings/emails/invoice/preview/",
        {"subject": "Invoice {invoice_number}", "body": "Hello {user_name}, {total} due {due_date}."},
    )
    bad = admin.client.post("/invoicing/settings/emails/invoice/", {"subject": "Hi", "body": "{unknown}"})
    saved = admin.client.post("/invoicing/settings/emails/invoice/", {"subject": "Your invoice", "body": "{total}"})

    assert "{invoices_table}" in page and "Example Customer Ltd" in page
    assert "Invoice INV-2026-00042" in html(preview) and "Hello Example Customer Ltd, $1,075.00" in html(preview)
    assert 'id="id_body-error"' in html(bad) and "Unknown placeholder" in html(bad)
    assert saved.status_code == 302
    assert EmailTemplate.objects.get(tenant=admin.tenant, kind="invoice").subject == "Your invoice"
    assert admin.client.get("/invoicing/settings/emails/other/").status_code == 404


def test_reminder_policy(admin):
    response = admin.client.post(
        "/invoicing/settings/reminders/",
        {
            "reminders_enabled": "on",
            "remind_days_before_due": "3",
            "remind_every_days_overdue": "",
            "remind_max": "2",
            "reminder_window_hours": "48",
        },
    )

    row = InvoicingSettings.objects.get(tenant=admin.tenant)
    assert response.status_code == 302
    assert (
        row.reminders_enabled,
        row.remind_days_before_due,
        row.remind_on_due_date,
        row.remind_every_days_overdue,
    ) == (
        True,
        3,
        False,
        None,
    )
    assert (row.remind_max, row.reminder_window_hours) == (2, 48)


def test_api_token_secret_is_shown_once_and_can_be_revoked(admin):
    created = admin.client.post("/invoicing/settings/tokens/", {"name": "platform push"})
    token = ApiToken.objects.get(name="platform push")
    secret = created.context["secret"]
    listing = html(admin.client.get("/invoicing/settings/tokens/"))

    assert secret in html(created) and "no-store" in created["Cache-Control"]
    assert token_authenticate(secret) == admin.login
    assert secret not in listing and token.prefix in listing
    admin.client.post(f"/invoicing/settings/tokens/{token.id}/revoke/")
    assert token_authenticate(secret) is None


def test_token_name_is_required(admin):
    response = admin.client.post("/invoicing/settings/tokens/", {"name": ""})

    assert 'id="id_name-error"' in html(response) and not ApiToken.objects.exists()
