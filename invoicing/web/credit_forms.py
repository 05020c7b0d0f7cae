"""Forms of the corrections and credits pages (SPEC §4): a credit note, applying and adjusting customer credit,
refunds, and one payment for a user allocated across its open invoices.

Amounts stay strings: the services parse them (the currency's decimals) and say what is wrong at the field.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms

from ..models import PaymentType, RefundMethod
from ..money import ZERO
from .common import form_error
from .forms import _AREA, _SELECT, _TEXT, PaymentFilterForm, _amount, _date

LINE_PREFIX = "line_"
ALLOCATION_PREFIX = "alloc_"


class ServiceErrorsMixin:
    """A service's refusal at its field; a field the form has no input for ("lines", "allocations") is kept apart
    so the page shows it next to the table it concerns."""

    table_field = ""

    def service_error(self, error) -> None:
        if error.field and error.field == self.table_field:
            self.table_errors.append(error.message)
        else:
            form_error(self, error)

    @property
    def table_errors(self) -> list[str]:
        if not hasattr(self, "_table_errors"):
            self._table_errors = []
        return self._table_errors


class CreditNoteForm(ServiceErrorsMixin, forms.Form):
    """Credit invoice lines (an amount per line, blank = nothing) or one adjustment amount, with a reason."""

    table_field = "lines"

    mode = forms.ChoiceField(
        label="What to credit",
        choices=[("lines", "Invoice lines"), ("amount", "One adjustment amount")],
        initial="lines",
        widget=forms.RadioSelect({"class": "form-check-input"}),
    )
    amount = _amount("Adjustment amount (before taxes)", required=False)
    reason = forms.CharField(max_length=500, widget=forms.TextInput({**_TEXT, "autocomplete": "off"}))
    issue_date = _date("Issue date")

    def __init__(self, *args, lines, left: dict[int, Decimal], **kwargs):
        super().__init__(*args, **kwargs)
        self.line_rows = []
        for line in lines:
            remaining = left.get(line.pk, ZERO)
            name = f"{LINE_PREFIX}{line.pk}"
            if remaining > 0:
                self.fields[name] = _amount(f"Credit on line {line.position}", required=False)
            self.line_rows.append({"line": line, "left": remaining, "name": name if remaining > 0 else None})

    def rows(self):
        """Each invoice line with what is left to credit and its input (None when nothing is left)."""
        for row in self.line_rows:
            yield {**row, "field": self[row["name"]] if row["name"] else None}

    def service_values(self) -> dict:
        data = self.cleaned_data
        lines = {
            int(row["name"].removeprefix(LINE_PREFIX)): data[row["name"]].strip()
            for row in self.line_rows
            if row["name"] and data.get(row["name"], "").strip()
        }
        # Only the adjustment amount typed, the choice left at "lines": the amount is what was meant.
        if data["mode"] == "amount" or (not lines and data["amount"].strip()):
            return {"lines": None, "amount": data["amount"]}
        return {"lines": lines, "amount": None}


class ApplyCreditForm(forms.Form):
    amount = _amount("Credit to apply")


class RefundForm(forms.Form):
    amount = _amount("Amount")
    refund_date = _date("Refund date")
    method = forms.ChoiceField(choices=RefundMethod.choices, widget=forms.Select(_SELECT))
    reference = forms.CharField(max_length=100, required=False, widget=forms.TextInput(_TEXT))
    notes = forms.CharField(required=False, widget=forms.Textarea({**_TEXT, "rows": 2}))


class CreditAdjustForm(forms.Form):
    amount = _amount("Amount", help_text="Signed: -25.00 takes credit away.")
    reason = forms.CharField(max_length=300, widget=forms.TextInput({**_TEXT, "autocomplete": "off"}))


class ReceiptForm(ServiceErrorsMixin, forms.Form):
    """One payment received for a user; an allocation per open invoice (all blank: oldest due first)."""

    table_field = "allocations"

    amount = _amount("Amount received")
    payment_date = _date("Payment date")
    payment_type = forms.ChoiceField(choices=PaymentType.choices, widget=forms.Select(_SELECT))
    transaction_id = forms.CharField(max_length=100, required=False, widget=forms.TextInput(_TEXT))
    bank_reference = forms.CharField(max_length=100, required=False, widget=forms.TextInput(_TEXT))
    notes = forms.CharField(required=False, widget=forms.Textarea(_AREA))

    def __init__(self, *args, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoices = list(invoices)
        for invoice in self.invoices:
            self.fields[f"{ALLOCATION_PREFIX}{invoice.pk}"] = _amount(f"Allocate to {invoice.number}", required=False)

    def rows(self):
        for invoice in self.invoices:
            yield {"invoice": invoice, "field": self[f"{ALLOCATION_PREFIX}{invoice.pk}"]}

    def allocations(self) -> list[dict] | None:
        """The typed allocations, or None when every input is blank (the service allocates oldest due first).

        Read from the posted data, not only the inputs shown: an invoice paid meanwhile is no longer listed, and
        the service refuses its allocation instead of quietly keeping that money as credit."""
        posted = []
        for key in self.data:
            invoice_id = key.removeprefix(ALLOCATION_PREFIX)
            if key.startswith(ALLOCATION_PREFIX) and invoice_id.isdigit():
                value = (self.data.get(key) or "").strip()
                if value:
                    posted.append({"invoice": int(invoice_id), "amount": value})
        return posted or None


class CreditNoteFilterForm(PaymentFilterForm):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput({**_TEXT, "type": "search", "placeholder": "Number, invoice number or user"}),
    )
