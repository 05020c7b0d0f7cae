"""Creating and editing the accounts (the SPEC's Users) an Admin bills, and public self-signup."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from invoicing import api as invoicing_api
from msgplatform.core.errors import Conflict, ValidationFailed
from msgplatform.core.events import event_record

from ..models import Account, AccountType, BillingMethod, Tenant, User

PROFILE_FIELDS = (
    "name",
    "email",
    "account_type",
    "billing_name",
    "billing_address",
    "billing_email",
    "tax_id",
    "apply_tax",
    "overdraft_limit",
)


def _clean_profile(tenant: Tenant, data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(PROFILE_FIELDS) - {"billing_method"}
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    out = dict(data)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"]:
            raise ValidationFailed("Name is required.", field="name")
    if "account_type" in out and out["account_type"] not in AccountType.values:
        raise ValidationFailed("Account type must be user or reseller.", field="account_type")
    if "overdraft_limit" in out:
        try:
            limit = Decimal(str(out["overdraft_limit"]))
        except (InvalidOperation, ValueError):
            raise ValidationFailed("Overdraft limit must be a number.", field="overdraft_limit")
        if limit < 0 or not limit.is_finite():
            raise ValidationFailed("Overdraft limit cannot be negative.", field="overdraft_limit")
        out["overdraft_limit"] = limit
    if "billing_method" in out:
        method = out["billing_method"]
        selectable = invoicing_api.billing_methods_selectable(tenant)
        if method not in BillingMethod.values:
            raise ValidationFailed("Billing method must be prepaid or postpaid.", field="billing_method")
        if method not in selectable and method != BillingMethod.PREPAID:
            raise ValidationFailed(
                "The invoicing licence does not cover postpaid billing.", field="billing_method", code="not_licensed"
            )
    return out


def account_create(
    *,
    tenant: Tenant,
    actor_id: int | None,
    login_username: str = "",
    login_password: str = "",
    signed_up: bool = False,
    **profile: Any,
) -> Account:
    profile.setdefault("billing_method", BillingMethod.PREPAID)
    profile = _clean_profile(tenant, profile)
    if profile.get("billing_method") != BillingMethod.POSTPAID:
        profile["overdraft_limit"] = Decimal("0")
    try:
        with transaction.atomic():
            account = Account.objects.create(tenant=tenant, signed_up=signed_up, **profile)
            if login_username:
                User.objects.create_user(
                    username=login_username, email=profile.get("email", ""), password=login_password, account=account
                )
            event_record(
                area="accounts",
                kind="account.signed_up" if signed_up else "account.created",
                tenant_id=tenant.id,
                actor_id=actor_id,
                subject_type="account",
                subject_id=account.id,
                message=f"User {account.name} created ({account.billing_method})",
            )
    except IntegrityError as exc:
        if "username" in str(exc).lower():
            raise Conflict(f"The login '{login_username}' is taken.", field="login_username")
        raise Conflict(f"A user named '{profile.get('name')}' already exists.", field="name")
    return account


def account_update(*, account: Account, actor_id: int | None, **changes: Any) -> Account:
    changes = _clean_profile(account.tenant, changes)
    before = {field: str(getattr(account, field)) for field in changes}
    try:
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=account.pk, tenant_id=account.tenant_id)
            for field, value in changes.items():
                setattr(locked, field, value)
            if locked.billing_method != BillingMethod.POSTPAID:
                locked.overdraft_limit = Decimal("0")
            # Never through save(): the balance column belongs to the ledger service.
            fields = set(changes) | {"overdraft_limit"}
            Account.objects.filter(pk=locked.pk).update(**{f: getattr(locked, f) for f in fields})
            event_record(
                area="accounts",
                kind="account.updated",
                tenant_id=account.tenant_id,
                actor_id=actor_id,
                subject_type="account",
                subject_id=account.pk,
                message=f"User {locked.name} updated",
                data={"before": before, "after": {f: str(getattr(locked, f)) for f in changes}},
            )
    except IntegrityError:
        raise Conflict(f"A user named '{changes.get('name')}' already exists.", field="name")
    locked.refresh_from_db()
    return locked


def account_signup(*, tenant: Tenant, name: str, email: str, username: str, password: str) -> Account:
    """Public self-signup: always a prepaid User of the tenant whose signup page was used (SPEC §1)."""
    return account_create(
        tenant=tenant,
        actor_id=None,
        login_username=username,
        login_password=password,
        signed_up=True,
        name=name,
        email=email,
        billing_email=email,
        billing_name=name,
        account_type=AccountType.USER,
        billing_method=BillingMethod.PREPAID,
    )
