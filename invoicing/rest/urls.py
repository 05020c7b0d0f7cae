"""REST API v1 of the invoicing plugin, mounted under /api/v1/.

Every view of the admins' staff inherits InvoicingAPIView, whose first permission is the licence check
(403 not_licensed); the platform owner's views of a licence (platform/admins/<id>/...) are outside any tenant and
not licence-gated.
"""

from django.urls import path

from .views import configuration, credits, invoices, operations, payments, platform, recurring

app_name = "invoicing-api"

urlpatterns = [
    # usage preview and invoices
    path("usage/preview/", invoices.UsagePreviewView.as_view(), name="usage-preview"),
    path("invoices/", invoices.InvoiceListView.as_view(), name="invoices"),
    path("invoices/prepaid/", invoices.PrepaidInvoiceCreateView.as_view(), name="invoice-create-prepaid"),
    path("invoices/postpaid/", invoices.PostpaidInvoiceCreateView.as_view(), name="invoice-create-postpaid"),
    path("invoices/approve/", invoices.InvoiceBulkApproveView.as_view(), name="invoices-approve"),
    path("invoices/<int:invoice_id>/", invoices.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<int:invoice_id>/approve/", invoices.InvoiceApproveView.as_view(), name="invoice-approve"),
    path("invoices/<int:invoice_id>/void/", invoices.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<int:invoice_id>/regenerate/", invoices.InvoiceRegenerateView.as_view(), name="invoice-regenerate"),
    path("invoices/<int:invoice_id>/pdf/", invoices.InvoicePDFView.as_view(), name="invoice-pdf"),
    path("invoices/<int:invoice_id>/pdf/versions/", invoices.InvoicePDFVersionListView.as_view(), name="invoice-pdfs"),
    path(
        "invoices/<int:invoice_id>/pdf/versions/<int:version>/",
        invoices.InvoicePDFVersionView.as_view(),
        name="invoice-pdf-version",
    ),
    path("invoices/<int:invoice_id>/evidence/", invoices.InvoiceEvidenceView.as_view(), name="invoice-evidence"),
    path("invoices/<int:invoice_id>/email/", invoices.InvoiceEmailView.as_view(), name="invoice-email"),
    path("invoices/<int:invoice_id>/remind/", invoices.InvoiceRemindView.as_view(), name="invoice-remind"),
    path(
        "invoices/<int:invoice_id>/credit-notes/",
        credits.InvoiceCreditNoteListView.as_view(),
        name="invoice-credit-notes",
    ),
    path("invoices/<int:invoice_id>/apply-credit/", credits.CreditApplyView.as_view(), name="invoice-apply-credit"),
    # payments
    path("payments/", payments.PaymentListView.as_view(), name="payments"),
    path("payments/<int:payment_id>/", payments.PaymentDetailView.as_view(), name="payment"),
    path("payments/<int:payment_id>/reverse/", payments.PaymentReverseView.as_view(), name="payment-reverse"),
    # credit notes, customer credit (under the host's users), refunds, payments received for a user
    path("credit-notes/", credits.CreditNoteListView.as_view(), name="credit-notes"),
    path("credit-notes/<int:credit_note_id>/", credits.CreditNoteDetailView.as_view(), name="credit-note"),
    path("credit-notes/<int:credit_note_id>/pdf/", credits.CreditNotePDFView.as_view(), name="credit-note-pdf"),
    path("credit-notes/<int:credit_note_id>/email/", credits.CreditNoteEmailView.as_view(), name="credit-note-email"),
    path("users/<int:account_id>/credit/", credits.CustomerCreditView.as_view(), name="customer-credit"),
    path("users/<int:account_id>/credit/adjust/", credits.CreditAdjustView.as_view(), name="customer-credit-adjust"),
    path("refunds/", credits.RefundListView.as_view(), name="refunds"),
    path("refunds/<int:refund_id>/", credits.RefundDetailView.as_view(), name="refund"),
    path("refunds/<int:refund_id>/reverse/", credits.RefundReverseView.as_view(), name="refund-reverse"),
    path("receipts/", credits.ReceiptListView.as_view(), name="receipts"),
    path("receipts/<int:receipt_id>/", credits.ReceiptDetailView.as_view(), name="receipt"),
    path("receipts/<int:receipt_id>/reverse/", credits.ReceiptReverseView.as_view(), name="receipt-reverse"),
    # recurring schedules and billing runs
    path("schedules/", recurring.ScheduleListView.as_view(), name="schedules"),
    path("schedules/<int:schedule_id>/", recurring.ScheduleDetailView.as_view(), name="schedule"),
    path("schedules/<int:schedule_id>/start/", recurring.ScheduleStartView.as_view(), name="schedule-start"),
    path("schedules/<int:schedule_id>/stop/", recurring.ScheduleStopView.as_view(), name="schedule-stop"),
    path("schedules/<int:schedule_id>/dry-run/", recurring.ScheduleDryRunView.as_view(), name="schedule-dry-run"),
    path("billing-runs/", recurring.BillingRunListView.as_view(), name="billing-runs"),
    path("billing-runs/<int:run_id>/", recurring.BillingRunDetailView.as_view(), name="billing-run"),
    # reminders, jobs, reports, dashboard, events
    path("reminders/", operations.ReminderView.as_view(), name="reminders"),
    path("jobs/", operations.JobListView.as_view(), name="jobs"),
    path("jobs/<int:job_id>/", operations.JobDetailView.as_view(), name="job"),
    path("jobs/<int:job_id>/result/", operations.JobResultView.as_view(), name="job-result"),
    path("reports/invoices/", operations.InvoiceReportView.as_view(), name="report-invoices"),
    path("reports/payments/", operations.PaymentsReportView.as_view(), name="report-payments"),
    path("dashboard/", operations.DashboardView.as_view(), name="dashboard"),
    path("events/", operations.EventListView.as_view(), name="events"),
    # configuration
    path("settings/", configuration.SettingsView.as_view(), name="settings"),
    path("settings/numbering/", configuration.NumberingView.as_view(), name="numbering"),
    path("settings/bank-details/", configuration.BankDetailsView.as_view(), name="bank-details"),
    path("settings/taxes/", configuration.TaxListView.as_view(), name="taxes"),
    path("settings/taxes/<int:tax_id>/", configuration.TaxDetailView.as_view(), name="tax"),
    path("settings/email-templates/", configuration.EmailTemplateListView.as_view(), name="email-templates"),
    path("settings/email-templates/<str:kind>/", configuration.EmailTemplateView.as_view(), name="email-template"),
    path(
        "settings/email-templates/<str:kind>/preview/",
        configuration.EmailTemplatePreviewView.as_view(),
        name="email-template-preview",
    ),
    # platform owner: an admin's licence and test clock (the admins themselves are the host's: platform/admins/)
    path("platform/admins/<int:tenant_id>/licence/", platform.LicenceView.as_view(), name="platform-licence"),
    path(
        "platform/admins/<int:tenant_id>/test-clock/advance/",
        platform.TestClockAdvanceView.as_view(),
        name="platform-clock-advance",
    ),
    path(
        "platform/admins/<int:tenant_id>/test-clock/reset/",
        platform.TestClockResetView.as_view(),
        name="platform-clock-reset",
    ),
]
