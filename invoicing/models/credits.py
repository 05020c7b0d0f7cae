"""Corrections and credits (SPEC §4): credit notes, the user's customer credit and its ledger, payments received
for a user (receipts) that are allocated across several invoices, and refunds of customer credit.

Every amount is in the admin's base currency, quantised to its minor unit. The rules that move these rows live in
`invoicing/services/credits.py`; the arithmetic in `invoicing/money.py`.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan

from .invoice import MONEY, PaymentType


class CreditNote(models.Model):
    """An immutable correction of one approved, non-void invoice: numbered at issue, never edited or deleted."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="credit_notes")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=60)
    sequence_number = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    issue_date = models.DateField()
    reason = models.CharField(max_length=500)
    subtotal = models.DecimalField(**MONEY)
    tax_total = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    # What the issue moved: the invoice's paid amount above its new effective total, to the user's customer credit;
    # the ledger row of the cumulative rule; and (postpaid) the usage credited back to the balance.
    to_customer_credit = models.DecimalField(**MONEY)
    balance_delta = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    usage_credited = models.DecimalField(**MONEY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="credit_note_number_unique"),
            models.UniqueConstraint(fields=["tenant", "sequence_number"], name="credit_note_sequence_unique"),
            models.CheckConstraint(condition=Q(total__gt=0) & Q(subtotal__gte=0), name="credit_note_positive"),
            models.CheckConstraint(
                condition=LessThan(Abs(F("total") - F("subtotal") - F("tax_total")), Decimal("0.0005")),
                name="credit_note_total",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-issue_date", "-id"], name="cn_tenant_date"),
            models.Index(fields=["tenant", "account", "-issue_date", "-id"], name="cn_tenant_account_date"),
            models.Index(fields=["invoice"], name="cn_invoice"),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    """What one credit note credits: an amount of one invoice line, or (no invoice line) one adjustment."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    invoice_line = models.ForeignKey(
        "invoicing.InvoiceLine", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_lines"
    )
    description = models.CharField(max_length=300)
    amount = models.DecimalField(max_digits=18, decimal_places=3)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["credit_note", "position"], name="cn_line_position_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="cn_line_positive"),
        ]


class CreditNoteTax(models.Model):
    """A tax of the credit note: the invoice's frozen rate on the credit note's subtotal."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="taxes")
    invoice_tax = models.ForeignKey("invoicing.InvoiceTax", on_delete=models.PROTECT, related_name="credit_taxes")
    name = models.CharField(max_length=60)
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    amount = models.DecimalField(max_digits=18, decimal_places=3)

    class Meta:
        ordering = ["id"]


class CreditNoteSequence(models.Model):
    """The per-admin credit-note counter, apart from the invoices' (SPEC §4); locked by the issuing transaction."""

    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, primary_key=True)
    last_value = models.BigIntegerField(default=0)


class CustomerCredit(models.Model):
    """A user's customer credit: money that belongs to it but to no invoice. Never negative (database check).

    The row is the lock every use of the credit takes, so two applications can never spend it twice; `balance`
    always equals the sum of the account's CreditEntry amounts.
    """

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="+")
    account = models.OneToOneField("accounts.Account", on_delete=models.PROTECT, related_name="customer_credit")
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(**MONEY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="customer_credit_not_negative")]


class CreditEntryKind(models.TextChoices):
    # sources
    CREDIT_NOTE = "credit_note", "Credit note excess"
    UNAPPLIED_PAYMENT = "unapplied_payment", "Unapplied payment"
    ADJUSTMENT = "adjustment", "Manual adjustment"
    APPLICATION_REVERSED = "application_reversed", "Credit application reversed"
    REFUND_REVERSED = "refund_reversed", "Refund reversed"
    # uses
    APPLIED = "applied", "Applied to an invoice"
    REFUND = "refund", "Refunded"
    PAYMENT_REVERSED = "payment_reversed", "Payment reversed"


class CreditEntry(models.Model):
    """One append-only row of a user's customer-credit ledger, with the balance before and after."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="credit_entries")
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    kind = models.CharField(max_length=24, choices=CreditEntryKind.choices)
    balance_before = models.DecimalField(max_digits=18, decimal_places=3)
    balance_after = models.DecimalField(max_digits=18, decimal_places=3)
    description = models.CharField(max_length=300, blank=True)
    credit_note = models.ForeignKey(CreditNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(
        "invoicing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries"
    )
    receipt = models.ForeignKey(
        "invoicing.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries"
    )
    refund = models.ForeignKey(
        "invoicing.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="credit_entry_nonzero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="credit_entry_not_negative"),
        ]
        indexes = [models.Index(fields=["account", "-id"], name="credit_entry_account")]


class Receipt(models.Model):
    """A payment received for a user rather than for one invoice: allocated across its open invoices (each
    allocation is a Payment row pointing here), the rest kept as customer credit. Reversed as a whole."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="receipts")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="receipts")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    allocated = models.DecimalField(**MONEY)
    unallocated = models.DecimalField(**MONEY)
    payment_date = models.DateField()
    payment_type = models.CharField(max_length=16, choices=PaymentType.choices)
    transaction_id = models.CharField(max_length=100, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(
                condition=LessThan(Abs(F("amount") - F("allocated") - F("unallocated")), Decimal("0.0005"))
                & Q(allocated__gte=0)
                & Q(unallocated__gte=0),
                name="receipt_allocation_sums",
            ),
            models.UniqueConstraint(
                fields=["tenant", "transaction_id"], condition=~Q(transaction_id=""), name="receipt_txn_unique"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-payment_date", "-id"], name="receipt_tenant_date")]

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


class RefundMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    ONLINE = "online", "Online"
    OTHER = "other", "Other"


class Refund(models.Model):
    """Customer credit paid back to the user; reversible with a reason (the credit returns)."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="refunds")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="refunds")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    refund_date = models.DateField()
    method = models.CharField(max_length=16, choices=RefundMethod.choices)
    reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["tenant", "-refund_date", "-id"], name="refund_tenant_date")]

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None
