from django.urls import include, path

from . import activity, configuration, credits, invoices, owner, payments, portal, recurring, views
from .guard import licensed_urlpatterns

app_name = "invoicing"

# Admin staff pages: every one of them behind the licence check.
tenant_urlpatterns = licensed_urlpatterns(
    [
        path("", views.home, name="home"),
        # Manage invoices
        path("invoices/", invoices.invoice_list, name="invoice-list"),
        path("invoices/report/", invoices.invoice_report_view, name="invoice-report"),
        path("invoices/new/", invoices.invoice_create, name="invoice-create"),
        path("invoices/new/records/", invoices.preview_records_view, name="invoice-preview-records"),
        path("invoices/approve/", invoices.invoice_bulk_approve, name="invoice-bulk-approve"),
        path("invoices/<int:invoice_id>/", invoices.invoice_detail, name="invoice-detail"),
        path("invoices/<int:invoice_id>/records/", invoices.invoice_records_view, name="invoice-records"),
        path("invoices/<int:invoice_id>/edit/", invoices.invoice_edit, name="invoice-edit"),
        path("invoices/<int:invoice_id>/approve/", invoices.invoice_approve_view, name="invoice-approve"),
        path("invoices/<int:invoice_id>/regenerate/", invoices.invoice_regenerate_view, name="invoice-regenerate"),
        path("invoices/<int:invoice_id>/delete/", invoices.invoice_delete_view, name="invoice-delete"),
        path("invoices/<int:invoice_id>/void/", invoices.invoice_void_view, name="invoice-void"),
        path("invoices/<int:invoice_id>/email/", invoices.invoice_email_view, name="invoice-email"),
        path("invoices/<int:invoice_id>/remind/", invoices.invoice_remind_view, name="invoice-remind"),
        path("invoices/<int:invoice_id>/pdf/", invoices.invoice_pdf_view, name="invoice-pdf"),
        path("invoices/<int:invoice_id>/pdf/retry/", invoices.invoice_pdf_retry_view, name="invoice-pdf-retry"),
        path(
            "invoices/<int:invoice_id>/pdf/v<int:version>/",
            invoices.invoice_pdf_version_view,
            name="invoice-pdf-version",
        ),
        path("invoices/<int:invoice_id>/evidence.csv", invoices.invoice_evidence_view, name="invoice-evidence"),
        # Corrections and credits (SPEC §4)
        path("invoices/<int:invoice_id>/credit-note/", credits.credit_note_create, name="invoice-credit-note"),
        path("invoices/<int:invoice_id>/apply-credit/", credits.credit_apply_view, name="invoice-credit-apply"),
        path("credit-notes/", credits.credit_note_list, name="credit-note-list"),
        path("credit-notes/<int:credit_note_id>/", credits.credit_note_detail, name="credit-note-detail"),
        path("credit-notes/<int:credit_note_id>/pdf/", credits.credit_note_pdf_view, name="credit-note-pdf"),
        path("credit-notes/<int:credit_note_id>/email/", credits.credit_note_email_view, name="credit-note-email"),
        path("users/<int:account_id>/credit/", credits.customer_credit_view, name="customer-credit"),
        path("users/<int:account_id>/credit/refund/", credits.refund_create, name="customer-credit-refund"),
        path("users/<int:account_id>/credit/adjust/", credits.credit_adjust_view, name="customer-credit-adjust"),
        path("refunds/<int:refund_id>/reverse/", credits.refund_reverse_view, name="refund-reverse"),
        path("receipts/<int:receipt_id>/reverse/", credits.receipt_reverse_view, name="receipt-reverse"),
        path("reminders/", invoices.reminder_select, name="reminders"),
        path("jobs/<int:job_id>/", views.job_detail, name="job"),
        path("jobs/<int:job_id>/download/", views.job_download, name="job-download"),
        # Recurring invoices
        path("recurring/", recurring.schedule_list, name="schedule-list"),
        path("recurring/new/", recurring.schedule_create_view, name="schedule-create"),
        path("recurring/run/", recurring.billing_run_view, name="billing-run-start"),
        path("recurring/stop/", recurring.schedule_bulk_stop_view, name="schedule-bulk-stop"),
        path("recurring/runs/<int:run_id>/", recurring.billing_run_detail, name="billing-run"),
        path("recurring/<int:schedule_id>/edit/", recurring.schedule_edit_view, name="schedule-edit"),
        path("recurring/<int:schedule_id>/start/", recurring.schedule_start_view, name="schedule-start"),
        path("recurring/<int:schedule_id>/stop/", recurring.schedule_stop_view, name="schedule-stop"),
        path("recurring/<int:schedule_id>/next-draft/", recurring.schedule_dry_run_view, name="schedule-dry-run"),
        # Payments received
        path("payments/", payments.payment_list, name="payment-list"),
        path("payments/export/", payments.payment_export, name="payment-export"),
        path("payments/new/", payments.payment_create, name="payment-create"),
        path("payments/new-for-user/", credits.receipt_create, name="payment-create-for-user"),
        path("payments/<int:payment_id>/reverse/", payments.payment_reverse_view, name="payment-reverse"),
        # Settings
        path("settings/", configuration.general, name="settings"),
        path("settings/business/", configuration.business, name="settings-business"),
        path("settings/business/logo/", configuration.logo, name="settings-logo"),
        path("settings/taxes/", configuration.tax_list, name="tax-list"),
        path("settings/taxes/new/", configuration.tax_create, name="tax-create"),
        path("settings/taxes/<int:tax_id>/edit/", configuration.tax_edit, name="tax-edit"),
        path("settings/taxes/<int:tax_id>/delete/", configuration.tax_delete, name="tax-delete"),
        path("settings/bank/", configuration.bank, name="settings-bank"),
        path("settings/emails/<slug:kind>/", configuration.email_template, name="settings-email"),
        path(
            "settings/emails/<slug:kind>/preview/", configuration.email_template_preview, name="settings-email-preview"
        ),
        path("settings/reminders/", configuration.reminder_policy, name="settings-reminders"),
        path("settings/tokens/", configuration.tokens, name="tokens"),
        path("settings/tokens/<int:token_id>/revoke/", configuration.token_revoke_view, name="token-revoke"),
        # Event viewer and outbox
        path("events/", activity.event_list, name="events"),
        path("outbox/", activity.outbox, name="outbox"),
        path("outbox/<int:log_id>/", activity.outbox_detail, name="outbox-detail"),
        path("outbox/<int:log_id>/retry/", activity.outbox_retry, name="outbox-retry"),
    ]
)

