"""Reads of the tenant's users (accounts) that invoicing needs: who can be invoiced, and the choices of a select."""

from __future__ import annotations

from django.db.models import QuerySet

from msgplatform.accounts.models import Account, AccountType


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
