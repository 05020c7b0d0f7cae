"""Serializers of payments received: record one, list them, one payment (also inside an invoice's detail)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import PAYMENT_KINDS, PaymentType
from .common import AmountField, DayField, IdField, InvoiceRefOut, MoneyField, UserRefOut

PAYMENT_KIND_VALUES = [value for value, _ in PAYMENT_KINDS]


# A pattern rather than an enum, like InvoiceStatusField: the inputs' `payment_type` enum (PaymentType, the money
# types) and this one (the same and "credit") would otherwise collide on the component named after the field.
@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(PAYMENT_KIND_VALUES)})$",
        "description": "How it was paid: " + ", ".join(PAYMENT_KIND_VALUES) + " (credit: customer credit applied)",
    }
)
class PaymentKindField(serializers.CharField):
    """A payment's type as recorded: a money type, or `credit` for customer credit applied to the invoice."""


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    invoice = InvoiceRefOut()
    user = UserRefOut(source="account")
    amount = MoneyField(currency="invoice.currency")
    payment_date = serializers.DateField()
    payment_type = PaymentKindField()
    transaction_id = serializers.CharField()
    bank_reference = serializers.CharField()
    notes = serializers.CharField()
    applied = MoneyField(
        currency="invoice.currency", help_text="What counts towards the invoice: amount less moved_to_credit"
    )
    moved_to_credit = MoneyField(
        currency="invoice.currency",
        help_text="The part a later credit note moved to the user's customer credit (paid above the new total)",
    )
    receipt = serializers.IntegerField(
        source="receipt_id", allow_null=True, help_text="The payment received for the user this is an allocation of"
    )
    credit_delta = MoneyField(currency="invoice.currency", help_text="What this payment credited to the user's balance")
    created_at = serializers.DateTimeField()
    is_reversed = serializers.BooleanField()
    reversed_at = serializers.DateTimeField(allow_null=True)
    reversal_reason = serializers.CharField()
    reversal_credit_delta = MoneyField(
        currency="invoice.currency", help_text="What the reversal took back from the balance"
    )


class PaymentIn(serializers.Serializer):
    invoice = IdField()
    amount = AmountField()
    payment_date = DayField()
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    transaction_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    bank_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class PaymentListQuery(serializers.Serializer):
    user = IdField(required=False)
    date_from = DayField(required=False, help_text="Payment date from (inclusive)")
    date_to = DayField(required=False, help_text="Payment date to (inclusive)")
    include_reversed = serializers.BooleanField(required=False, default=True)
