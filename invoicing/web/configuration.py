"""Invoicing settings pages: general defaults, business profile and logo, taxes, bank details, email templates,
reminder policy and API tokens. Anyone on the staff reads them; only the owner role (manage) changes them."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.accounts.services.tokens import token_create, token_revoke
from msgplatform.core.errors import DomainError

from ..models import EmailKind
from ..selectors.configuration import api_token_get, api_tokens, tax_rates
from ..services.configuration import (
    LOGO_CONTENT_TYPES,
    bank_details_for,
    bank_details_update,
    settings_for,
    settings_logo_set,
    settings_update,
    tax_rate_create,
    tax_rate_delete,
    tax_rate_get,
    tax_rate_update,
)
from ..services.emails import PLACEHOLDERS, template_for, template_preview, template_update
from .common import csv_download, form_error, found, staff_action, staff_page
from .forms import (
    BankDetailsForm,
    BusinessProfileForm,
    EmailTemplateForm,
    GeneralSettingsForm,
    LogoForm,
    ReminderPolicyForm,
    TaxForm,
    TokenForm,
)


def _settings_form_page(request, form_class, template: str, success: str, extra=None):
    row = settings_for(request.tenant)
    initial = {name: getattr(row, name) for name in form_class.base_fields}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            settings_update(tenant=request.tenant, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, success)
            return redirect(request.path)
    return render(request, template, {"form": form, "settings": row, **(extra or {})})


@staff_page(get=Perm.VIEW, post=Perm.MANAGE)
def general(request):
    return _settings_form_page(request, GeneralSettingsForm, "invoicing/settings/general.html", "Settings saved.")


@staff_page(get=Perm.VIEW, post=Perm.MANAGE)
def reminder_policy(request):
    return _settings_form_page(
        request, ReminderPolicyForm, "invoicing/settings/reminders.html", "Reminder policy saved."
    )


@staff_page(get=Perm.VIEW, post=Perm.MANAGE)
def business(request):
    row = settings_for(request.tenant)
    initial = {name: getattr(row, name) for name in BusinessProfileForm.base_fields}
    posted = request.method == "POST"
    action = request.POST.get("action")
    form = BusinessProfileForm(request.POST if posted and action == "profile" else None, initial=initial)
    logo_form = LogoForm(request.POST if posted and action == "logo" else None, request.FILES or None)
    if posted and action == "profile" and form.is_valid():
        try:
            settings_update(tenant=request.tenant, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, "Business profile saved.")
            return redirect(request.path)
    elif posted and action == "logo" and logo_form.is_valid():
        try:
            settings_logo_set(tenant=request.tenant, actor_id=request.user.id, uploaded=logo_form.cleaned_data["logo"])
        except DomainError as error:
            form_error(logo_form, error)
        else:
            messages.success(request, "Logo saved.")
            return redirect(request.path)
    elif posted and action == "logo-remove":
        settings_logo_set(tenant=request.tenant, actor_id=request.user.id, uploaded=None)
        messages.success(request, "Logo removed.")
        return redirect(request.path)
    return render(request, "invoicing/settings/business.html", {"form": form, "logo_form": logo_form, "settings": row})


@staff_required(Perm.VIEW)
def logo(request):
    row = settings_for(request.tenant)
    if not row.logo:
        raise Http404("No logo.")
    kind = LOGO_CONTENT_TYPES.get(row.logo.name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    with row.logo.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type=kind)
    # An uploaded SVG must never run script in our origin.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


# --- taxes ----------------------------------------------------------------------------------------------------


@staff_required(Perm.VIEW)
def tax_list(request):
    search = request.GET.get("q", "").strip()
    qs = tax_rates(tenant=request.tenant, search=search)
    if request.GET.get("format") == "csv":
        rows = ([t.created_at, t.name, t.rate, t.description, t.applicable, t.active] for t in qs)
        return csv_download("taxes.csv", ["created_at", "name", "rate", "description", "applicable", "active"], rows)
    try:
        per_page = min(max(int(request.GET.get("per_page", 10)), 1), 100)
    except ValueError:
        per_page = 10
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    return render(request, "invoicing/settings/taxes.html", {"page": page, "q": search, "per_page": per_page})


@staff_page(get=Perm.MANAGE, post=Perm.MANAGE)
def tax_create(request):
    form = TaxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tax = tax_rate_create(tenant=request.tenant, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Tax {tax.name} added.")
            return redirect("invoicing:tax-list")
    return render(request, "invoicing/settings/tax_form.html", {"form": form, "creating": True})


@staff_page(get=Perm.MANAGE, post=Perm.MANAGE)
def tax_edit(request, tax_id):
    tax = found(tax_rate_get, tenant=request.tenant, tax_id=tax_id)
    initial = {name: getattr(tax, name) for name in TaxForm.base_fields}
    initial["rate"] = tax.rate.normalize()
    form = TaxForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            tax_rate_update(tenant=request.tenant, tax_id=tax.pk, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Tax {form.cleaned_data['name']} saved.")
            return redirect("invoicing:tax-list")
    return render(request, "invoicing/settings/tax_form.html", {"form": form, "tax": tax})


@staff_action(Perm.MANAGE)
def tax_delete(request, tax_id):
    tax = found(tax_rate_get, tenant=request.tenant, tax_id=tax_id)
    tax_rate_delete(tenant=request.tenant, tax_id=tax.pk, actor_id=request.user.id)
    messages.success(request, f"Tax {tax.name} deleted; invoices already issued keep it.")
    return redirect("invoicing:tax-list")


# --- bank details ---------------------------------------------------------------------------------------------


@staff_page(get=Perm.VIEW, post=Perm.MANAGE)
def bank(request):
    row = bank_details_for(request.tenant)
    form = BankDetailsForm(request.POST or None, initial={f: getattr(row, f) for f in BankDetailsForm.base_fields})
    if request.method == "POST" and form.is_valid():
        try:
            bank_details_update(tenant=request.tenant, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, "Bank details saved; they are printed on invoices.")
            return redirect(request.path)
    return render(request, "invoicing/settings/bank.html", {"form": form})


# --- email templates ------------------------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in EmailKind.values:
        raise Http404("No such template.")
    return kind


@staff_page(get=Perm.VIEW, post=Perm.MANAGE)
def email_template(request, kind):
    kind = _kind(kind)
    subject, body = template_for(request.tenant, kind)
    form = EmailTemplateForm(request.POST or None, initial={"subject": subject, "body": body})
    if request.method == "POST" and form.is_valid():
        try:
            template_update(tenant=request.tenant, kind=kind, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, f"{EmailKind(kind).label} email template saved.")
            return redirect(request.path)
    preview = None
    if request.method == "GET":
        preview = template_preview(tenant=request.tenant, kind=kind)
    return render(
        request,
        "invoicing/settings/email_template.html",
        {
            "form": form,
            "kind": kind,
            "kinds": EmailKind.choices,
            "placeholders": PLACEHOLDERS[kind],
            "preview": preview,
        },
    )


@staff_action(Perm.MANAGE)
def email_template_preview(request, kind):
    """The template with sample values, unsaved edits included (htmx fragment next to the form)."""
    kind = _kind(kind)
    form = EmailTemplateForm(request.POST)
    preview = error = None
    if form.is_valid():
        try:
            preview = template_preview(tenant=request.tenant, kind=kind, **form.cleaned_data)
        except DomainError as exc:
            error = exc
    return render(request, "invoicing/settings/_email_preview.html", {"preview": preview, "error": error, "form": form})


# --- API tokens (owner only) ----------------------------------------------------------------------------------


@staff_page(get=Perm.MANAGE, post=Perm.MANAGE)
def tokens(request):
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = token_create(user=request.user, name=form.cleaned_data["name"])
        except DomainError as error:
            form_error(form, error)
        else:
            form = TokenForm()
            messages.success(request, f"Token {token.name} created. Copy the secret now: it is shown only once.")
    # Never stored, like every answer (msgplatform.core.middleware.NoStoreMiddleware): the secret is shown once.
    return render(
        request,
        "invoicing/settings/tokens.html",
        {"form": form, "secret": secret, "tokens": api_tokens(tenant=request.tenant)},
    )


@staff_action(Perm.MANAGE)
def token_revoke_view(request, token_id):
    token = found(api_token_get, tenant=request.tenant, token_id=token_id)
    token_revoke(token=token, actor_id=request.user.id)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("invoicing:tokens")
