"""Email: the admin's templates and the send log (the outbox every invoice, credit-note and reminder email goes
through)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class EmailKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    REMINDER = "reminder", "Payment reminder"
    CREDIT_NOTE = "credit_note", "Credit note"


class EmailTemplate(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(max_length=16, choices=EmailKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="email_template_per_kind")]


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class EmailLog(models.Model):
    """Every email the module sends: what, to whom, which invoices, and how it went."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="email_logs")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="email_logs")
    kind = models.CharField(max_length=16, choices=EmailKind.choices)
    trigger = models.CharField(max_length=20, default="manual", help_text="manual, approval, bulk, automatic")
    recipient = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    invoices = models.ManyToManyField("invoicing.Invoice", related_name="emails")
    # A credit-note email attaches this credit note's PDF (its invoice is in `invoices`, for the invoice's history).
    credit_note = models.ForeignKey(
        "invoicing.CreditNote", null=True, blank=True, on_delete=models.PROTECT, related_name="emails"
    )
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    job = models.ForeignKey("invoicing.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-id"], name="email_tenant_recent"),
            models.Index(fields=["status"], name="email_status", condition=~Q(status="sent")),
        ]
