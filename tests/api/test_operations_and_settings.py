"""Contract tests of reminders, jobs, reports, dashboard, events, settings, taxes, templates and the platform owner."""

import datetime
import io

import openpyxl
import pytest
from django.test import override_settings

from invoicing.models import InvoicingLicense, Job, TaxRate
from invoicing.services import reports
from invoicing.services.jobs import job_run
from msgplatform.accounts.models import Tenant
from tests.factories import AccountFactory

from .conftest import field_errors, problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def invoice(client, user, amount="1000.00", **extra):
    body = {"user": user.id, "recharge_amount": amount, **extra}
    return client.post("/api/v1/invoices/prepaid/", body, "json").json()["id"]


# --- reminders and jobs ---------------------------------------------------------------------------------------------


def test_bulk_reminder_preview_and_start(billing_api, admin, user, vat):
    other = AccountFactory(tenant=admin.tenant, name="Other")
    invoice(billing_api, user)
    invoice(billing_api, user, "100.00")
    invoice(billing_api, other, "50.00", invoice_date="2026-03-01", due_date="2026-03-05")

    preview = billing_api.get("/api/v1/reminders/").json()
    overdue = billing_api.get("/api/v1/reminders/", {"overdue_only": "true"}).json()
    started = billing_api.post("/api/v1/reminders/", {"users": [user.id]}, "json")

    assert [(r["user"]["name"], r["total_due"], len(r["invoices"])) for r in preview] == [
        ("Nimbus Ltd", "1182.50", 2),
        ("Other", "53.75", 1),
    ]
    assert [r["user"]["name"] for r in overdue] == ["Other"]
    assert started.status_code == 202
    assert (started.json()["kind"], started.json()["total"], started.json()["percent"]) == ("bulk_reminder", 1, 0)
    problem(billing_api.get("/api/v1/reminders/", {"users": "a,b"}), 400, "validation_failed")


def test_bulk_reminder_with_nobody_to_remind_is_400(billing_api, viewer_api):
    problem(billing_api.post("/api/v1/reminders/", {}, "json"), 400, "no_recipients")
    problem(viewer_api.post("/api/v1/reminders/", {}, "json"), 403, "permission_denied")
    assert not Job.objects.exists()


def test_job_status_and_result_download(viewer_api, billing_api, admin, user, monkeypatch):
    monkeypatch.setattr(reports, "SYNC_LIMIT", 1)
    invoice(billing_api, user)
    invoice(billing_api, user)

    queued = viewer_api.get("/api/v1/reports/invoices/")
    job_id = queued.json()["id"]
    problem(viewer_api.get(f"/api/v1/jobs/{job_id}/result/"), 409, "no_result")
    job_run(job_id=job_id)
    status = viewer_api.get(f"/api/v1/jobs/{job_id}/").json()
    result = viewer_api.get(f"/api/v1/jobs/{job_id}/result/", HTTP_ACCEPT=XLSX)

    assert (queued.status_code, queued.json()["kind"]) == (202, "invoice_report")
    assert (status["status"], status["percent"], status["has_result"]) == ("done", 100, True)
    assert (result.status_code, result["Content-Type"]) == (200, XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(result.content))["Invoices"]
    assert [row[0] for row in sheet.iter_rows(min_row=2, max_row=3, values_only=True)] == [
        "INV-2026-00002",
        "INV-2026-00001",
    ]
    assert viewer_api.get("/api/v1/jobs/").json()["count"] == 1
    problem(viewer_api.get("/api/v1/jobs/999999/"), 404, "not_found")


# --- reports, dashboard, events ---------------------------------------------------------------------------------------


def test_invoice_and_payments_reports_are_workbooks(viewer_api, billing_api, user, vat):
    invoice_id = invoice(billing_api, user)
    billing_api.post(
        "/api/v1/payments/",
        {"invoice": invoice_id, "amount": "75.00", "payment_date": "2026-03-20", "payment_type": "card"},
        "json",
    )

    invoices = viewer_api.get("/api/v1/reports/invoices/", {"payment_status": "partially_paid"})
    payments = viewer_api.get("/api/v1/reports/payments/", {"user": user.id})

    assert (invoices.status_code, invoices["Content-Type"]) == (200, XLSX)
    rows = list(openpyxl.load_workbook(io.BytesIO(invoices.content))["Invoices"].iter_rows(values_only=True))
    assert rows[1][0] == "INV-2026-00001" and rows[1][12] == 1075
    assert (payments.status_code, payments["Content-Disposition"]) == (
        200,
        'attachment; filename="payments-20260320.xlsx"',
    )
    problem(viewer_api.get("/api/v1/reports/invoices/", {"due_status": "late"}), 400, "validation_failed")


