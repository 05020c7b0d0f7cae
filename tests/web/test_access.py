"""Who reaches which page: tenant scoping (another admin's ids are 404s), roles, portal logins, anonymous, CSRF."""

import pytest
from django.test import Client

from invoicing.models import BillingSchedule, Invoice, Payment, TaxRate
from msgplatform.accounts.models import StaffRole
from tests.conftest import staff_client
from tests.factories import PortalLoginFactory


def foreign_urls(f):
    inv, pay, sch = f.invoice.id, f.payment.id, f.schedule.id
    return [
        f"/invoicing/invoices/{inv}/",
        f"/invoicing/invoices/{inv}/edit/",
        f"/invoicing/invoices/{inv}/void/",
        f"/invoicing/invoices/{inv}/pdf/",
        f"/invoicing/invoices/{inv}/pdf/v1/",
        f"/invoicing/invoices/{inv}/records/",
        f"/invoicing/invoices/{inv}/evidence.csv",
        f"/invoicing/payments/new/?invoice={inv}",
        f"/invoicing/payments/{pay}/reverse/",
        f"/invoicing/recurring/{sch}/edit/",
        f"/invoicing/recurring/{sch}/next-draft/",
    ]


def test_another_admins_invoice_payment_and_schedule_are_404_on_every_page(admin, book, foreign):
    for url in foreign_urls(foreign):
        assert admin.client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "action",
    ["approve", "regenerate", "delete", "email", "remind"],
)
def test_actions_on_another_admins_invoice_are_404_and_change_nothing(admin, foreign, action):
    before = Invoice.objects.values_list("id", "status", "amount_paid").get(pk=foreign.invoice.id)

    response = admin.client.post(f"/invoicing/invoices/{foreign.invoice.id}/{action}/")

    assert response.status_code == 404
    assert Invoice.objects.values_list("id", "status", "amount_paid").get(pk=foreign.invoice.id) == before


def test_writes_on_another_admins_rows_are_404(admin, foreign):
    assert admin.client.post(f"/invoicing/invoices/{foreign.invoice.id}/void/", {"reason": "x"}).status_code == 404
    assert admin.client.post(f"/invoicing/payments/{foreign.payment.id}/reverse/", {"reason": "x"}).status_code == 404
    assert admin.client.post(f"/invoicing/recurring/{foreign.schedule.id}/stop/").status_code == 404
    assert admin.client.post(f"/invoicing/recurring/{foreign.schedule.id}/edit/", {}).status_code == 404

    assert Invoice.objects.get(pk=foreign.invoice.id).status == "approved"
    assert Payment.objects.get(pk=foreign.payment.id).reversed_at is None
    assert BillingSchedule.objects.get(pk=foreign.schedule.id).status == "active"


def test_paying_another_admins_invoice_through_the_form_is_refused(admin, foreign):
    response = admin.client.post(
        "/invoicing/payments/new/",
        {
            "account": foreign.invoice.account_id,
            "invoice": foreign.invoice.id,
            "amount": "1.00",
            "payment_date": "2026-03-20",
            "payment_type": "cash",
        },
    )

    assert response.status_code == 200
    assert "no approved invoice with a balance due" in response.content.decode()
    assert Payment.objects.filter(invoice=foreign.invoice).count() == 1


def test_another_admins_tax_token_job_run_and_email_are_404(admin, other_admin, book, foreign):
    from invoicing.models import BillingRun, EmailLog, Job
    from invoicing.services.configuration import tax_rate_create
    from msgplatform.accounts.services.tokens import token_create

    tax = tax_rate_create(tenant=other_admin.tenant, actor_id=None, name="MwSt", rate="19")
    token, _ = token_create(user=other_admin.login, name="theirs")
    job = Job.objects.create(tenant=other_admin.tenant, kind="bulk_reminder")
    run = BillingRun.objects.create(tenant=other_admin.tenant)
    email = EmailLog.objects.create(
        tenant=other_admin.tenant, account=foreign.invoice.account, kind="invoice", recipient="a@b.c", subject="S"
    )

    for url in [
        f"/invoicing/settings/taxes/{tax.id}/edit/",
        f"/invoicing/jobs/{job.id}/",
        f"/invoicing/jobs/{job.id}/download/",
        f"/invoicing/recurring/runs/{run.id}/",
        f"/invoicing/outbox/{email.id}/",
    ]:
        assert admin.client.get(url).status_code == 404, url
    assert admin.client.post(f"/invoicing/settings/taxes/{tax.id}/delete/").status_code == 404
    assert admin.client.post(f"/invoicing/settings/tokens/{token.id}/revoke/").status_code == 404
    assert TaxRate.objects.get(pk=tax.id).deleted_at is None
    token.refresh_from_db()
    assert token.revoked_at is None


def test_lists_show_only_the_admins_own_rows(admin, book, foreign):
    for url, theirs in [
        ("/invoicing/invoices/", "Theirs GmbH"),
        ("/invoicing/payments/", "Theirs GmbH"),
        ("/invoicing/recurring/", "Theirs Post"),
        ("/invoicing/events/", "Theirs"),
        ("/invoicing/reminders/", "Theirs GmbH"),
    ]:
        page = admin.client.get(url).content.decode()
        assert theirs not in page, url