# The users' own invoices (portal logins), licence-gated too: /me/ itself (balance, ledger) is the host's page.
portal_urlpatterns = licensed_urlpatterns(
    [
        path("invoices/", portal.my_invoices, name="portal-invoices"),
        path("invoices/<int:invoice_id>/", portal.my_invoice, name="portal-invoice"),
        path("invoices/<int:invoice_id>/pdf/", portal.my_invoice_pdf, name="portal-invoice-pdf"),
        path("payments/", portal.my_payments, name="portal-payments"),
        path("credit/", portal.my_credit, name="portal-credit"),
        path("credit-notes/<int:credit_note_id>/pdf/", portal.my_credit_note_pdf, name="portal-credit-note-pdf"),
    ]
)

# Platform owner pages: they manage the licence itself (the list of admins is the host's, at platform/admins/).
owner_urlpatterns = [
    path("platform/admins/<int:tenant_id>/licence/", owner.license_edit, name="owner-license"),
    path("platform/admins/<int:tenant_id>/licence/revoke/", owner.license_revoke_view, name="owner-license-revoke"),
    path("platform/admins/<int:tenant_id>/test-clock/", owner.test_clock_view, name="owner-test-clock"),
]

urlpatterns = [
    path("invoicing/", include(tenant_urlpatterns)),
    path("me/", include(portal_urlpatterns)),
    *owner_urlpatterns,
]
