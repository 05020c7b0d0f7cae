"""Serializers of payments received: record one, list them, one payment (also inside an invoice's detail)."""

from __future__ import annotations

from rest_framework import serializers

from ...models import PaymentType
from .common import AmountField, DayField, IdField, InvoiceRefOut, MoneyField, UserRefOut


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    invoice = InvoiceRefOut()
    user = UserRefOut(source="account")
    amount = MoneyField(currency="invoice.currency")
    payment_date = serializers.DateField()
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    transaction_id = serializers.CharField()
    bank_reference = serializers.CharField()
    notes = serializers.CharField()
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