# --- roles ------------------------------------------------------------------------------------------------------

WRITES = [
    ("/invoicing/invoices/new/", {"type": "prepaid", "action": "create", "account": "1", "recharge_amount": "1"}),
    ("/invoicing/invoices/approve/", {"invoice_ids": ["1"]}),
    ("/invoicing/invoices/{draft}/approve/", {}),
    ("/invoicing/invoices/{draft}/edit/", {"invoice_date": "2026-03-20", "due_date": "2026-03-30"}),
    ("/invoicing/invoices/{draft}/delete/", {}),
    ("/invoicing/invoices/{invoice}/void/", {"reason": "mistake"}),
    ("/invoicing/invoices/{invoice}/email/", {}),
    ("/invoicing/invoices/{invoice}/remind/", {}),
    ("/invoicing/reminders/", {"account_ids": ["1"]}),
    ("/invoicing/payments/new/", {"invoice": "1", "amount": "1"}),
    ("/invoicing/payments/{payment}/reverse/", {"reason": "bounced"}),
    ("/invoicing/recurring/new/", {"interval": "monthly"}),
    ("/invoicing/recurring/{schedule}/edit/", {"interval": "weekly"}),
    ("/invoicing/recurring/{schedule}/stop/", {}),
    ("/invoicing/recurring/run/", {}),
    ("/invoicing/settings/", {"number_format": "X-{seq}"}),
    ("/invoicing/settings/business/", {"action": "profile", "business_name": "Hijack"}),
    ("/invoicing/settings/taxes/new/", {"name": "T", "rate": "1"}),
    ("/invoicing/settings/bank/", {"branch": "B", "account_holder": "H", "account_number": "1"}),
    ("/invoicing/settings/emails/invoice/", {"subject": "S", "body": "B"}),
    ("/invoicing/settings/emails/invoice/preview/", {"subject": "S", "body": "B"}),
    ("/invoicing/settings/reminders/", {"remind_max": "1", "reminder_window_hours": "1"}),
    ("/invoicing/settings/tokens/", {"name": "mine"}),
]


def _urls(book):
    ids = {
        "draft": book.draft.id,
        "invoice": book.paid_part.id,
        "payment": book.payment.id,
        "schedule": book.schedule.id,
    }
    return [(url.format(**ids), data) for url, data in WRITES]


def _state():
    return (
        list(Invoice.objects.order_by("id").values_list("status", "amount_paid", "description")),
        Payment.objects.filter(reversed_at__isnull=False).count(),
        list(BillingSchedule.objects.values_list("status", "interval")),
        TaxRate.objects.count(),
    )


def test_viewer_cannot_post_anything(admin, book):
    viewer = staff_client(admin.tenant, StaffRole.VIEWER)
    before = _state()

    for url, data in _urls(book):
        assert viewer.post(url, data).status_code == 403, url

    assert _state() == before


def test_viewer_reads_the_lists_but_not_the_forms_that_write(admin, book):
    viewer = staff_client(admin.tenant, StaffRole.VIEWER)

    for url in ["/invoicing/", "/invoicing/invoices/", "/invoicing/payments/", "/invoicing/recurring/"]:
        assert viewer.get(url).status_code == 200, url
    for url in ["/invoicing/invoices/new/", f"/invoicing/invoices/{book.draft.id}/edit/", "/invoicing/payments/new/"]:
        assert viewer.get(url).status_code == 403, url
    grid = viewer.get("/invoicing/invoices/").content.decode()
    assert "Create Invoice" not in grid and f"/invoicing/invoices/{book.draft.id}/approve/" not in grid


def test_billing_staff_cannot_change_settings_or_see_tokens(admin, book):
    billing = staff_client(admin.tenant, StaffRole.BILLING)

    assert billing.get("/invoicing/settings/").status_code == 200
    assert billing.post("/invoicing/settings/", {"number_format": "X-{seq}"}).status_code == 403
    assert billing.get("/invoicing/settings/tokens/").status_code == 403
    assert billing.post("/invoicing/settings/taxes/new/", {"name": "T", "rate": "1"}).status_code == 403


def test_portal_logins_never_reach_admin_pages(admin, user):
    client = Client()
    client.force_login(PortalLoginFactory(account=user))

    for url in ["/invoicing/", "/invoicing/invoices/", "/invoicing/settings/", "/invoicing/events/"]:
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_the_login(db):
    for url in ["/invoicing/", "/invoicing/invoices/", "/me/invoices/"]:
        response = Client().get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url


def test_posts_need_the_csrf_token(admin, book):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.login)

    response = client.post(f"/invoicing/invoices/{book.draft.id}/approve/")

    assert response.status_code == 403
    book.draft.refresh_from_db()
    assert book.draft.status == "draft"


def test_unlicensed_admin_sees_not_licensed_and_a_nav_without_invoicing(admin, book):
    admin.tenant.invoicing_license.delete()

    page = admin.client.get("/invoicing/invoices/")
    users = admin.client.get("/users/").content.decode()

    assert page.status_code == 403 and "not licensed" in page.content.decode()
    assert "Invoicing (not licensed)" in users and 'href="/invoicing/invoices/"' not in users
