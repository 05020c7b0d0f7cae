"""Reads of accounts and ledgers. Every function takes the tenant and filters by it first."""

from django.db.models import QuerySet
from django.http import Http404

from .models import Account, BalanceTransaction, Tenant


def account_list(*, tenant: Tenant, search: str = "", billing_method: str = "") -> QuerySet[Account]:
    qs = Account.objects.filter(tenant=tenant)
    if search:
        qs = qs.filter(name__icontains=search) | qs.filter(email__icontains=search)
    if billing_method:
        qs = qs.filter(billing_method=billing_method)
    return qs.order_by("name", "id")


def account_get(*, tenant: Tenant, account_id) -> Account:
    """The tenant's account, or 404: another tenant's id is indistinguishable from a missing one."""
    try:
        return Account.objects.get(tenant=tenant, pk=int(account_id))
    except (Account.DoesNotExist, TypeError, ValueError):
        raise Http404("No such user.")


def ledger_for(*, tenant: Tenant, account_id: int) -> QuerySet[BalanceTransaction]:
    return (
        BalanceTransaction.objects.filter(tenant=tenant, account_id=account_id).select_related("actor").order_by("-id")
    )
