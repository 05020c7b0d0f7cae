"""Pages of the host platform: staff manage their users, public signup, the user's own portal home."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from msgplatform.core.errors import DomainError

from . import selectors
from .forms import AccountCreateForm, AccountForm, SignupForm
from .models import Tenant
from .permissions import Perm, portal_required, staff_required
from .services.accounts import account_create, account_signup, account_update


def home(request):
    """Send each kind of login to its own start page."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    if user.is_superuser:
        return redirect("invoicing:owner-tenants")
    if user.account_id:
        return redirect("accounts:portal-home")
    return redirect("accounts:account-list")


def _form_errors_from(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@staff_required(Perm.VIEW)
def account_list(request):
    search = request.GET.get("q", "").strip()
    method = request.GET.get("method", "")
    page = Paginator(selectors.account_list(tenant=request.tenant, search=search, billing_method=method), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/account_list.html", {"page": page, "q": search, "method": method})


@staff_required(Perm.BILL)
@require_http_methods(["GET", "POST"])
def account_create_view(request):
    form = AccountCreateForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            account = account_create(tenant=request.tenant, actor_id=request.user.id, **data)
        except DomainError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, f"User {account.name} created.")
            return redirect("accounts:account-detail", account_id=account.id)
    return render(request, "accounts/account_form.html", {"form": form, "creating": True})


@staff_required(Perm.BILL)
@require_http_methods(["GET", "POST"])
def account_edit_view(request, account_id):
    account = selectors.account_get(tenant=request.tenant, account_id=account_id)
    initial = {f: getattr(account, f) for f in AccountForm.base_fields}
    form = AccountForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account_update(account=account, actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, f"User {account.name} saved.")
            return redirect("accounts:account-detail", account_id=account.id)
    return render(request, "accounts/account_form.html", {"form": form, "account": account})


@staff_required(Perm.VIEW)
def account_detail(request, account_id):
    account = selectors.account_get(tenant=request.tenant, account_id=account_id)
    ledger = Paginator(selectors.ledger_for(tenant=request.tenant, account_id=account.id), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/account_detail.html", {"account": account, "ledger": ledger})


@require_http_methods(["GET", "POST"])
def signup(request, slug):
    tenant = get_object_or_404(Tenant, signup_slug=slug, is_active=True)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_signup(tenant=tenant, **form.cleaned_data)
        except DomainError as error:
            form.add_error("username" if error.field == "login_username" else error.field, error.message)
        else:
            messages.success(request, "Your account is ready. Log in with the login you chose.")
            return redirect("accounts:login")
    return render(request, "accounts/signup.html", {"form": form, "tenant": tenant})


@portal_required
def portal_home(request):
    account = request.account
    ledger = Paginator(selectors.ledger_for(tenant=request.tenant, account_id=account.id), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/portal_home.html", {"account": account, "ledger": ledger})
