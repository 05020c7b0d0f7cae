"""Serializers of the operations around invoices: background jobs, bulk reminders, the dashboard, the event log,
reports."""

from __future__ import annotations

from rest_framework import serializers

from ...models import Job
from .common import DayField, IdField, IdListParam, MoneyField, UserRefOut


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
    balance_due = MoneyField(currency="currency")


class ReminderRecipientOut(serializers.Serializer):
    user = UserRefOut(source="account")
    invoices = ReminderInvoiceOut(many=True)
    total_due = MoneyField()
    has_email = serializers.BooleanField(help_text="Users without an email are skipped")


class ReminderPreviewQuery(serializers.Serializer):
    overdue_only = serializers.BooleanField(required=False, default=False)
    users = IdListParam(
        required=False, help_text="Comma-separated user ids; omitted: every user that owes (an empty list is refused)"
    )


class ReminderStartIn(serializers.Serializer):
    overdue_only = serializers.BooleanField(required=False, default=False)
    users = serializers.ListField(
        child=IdField(),
        required=False,
        max_length=1000,
        help_text="The users to remind, each with something to remind of (409 not_owing otherwise); omitted: every "
        "user that owes; an empty list is refused (400 no_selection)",
    )


class MonthFiguresOut(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month")
    invoiced = MoneyField()
    received = MoneyField()
    credited = MoneyField(help_text="Totals of the credit notes issued in the month")


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
    credited = serializers.IntegerField(help_text="Approved invoices settled entirely by credit notes")
    credit_notes = serializers.IntegerField(help_text="Credit notes issued, all time")
    credited_amount = MoneyField(help_text="Totals of the credit notes issued, all time")
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
