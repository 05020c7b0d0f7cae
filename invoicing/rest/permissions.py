"""Who may call the invoicing API: the licence check (InvoicingLicensed) and the platform owner (PlatformOwner).

The page guard (invoicing/web/guard.py) wraps Django views, before DRF has authenticated a token: it cannot see
token users. So the API checks the licence as a DRF permission, after authentication, in front of the role check.
"""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from .. import api

NOT_LICENSED = "Invoicing is not licensed for this admin. The platform owner grants the Invoicing Licence."


class NotLicensed(exceptions.PermissionDenied):
    default_detail = NOT_LICENSED
    default_code = "not_licensed"


class InvoicingLicensed(BasePermission):
    """A staff login of a tenant without an active Invoicing Licence gets 403 `not_licensed`, whatever its role.

    Anonymous requests and logins that are not tenant staff pass through to the role check, which answers 401/403.
    """

    def has_permission(self, request, view):
        user = request.user
        if user and user.is_authenticated and user.tenant_id and not api.license_for(user.tenant).active:
            raise NotLicensed()
        return True


class PlatformOwner(BasePermission):
    """The platform owner (superuser) only: admins, licences, the test clock."""

    message = "Platform owner only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)
