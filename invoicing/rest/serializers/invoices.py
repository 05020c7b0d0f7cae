"""Serializers of invoices: the search and its page, one invoice's detail, create (prepaid, postpaid, with a
claim), draft edits, bulk approval, the usage preview of a postpaid range, PDF versions, emails."""

from __future__ import annotations

import dataclasses

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from msgplatform.messaging.api import RecordOut

from ...models import DueStatus, EmailKind, PaymentStatus, PaymentType
from ...rules import due_status, invoice_actions
from ...selectors.invoices import MAX_PAGE, MAX_PAGE_SIZE, ORDERINGS, TABS, InvoiceDetail
from .common import AmountField, DayField, DueOut, IdField, InvoiceStatusField, MoneyField, UserRefOut
from .payments import PaymentOut

# --- usage preview ----------------------------------------------------------------------------------------------


class LineOut(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=6)
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=6)
    amount = MoneyField()
    country = serializers.CharField()
    network = serializers.CharField()
    channel = serializers.CharField()
    messages = serializers.IntegerField()
    parts = serializers.IntegerField()
    usage_day = serializers.DateField(allow_null=True, help_text="Prior-period and correction lines: their first day")


class TaxChargeOut(serializers.Serializer):
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="Percent")
    amount = MoneyField()


class UsageSummaryOut(serializers.Serializer):
    """What an invoice of the usage would bill: lines, totals and taxes, the raw charges, an overlap if any."""

    lines = LineOut(many=True)
    subtotal = MoneyField(source="totals.subtotal")
    taxes = TaxChargeOut(many=True, source="totals.taxes")
    tax_total = MoneyField(source="totals.tax_total")
    total = MoneyField(source="totals.total")
    usage_raw = serializers.DecimalField(max_digits=20, decimal_places=6, help_text="Sum of the raw charges")
    messages = serializers.IntegerField()
    conflict = serializers.CharField(allow_null=True, help_text="An invoice of the user whose period overlaps")


class RecordsPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    has_next = serializers.BooleanField()
    results = RecordOut(many=True)


class PreviewOut(UsageSummaryOut):
    user = serializers.IntegerField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    records = RecordsPageOut(help_text="A page of the unbilled records of the range, oldest first")


class PreviewQuery(serializers.Serializer):
    user = IdField()
    period_start = DayField()
    period_end = DayField()
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, default=50)


# --- invoices ---------------------------------------------------------------------------------------------------


class EmailLogOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EmailKind.choices)
    trigger = serializers.CharField()
    recipient = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class InvoiceOut(serializers.Serializer):
    """An invoice as the grid shows it."""

    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True, help_text="Assigned at approval; drafts have none")
    status = InvoiceStatusField()
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)
    due = serializers.SerializerMethodField()
    billing_method = serializers.CharField()
    source = serializers.CharField()
    user = UserRefOut(source="account")
    invoice_date = serializers.DateField()
    due_date = serializers.DateField()
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    subtotal = MoneyField(currency="currency")
    tax_total = MoneyField(currency="currency")
    total = MoneyField(currency="currency")
    credited_total = MoneyField(currency="currency", help_text="The totals of its credit notes")
    effective_total = MoneyField(currency="currency", help_text="total - credited_total: what the user owes in all")
    amount_paid = MoneyField(currency="currency")
    balance_due = MoneyField(currency="currency", help_text="effective_total - amount_paid")
    anomaly_reason = serializers.CharField(help_text="Set on recurring drafts far from the user's recent cycles")
    actions = serializers.SerializerMethodField()

    @extend_schema_field(DueOut)
    def get_due(self, invoice):
        return _due(due_status(invoice, self.context["today"]))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, invoice):
        return invoice_actions(invoice)


def _due(due) -> dict:
    return {"status": due.status, "days_overdue": due.days_overdue}


def _in_invoice_currency(fields: dict) -> dict:
    # A preview's amounts are in the admin's currency; those of an invoice's own lines in the invoice's. Replaced
    # rather than redeclared, so that `amount` keeps its place among the fields.
    fields["amount"] = MoneyField(currency="invoice.currency")
    return fields


class InvoiceLineOut(LineOut):
    id = serializers.IntegerField(help_text="What a credit note names to credit this line")
    position = serializers.IntegerField()
    credited_amount = MoneyField(currency="invoice.currency", help_text="What credit notes have credited of it")

    def get_fields(self):
        return _in_invoice_currency(super().get_fields())


class InvoiceTaxOut(TaxChargeOut):
    def get_fields(self):
        return _in_invoice_currency(super().get_fields())


