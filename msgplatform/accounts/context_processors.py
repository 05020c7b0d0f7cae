"""Template context: the tenant of the logged-in staff or portal login, and the entries of its navigation bar.

The invoicing plugin's entries come from its facade (`invoicing.api.navigation`); the host places its own around
them: staff see the plugin's daily work, then Users, then the plugin's settings and logs, then their two-factor page.
"""

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from invoicing import api as invoicing_api
from invoicing.contracts import NavEntry


def tenant(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = user.tenant if user.tenant_id else (user.account.tenant if user.account_id else None)
    if current is None:
        return {}
    # Lazy: htmx fragments and other pages without the bar never ask the plugin for its entries.
    return {"current_tenant": current, "nav_entries": SimpleLazyObject(lambda: navigation(request, current))}


def navigation(request, tenant) -> list[NavEntry]:
    match = request.resolver_match
    namespace, url_name = (match.namespace, match.url_name or "") if match else ("", "")
    ours = namespace == "accounts"
    if request.user.tenant_id:
        plugin = invoicing_api.navigation(tenant, area="staff", namespace=namespace, url_name=url_name)
        users = NavEntry("Users", reverse("accounts:account-list"), active=ours and "account" in url_name)
        two_factor = NavEntry("Two-factor", reverse("accounts:two-factor"), active=ours and "two-factor" in url_name)
        return [
            *(entry for entry in plugin if entry.group == "main"),
            users,
            *(entry for entry in plugin if entry.group != "main"),
            two_factor,
        ]
    return [
        NavEntry("My account", reverse("accounts:portal-home"), active=ours and url_name == "portal-home"),
        *invoicing_api.navigation(tenant, area="portal", namespace=namespace, url_name=url_name),
        NavEntry("Usage", reverse("accounts:portal-usage"), active=ours and url_name == "portal-usage"),
    ]
