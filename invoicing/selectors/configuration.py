"""Reads of the tenant's invoicing configuration: tax rates, the invoice counter, customised email templates, and
the API tokens of its staff.

Every function takes the tenant and filters by it first; another tenant's id is NotFound (a 404), never a 403.
"""

from __future__ import annotations

from django.db.models import QuerySet

from msgplatform.accounts.models import ApiToken
from msgplatform.core.errors import NotFound

from ..models import EmailTemplate, InvoiceSequence, TaxRate

# ordering of tax rates: the settings page shows the newest first, the API lists them by name
TAX_RATE_ORDERINGS = {"newest": ("-created_at", "-id"), "name": ("name", "id")}


def tax_rates(*, tenant, search: str = "", ordering: str = "newest") -> QuerySet[TaxRate]:
    """The tenant's tax rates that are not deleted; `search` matches the name or the description."""
    qs = TaxRate.objects.filter(tenant=tenant, deleted_at__isnull=True)
    if search:
        qs = qs.filter(name__icontains=search) | qs.filter(description__icontains=search)
    return qs.order_by(*TAX_RATE_ORDERINGS[ordering])


def invoice_sequence_last(*, tenant) -> int:
    """The last invoice number taken from the tenant's counter (0 before the first approval)."""
    return InvoiceSequence.objects.filter(tenant=tenant).values_list("last_value", flat=True).first() or 0


def email_template_customised(*, tenant, kind: str) -> bool:
    """True when the tenant saved its own template of `kind` (else the built-in default is used)."""
    return EmailTemplate.objects.filter(tenant=tenant, kind=kind).exists()


def api_tokens(*, tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user__tenant=tenant).select_related("user").order_by("-id")


def api_token_get(*, tenant, token_id) -> ApiToken:
    try:
        return ApiToken.objects.select_related("user").get(user__tenant=tenant, pk=int(token_id))
    except (ApiToken.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such token.")
