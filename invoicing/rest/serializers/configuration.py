"""Serializers of an admin's configuration: invoicing settings, numbering, bank details, tax rates, email
templates."""

from __future__ import annotations

from rest_framework import serializers

from ...models import EmailKind


class SettingsIn(serializers.Serializer):
    """Invoicing settings of the admin (only the fields given change)."""

    business_name = serializers.CharField(max_length=200, allow_blank=True)
    business_address = serializers.CharField(max_length=5000, allow_blank=True)
    business_tax_id = serializers.CharField(max_length=60, allow_blank=True)
    business_email = serializers.EmailField(max_length=254, allow_blank=True)
    number_format = serializers.CharField(max_length=60, help_text="Tokens {YYYY} {YY} {MM} {DD} {seq} {seq:05}")
    credit_note_number_format = serializers.CharField(
        max_length=60, help_text="Credit-note numbers: the same tokens, from the issue date; their own counter"
    )
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
    credit_note_number_format = serializers.CharField()
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
