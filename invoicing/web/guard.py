"""The one licence check in front of every invoicing page.

`licensed_urlpatterns` wraps every view of the invoicing page URL modules, so a new page cannot forget the check:
staff of a tenant without an active Invoicing Licence get a "not licensed" page (403). The API answers its own
problem+json `not_licensed` from a DRF permission (invoicing/rest/permissions.py): a token is only known after
DRF has authenticated it, later than this wrapper runs.
"""

from functools import wraps

from django.shortcuts import render
from django.urls import URLPattern, URLResolver

from .. import api


def _tenant_of(request):
    user = request.user
    if not user.is_authenticated:
        return None
    if user.tenant_id:
        return user.tenant
    if user.account_id:
        return user.account.tenant
    return None


def not_licensed_response(request):
    message = "Invoicing is not licensed for this admin. The platform owner grants the Invoicing Licence."
    return render(request, "invoicing/not_licensed.html", {"message": message}, status=403)


def licensed(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        tenant = _tenant_of(request)
        # Anonymous requests fall through to the view's own login/authentication answer.
        if tenant is not None and not api.license_for(tenant).active:
            return not_licensed_response(request)
        return view(request, *args, **kwargs)

    wrapper.licence_guarded = True
    return wrapper


def licensed_urlpatterns(patterns):
    for entry in patterns:
        if isinstance(entry, URLPattern):
            entry.callback = licensed(entry.callback)
        elif isinstance(entry, URLResolver):
            licensed_urlpatterns(entry.url_patterns)
    return patterns
