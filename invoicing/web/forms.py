from django import forms

from msgplatform.core.clock import DAY_RANGE_MESSAGE, day_supported

from ..selectors.invoices import MAX_PAGE

_TEXT = {"class": "form-control"}


def _supported_day(day):
    """The API's range of days (msgplatform.core.clock): a year 1 or 9999 would overflow the date arithmetic."""
    if not day_supported(day):
        raise forms.ValidationError(DAY_RANGE_MESSAGE, code="out_of_range")


class LicenseForm(forms.Form):
    prepaid = forms.BooleanField(required=False, initial=True)
    postpaid = forms.BooleanField(required=False, initial=True)
    valid_until = forms.DateField(widget=forms.DateInput({**_TEXT, "type": "date"}), validators=[_supported_day])

    def clean(self):
        data = super().clean()
        if not (data.get("prepaid") or data.get("postpaid")):
            raise forms.ValidationError("A licence covers prepaid, postpaid or both.")
        return data


# --- shared widgets -------------------------------------------------------------------------------------------

_SELECT = {"class": "form-select"}
_DATE = {**_TEXT, "type": "date"}
_AREA = {**_TEXT, "rows": 3}


def _date(label, required=True, **kwargs):
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(_DATE, format="%Y-%m-%d"),
        validators=[_supported_day],
        **kwargs,
    )


def _amount(label, required=True, **kwargs):
    # A string: the service parses amounts (Decimal, the currency's decimals) and says what is wrong at the field.
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.TextInput({**_TEXT, "inputmode": "decimal", "autocomplete": "off"}),
        **kwargs,
    )


# --- invoices grid --------------------------------------------------------------------------------------------

PAGE_SIZES = (10, 25, 50, 100, 200)
ORDERING_CHOICES = [
    (prefix + key, prefix + key)
    for key in ("invoice_date", "due_date", "total", "balance_due", "number", "account")
    for prefix in ("", "-")
]


