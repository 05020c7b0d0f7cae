"""Platform owner pages of an admin's Invoicing Licence (and its test clock). Not licence-gated: they grant it.

The list of admins and their creation are the host's pages (msgplatform.accounts.views); it links here through
invoicing.api.license_admin_url, and these pages go back to it.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from msgplatform.accounts.models import Tenant
from msgplatform.accounts.permissions import owner_required
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import DomainError

from .. import api
from ..services.clock import clock_advance, clock_enabled, clock_reset
from ..services.licenses import license_grant, license_revoke
from .forms import LicenseForm


@owner_required
@require_http_methods(["GET", "POST"])
def license_edit(request, tenant_id):
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    current = getattr(tenant, "invoicing_license", None)
    initial = (
        {"prepaid": current.prepaid, "postpaid": current.postpaid, "valid_until": current.valid_until}
        if current
        else None
    )
    form = LicenseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        license_grant(tenant=tenant, actor_id=request.user.id, **form.cleaned_data)
        messages.success(request, f"Invoicing licence granted to {tenant.name}.")
        return redirect("accounts:owner-tenants")
    return render(
        request,
        "invoicing/owner/license_form.html",
        {
            "form": form,
            "tenant": tenant,
            "info": api.license_for(tenant),
            "clock_enabled": clock_enabled(),
            "tenant_today": tenant_today(tenant),
        },
    )


@owner_required
@require_POST
def test_clock_view(request, tenant_id):
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    try:
        if request.POST.get("reset"):
            clock_reset(tenant=tenant, actor_id=request.user.id)
        else:
            tenant = clock_advance(tenant=tenant, days=request.POST.get("days"), actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{tenant.name}: today is now {tenant_today(tenant):%Y-%m-%d}.")
    return redirect("invoicing:owner-license", tenant_id=tenant.id)


@owner_required
@require_POST
def license_revoke_view(request, tenant_id):
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    license_revoke(tenant=tenant, actor_id=request.user.id)
    messages.success(request, f"Invoicing licence of {tenant.name} revoked.")
    return redirect("accounts:owner-tenants")
