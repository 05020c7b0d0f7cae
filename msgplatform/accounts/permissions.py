"""The one permission layer: which staff role may do what. Pages (decorator) and API (DRF class) both use it.

`view`   read anything of the tenant            owner, billing, viewer
`bill`   invoices, payments, schedules, users   owner, billing
`manage` settings, staff, API tokens            owner
"""

from enum import StrEnum
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from .models import StaffRole


class Perm(StrEnum):
    VIEW = "view"
    BILL = "bill"
    MANAGE = "manage"


ROLE_PERMS: dict[str, frozenset[Perm]] = {
    StaffRole.OWNER: frozenset({Perm.VIEW, Perm.BILL, Perm.MANAGE}),
    StaffRole.BILLING: frozenset({Perm.VIEW, Perm.BILL}),
    StaffRole.VIEWER: frozenset({Perm.VIEW}),
}


def staff_can(user, perm: Perm) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.tenant_id:
        return False
    if not user.tenant.is_active:
        return False
    return perm in ROLE_PERMS.get(user.role, frozenset())


# What a role may not do, in the words of the 403 page ("Your role, Viewer, <this>."), per permission it lacks.
DENIED: dict[Perm, str] = {
    Perm.VIEW: "does not open the pages of invoicing and users",
    Perm.BILL: (
        "may look at everything but not change it: recording or reversing payments, creating, approving, emailing or "
        "voiding invoices, credit notes, reminders, recurring invoices and users' billing need the Billing or Owner "
        "role"
    ),
    Perm.MANAGE: (
        "may not change settings: the business profile, taxes, bank details, email templates, staff logins and API "
        "tokens need the Owner role"
    ),
}


def denied_message(user, perm: Perm) -> str:
    """Why a staff page is refused, in plain words: what the login's role may not do and whom to ask."""
    tenant = getattr(user, "tenant", None) if getattr(user, "tenant_id", None) else None
    if tenant is None:
        return "This page is for an admin's staff; you are signed in with another kind of login."
    if not tenant.is_active:
        return f"{tenant.name} is not active: its pages are closed."
    role = StaffRole(user.role).label if user.role in StaffRole.values else "none"
    return f"Your role, {role}, {DENIED[perm]}. Ask an owner of {tenant.name} to change your role."


def staff_required(perm: Perm):
    """Page decorator: a staff login of an active tenant with `perm`; sets request.tenant."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not staff_can(request.user, perm):
                raise PermissionDenied(denied_message(request.user, perm))
            request.tenant = request.user.tenant
            return view(request, *args, **kwargs)

        wrapper.required_perm = perm
        return wrapper

    return decorator


def owner_required(view):
    """Page decorator for the platform owner (superuser)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_superuser:
            raise PermissionDenied("Platform owner only.")
        return view(request, *args, **kwargs)

    return wrapper


def portal_required(view):
    """Page decorator for an account's own portal login; sets request.account."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.account_id:
            raise PermissionDenied("This page is for users' own logins.")
        request.account = request.user.account
        request.tenant = request.account.tenant
        return view(request, *args, **kwargs)

    return wrapper


class StaffPermission(BasePermission):
    """DRF: the view declares `required_perm` (default view for safe methods, bill otherwise)."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        perm = getattr(view, "required_perm", None)
        if perm is None:
            perm = Perm.VIEW if request.method in ("GET", "HEAD", "OPTIONS") else Perm.BILL
        if isinstance(perm, dict):
            perm = perm.get(request.method, Perm.BILL)
        if not staff_can(request.user, perm):
            return False
        request.tenant = request.user.tenant
        return True


class PlatformOwnerPermission(BasePermission):
    """DRF counterpart of `owner_required`: the platform owner (superuser) only."""

    message = "Platform owner only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)
