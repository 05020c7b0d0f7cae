"""Input and output serializers of the invoicing API.

Inputs only parse (types, lengths, known choices); every rule lives in the services they are handed to. Outputs
render amounts as decimal strings quantised to the admin's currency (`MoneyField`), never floats.
"""

from __future__ import annotations

import dataclasses
import datetime

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from msgplatform.accounts.rest import IdField
from msgplatform.messaging.api import RecordOut

from ..models import DueStatus, EmailKind, Interval, InvoiceStatus, Job, PaymentStatus, PaymentType
from ..money import money_round
from ..periods import next_period
from ..rules import due_status, invoice_actions
from ..selectors.invoices import ORDERINGS, TABS, InvoiceDetail

# Dates the API accepts: wide enough for any billing, narrow enough that date arithmetic cannot overflow.
FIRST_DAY = datetime.date(1970, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)
AMOUNT_PATTERN = r"^[0-9]{1,14}(\.[0-9]{1,6})?$"


# --- fields ----------------------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "format": "decimal", "example": "1075.00"})
class MoneyField(serializers.Field):
    """An amount in the admin's base currency, quantised to the currency's minor unit ("1075.00", JPY "1075")."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        currency = self.context.get("currency")
        return str(money_round(value, currency)) if currency else str(value)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": AMOUNT_PATTERN, "example": "100.00", "maxLength": 21}
)
class AmountField(serializers.CharField):
    """An amount entered by the caller: a decimal string ("100.00"); the service checks it against the currency."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 21)
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(AMOUNT_PATTERN, "Enter an amount such as 100.00."))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            # A JSON number may already have lost precision (floats): amounts travel as strings.
            raise serializers.ValidationError('Send amounts as decimal strings, e.g. "100.00".', code="invalid")
        return super().to_internal_value(data)


class DayField(serializers.DateField):
    """A calendar day (ISO 8601), between 1970-01-01 and 2999-12-31."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise serializers.ValidationError("Give a date between 1970-01-01 and 2999-12-31.", code="out_of_range")
        return day


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{1,18}(,[0-9]{1,18}){0,999}$", "example": "12,15"})
class IdListParam(serializers.CharField):
    """A comma-separated list of ids in a query string."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            ids = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise serializers.ValidationError("Give ids separated by commas, e.g. 12,15.", code="invalid")
        if any(not 1 <= i < 2**63 for i in ids) or len(ids) > 1000:
            raise serializers.ValidationError("Give at most 1000 positive ids.", code="invalid")
        return ids


# A pattern rather than an enum: drf-spectacular would make the enum a component named after the field, and other
# choice sets are named `status` too (ENUM_NAME_OVERRIDES would need the settings of the whole project).
@extend_schema_field(
    {"type": "string", "pattern": f"^({'|'.join(InvoiceStatus.values)})$", "description": "draft, approved or void"}
)
class InvoiceStatusField(serializers.CharField):
    """The approval axis: draft, approved or void."""


# --- references ------------------------------------------------------------------------------------------------


class UserRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    billing_method = serializers.CharField()


class InvoiceRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)


class DueOut(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=DueStatus.choices, allow_null=True, help_text="None: draft, void, or nothing owing"
    )
    days_overdue = serializers.IntegerField()


# --- usage preview -----------------------------------------------------------------------------------------------


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
    usage_day = serializers.DateField(allow_null=True, help_text="Prior-period and correction lines: the day")


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


# --- invoices ----------------------------------------------------------------------------------------------------


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    invoice = InvoiceRefOut()
    user = UserRefOut(source="account")
    amount = MoneyField()
    payment_date = serializers.DateField()
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    transaction_id = serializers.CharField()
    bank_reference = serializers.CharField()
    notes = serializers.CharField()
    credit_delta = MoneyField(help_text="What this payment credited to the user's balance")
    created_at = serializers.DateTimeField()
    is_reversed = serializers.BooleanField()
    reversed_at = serializers.DateTimeField(allow_null=True)
    reversal_reason = serializers.CharField()
    reversal_credit_delta = MoneyField(help_text="What the reversal took back from the balance")


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
    subtotal = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    balance_due = MoneyField()
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


class InvoiceLineOut(LineOut):
    position = serializers.IntegerField()


class InvoiceTaxOut(TaxChargeOut):
    pass


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
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False, default=50)


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


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class DocumentVersionOut(serializers.Serializer):
    version = serializers.IntegerField()
    state_key = serializers.CharField(help_text="Status and payments this rendering shows")
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    template_version = serializers.CharField()
    created_at = serializers.DateTimeField()


# --- payments ----------------------------------------------------------------------------------------------------


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


# --- recurring schedules and billing runs ----------------------------------------------------------------------


class PeriodOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    invoice_date = serializers.DateField()
    due_date = serializers.DateField()
    last = serializers.BooleanField(help_text="The schedule's end date ends this period")


class ScheduleOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = UserRefOut(source="account")
    interval = serializers.ChoiceField(choices=Interval.choices)
    every_n_days = serializers.IntegerField(allow_null=True)
    due_in_days = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True, help_text="None: never expires")
    status = serializers.CharField()
    covered_through = serializers.DateField(help_text="Last day whose usage is on an invoice")
    resumed_on = serializers.DateField(allow_null=True)
    next_period = serializers.SerializerMethodField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(PeriodOut(allow_null=True))
    def get_next_period(self, schedule):
        period = next_period(schedule)
        return None if period is None else PeriodOut(period).data


class ScheduleIn(serializers.Serializer):
    user = IdField()
    interval = serializers.ChoiceField(choices=Interval.choices, required=False, default=Interval.MONTHLY)
    every_n_days = serializers.IntegerField(required=False, allow_null=True, help_text="For interval every_n_days")
    due_in_days = serializers.IntegerField(required=False, default=15)
    start_date = DayField()
    end_date = DayField(required=False, allow_null=True, help_text="None: never expires")
    active = serializers.BooleanField(required=False, default=True)


class ScheduleUpdateIn(serializers.Serializer):
    """Changes to a schedule (only the fields given)."""

    interval = serializers.ChoiceField(choices=Interval.choices)
    every_n_days = serializers.IntegerField(allow_null=True, help_text="For interval every_n_days")
    due_in_days = serializers.IntegerField()
    start_date = DayField()
    end_date = DayField(allow_null=True, help_text="null: never expires")


class DryRunOut(serializers.Serializer):
    period = PeriodOut(allow_null=True, help_text="None: the schedule has reached its end date")
    preview = UsageSummaryOut(allow_null=True)


class BillingRunIn(serializers.Serializer):
    as_of = DayField(required=False, allow_null=True, help_text="Bill what is due as of this day (default: today)")


class BillingRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    as_of = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    schedules_total = serializers.IntegerField()
    schedules_done = serializers.IntegerField()
    drafts_created = serializers.IntegerField()
    errors = serializers.IntegerField()
    batches_total = serializers.IntegerField()
    batches_done = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


# --- jobs, reminders, emails -------------------------------------------------------------------------------------


class JobOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    message = serializers.CharField()
    has_result = serializers.SerializerMethodField()
    result_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_has_result(self, job) -> bool:
        return bool(job.result_name)


class ReminderInvoiceOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)
    due_date = serializers.DateField()
    balance_due = MoneyField()


class ReminderRecipientOut(serializers.Serializer):
    user = UserRefOut(source="account")
    invoices = ReminderInvoiceOut(many=True)
    total_due = MoneyField()
    has_email = serializers.BooleanField(help_text="Users without an email are skipped")


class ReminderPreviewQuery(serializers.Serializer):
    overdue_only = serializers.BooleanField(required=False, default=False)
    users = IdListParam(required=False, help_text="Comma-separated user ids (default: every user that owes)")


class ReminderStartIn(serializers.Serializer):
    overdue_only = serializers.BooleanField(required=False, default=False)
    users = serializers.ListField(child=IdField(), required=False, max_length=1000, help_text="Default: all")


# --- settings ----------------------------------------------------------------------------------------------------


class SettingsIn(serializers.Serializer):
    """Invoicing settings of the admin (only the fields given change)."""

    business_name = serializers.CharField(max_length=200, allow_blank=True)
    business_address = serializers.CharField(max_length=5000, allow_blank=True)
    business_tax_id = serializers.CharField(max_length=60, allow_blank=True)
    business_email = serializers.EmailField(max_length=254, allow_blank=True)
    number_format = serializers.CharField(max_length=60, help_text="Tokens {YYYY} {YY} {MM} {DD} {seq} {seq:05}")
    default_due_days = serializers.IntegerField()
    default_terms = serializers.CharField(max_length=20000, allow_blank=True)
    default_notes = serializers.CharField(max_length=20000, allow_blank=True)
    email_on_approval = serializers.BooleanField()
    anomaly_threshold_percent = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0)
    bill_delivered_only = serializers.BooleanField()
    issue_zero_invoices = serializers.BooleanField()
    reminders_enabled = serializers.BooleanField()
    remind_days_before_due = serializers.IntegerField(min_value=1, max_value=365, allow_null=True)
    remind_on_due_date = serializers.BooleanField()
    remind_every_days_overdue = serializers.IntegerField(min_value=1, max_value=365, allow_null=True)
    remind_max = serializers.IntegerField(min_value=0, max_value=100)
    reminder_window_hours = serializers.IntegerField(min_value=1, max_value=24 * 365)