def test_dashboard_figures(viewer_api, billing_api, user, vat):
    paid = invoice(billing_api, user, "100.00")
    invoice(billing_api, user, "200.00", invoice_date="2026-03-01", due_date="2026-03-05")
    invoice(billing_api, user, "300.00", as_draft=True)
    billing_api.post(
        "/api/v1/payments/",
        {"invoice": paid, "amount": "107.50", "payment_date": "2026-03-20", "payment_type": "card"},
        "json",
    )

    body = viewer_api.get("/api/v1/dashboard/").json()

    assert {k: body[k] for k in ("invoices", "approved", "drafts", "paid", "unpaid", "unsettled", "payments")} == {
        "invoices": 3,
        "approved": 2,
        "drafts": 1,
        "paid": 1,
        "unpaid": 1,
        "unsettled": 1,
        "payments": 1,
    }
    assert (body["outstanding_amount"], body["overdue_amount"], body["received_this_month"]) == (
        "215.00",
        "215.00",
        "107.50",
    )
    assert body["series"][-1] == {"month": "2026-03-01", "invoiced": "322.50", "received": "107.50", "credited": "0.00"}
    assert len(body["series"]) == 12


def test_events_are_filtered_and_cursor_paginated(viewer_api, billing_api, user):
    invoice_id = invoice(billing_api, user)
    billing_api.post(f"/api/v1/invoices/{invoice_id}/void/", {"reason": "Typo"}, "json")

    voided = viewer_api.get("/api/v1/events/", {"kind": "invoice.voided"}).json()
    about = viewer_api.get("/api/v1/events/", {"subject_type": "invoice", "subject_id": invoice_id, "limit": 2}).json()

    assert [(e["kind"], e["message"]) for e in voided["results"]] == [
        ("invoice.voided", "Invoice INV-2026-00001 voided: Typo")
    ]
    assert [e["kind"] for e in about["results"]] == ["invoice.voided", "invoice.approved"]
    assert [e["kind"] for e in viewer_api.get(about["next"]).json()["results"]] == ["invoice.created"]
    problem(viewer_api.get("/api/v1/events/", {"level": "panic"}), 400, "validation_failed")


# --- settings -------------------------------------------------------------------------------------------------------


def test_settings_read_by_viewers_changed_by_owners(api, billing_api, viewer_api):
    assert viewer_api.get("/api/v1/settings/").json()["number_format"] == "INV-{YYYY}-{seq:05}"
    problem(billing_api.patch("/api/v1/settings/", {"default_due_days": 30}, "json"), 403, "permission_denied")

    changed = api.patch("/api/v1/settings/", {"default_due_days": 30, "business_name": "Acme Billing"}, "json")

    assert (changed.status_code, changed.json()["default_due_days"], changed.json()["business_name"]) == (
        200,
        30,
        "Acme Billing",
    )
    bad = api.patch("/api/v1/settings/", {"default_due_days": 400}, "json")
    assert field_errors(problem(bad, 400, "validation_failed")) == {"default_due_days"}


def test_numbering_format_and_next_number(api, billing_api, user):
    invoice(billing_api, user)

    changed = api.put("/api/v1/settings/numbering/", {"number_format": "A-{YY}{MM}-{seq:04}"}, "json")

    assert changed.json() == {"number_format": "A-{YY}{MM}-{seq:04}", "last_sequence": 1, "next_number": "A-2603-0002"}
    bad = api.put("/api/v1/settings/numbering/", {"number_format": "INV-{YYYY}"}, "json")
    assert field_errors(problem(bad, 400, "validation_failed")) == {"number_format"}


def test_bank_details(api, viewer_api):
    changed = api.patch("/api/v1/settings/bank-details/", {"bank_name": "First Bank", "swift": "FBNKUS33"}, "json")

    assert (changed.json()["bank_name"], changed.json()["swift"], changed.json()["branch"]) == (
        "First Bank",
        "FBNKUS33",
        "",
    )
    assert viewer_api.get("/api/v1/settings/bank-details/").json()["bank_name"] == "First Bank"
    problem(api.patch("/api/v1/settings/bank-details/", {"swift": "X" * 12}, "json"), 400, "validation_failed")


