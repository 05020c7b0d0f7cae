"""Fields and small serializers shared by the API's modules: ids, days, amounts entered and money shown,
references to a user or an invoice, due status, a reason."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import fields, serializers

from msgplatform.accounts.rest import IdField as IdField

# Dates the API accepts: the days pages accept too (one rule, msgplatform.core.clock).
from msgplatform.core.clock import DAY_RANGE_MESSAGE, day_supported

# The host's id field (a positive 64-bit integer): every id in a body or a query of this API is one.
from msgplatform.core.ids import MAX_ID

from ...models import DueStatus, InvoiceStatus
from ...money import money_round

AMOUNT_PATTERN = r"^[0-9]{1,14}(\.[0-9]{1,6})?$"


@extend_schema_field({"type": "string", "format": "decimal", "example": "1075.00"})
class MoneyField(serializers.Field):
    """An amount quantised to its currency's minor unit ("1075.00", JPY "1075").

    `currency` names the attribute, on the object that holds the amount, giving its currency: "currency" on an
    invoice, "invoice.currency" on a payment, an invoice line or a tax line. Without it the amount belongs to no
    invoice (a preview, the dashboard, what a user owes in all) and is in the admin's currency, which
    InvoicingAPIView puts in the context. An amount without a currency is an error, never a guess.
    """

    def __init__(self, *, currency: str | None = None, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.currency_attrs = currency.split(".") if currency else None

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        if amount is None:
            return None
        if self.currency_attrs is None:
            currency = self.context.get("currency")
        else:
            holder = fields.get_attribute(instance, self.source_attrs[:-1])
            currency = fields.get_attribute(holder, self.currency_attrs)
        if not currency:
            raise ValueError(f"No currency for the amount {self.field_name!r} of {type(self.parent).__name__}")
        return amount, currency

    def to_representation(self, value):
        amount, currency = value
        return str(money_round(amount, currency))


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
        if not day_supported(day):
            raise serializers.ValidationError(DAY_RANGE_MESSAGE, code="out_of_range")
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
        if any(not 1 <= i <= MAX_ID for i in ids) or len(ids) > 1000:
            raise serializers.ValidationError("Give at most 1000 positive ids.", code="invalid")
        return ids


# A pattern rather than an enum: drf-spectacular would make the enum a component named after the field, and other
# choice sets are named `status` too (ENUM_NAME_OVERRIDES would need the settings of the whole project).
@extend_schema_field(
    {"type": "string", "pattern": f"^({'|'.join(InvoiceStatus.values)})$", "description": "draft, approved or void"}
)
class InvoiceStatusField(serializers.CharField):
    """The approval axis: draft, approved or void."""


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


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
