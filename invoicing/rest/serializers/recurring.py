"""Serializers of recurring billing: schedules, their next period and dry run, billing runs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import Interval
from ...periods import next_period
from .common import DayField, IdField, UserRefOut
from .invoices import UsageSummaryOut


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
    confirm_past = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A start date two or more periods in the past makes a catch-up draft for each at the next run "
        "(409 start_in_past says how many); true confirms it",
    )


class ScheduleUpdateIn(serializers.Serializer):
    """Changes to a schedule (only the fields given)."""

    interval = serializers.ChoiceField(choices=Interval.choices)
    every_n_days = serializers.IntegerField(allow_null=True, help_text="For interval every_n_days")
    due_in_days = serializers.IntegerField()
    start_date = DayField()
    end_date = DayField(allow_null=True, help_text="null: never expires")
    confirm_past = serializers.BooleanField(help_text="Confirms a start date two or more periods in the past")


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
