"""Reads of usage for the postpaid "fetch records" step: the records behind a preview, paginated."""

import datetime

from django.core.paginator import Page, Paginator

from msgplatform.accounts.models import Account
from msgplatform.core.errors import NotFound

from ..conf import usage_source


def preview_records_page(
    *, tenant, account_id, period_start: datetime.date, period_end: datetime.date, page: int = 1, per_page: int = 50
) -> Page:
    """The unbilled postpaid records a manual invoice of the range would bill, oldest first: the range's and every
    older unbilled day's (prior-period usage, SPEC §3)."""
    if not Account.objects.filter(tenant=tenant, pk=account_id).exists():
        raise NotFound("No such user.")
    qs = usage_source().records(
        tenant_id=tenant.id, account_id=int(account_id), start=period_start, end=period_end, include_prior=True
    )
    return Paginator(qs, per_page).get_page(page)


def invoice_records(*, tenant, invoice):
    """Exactly the records an invoice billed (its billed buckets), for the annex and the evidence file."""
    if invoice.tenant_id != tenant.id:
        raise NotFound("No such invoice.")
    return usage_source().records(
        tenant_id=tenant.id, account_id=invoice.account_id, start=None, end=None, invoice_id=invoice.pk
    )
