"""Creating tenants (Admins) and their staff logins."""

from babel.numbers import get_currency_name
from django.db import IntegrityError, transaction

from msgplatform.core.errors import Conflict, ValidationFailed
from msgplatform.core.events import event_record

from ..models import TIMEZONE_CHOICES, StaffRole, Tenant, User

_TIMEZONES = {name for name, _ in TIMEZONE_CHOICES}


def currency_validate(code: str) -> str:
    code = (code or "").strip().upper()
    if len(code) != 3 or get_currency_name(code, locale="en") == code:
        raise ValidationFailed(f"'{code}' is not an ISO 4217 currency code.", field="currency")
    return code


def timezone_validate(name: str) -> str:
    if name not in _TIMEZONES:
        raise ValidationFailed(f"'{name}' is not a known time zone.", field="timezone")
    return name


@transaction.atomic
def tenant_create(
    *,
    name: str,
    currency: str,
    timezone: str,
    signup_slug: str,
    owner_username: str,
    owner_email: str,
    owner_password: str,
    actor_id: int | None = None,
) -> Tenant:
    currency = currency_validate(currency)
    timezone = timezone_validate(timezone)
    if Tenant.objects.filter(signup_slug=signup_slug).exists():
        raise Conflict(f"The signup slug '{signup_slug}' is taken.", field="signup_slug")
    tenant = Tenant.objects.create(name=name, currency=currency, timezone=timezone, signup_slug=signup_slug)
    staff_create(
        tenant=tenant,
        username=owner_username,
        email=owner_email,
        password=owner_password,
        role=StaffRole.OWNER,
        actor_id=actor_id,
    )
    event_record(
        area="accounts",
        kind="tenant.created",
        tenant_id=tenant.id,
        actor_id=actor_id,
        subject_type="tenant",
        subject_id=tenant.id,
        message=f"Admin {name} created ({currency}, {timezone})",
    )
    return tenant


def staff_create(
    *, tenant: Tenant, username: str, email: str, password: str, role: str, actor_id: int | None = None
) -> User:
    if role not in StaffRole.values:
        raise ValidationFailed(f"Unknown role '{role}'.", field="role")
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password, tenant=tenant, role=role)
    except IntegrityError:
        raise Conflict(f"The login '{username}' is taken.", field="username")
    event_record(
        area="accounts",
        kind="staff.created",
        tenant_id=tenant.id,
        actor_id=actor_id,
        subject_type="user",
        subject_id=user.id,
        message=f"Staff login {username} ({role}) created",
    )
    return user
