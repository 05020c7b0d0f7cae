"""Serializers of corrections and credits: credit notes (issue, list, one note with its lines and taxes), a user's
customer credit with its ledger and adjustments, credit applied to an invoice, refunds and payments received for
a user (receipts) with their allocations.

Amounts of a credit note are in its own currency (its invoice's); customer credit, refunds and receipts are in the
admin's base currency, which is also theirs (`currency` on the row, or the context's for the ledger rows).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import CreditEntryKind, PaymentType, RefundMethod
from .common import AMOUNT_PATTERN, AmountField, DayField, IdField, InvoiceRefOut, MoneyField, UserRefOut

SIGNED_AMOUNT_PATTERN = r"^-?" + AMOUNT_PATTERN[1:]

# --- credit notes -------------------------------------------------------------------------------------------------


class CreditNoteLineOut(serializers.Serializer):
    position = serializers.IntegerField()
    invoice_line = serializers.IntegerField(
        source="invoice_line_id", allow_null=True, help_text="The invoice line credited; null: an adjustment"
    )
    description = serializers.CharField()
    amount = MoneyField(currency="credit_note.currency")


class CreditNoteTaxOut(serializers.Serializer):
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="Percent: the invoice's frozen rate")
    amount = MoneyField(currency="credit_note.currency")


class CreditNoteSummaryOut(serializers.Serializer):
    """A credit note as the list shows it."""

    id = serializers.IntegerField()
    number = serializers.CharField(help_text="From the admin's own credit-note sequence, assigned at issue")
    issue_date = serializers.DateField()
    invoice = InvoiceRefOut()
    user = UserRefOut(source="account")
    currency = serializers.CharField()
    reason = serializers.CharField()
    subtotal = MoneyField(currency="currency")
    tax_total = MoneyField(currency="currency")
    total = MoneyField(currency="currency")
    to_customer_credit = MoneyField(
        currency="currency", help_text="What was paid above the invoice's new effective total, moved to customer credit"
    )
    created_at = serializers.DateTimeField()


class CreditNoteOut(CreditNoteSummaryOut):
    """One credit note: what it credits (lines), its taxes and what it moved."""

    lines = CreditNoteLineOut(many=True)
    taxes = CreditNoteTaxOut(many=True)
    balance_delta = serializers.DecimalField(
        max_digits=20, decimal_places=6, help_text="The balance ledger row of the cumulative rule on the new figures"
    )
    usage_credited = MoneyField(currency="currency", help_text="Postpaid: the usage credited back to the balance")


class CreditNoteLineIn(serializers.Serializer):
    line = IdField(help_text="An invoice line id of the invoice")
    amount = AmountField(help_text="Before tax; at most what is left uncredited of the line")


class CreditNoteIn(serializers.Serializer):
    """Credit invoice lines (`lines`) or one adjustment (`amount`, before tax): exactly one of the two."""

    reason = serializers.CharField(max_length=500)
    issue_date = DayField(required=False, allow_null=True, help_text="Default: today; not before the invoice date")
    lines = CreditNoteLineIn(many=True, required=False, allow_null=True, max_length=1000)
    amount = AmountField(required=False, allow_null=True, help_text="One adjustment line, before tax")

    def validate_lines(self, lines):
        if lines is None:
            return None
        by_line = {}
        for item in lines:
            if item["line"] in by_line:
                raise serializers.ValidationError("Each invoice line is credited once.", code="invalid")
            by_line[item["line"]] = item["amount"]
        return by_line


class CreditNoteListQuery(serializers.Serializer):
    user = IdField(required=False)
    invoice = IdField(required=False)
    date_from = DayField(required=False, help_text="Issue date from (inclusive)")
    date_to = DayField(required=False, help_text="Issue date to (inclusive)")
    q = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Credit-note number, invoice number or user name"
    )


# --- customer credit ----------------------------------------------------------------------------------------------


class CreditNoteNumberOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


# A pattern rather than an enum: EmailLogOut's `kind` is an enum too (see common.InvoiceStatusField).
@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(CreditEntryKind.values)})$",
        "description": "; ".join(f"{value}: {label}" for value, label in CreditEntryKind.choices),
    }
)
class CreditEntryKindField(serializers.CharField):
    """What moved the customer credit."""


class CreditEntryOut(serializers.Serializer):
    """One row of a user's customer-credit ledger (amounts in the admin's currency)."""

    id = serializers.IntegerField()
    amount = MoneyField(help_text="Signed: a source adds, a use takes away")
    kind = CreditEntryKindField()
    balance_before = MoneyField()
    balance_after = MoneyField()
    description = serializers.CharField()
    credit_note = CreditNoteNumberOut(allow_null=True)
    payment = serializers.IntegerField(source="payment_id", allow_null=True)
    receipt = serializers.IntegerField(source="receipt_id", allow_null=True)
    refund = serializers.IntegerField(source="refund_id", allow_null=True)
    created_at = serializers.DateTimeField()


class RefundOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = UserRefOut(source="account")
    amount = MoneyField(currency="currency")
    currency = serializers.CharField()
    refund_date = serializers.DateField()
    method = serializers.ChoiceField(choices=RefundMethod.choices)
    reference = serializers.CharField()
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    is_reversed = serializers.BooleanField()
    reversed_at = serializers.DateTimeField(allow_null=True)
    reversal_reason = serializers.CharField()


class AllocationOut(serializers.Serializer):
    """One allocation of a payment received: a payment of one invoice."""

    payment = serializers.IntegerField(source="id")
    invoice = InvoiceRefOut()
    amount = MoneyField(currency="invoice.currency")
    is_reversed = serializers.BooleanField()


class ReceiptSummaryOut(serializers.Serializer):
    """A payment received for a user: what went to its invoices (allocated) and to its customer credit."""

    id = serializers.IntegerField()
    user = UserRefOut(source="account")
    currency = serializers.CharField()
    amount = MoneyField(currency="currency")
    allocated = MoneyField(currency="currency")
    unallocated = MoneyField(currency="currency", help_text="Kept as the user's customer credit")
    payment_date = serializers.DateField()
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    transaction_id = serializers.CharField()
    bank_reference = serializers.CharField()
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    is_reversed = serializers.BooleanField()
    reversed_at = serializers.DateTimeField(allow_null=True)
    reversal_reason = serializers.CharField()


class ReceiptOut(ReceiptSummaryOut):
    allocations = serializers.SerializerMethodField(help_text="In invoice id order")

    @extend_schema_field(AllocationOut(many=True))
    def get_allocations(self, receipt):
        # Read through the prefetched allocations (selectors.credits.receipt_get): no query per receipt.
        payments = sorted(receipt.allocations.all(), key=lambda p: (p.invoice_id, p.pk))
        return AllocationOut(payments, many=True, context=self.context).data


class CustomerCreditOut(serializers.Serializer):
    user = UserRefOut(source="account")
    currency = serializers.CharField()
    balance = MoneyField(currency="currency", help_text="Never negative")
    entries = CreditEntryOut(many=True, help_text="The ledger, newest first (the latest 200)")
    refunds = RefundOut(many=True, help_text="Newest first (the latest 200)")
    receipts = ReceiptSummaryOut(many=True, help_text="Payments received for the user, newest first (the latest 200)")


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": SIGNED_AMOUNT_PATTERN, "example": "-25.00", "maxLength": 22}
)
class SignedAmountField(serializers.CharField):
    """A signed amount entered by the caller ("25.00" adds, "-25.00" takes away), as a decimal string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 22)
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(SIGNED_AMOUNT_PATTERN, "Enter an amount such as 25.00 or -25.00."))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError('Send amounts as decimal strings, e.g. "-25.00".', code="invalid")
        return super().to_internal_value(data)


