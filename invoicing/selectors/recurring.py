"""Reads of recurring billing: the tenant's schedules (with their users) and its billing runs.

Every function takes the tenant and filters by it first; another tenant's id is NotFound (a 404), never a 403.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from msgplatform.accounts.models import Account, BillingMethod
from msgplatform.core.errors import NotFound

from ..models import BillingRun, BillingSchedule
from .accounts import invoiceable_accounts

# ordering of schedules: the pages list them by user name, the API by id (stable for clients that page)
SCHEDULE_ORDERINGS = {"user": ("account__name", "id"), "id": ("id",)}


def schedules(*, tenant, ordering: str = "user") -> QuerySet[BillingSchedule]:
    """The tenant's schedules with their users, by user name ("user") or by id ("id")."""
    return (
        BillingSchedule.objects.filter(tenant=tenant).select_related("account").order_by(*SCHEDULE_ORDERINGS[ordering])
    )


def schedule_counts(*, tenant) -> dict[str, int]:
    """Number of the tenant's schedules per status."""
    rows = BillingSchedule.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")).order_by()
    return dict(rows)


def schedule_get(*, tenant, schedule_id) -> BillingSchedule:
    try:
        return BillingSchedule.objects.select_related("account").get(tenant=tenant, pk=int(schedule_id))
    except (BillingSchedule.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such schedule.")


def unscheduled_postpaid_accounts(*, tenant) -> QuerySet[Account]:
    """The tenant's postpaid users that have no schedule yet (a user has at most one)."""
    taken = BillingSchedule.objects.filter(tenant=tenant).values_list("account_id", flat=True)
    return invoiceable_accounts(tenant=tenant, billing_method=BillingMethod.POSTPAID).exclude(id__in=taken)


def billing_runs(*, tenant) -> QuerySet[BillingRun]:
    """The tenant's billing runs, newest first."""
    return BillingRun.objects.filter(tenant=tenant).order_by("-id")


def recent_billing_runs(*, tenant, limit: int = 5) -> list[BillingRun]:
    return list(billing_runs(tenant=tenant)[:limit])


def billing_run_get(*, tenant, run_id) -> BillingRun:
    try:
        return BillingRun.objects.get(tenant=tenant, pk=int(run_id))
    except (BillingRun.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such billing run.")
