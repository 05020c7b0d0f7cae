from django import forms

_TEXT = {"class": "form-control"}


class TenantCreateForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(_TEXT))
    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. USD", widget=forms.TextInput(_TEXT))
    timezone = forms.CharField(max_length=64, initial="UTC", widget=forms.TextInput(_TEXT))
    signup_slug = forms.SlugField(max_length=60, widget=forms.TextInput(_TEXT))
    owner_username = forms.CharField(max_length=150, widget=forms.TextInput(_TEXT))
    owner_email = forms.EmailField(widget=forms.EmailInput(_TEXT))
    owner_password = forms.CharField(widget=forms.PasswordInput({**_TEXT, "autocomplete": "new-password"}))


class LicenseForm(forms.Form):
    prepaid = forms.BooleanField(required=False, initial=True)
    postpaid = forms.BooleanField(required=False, initial=True)
    valid_until = forms.DateField(widget=forms.DateInput({**_TEXT, "type": "date"}))

    def clean(self):
        data = super().clean()
        if not (data.get("prepaid") or data.get("postpaid")):
            raise forms.ValidationError("A licence covers prepaid, postpaid or both.")
        return data