class CreditAdjustIn(serializers.Serializer):
    amount = SignedAmountField(help_text="Signed: 25.00 adds customer credit, -25.00 takes it away")
    reason = serializers.CharField(max_length=300)


class CreditApplyIn(serializers.Serializer):
    amount = AmountField(
        required=False, allow_null=True, help_text="Default: as much as possible (the balance due or the credit)"
    )
    payment_date = DayField(required=False, allow_null=True, help_text="Default: today")


# --- refunds and payments received --------------------------------------------------------------------------------


class RefundIn(serializers.Serializer):
    user = IdField()
    amount = AmountField(help_text="At most the user's customer credit")
    refund_date = DayField(required=False, allow_null=True, help_text="Default: today")
    method = serializers.ChoiceField(choices=RefundMethod.choices)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AllocationIn(serializers.Serializer):
    invoice = IdField()
    amount = AmountField(help_text="At most the invoice's balance due")


class ReceiptIn(serializers.Serializer):
    user = IdField()
    amount = AmountField()
    payment_date = DayField()
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    transaction_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    bank_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    allocations = AllocationIn(
        many=True,
        required=False,
        allow_null=True,
        max_length=1000,
        help_text="Omitted or null: the user's open invoices, oldest due first; what is left is customer credit",
    )


class DateRangeQuery(serializers.Serializer):
    user = IdField(required=False)
    date_from = DayField(required=False, help_text="From (inclusive)")
    date_to = DayField(required=False, help_text="To (inclusive)")