class CreditNoteRefOut(serializers.Serializer):
    """A credit note as its invoice lists it."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    issue_date = serializers.DateField()
    total = MoneyField(currency="currency")


# An InvoiceDetail (selectors.invoices.invoice_detail_get): the grid's fields and the invoice's own come from its
# `invoice`; lines, taxes, payments, emails, due status, actions and late usage were read by the selector, so
# serialising runs no query. (No docstring: the schema describes it as the grid's invoice, as it always has.)
class InvoiceDetailOut(InvoiceOut):
    description = serializers.CharField()
    customer_notes = serializers.CharField()
    terms = serializers.CharField()
    lines = InvoiceLineOut(many=True)
    taxes = InvoiceTaxOut(many=True)
    payments = serializers.SerializerMethodField()
    credit_notes = CreditNoteRefOut(many=True, help_text="In issue order")
    available_credit = MoneyField(
        currency="invoice.currency", help_text="The user's customer credit, which apply-credit may use"
    )
    emails = serializers.SerializerMethodField()
    late_usage = serializers.BooleanField(
        help_text="A postpaid draft whose period got usage after it was generated: regenerate to include it"
    )
    schedule = serializers.IntegerField(source="schedule_id", allow_null=True)
    void_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        # What is not a field of the InvoiceDetail is the invoice's (method fields get the whole InvoiceDetail).
        for name, field in fields.items():
            if name not in DETAIL_FIELDS and field.source != "*":
                field.source = f"invoice.{field.source or name}"
        return fields

    @extend_schema_field(DueOut)
    def get_due(self, detail: InvoiceDetail):
        return _due(detail.due)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, detail: InvoiceDetail):
        return list(detail.actions)

    @extend_schema_field(PaymentOut(many=True))
    def get_payments(self, detail: InvoiceDetail):
        return PaymentOut(detail.payments, many=True, context=self.context).data

    @extend_schema_field(EmailLogOut(many=True))
    def get_emails(self, detail: InvoiceDetail):
        return EmailLogOut(detail.emails, many=True, context=self.context).data


DETAIL_FIELDS = {field.name for field in dataclasses.fields(InvoiceDetail)}


class InvoicePageOut(serializers.Serializer):
    count = serializers.IntegerField(help_text="Matching invoices, at most 10,000")
    count_capped = serializers.BooleanField(help_text="True: more than `count` match")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    has_next = serializers.BooleanField()
    has_previous = serializers.BooleanField()
    results = InvoiceOut(many=True, source="items")


# Validated data keyed like selectors.invoices.InvoiceFilters (the user's id as account_id): see from_params.
class InvoiceListQuery(serializers.Serializer):
    tab = serializers.ChoiceField(choices=TABS, required=False, default="all")
    user = IdField(required=False, source="account_id")
    number = serializers.CharField(max_length=60, required=False, allow_blank=True, help_text="Number contains")
    due_status = serializers.ChoiceField(choices=DueStatus.choices, required=False)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    date_from = DayField(required=False, help_text="Invoice date from (inclusive)")
    date_to = DayField(required=False, help_text="Invoice date to (inclusive)")
    q = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Number or user name")
    include_void = serializers.BooleanField(required=False, default=True)
    ordering = serializers.ChoiceField(
        choices=[key for name in ORDERINGS for key in (name, "-" + name)], required=False, default="-invoice_date"
    )
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False, default=50)


# --- create and edit --------------------------------------------------------------------------------------------


class ClaimIn(serializers.Serializer):
    """The payment received with "Create & Claim"; no amount means the whole total."""

    payment_date = DayField()
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    amount = AmountField(required=False, allow_null=True)
    transaction_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    bank_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class _InvoiceCreateIn(serializers.Serializer):
    user = IdField()
    invoice_date = DayField(required=False, allow_null=True, help_text="Default: today")
    due_date = DayField(required=False, allow_null=True, help_text="Default: invoice date + default due days")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    terms = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, allow_null=True, help_text="Default: the admin's T&C"
    )
    notes = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, allow_null=True, help_text="Default: customer notes"
    )
    as_draft = serializers.BooleanField(required=False, default=False, help_text="Save as draft (no number yet)")
    claim = ClaimIn(required=False, allow_null=True, help_text="Create & Claim: also record this payment")


class PrepaidInvoiceIn(_InvoiceCreateIn):
    recharge_amount = AmountField(help_text="Before taxes")


class PostpaidInvoiceIn(_InvoiceCreateIn):
    period_start = DayField()
    period_end = DayField()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 300, "minLength": 1},
        "description": "Line position (1, 2, ...) -> new description",
    }
)
class LineDescriptionsField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=300), **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if any(not (key.isascii() and key.isdigit() and len(key) <= 6) for key in value):
            raise serializers.ValidationError("Keys are line positions (1, 2, ...).", code="invalid")
        return value


class InvoiceUpdateIn(serializers.Serializer):
    """Changes to a draft (only the fields given)."""

    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    customer_notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    terms = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    invoice_date = DayField(required=False)
    due_date = DayField(required=False)
    recharge_amount = AmountField(required=False, help_text="Prepaid drafts only")
    line_descriptions = LineDescriptionsField(required=False)


class BulkApproveIn(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), min_length=1, max_length=500)
    confirm_flagged = serializers.BooleanField(
        required=False, default=False, help_text="Also approve drafts flagged as anomalies"
    )


class DocumentVersionOut(serializers.Serializer):
    version = serializers.IntegerField()
    state_key = serializers.CharField(help_text="Status and payments this rendering shows")
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    template_version = serializers.CharField()
    created_at = serializers.DateTimeField()
