"""Pages of the host platform: the platform owner manages admins (tenants), staff manage their users, public signup,
the user's own portal (balance, ledger, usage). The user's invoices are the invoicing plugin's portal pages
(/me/invoices/); the admins' Invoicing Licences are the plugin's owner pages, linked through its facade."""

import csv
import datetime
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from invoicing import api as invoicing_api
from msgplatform.core.clock import FIRST_DAY, LAST_DAY, day_clamp, tenant_today
from msgplatform.core.errors import DomainError
from msgplatform.core.http import content_disposition
from msgplatform.messaging.models import MICROS, UsageRollup

from . import selectors
from .forms import AccountCreateForm, AccountForm, SignupForm, TenantCreateForm
from .models import LedgerKind, Tenant
from .permissions import Perm, owner_required, portal_required, staff_required
from .services.accounts import account_create, account_signup, account_update
from .services.tenants import tenant_create


def home(request):
    """Send each kind of login to its own start page."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    if user.is_superuser:
        return redirect("accounts:owner-tenants")
    if user.account_id:
        return redirect("accounts:portal-home")
    # Staff start on the Invoicing Dashboard; without a licence, on the admin's users.
    return redirect(invoicing_api.dashboard_url(user.tenant) or "accounts:account-list")


def _form_errors_from(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@owner_required
def tenant_list(request):
    rows = [
        {
            "tenant": tenant,
            "licence": invoicing_api.license_for(tenant),
            "licence_url": invoicing_api.license_admin_url(tenant),
            "revoke_url": invoicing_api.license_revoke_url(tenant),
        }
        for tenant in Tenant.objects.order_by("name")
    ]
    return render(request, "accounts/tenant_list.html", {"rows": rows})


@owner_required
@require_http_methods(["GET", "POST"])
def tenant_create_view(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = tenant_create(actor_id=request.user.id, **form.cleaned_data)
        except DomainError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, f"Admin {tenant.name} created.")
            # Next step for a new admin: its Invoicing Licence, on the plugin's page.
            return redirect(invoicing_api.license_admin_url(tenant))
    return render(request, "accounts/tenant_form.html", {"form": form})


@staff_required(Perm.VIEW)
def account_list(request):
    search = request.GET.get("q", "").strip()
    method = request.GET.get("method", "")
    accounts = selectors.account_list(tenant=request.tenant, search=search, billing_method=method)
    if request.GET.get("format") == "csv":
        return _accounts_csv(accounts)
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/account_list.html", {"page": page, "q": search, "method": method})


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet programs run cells starting with = + - @ as formulas.
    return "'" + text if text[:1] in ("=", "+", "@") or (text[:1] == "-" and not _numeric(text)) else text


def _numeric(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _accounts_csv(accounts):
    writer = csv.writer(_Echo())
    fields = ["name", "account_type", "billing_method", "email", "billing_email", "tax_id", "apply_tax"]
    fields += ["overdraft_limit", "balance"]

    def lines():
        yield writer.writerow(fields)
        for account in accounts.iterator(chunk_size=1000):
            yield writer.writerow([_cell(getattr(account, f)) for f in fields])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition("users.csv")
    return response


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


def _ledger_csv(account, rows):
    writer = csv.writer(_Echo())
    header = ["created_at", "kind", "reference", "amount", "balance_before", "balance_after", "by"]

    def lines():
        yield writer.writerow(header)
        for t in rows.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    t.created_at.isoformat(),
                    t.kind,
                    _cell(t.reference),
                    t.amount,
                    t.balance_before,
                    t.balance_after,
                    t.actor.username if t.actor else "system",
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(f"ledger-{account.id}.csv")
    return response


@staff_required(Perm.VIEW)
def account_detail(request, account_id):
    account = selectors.account_get(tenant=request.tenant, account_id=account_id)
    if request.GET.get("format") == "csv":
        return _ledger_csv(account, selectors.ledger_for(tenant=request.tenant, account_id=account.id))
    ledger = Paginator(selectors.ledger_for(tenant=request.tenant, account_id=account.id), 50).get_page(
        request.GET.get("page")
    )
    context = {"account": account, "ledger": ledger, "account_links": invoicing_api.account_links(account)}
    return render(request, "accounts/account_detail.html", context)


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


# What a rounding row is, for the user who reads its own ledger (staff see the row as it is, at full precision).
ROUNDING_NOTES = {
    "approved": (
        "Messages are priced in fractions of a cent and your balance is charged at that precision; the invoice bills "
        "the usage rounded to the cent. This row brings your balance to what the invoice says."
    ),
    "voided": "The invoice was voided, so the rounding it had brought to your balance is taken back.",
}


def _customer_amount(amount: Decimal, currency: str) -> str:
    """An amount of the user's ledger to the cent, as the plugin formats money; a fraction of a cent reads as
    zero, never as "-$0.00"."""
    shown = invoicing_api.money_display(amount, currency)
    zero = invoicing_api.money_display(Decimal(0), currency)
    return zero if shown.lstrip("-−") == zero else shown


def _customer_ledger(rows, currency: str) -> list[dict]:
    """The ledger rows of a page as the user's own portal shows them: amounts, balances before and after to the cent,
    and each invoice rounding row named and explained in plain words (the CSV export keeps every row at full
    precision)."""
    shown = []
    for t in rows:
        note = ""
        if t.kind == LedgerKind.ROUNDING:
            note = ROUNDING_NOTES["voided" if t.reference.endswith(" voided") else "approved"]
            if _customer_amount(t.amount, currency) == _customer_amount(Decimal(0), currency):
                note += " It is less than a cent."
        shown.append(
            {
                "created_at": t.created_at,
                "kind": t.get_kind_display(),
                "reference": t.reference,
                "note": note,
                "amount": _customer_amount(t.amount, currency),
                "balance_before": _customer_amount(t.balance_before, currency),
                "balance_after": _customer_amount(t.balance_after, currency),
            }
        )
    return shown


@portal_required
def portal_home(request):
    account = request.account
    if request.GET.get("format") == "csv":
        return _ledger_csv(account, selectors.ledger_for(tenant=request.tenant, account_id=account.id))
    ledger = Paginator(selectors.ledger_for(tenant=request.tenant, account_id=account.id), 50).get_page(
        request.GET.get("page")
    )
    context = {
        "account": account,
        "ledger": ledger,
        "ledger_rows": _customer_ledger(ledger, request.tenant.currency),
        "account_links": invoicing_api.account_links(account, area="portal"),
    }
    return render(request, "accounts/portal_home.html", context)


def _month_start(value: str, today: datetime.date) -> datetime.date:
    """The month asked for (YYYY-MM), within the supported days; this month when it cannot be read."""
    try:
        first = datetime.datetime.strptime(value, "%Y-%m").date()
    except (TypeError, ValueError):
        return today.replace(day=1)
    return day_clamp(first).replace(day=1)


@portal_required
def portal_usage(request):
    """The user's messaging usage of a month (its own rollups): messages, parts and charges by country."""
    today = tenant_today(request.tenant)
    first = _month_start(request.GET.get("month", ""), today)
    # The first day of the next month (3000-01-01 after the last supported month: still a valid date).
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    rows = (
        UsageRollup.objects.filter(tenant=request.tenant, account=request.account, day__gte=first, day__lt=following)
        .values("country", "channel")
        .annotate(messages=Sum("messages"), parts=Sum("parts"), charge_micros=Sum("charge_micros"))
        .order_by("country", "channel")
    )
    usage = [{**row, "charge": Decimal(row["charge_micros"] or 0) / MICROS} for row in rows]
    context = {
        "account": request.account,
        "usage": usage,
        "month": first,
        "previous": (first - datetime.timedelta(days=1)).replace(day=1) if first > FIRST_DAY else None,
        "next": following if following <= min(today, LAST_DAY) else None,
        # Not "messages": that name belongs to the messages framework in every template.
        "total_messages": sum(r["messages"] or 0 for r in usage),
        "total_parts": sum(r["parts"] or 0 for r in usage),
        "total_charge": sum((r["charge"] for r in usage), Decimal(0)),
    }
    return render(request, "accounts/portal_usage.html", context)
