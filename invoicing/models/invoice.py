"""Invoices, their lines and tax lines, and payments received.

Three status axes (SPEC §2): `status` (draft -> approved; void), `payment_status` (derived from amount paid and
total, stored so search can filter on it) and the due status, computed from the due date and the tenant's today
(see invoicing/rules.py). Amounts are in the tenant's base currency, quantised to its minor unit.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    VOID = "void", "Void"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    # Settled by credit notes: the effective total is zero (SPEC §4).
    CREDITED = "credited", "Credited"


class DueStatus(models.TextChoices):
    NOT_DUE = "not_due", "Not due"
    DUE_TODAY = "due_today", "Due today"
    OVERDUE = "overdue", "Overdue"


class InvoiceSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    RECURRING = "recurring", "Recurring"


MONEY = {"max_digits": 18, "decimal_places": 3, "default": 0}


class Invoice(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="invoices")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=60, null=True, blank=True)
    sequence_number = models.BigIntegerField(null=True, blank=True)
    billing_method = models.CharField(max_length=10)
    source = models.CharField(max_length=10, choices=InvoiceSource.choices, default=InvoiceSource.MANUAL)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    currency = models.CharField(max_length=3)
    invoice_date = models.DateField()
    due_date = models.DateField()
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)
    subtotal = models.DecimalField(**MONEY)
    tax_total = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    amount_paid = models.DecimalField(**MONEY)
    balance_due = models.DecimalField(**MONEY)
    # Credit notes issued against the invoice (SPEC §4): effective total = total - credited_total, effective base =
    # credit_base - credited_subtotal; amount_paid is what is applied, never above the effective total.
    credited_subtotal = models.DecimalField(**MONEY, db_default=0)
    credited_total = models.DecimalField(**MONEY, db_default=0)
    # What payments have credited to the account's balance so far (SPEC §2 cumulative rule), and its base:
    # the recharge amount (prepaid) or the usage subtotal (postpaid), before tax.
    credit_base = models.DecimalField(**MONEY)
    credited = models.DecimalField(**MONEY)
    # Postpaid: the raw (6-decimal) charges of the billed usage; approval writes subtotal - usage_raw as rounding.
    usage_raw = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    customer_notes = models.TextField(blank=True)
    terms = models.TextField(blank=True)
    schedule = models.ForeignKey(
        "invoicing.BillingSchedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    # Recurring drafts whose total is far from the user's recent cycles (set at generation, shown first).
    anomaly_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=Q(number__isnull=False), name="invoice_number_unique"
            ),
            models.UniqueConstraint(
                fields=["tenant", "sequence_number"],
                condition=Q(sequence_number__isnull=False),
                name="invoice_sequence_unique",
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DRAFT, number__isnull=True)
                | (~Q(status=InvoiceStatus.DRAFT) & Q(number__isnull=False)),
                name="invoice_number_iff_not_draft",
            ),
            # Bounds within half a thousandth, like the equalities below: exact on PostgreSQL (amounts have three
            # decimals), while SQLite compares the difference of two stored decimals as a binary float.
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0)
                & Q(amount_paid__lt=F("total") - F("credited_total") + Decimal("0.0005")),
                name="invoice_paid_within_total",
            ),
            models.CheckConstraint(
                condition=Q(credited_total__gte=0)
                & Q(credited_total__lt=F("total") + Decimal("0.0005"))
                & Q(credited_subtotal__gte=0),
                name="invoice_credited_within_total",
            ),
            # Exactly-once recurring billing: one non-void invoice per schedule and period start.
            models.UniqueConstraint(
                fields=["schedule", "period_start"],
                condition=Q(schedule__isnull=False) & ~Q(status="void"),
                name="invoice_one_per_schedule_period",
            ),
            # Equalities within half a thousandth: exact on PostgreSQL; the tolerance absorbs SQLite's binary floats.
            models.CheckConstraint(
                condition=LessThan(
                    Abs(F("balance_due") - F("total") + F("credited_total") + F("amount_paid")), Decimal("0.0005")
                ),
                name="invoice_balance",
            ),
            models.CheckConstraint(
                condition=LessThan(Abs(F("total") - F("subtotal") - F("tax_total")), Decimal("0.0005")),
                name="invoice_total",
            ),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True) | Q(period_end__gte=F("period_start")),
                name="invoice_period_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-invoice_date", "-id"], name="inv_tenant_date"),
            models.Index(fields=["tenant", "status", "-invoice_date", "-id"], name="inv_tenant_status_date"),
            models.Index(fields=["tenant", "billing_method", "-invoice_date", "-id"], name="inv_tenant_method_date"),
            models.Index(fields=["tenant", "payment_status", "-invoice_date", "-id"], name="inv_tenant_pay_date"),
            models.Index(fields=["tenant", "account", "-invoice_date", "-id"], name="inv_tenant_account_date"),
            # Owing invoices: the due-status filter (leading columns) and the dashboard's outstanding and overdue
            # sums, answered from the index alone (balance_due).
            models.Index(
                fields=["tenant", "due_date", "balance_due"],
                name="inv_tenant_open_due",
                condition=Q(status="approved", balance_due__gt=0),
            ),
            models.Index(
                fields=["account", "period_start"],
                name="inv_account_period",
                condition=Q(period_start__isnull=False) & ~Q(status="void"),
            ),
            # Read side (invoicing/selectors, bench/search.py). Dashboard: counts per status, payment status and
            # source, and the approved totals per invoice date, each from an index alone.
            models.Index(fields=["tenant", "status", "payment_status", "source"], name="inv_tenant_counts"),
            models.Index(
                fields=["tenant", "invoice_date", "total"],
                name="inv_tenant_approved_date",
                condition=Q(status="approved"),
            ),
            # Search: payment-status filter of any tab (billing_method is read from the index), newest first.
            models.Index(
                fields=["tenant", "payment_status", "invoice_date", "id", "billing_method"],
                name="inv_tenant_approved_pay",
                condition=Q(status="approved"),
            ),
            # Search orderings other than the invoice date (scanned backwards for descending order).
            models.Index(fields=["tenant", "due_date", "id"], name="inv_tenant_due"),
            models.Index(fields=["tenant", "total", "id"], name="inv_tenant_total"),
            models.Index(fields=["tenant", "balance_due", "id"], name="inv_tenant_balance"),
            models.Index(fields=["tenant", "sequence_number", "id"], name="inv_tenant_number"),
            # PostgreSQL also has inv_number_trgm, a trigram GIN index on UPPER(number) for the "contains" search,
            # created only there by the search_indexes migration (SQLite has no such index type).
        ]

    def __str__(self) -> str:
        return self.number or f"Draft #{self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_editable(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_postpaid(self) -> bool:
        return self.billing_method == "postpaid"

    @property
    def effective_total(self) -> Decimal:
        """The total less its credit notes (SPEC §4): what the user owes in all."""
        return self.total - self.credited_total

    @property
    def effective_base(self) -> Decimal:
        """The credit base less the credit notes' subtotals: what paying in full credits to the balance."""
        return self.credit_base - self.credited_subtotal