def test_tax_rates_crud(api, viewer_api):
    created = api.post("/api/v1/settings/taxes/", {"name": "VAT", "rate": "7.5"}, "json")
    tax_id = created.json()["id"]

    updated = api.patch(f"/api/v1/settings/taxes/{tax_id}/", {"rate": "8.25", "applicable": False}, "json")
    listed = viewer_api.get("/api/v1/settings/taxes/").json()
    deleted = api.delete(f"/api/v1/settings/taxes/{tax_id}/")

    assert (created.status_code, created.json()["rate"]) == (201, "7.5000")
    assert (updated.json()["rate"], updated.json()["applicable"]) == ("8.2500", False)
    assert [t["name"] for t in listed["results"]] == ["VAT"]
    assert deleted.status_code == 204 and TaxRate.objects.get().deleted_at is not None
    problem(api.get(f"/api/v1/settings/taxes/{tax_id}/"), 404, "not_found")
    bad = api.post("/api/v1/settings/taxes/", {"name": "Odd", "rate": "101"}, "json")
    assert field_errors(problem(bad, 400, "validation_failed")) == {"rate"}
    problem(viewer_api.post("/api/v1/settings/taxes/", {"name": "X", "rate": "1"}, "json"), 403, "permission_denied")


def test_email_templates_and_preview(api):
    listed = api.get("/api/v1/settings/email-templates/").json()
    saved = api.put(
        "/api/v1/settings/email-templates/invoice/",
        {"subject": "Invoice {invoice_number}", "body": "Total {total}"},
        "json",
    )
    preview = api.post("/api/v1/settings/email-templates/reminder/preview/", {"subject": "Due {total_due}"}, "json")

    assert [(t["kind"], t["customised"]) for t in listed] == [
        ("invoice", False),
        ("reminder", False),
        ("credit_note", False),
    ]
    assert (saved.json()["subject"], saved.json()["customised"]) == ("Invoice {invoice_number}", True)
    assert preview.json()["subject"] == "Due $575.00"
    bad = api.put("/api/v1/settings/email-templates/invoice/", {"subject": "{secret}", "body": ""}, "json")
    assert field_errors(problem(bad, 400, "validation_failed")) == {"subject"}
    problem(api.get("/api/v1/settings/email-templates/sms/"), 404, "not_found")


# --- platform owner ---------------------------------------------------------------------------------------------------


@pytest.fixture
def owner_api(django_user_model):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw"))
    return client


def test_platform_owner_creates_an_admin_and_licenses_it(owner_api):
    created = owner_api.post(
        "/api/v1/platform/admins/",
        {
            "name": "Initech",
            "currency": "jpy",
            "timezone": "Asia/Tokyo",
            "signup_slug": "initech",
            "owner_username": "initech-owner",
            "owner_email": "o@initech.example",
            "owner_password": "a-long-secret-1",
        },
        "json",
    )
    tenant_id = created.json()["id"]
    granted = owner_api.put(
        f"/api/v1/platform/admins/{tenant_id}/licence/",
        {"prepaid": True, "postpaid": False, "valid_until": "2027-03-31"},
        "json",
    )
    listed = owner_api.get("/api/v1/platform/admins/").json()
    revoked = owner_api.delete(f"/api/v1/platform/admins/{tenant_id}/licence/")

    assert (created.status_code, created.json()["currency"], created.json()["licence"]["active"]) == (201, "JPY", False)
    assert granted.json()["licence"] == {
        "active": True,
        "prepaid": True,
        "postpaid": False,
        "valid_until": "2027-03-31",
    }
    assert [a["name"] for a in listed["results"]] == ["Initech"]
    assert revoked.status_code == 204 and InvoicingLicense.objects.get().revoked_at is not None


def test_platform_owner_refusals(owner_api, api, admin):
    bad = owner_api.post("/api/v1/platform/admins/", {"name": "X", "currency": "XXY"}, "json")
    assert problem(bad, 400, "validation_failed")
    problem(owner_api.delete("/api/v1/platform/admins/999999/licence/"), 404, "not_found")
    problem(api.get("/api/v1/platform/admins/"), 403, "permission_denied")
    assert Tenant.objects.count() == 1


def test_test_clock_is_off_unless_enabled(owner_api, admin):
    problem(
        owner_api.post(f"/api/v1/platform/admins/{admin.tenant.id}/test-clock/advance/", {"days": 3}, "json"),
        403,
        "test_clock_disabled",
    )

    with override_settings(INVOICING_TEST_CLOCK=True):
        moved = owner_api.post(f"/api/v1/platform/admins/{admin.tenant.id}/test-clock/advance/", {"days": 3}, "json")
        too_far = owner_api.post(
            f"/api/v1/platform/admins/{admin.tenant.id}/test-clock/advance/", {"days": 400}, "json"
        )
    reset = owner_api.post(f"/api/v1/platform/admins/{admin.tenant.id}/test-clock/reset/")

    assert (moved.json()["today"], moved.json()["clock_offset_days"]) == ("2026-03-23", 3)
    assert field_errors(problem(too_far, 400, "validation_failed")) == {"days"}
    assert (reset.json()["today"], reset.json()["clock_offset_days"]) == (str(datetime.date(2026, 3, 20)), 0)
