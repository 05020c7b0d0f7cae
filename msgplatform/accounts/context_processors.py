"""Template context: the tenant of the logged-in staff or portal login, and its invoicing licence."""

from invoicing import api as invoicing_api


def tenant(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = user.tenant if user.tenant_id else (user.account.tenant if user.account_id else None)
    if current is None:
        return {}
    return {"current_tenant": current, "invoicing_license": invoicing_api.license_for(current)}
