"""The one licence check in front of every invoicing page and endpoint.

`licensed_urlpatterns` wraps every view of the invoicing URL modules, so a new page cannot forget the check:
staff of a tenant without an active Invoicing Licence get a "not licensed" page (403) or, for the API, a
problem+json body with code `not_licensed`.
"""

from functools import wraps

from django.http import JsonResponse
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


def not_licensed_response(request, *, as_json: bool):
    message = "Invoicing is not licensed for this admin. The platform owner grants the Invoicing Licence."
    if as_json:
        return JsonResponse(
            {
                "type": "https://docs.invalid/problems/not_licensed",
                "title": message,
                "status": 403,
                "code": "not_licensed",
                "detail": message,
            },
            status=403,
            content_type="application/problem+json",
        )
    return render(request, "invoicing/not_licensed.html", {"message": message}, status=403)


def licensed(view, *, as_json: bool = False):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        tenant = _tenant_of(request)
        # Anonymous requests fall through to the view's own login/authentication answer.
        if tenant is not None and not api.license_for(tenant).active:
            return not_licensed_response(request, as_json=as_json)
        return view(request, *args, **kwargs)

    wrapper.licence_guarded = True
    return wrapper


def licensed_urlpatterns(patterns, *, as_json: bool = False):
    for entry in patterns:
        if isinstance(entry, URLPattern):
            entry.callback = licensed(entry.callback, as_json=as_json)
        elif isinstance(entry, URLResolver):
            licensed_urlpatterns(entry.url_patterns, as_json=as_json)
    return patterns