class InvoiceFilterForm(forms.Form):
    tab = forms.ChoiceField(
        required=False,
        choices=[("all", "All"), ("postpaid", "Postpaid"), ("prepaid", "Prepaid"), ("drafts", "Drafts")],
    )
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput({**_TEXT, "type": "search"}))
    account_id = forms.TypedChoiceField(required=False, label="User", coerce=int, empty_value=None)
    number = forms.CharField(required=False, label="Invoice number", widget=forms.TextInput(_TEXT))
    due_status = forms.ChoiceField(
        required=False,
        label="Due status",
        choices=[("", "Any"), ("not_due", "Not due"), ("due_today", "Due today"), ("overdue", "Overdue")],
        widget=forms.Select(_SELECT),
    )
    payment_status = forms.ChoiceField(
        required=False,
        label="Payment status",
        choices=[
            ("", "Any"),
            ("unpaid", "Unpaid"),
            ("partially_paid", "Partially paid"),
            ("paid", "Paid"),
            ("credited", "Credited"),
        ],
        widget=forms.Select(_SELECT),
    )
    date_from = _date("From", required=False)
    date_to = _date("To", required=False)
    ordering = forms.ChoiceField(required=False, choices=ORDERING_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    page_size = forms.TypedChoiceField(
        required=False,
        label="Per page",
        coerce=int,
        choices=[(n, n) for n in PAGE_SIZES],
        empty_value=25,
        widget=forms.Select({**_SELECT, "class": "form-select form-select-sm"}),
    )

    def __init__(self, *args, account_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_id"].choices = account_choices
        self.fields["account_id"].widget.attrs.update(_SELECT)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The range ends before it starts.")
        return data

    def value(self, name, default):
        """The cleaned value of a valid field, else `default` (an invalid field is shown with its error)."""
        data = getattr(self, "cleaned_data", {})
        value = data.get(name)
        return default if value in (None, "") else value


# --- create and edit invoices ---------------------------------------------------------------------------------


class ClaimFieldsMixin(forms.Form):
    """The payment dialog of "Create & Claim" (and the record-payment form without the prefix)."""

    claim_amount = _amount("Amount received", required=False, help_text="Empty: the whole total.")
    claim_date = _date("Payment date", required=False)
    claim_type = forms.ChoiceField(label="Payment type", required=False, widget=forms.Select(_SELECT))
    claim_transaction_id = forms.CharField(
        label="Transaction id", max_length=100, required=False, widget=forms.TextInput(_TEXT)
    )
    claim_bank_reference = forms.CharField(
        label="Bank reference", max_length=100, required=False, widget=forms.TextInput(_TEXT)
    )
    claim_notes = forms.CharField(label="Payment notes", required=False, widget=forms.Textarea({**_TEXT, "rows": 2}))
    confirm_date = forms.BooleanField(
        label="Yes, the invoice is dated on another day than today",
        required=False,
        help_text="Its number is still the next one, taken when it is approved.",
    )

    CLAIM_FIELDS = (
        "claim_amount",
        "claim_date",
        "claim_type",
        "claim_transaction_id",
        "claim_bank_reference",
        "claim_notes",
    )
    # Service field names of payment_record -> the dialog's fields.
    CLAIM_ERRORS = {
        "amount": "claim_amount",
        "payment_date": "claim_date",
        "payment_type": "claim_type",
        "transaction_id": "claim_transaction_id",
        "claim": None,
    }

    def __init__(self, *args, **kwargs):
        from ..models import PaymentType

        super().__init__(*args, **kwargs)
        self.fields["claim_type"].choices = PaymentType.choices
        self.needs_date_confirmation = bool(self.data.get("confirm_date"))

    def clean(self):
        data = super().clean()
        if self.data.get("action") == "claim":
            if not data.get("claim_date"):
                self.add_error("claim_date", "Give the date the payment was received.")
            if not data.get("claim_type"):
                self.add_error("claim_type", "Choose the payment type.")
        return data

    def date_confirmed(self, today) -> bool:
        """A back-dated or future invoice date needs the confirmation ticked; otherwise a field error says so."""
        day = self.cleaned_data.get("invoice_date")
        if day is None or day == today or self.cleaned_data.get("confirm_date"):
            return True
        days = abs((day - today).days)
        when = "before" if day < today else "after"
        self.add_error(
            "invoice_date",
            f"The invoice date {day:%d %b %Y} is {days} day{'s' if days != 1 else ''} {when} today; "
            "confirm it below to create the invoice with this date.",
        )
        self.needs_date_confirmation = True
        return False

    def claim_input(self):
        from ..services.invoices import ClaimInput

        data = self.cleaned_data
        return ClaimInput(
            payment_date=data["claim_date"],
            payment_type=data["claim_type"],
            amount=data["claim_amount"] or None,
            transaction_id=data["claim_transaction_id"],
            bank_reference=data["claim_bank_reference"],
            notes=data["claim_notes"],
        )

    @property
    def claim_has_errors(self) -> bool:
        return any(self.errors.get(name) for name in self.CLAIM_FIELDS)


class PrepaidInvoiceForm(ClaimFieldsMixin):
    account = forms.TypedChoiceField(label="User", coerce=int, widget=forms.Select(_SELECT))
    invoice_date = _date("Invoice date")
    due_date = _date("Due date")
    recharge_amount = _amount("Recharge amount (before taxes)")
    description = forms.CharField(max_length=500, required=False, widget=forms.TextInput(_TEXT))
    terms = forms.CharField(label="Terms & Conditions", required=False, widget=forms.Textarea(_AREA))
    notes = forms.CharField(label="Customer notes", required=False, widget=forms.Textarea(_AREA))

    def __init__(self, *args, account_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = account_choices


class PostpaidInvoiceForm(ClaimFieldsMixin):
    account = forms.TypedChoiceField(label="User", coerce=int, widget=forms.Select(_SELECT))
    period_start = _date("First day")
    period_end = _date("Last day")
    invoice_date = _date("Invoice date", required=False, help_text="Empty: today.")
    due_date = _date("Due date", required=False, help_text="Empty: the default due days after the invoice date.")
    description = forms.CharField(max_length=500, required=False, widget=forms.TextInput(_TEXT))
    terms = forms.CharField(label="Terms & Conditions", required=False, widget=forms.Textarea(_AREA))
    notes = forms.CharField(label="Customer notes", required=False, widget=forms.Textarea(_AREA))

    def __init__(self, *args, account_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = account_choices

    def clean(self):
        data = super().clean()
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            self.add_error("period_end", "The period ends before it starts.")
        return data


class DraftEditForm(forms.Form):
    invoice_date = _date("Invoice date")
    due_date = _date("Due date")
    description = forms.CharField(max_length=500, required=False, widget=forms.TextInput(_TEXT))
    recharge_amount = _amount("Recharge amount (before taxes)", required=False)
    customer_notes = forms.CharField(label="Customer notes", required=False, widget=forms.Textarea(_AREA))
    terms = forms.CharField(label="Terms & Conditions", required=False, widget=forms.Textarea(_AREA))

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.line_fields = []
        if invoice.is_postpaid:
            del self.fields["recharge_amount"]
            for line in invoice.lines.all():
                name = f"line_{line.position}"
                self.fields[name] = forms.CharField(
                    label=f"Line {line.position} description",
                    max_length=300,
                    initial=line.description,
                    widget=forms.TextInput(_TEXT),
                )
                self.line_fields.append(name)
        else:
            self.fields["recharge_amount"].required = True


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput({**_TEXT, "autocomplete": "off"}))


class BulkApproveForm(forms.Form):
    invoice_ids = forms.TypedMultipleChoiceField(coerce=int, label="Drafts", widget=forms.CheckboxSelectMultiple)
    confirm_flagged = forms.BooleanField(
        required=False, label="I have reviewed the flagged drafts and approve them as they are"
    )

    def __init__(self, *args, drafts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice_ids"].choices = [(d.pk, str(d.pk)) for d in drafts]


class PaymentForm(forms.Form):
    invoice = forms.TypedChoiceField(label="Invoice", coerce=int, widget=forms.Select(_SELECT))
    amount = _amount("Amount")
    payment_date = _date("Payment date")
    payment_type = forms.ChoiceField(label="Payment type", widget=forms.Select(_SELECT))
    transaction_id = forms.CharField(max_length=100, required=False, widget=forms.TextInput(_TEXT))
    bank_reference = forms.CharField(max_length=100, required=False, widget=forms.TextInput(_TEXT))
    notes = forms.CharField(required=False, widget=forms.Textarea({**_TEXT, "rows": 2}))

    def __init__(self, *args, invoice_choices, **kwargs):
        from ..models import PaymentType

        super().__init__(*args, **kwargs)
        self.fields["invoice"].choices = invoice_choices
        self.fields["payment_type"].choices = PaymentType.choices


class PaymentFilterForm(forms.Form):
    account_id = forms.TypedChoiceField(required=False, label="User", coerce=int, empty_value=None)
    date_from = _date("From", required=False)
    date_to = _date("To", required=False)

    def __init__(self, *args, account_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_id"].choices = account_choices
        self.fields["account_id"].widget.attrs.update(_SELECT)


class ReminderForm(forms.Form):
    overdue_only = forms.BooleanField(required=False, label="Only users with overdue invoices")
    account_ids = forms.TypedMultipleChoiceField(
        required=False, coerce=int, label="Users", widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, account_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_ids"].choices = account_choices


# --- recurring ------------------------------------------------------------------------------------------------


class ScheduleForm(forms.Form):
    account = forms.TypedChoiceField(label="User", coerce=int, widget=forms.Select(_SELECT))
    interval = forms.ChoiceField(label="Invoice interval", widget=forms.Select(_SELECT))
    every_n_days = forms.IntegerField(
        label="Every N days", required=False, min_value=1, max_value=366, widget=forms.NumberInput(_TEXT)
    )
    due_in_days = forms.IntegerField(
        label="Due in (days)", min_value=0, max_value=365, initial=15, widget=forms.NumberInput(_TEXT)
    )
    start_date = _date("Start date", help_text="The first billing period starts on this day.")
    end_date = _date("End date", required=False, help_text="The last billing period ends on this day.")
    never_expire = forms.BooleanField(label="Never expire", required=False, initial=True)
    active = forms.BooleanField(label="Is active", required=False, initial=True)
    confirm_past = forms.BooleanField(
        label="Yes, make a catch-up draft for each period already over",
        required=False,
        help_text="They are dated today and due from today; their periods stay as they are.",
    )

    def __init__(self, *args, account_choices=None, editing=False, **kwargs):
        from ..models import Interval

        super().__init__(*args, **kwargs)
        # Shown once the service said the start date is periods in the past (409 start_in_past), or when ticked.
        self.needs_past_confirmation = bool(self.data.get("confirm_past"))
        self.fields["interval"].choices = Interval.choices
        if editing:
            del self.fields["account"]
            del self.fields["active"]
        else:
            self.fields["account"].choices = account_choices or []

    def clean(self):
        data = super().clean()
        if data.get("never_expire"):
            data["end_date"] = None
        elif not data.get("end_date") and "end_date" not in self.errors:
            self.add_error("end_date", "Give the end date, or tick Never expire.")
        if (
            data.get("interval") == "every_n_days"
            and not data.get("every_n_days")
            and "every_n_days" not in self.errors
        ):
            self.add_error("every_n_days", "Give the number of days.")
        return data

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "interval": data["interval"],
            "every_n_days": data.get("every_n_days"),
            "due_in_days": data["due_in_days"],
            "start_date": data["start_date"],
            "end_date": data.get("end_date"),
        }


# --- settings -------------------------------------------------------------------------------------------------


class GeneralSettingsForm(forms.Form):
    number_format = forms.CharField(
        max_length=60,
        label="Invoice number format",
        help_text="Tokens: {YYYY} {YY} {MM} {DD} of the invoice date, {seq} or {seq:05} (the counter, zero-padded).",
        widget=forms.TextInput(_TEXT),
    )
    credit_note_number_format = forms.CharField(
        max_length=60,
        label="Credit note number format",
        help_text="The same tokens, from the credit note's date; credit notes have their own counter.",
        widget=forms.TextInput(_TEXT),
    )
    default_due_days = forms.IntegerField(
        min_value=0, max_value=365, label="Default due days", widget=forms.NumberInput(_TEXT)
    )
    default_terms = forms.CharField(label="Default Terms & Conditions", required=False, widget=forms.Textarea(_AREA))
    default_notes = forms.CharField(label="Default customer notes", required=False, widget=forms.Textarea(_AREA))
    email_on_approval = forms.BooleanField(required=False, label="Email the invoice to the user when approved")
    anomaly_threshold_percent = forms.DecimalField(
        label="Anomaly threshold (%)",
        min_value=0,
        max_digits=6,
        decimal_places=2,
        help_text="A recurring draft whose total differs from the average of the last cycles by more is flagged.",
        widget=forms.NumberInput({**_TEXT, "step": "0.01"}),
    )
    bill_delivered_only = forms.BooleanField(required=False, label="Bill delivered messages only")
    issue_zero_invoices = forms.BooleanField(required=False, label="Issue a zero invoice for a period without usage")


class BusinessProfileForm(forms.Form):
    business_name = forms.CharField(max_length=200, required=False, widget=forms.TextInput(_TEXT))
    business_address = forms.CharField(required=False, widget=forms.Textarea(_AREA))
    business_tax_id = forms.CharField(max_length=60, required=False, label="Tax ID", widget=forms.TextInput(_TEXT))
    business_email = forms.EmailField(required=False, widget=forms.EmailInput(_TEXT))


class LogoForm(forms.Form):
    logo = forms.FileField(
        help_text="PNG, JPEG or WebP, at most 512 KB and 4096 x 4096 pixels.",
        widget=forms.ClearableFileInput({**_TEXT, "accept": "image/png,image/jpeg,image/webp"}),
    )


class TaxForm(forms.Form):
    name = forms.CharField(max_length=60, label="Tax name", widget=forms.TextInput(_TEXT))
    rate = forms.CharField(
        label="Percentage", help_text="For example 7.5", widget=forms.TextInput({**_TEXT, "inputmode": "decimal"})
    )
    description = forms.CharField(max_length=200, required=False, widget=forms.TextInput(_TEXT))
    applicable = forms.BooleanField(required=False, initial=True, label="Applicable (charged on invoices)")
    active = forms.BooleanField(required=False, initial=True, label="Active")


class BankDetailsForm(forms.Form):
    bank_name = forms.CharField(max_length=200, required=False, widget=forms.TextInput(_TEXT))
    branch = forms.CharField(
        max_length=200, label="Branch name", widget=forms.TextInput({**_TEXT, "placeholder": "Branch full name"})
    )
    swift = forms.CharField(max_length=11, required=False, label="SWIFT code", widget=forms.TextInput(_TEXT))
    address = forms.CharField(label="Branch address", required=False, widget=forms.Textarea(_AREA))
    notes = forms.CharField(label="Special notes", required=False, widget=forms.Textarea(_AREA))
    account_holder = forms.CharField(max_length=200, label="Account holder name", widget=forms.TextInput(_TEXT))
    account_number = forms.CharField(max_length=64, label="Account number", widget=forms.TextInput(_TEXT))


class EmailTemplateForm(forms.Form):
    subject = forms.CharField(max_length=200, widget=forms.TextInput(_TEXT))
    body = forms.CharField(widget=forms.Textarea({**_TEXT, "rows": 12}))


class ReminderPolicyForm(forms.Form):
    reminders_enabled = forms.BooleanField(required=False, label="Send automatic reminders")
    remind_days_before_due = forms.IntegerField(
        required=False, min_value=1, max_value=365, label="Days before the due date", widget=forms.NumberInput(_TEXT)
    )
    remind_on_due_date = forms.BooleanField(required=False, label="On the due date")
    remind_every_days_overdue = forms.IntegerField(
        required=False, min_value=1, max_value=365, label="Every N days once overdue", widget=forms.NumberInput(_TEXT)
    )
    remind_max = forms.IntegerField(
        min_value=0,
        max_value=100,
        label="At most this many automatic reminders per invoice",
        widget=forms.NumberInput(_TEXT),
    )
    reminder_window_hours = forms.IntegerField(
        min_value=1,
        max_value=24 * 30,
        label="Bulk reminder window (hours)",
        help_text="A user gets at most one bulk reminder within this window, however often the button is pressed.",
        widget=forms.NumberInput(_TEXT),
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", widget=forms.TextInput(_TEXT))


class EventFilterForm(forms.Form):
    area = forms.ChoiceField(required=False, widget=forms.Select(_SELECT))
    kind = forms.CharField(required=False, label="Kind contains", widget=forms.TextInput(_TEXT))
    level = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("info", "Info"), ("warning", "Warning"), ("error", "Error")],
        widget=forms.Select(_SELECT),
    )
    date_from = _date("From", required=False)
    date_to = _date("To", required=False)

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "Any")] + [(a, a) for a in areas]


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("queued", "Queued"), ("sending", "Sending"), ("sent", "Sent"), ("failed", "Failed")],
        widget=forms.Select(_SELECT),
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("invoice", "Invoice"), ("reminder", "Payment reminder")],
        widget=forms.Select(_SELECT),
    )
    q = forms.CharField(required=False, label="Recipient or subject", widget=forms.TextInput(_TEXT))