class LineKind(models.TextChoices):
    RECHARGE = "recharge", "Recharge"
    USAGE = "usage", "Usage"
    PRIOR_USAGE = "prior_usage", "Prior-period usage"
    CORRECTION = "correction", "Correction"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=18, decimal_places=6)
    unit_price = models.DecimalField(max_digits=18, decimal_places=6)
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    # Usage lines: what they aggregate.
    country = models.CharField(max_length=2, blank=True)
    network = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    messages = models.BigIntegerField(default=0)
    parts = models.BigIntegerField(default=0)
    raw_charge = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    usage_day = models.DateField(null=True, blank=True, help_text="Prior-period lines: the day of the usage")
    # What credit notes have credited of this line so far (never above its amount).
    credited_amount = models.DecimalField(max_digits=18, decimal_places=3, default=0, db_default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="line_position_unique")]


class InvoiceTax(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    tax_rate = models.ForeignKey("invoicing.TaxRate", null=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=60)
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    amount = models.DecimalField(max_digits=18, decimal_places=3)

    class Meta:
        ordering = ["id"]


class PaymentType(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    ONLINE = "online", "Online"
    CHEQUE = "cheque", "Cheque"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    OTHER = "other", "Other"


# A payment is money received (a PaymentType) or customer credit applied to the invoice (SPEC §4).
CREDIT_PAYMENT = "credit"
PAYMENT_KINDS = [*PaymentType.choices, (CREDIT_PAYMENT, "Customer credit")]


class Payment(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    payment_date = models.DateField()
    payment_type = models.CharField(max_length=16, choices=PAYMENT_KINDS)
    transaction_id = models.CharField(max_length=100, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    # An allocation of a payment received for the user (several invoices at once); reversed with it as a whole.
    receipt = models.ForeignKey(
        "invoicing.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    # The part of this payment that a later credit note moved to the user's customer credit (applied = amount -
    # moved_to_credit). Reversing a money payment takes that credit back too.
    moved_to_credit = models.DecimalField(max_digits=18, decimal_places=3, default=0, db_default=0)
    credit_delta = models.DecimalField(max_digits=18, decimal_places=3, default=0)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.CharField(max_length=300, blank=True)
    reversal_credit_delta = models.DecimalField(max_digits=18, decimal_places=3, default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(moved_to_credit__gte=0) & Q(moved_to_credit__lte=F("amount")), name="payment_moved_within"
            ),
            models.UniqueConstraint(
                fields=["tenant", "transaction_id"], condition=~Q(transaction_id=""), name="payment_txn_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-payment_date", "-id"], name="pay_tenant_date"),
            models.Index(fields=["invoice"], name="pay_invoice"),
        ]

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None

    @property
    def applied(self) -> Decimal:
        """What of the payment is on the invoice now (a credit note may have moved the rest to customer credit)."""
        return self.amount - self.moved_to_credit

    @property
    def is_credit(self) -> bool:
        return self.payment_type == CREDIT_PAYMENT
