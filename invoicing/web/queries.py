"""Reads the pages need that invoicing/selectors does not offer yet. Each takes the tenant and filters by it first;
another tenant's id is NotFound (a 404), never a 403. Candidates to move into invoicing/selectors.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, QuerySet

from msgplatform.accounts.models import Account, AccountType, ApiToken
from msgplatform.core.errors import NotFound
from msgplatform.core.models import Event

from ..models import BillingRun, BillingSchedule, EmailLog, Invoice, InvoiceStatus, Payment, TaxRate


def invoiceable_accounts(*, tenant, billing_method: str | None = None) -> QuerySet[Account]:
    """The tenant's users an invoice can be made for (resellers are never invoiced)."""
    qs = Account.objects.filter(tenant=tenant, account_type=AccountType.USER, is_active=True)
    if billing_method:
        qs = qs.filter(billing_method=billing_method)
    return qs.order_by("name", "id")


def account_choices(
    *, tenant, billing_method: str | None = None, blank: str | None = None, limit: int | None = None, selected=None
) -> list[tuple]:
    """(id, label) of the tenant's invoiceable users for a select. With `limit`, a tenant with more users than that
    gets only the selected one (the grid's free-text search finds users by name): a select of thousands of users
    makes every page heavy."""
    qs = invoiceable_accounts(tenant=tenant, billing_method=billing_method)
    if limit is not None and qs[: limit + 1].count() > limit:
        qs = qs.filter(pk=selected) if str(selected or "").isdigit() else qs.none()
    rows = qs.values_list("id", "name", "billing_method")
    choices = [(pk, name if billing_method else f"{name} ({method})") for pk, name, method in rows]
    return ([("", blank)] if blank is not None else []) + choices


def open_invoices(*, tenant, account_id) -> QuerySet[Invoice]:
    """Approved invoices of one of the tenant's users that still owe something, oldest due first."""
    return Invoice.objects.filter(
        tenant=tenant, account_id=account_id, status=InvoiceStatus.APPROVED, balance_due__gt=0
    ).order_by("due_date", "id")


def invoice_events(*, tenant, invoice_id) -> QuerySet[Event]:
    return Event.objects.filter(tenant=tenant, subject_type="invoice", subject_id=invoice_id).select_related("actor")


def payment_get(*, tenant, payment_id) -> Payment:
    try:
        return Payment.objects.select_related("invoice", "account").get(tenant=tenant, pk=int(payment_id))
    except (Payment.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such payment.")


def schedules(*, tenant) -> QuerySet[BillingSchedule]:
    return BillingSchedule.objects.filter(tenant=tenant).select_related("account").order_by("account__name", "id")


def schedule_counts(*, tenant) -> dict[str, int]:
    rows = BillingSchedule.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")).order_by()
    return dict(rows)


def schedule_get(*, tenant, schedule_id) -> BillingSchedule:
    try:
        return BillingSchedule.objects.select_related("account").get(tenant=tenant, pk=int(schedule_id))
    except (BillingSchedule.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such schedule.")


def billing_run_get(*, tenant, run_id) -> BillingRun:
    try:
        return BillingRun.objects.get(tenant=tenant, pk=int(run_id))
    except (BillingRun.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such billing run.")


def recent_billing_runs(*, tenant, limit: int = 5) -> list[BillingRun]:
    return list(BillingRun.objects.filter(tenant=tenant).order_by("-id")[:limit])


def tax_rates(*, tenant, search: str = "") -> QuerySet[TaxRate]:
    qs = TaxRate.objects.filter(tenant=tenant, deleted_at__isnull=True)
    if search:
        qs = qs.filter(name__icontains=search) | qs.filter(description__icontains=search)
    return qs.order_by("-created_at", "-id")


def events(
    *,
    tenant,
    area: str = "",
    kind: str = "",
    level: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> QuerySet[Event]:
    qs = Event.objects.filter(tenant=tenant)
    if area:
        qs = qs.filter(area=area)
    if kind:
        qs = qs.filter(kind__icontains=kind)
    if level:
        qs = qs.filter(level=level)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.select_related("actor").order_by("-id")


def event_areas(*, tenant) -> list[str]:
    return list(Event.objects.filter(tenant=tenant).order_by("area").values_list("area", flat=True).distinct())


def email_logs(*, tenant, status: str = "", kind: str = "", search: str = "") -> QuerySet[EmailLog]:
    qs = EmailLog.objects.filter(tenant=tenant)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(recipient__icontains=search) | qs.filter(subject__icontains=search)
    return qs.select_related("account").order_by("-id")


def email_log_get(*, tenant, log_id) -> EmailLog:
    try:
        return EmailLog.objects.select_related("account").get(tenant=tenant, pk=int(log_id))
    except (EmailLog.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such email.")


def api_tokens(*, tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user__tenant=tenant).select_related("user").order_by("-id")


def api_token_get(*, tenant, token_id) -> ApiToken:
    try:
        return ApiToken.objects.select_related("user").get(user__tenant=tenant, pk=int(token_id))
    except (ApiToken.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such token.")


# --- the users' portal: always one account's own rows ---------------------------------------------------------


def portal_invoices(*, account) -> QuerySet[Invoice]:
    """The account's approved invoices (never drafts; void ones are not the user's to pay)."""
    return Invoice.objects.filter(tenant_id=account.tenant_id, account=account, status=InvoiceStatus.APPROVED).order_by(
        "-invoice_date", "-id"
    )


def portal_invoice_get(*, account, invoice_id) -> Invoice:
    try:
        return portal_invoices(account=account).get(pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


def portal_payments(*, account) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(tenant_id=account.tenant_id, account=account, invoice__status=InvoiceStatus.APPROVED)
        .select_related("invoice")
        .order_by("-payment_date", "-id")
    )
