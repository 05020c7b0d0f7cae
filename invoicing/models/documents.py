"""Documents and messages: stored PDF versions, email templates, the send log, reminder guards, background jobs."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class InvoiceDocument(models.Model):
    """One immutable PDF rendering of an approved invoice, per payment state (SPEC §3). Never re-rendered."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.CASCADE, related_name="documents")
    version = models.PositiveIntegerField()
    state_key = models.CharField(max_length=120, help_text="Status and payments the rendering shows")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    template_version = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "version"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "version"], name="document_version_unique"),
            models.UniqueConstraint(fields=["invoice", "state_key"], name="document_once_per_state"),
        ]


class EmailKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    REMINDER = "reminder", "Payment reminder"


class EmailTemplate(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(max_length=10, choices=EmailKind.choices)
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
    kind = models.CharField(max_length=10, choices=EmailKind.choices)
    trigger = models.CharField(max_length=20, default="manual", help_text="manual, approval, bulk, automatic")
    recipient = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    invoices = models.ManyToManyField("invoicing.Invoice", related_name="emails")
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


class ReminderSlot(models.Model):
    """One row per (user, reminder kind): a reminder is sent only by the transaction that moves `last_sent_at`
    forward with a conditional UPDATE, so two clicks or two admins at once send one reminder per window."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE)
    kind = models.CharField(max_length=20)
    last_sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind"], name="reminder_slot_per_user_kind")]


class AutoReminder(models.Model):
    """Automatic reminders already decided for an invoice on a day: at most one per invoice per day."""

    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.CASCADE, related_name="auto_reminders")
    day = models.DateField()
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["invoice", "day"], name="auto_reminder_once_a_day")]


class Job(models.Model):
    """A long operation run by a worker (bulk reminder, large report, PDF batch) with its progress and result."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    result_name = models.CharField(max_length=200, blank=True)
    result = models.BinaryField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else (100 * self.done // self.total if self.total else 0)
