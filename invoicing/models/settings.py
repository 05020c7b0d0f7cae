"""Per-admin invoicing configuration: business profile, numbering, defaults, taxes, bank details."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

DEFAULT_NUMBER_FORMAT = "INV-{YYYY}-{seq:05}"
DEFAULT_CREDIT_NOTE_FORMAT = "CN-{YYYY}-{seq:05}"


class InvoicingSettings(models.Model):
    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, related_name="invoicing_settings")
    business_name = models.CharField(max_length=200, blank=True)
    business_address = models.TextField(blank=True)
    business_tax_id = models.CharField(max_length=60, blank=True)
    business_email = models.EmailField(blank=True)
    logo = models.FileField(upload_to="logos/", blank=True)
    number_format = models.CharField(max_length=60, default=DEFAULT_NUMBER_FORMAT)
    credit_note_number_format = models.CharField(max_length=60, default=DEFAULT_CREDIT_NOTE_FORMAT)
    default_due_days = models.PositiveSmallIntegerField(default=15, validators=[MaxValueValidator(365)])
    default_terms = models.TextField(blank=True, default="Payment due within the stated due date.")
    default_notes = models.TextField(blank=True, default="Thank you for your business.")
    email_on_approval = models.BooleanField(default=False)
    anomaly_threshold_percent = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("50"), validators=[MinValueValidator(Decimal("0"))]
    )
    bill_delivered_only = models.BooleanField(
        default=False, help_text="Bill only delivered messages (default: every submitted message)"
    )
    issue_zero_invoices = models.BooleanField(default=False, help_text="Issue a zero invoice for an empty period")
    # Reminder policy, run by the billing tick: N days before due, on the due date, every N days overdue, at most M.
    reminders_enabled = models.BooleanField(default=False)
    remind_days_before_due = models.PositiveSmallIntegerField(null=True, blank=True)
    remind_on_due_date = models.BooleanField(default=True)
    remind_every_days_overdue = models.PositiveSmallIntegerField(null=True, blank=True, default=7)
    remind_max = models.PositiveSmallIntegerField(default=3)
    reminder_window_hours = models.PositiveSmallIntegerField(default=24)
    updated_at = models.DateTimeField(auto_now=True)


class TaxRate(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=60)
    rate = models.DecimalField(
        max_digits=7, decimal_places=4, validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
    )
    description = models.CharField(max_length=200, blank=True)
    applicable = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_rate_percent")]


class BankDetails(models.Model):
    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, related_name="bank_details")
    bank_name = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    swift = models.CharField("SWIFT/BIC", max_length=11, blank=True)
    address = models.TextField(blank=True)
    account_holder = models.CharField(max_length=200, blank=True)
    account_number = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)


class InvoiceSequence(models.Model):
    """The per-admin invoice counter. Locked in the approving transaction; never reset (SPEC §3)."""

    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, primary_key=True)
    last_value = models.BigIntegerField(default=0)