class SettingsOut(serializers.Serializer):
    business_name = serializers.CharField()
    business_address = serializers.CharField()
    business_tax_id = serializers.CharField()
    business_email = serializers.CharField()
    has_logo = serializers.SerializerMethodField()
    number_format = serializers.CharField()
    default_due_days = serializers.IntegerField()
    default_terms = serializers.CharField()
    default_notes = serializers.CharField()
    email_on_approval = serializers.BooleanField()
    anomaly_threshold_percent = serializers.DecimalField(max_digits=6, decimal_places=2)
    bill_delivered_only = serializers.BooleanField()
    issue_zero_invoices = serializers.BooleanField()
    reminders_enabled = serializers.BooleanField()
    remind_days_before_due = serializers.IntegerField(allow_null=True)
    remind_on_due_date = serializers.BooleanField()
    remind_every_days_overdue = serializers.IntegerField(allow_null=True)
    remind_max = serializers.IntegerField()
    reminder_window_hours = serializers.IntegerField()
    updated_at = serializers.DateTimeField()

    def get_has_logo(self, row) -> bool:
        return bool(row.logo)


class BankDetailsIn(serializers.Serializer):
    bank_name = serializers.CharField(max_length=200, allow_blank=True)
    branch = serializers.CharField(max_length=200, allow_blank=True)
    swift = serializers.CharField(max_length=11, allow_blank=True)
    address = serializers.CharField(max_length=5000, allow_blank=True)
    account_holder = serializers.CharField(max_length=200, allow_blank=True)
    account_number = serializers.CharField(max_length=64, allow_blank=True)
    notes = serializers.CharField(max_length=5000, allow_blank=True)


class BankDetailsOut(BankDetailsIn):
    pass


class NumberingIn(serializers.Serializer):
    number_format = serializers.CharField(max_length=60, help_text="e.g. INV-{YYYY}-{seq:05}")


class NumberingOut(serializers.Serializer):
    number_format = serializers.CharField()
    last_sequence = serializers.IntegerField(help_text="Numbers taken so far (the counter never resets)")
    next_number = serializers.CharField(help_text="The number the next approval today would take")


class TaxIn(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    rate = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, 0 to 100")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    applicable = serializers.BooleanField(required=False, default=True)
    active = serializers.BooleanField(required=False, default=True)


class TaxOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4)
    description = serializers.CharField()
    applicable = serializers.BooleanField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class EmailTemplateOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EmailKind.choices)
    subject = serializers.CharField()
    body = serializers.CharField()
    placeholders = serializers.ListField(child=serializers.CharField())
    customised = serializers.BooleanField(help_text="False: the built-in default is used")


class EmailTemplateIn(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000, allow_blank=True)


class EmailTemplatePreviewIn(serializers.Serializer):
    subject = serializers.CharField(max_length=200, required=False, help_text="Unsaved subject (default: saved)")
    body = serializers.CharField(max_length=20000, required=False, allow_blank=True)


class EmailRenderedOut(serializers.Serializer):
    subject = serializers.CharField()
    body = serializers.CharField()


# --- dashboard, events, reports -----------------------------------------------------------------------------------


class MonthFiguresOut(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month")
    invoiced = MoneyField()
    received = MoneyField()


class DashboardOut(serializers.Serializer):
    today = serializers.DateField()
    currency = serializers.CharField()
    invoices = serializers.IntegerField()
    approved = serializers.IntegerField()
    drafts = serializers.IntegerField()
    void = serializers.IntegerField()
    paid = serializers.IntegerField()
    unpaid = serializers.IntegerField()
    partially_paid = serializers.IntegerField()
    unsettled = serializers.IntegerField()
    outstanding_amount = MoneyField()
    overdue_amount = MoneyField()
    overdue_count = serializers.IntegerField()
    received_this_month = MoneyField()
    recurring = serializers.IntegerField()
    payments = serializers.IntegerField()
    series = MonthFiguresOut(many=True)


class EventOut(serializers.Serializer):
    id = serializers.IntegerField()
    area = serializers.CharField()
    kind = serializers.CharField()
    level = serializers.CharField()
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    subject_type = serializers.CharField()
    subject_id = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()


class PaymentsReportQuery(serializers.Serializer):
    user = IdField(required=False)
    date_from = DayField(required=False)
    date_to = DayField(required=False)


# --- platform owner ------------------------------------------------------------------------------------------------


# The admins themselves (AdminOut, AdminCreateIn) are the host's: msgplatform.accounts.rest.


class LicenceIn(serializers.Serializer):
    prepaid = serializers.BooleanField()
    postpaid = serializers.BooleanField()
    valid_until = DayField(help_text="Last day of validity (admin's time)")


class ClockAdvanceIn(serializers.Serializer):
    days = serializers.IntegerField(help_text="1 to 366")
