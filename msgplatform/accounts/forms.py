"""Forms of the accounts pages. They only parse input; services decide and write."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.core.validators import MaxLengthValidator

from invoicing import api as invoicing_api

from .models import AccountType, BillingMethod

_TEXT = {"class": "form-control"}


class AccountForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(_TEXT))
    email = forms.EmailField(required=False, widget=forms.EmailInput(_TEXT))
    account_type = forms.ChoiceField(choices=AccountType.choices, widget=forms.Select({"class": "form-select"}))
    billing_method = forms.ChoiceField(choices=BillingMethod.choices, widget=forms.Select({"class": "form-select"}))
    billing_name = forms.CharField(max_length=200, required=False, widget=forms.TextInput(_TEXT))
    billing_address = forms.CharField(required=False, widget=forms.Textarea({**_TEXT, "rows": 3}))
    billing_email = forms.EmailField(required=False, widget=forms.EmailInput(_TEXT))
    tax_id = forms.CharField(max_length=60, required=False, label="Tax ID", widget=forms.TextInput(_TEXT))
    apply_tax = forms.BooleanField(required=False, initial=True)
    overdraft_limit = forms.DecimalField(
        min_value=0,
        max_digits=18,
        decimal_places=2,
        initial=0,
        required=False,
        help_text="Postpaid only: how far below zero the balance may go.",
        widget=forms.NumberInput({**_TEXT, "step": "0.01"}),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        selectable = invoicing_api.billing_methods_selectable(tenant)
        if not selectable:
            # Without an invoicing licence the billing-method field disappears (SPEC §2).
            del self.fields["billing_method"]
        else:
            self.fields["billing_method"].choices = [c for c in BillingMethod.choices if c[0] in selectable]

    def clean_overdraft_limit(self):
        return self.cleaned_data.get("overdraft_limit") or 0


class AccountCreateForm(AccountForm):
    login_username = forms.CharField(
        max_length=150, required=False, label="Portal login (optional)", widget=forms.TextInput(_TEXT)
    )
    login_password = forms.CharField(
        required=False, label="Portal password", widget=forms.PasswordInput({**_TEXT, "autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("login_username") and not data.get("login_password"):
            self.add_error("login_password", "Set a password for the portal login.")
        elif data.get("login_password"):
            validate_password(data["login_password"])
        return data


class SignupForm(forms.Form):
    name = forms.CharField(max_length=200, label="Company or your name", widget=forms.TextInput(_TEXT))
    email = forms.EmailField(widget=forms.EmailInput(_TEXT))
    username = forms.CharField(max_length=150, widget=forms.TextInput(_TEXT))
    password = forms.CharField(widget=forms.PasswordInput({**_TEXT, "autocomplete": "new-password"}))

    def clean_password(self):
        validate_password(self.cleaned_data["password"])
        return self.cleaned_data["password"]


class TenantCreateForm(forms.Form):
    """The platform owner's new admin (tenant) with its owner login."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(_TEXT))
    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. USD", widget=forms.TextInput(_TEXT))
    timezone = forms.CharField(max_length=64, initial="UTC", widget=forms.TextInput(_TEXT))
    signup_slug = forms.SlugField(max_length=60, widget=forms.TextInput(_TEXT))
    owner_username = forms.CharField(max_length=150, widget=forms.TextInput(_TEXT))
    owner_email = forms.EmailField(widget=forms.EmailInput(_TEXT))
    owner_password = forms.CharField(widget=forms.PasswordInput({**_TEXT, "autocomplete": "new-password"}))


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Code",
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput({**_TEXT, "autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(required=False, label="Require two-factor for all staff")


class TwoFactorFirstCodeForm(forms.Form):
    code = forms.CharField(
        max_length=12,
        label="Code from the app",
        help_text="The 6 digits the app shows for this account, to confirm it holds the secret.",
        widget=forms.TextInput(
            {**_TEXT, "autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


class LoginForm(AuthenticationForm):
    """Django's login form, with its username's length checked on the server too (Django sets only the widget's
    maxlength): a longer one is no login, and must not reach the authentication and its throttle's records."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))
