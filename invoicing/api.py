"""The facade of the invoicing plugin: the only module of `invoicing` the host platform imports."""

import datetime

from msgplatform.core.clock import tenant_today

from .contracts import NO_LICENSE, LicenseInfo


def license_for(tenant) -> LicenseInfo:
    """The tenant's licence as of its own today; NO_LICENSE when it has none, or it expired or was revoked."""
    from .models import InvoicingLicense

    lic = InvoicingLicense.objects.filter(tenant_id=tenant.pk).first()
    if lic is None or not lic.is_active_on(tenant_today(tenant)):
        return NO_LICENSE
    return LicenseInfo(active=True, prepaid=lic.prepaid, postpaid=lic.postpaid, valid_until=lic.valid_until)


def billing_methods_selectable(tenant) -> list[str]:
    """Billing methods staff may choose for an account; empty means the field is hidden.

    Prepaid is the platform's own default and always allowed when the field shows; postpaid needs a licence that
    covers it. Without an active licence the field disappears and new accounts are prepaid (SPEC §2).
    """
    info = license_for(tenant)
    if not info.active:
        return []
    return ["prepaid", "postpaid"] if info.postpaid else ["prepaid"]


def license_grant(
    *, tenant, prepaid: bool, postpaid: bool, valid_until: datetime.date, actor_id: int | None
) -> LicenseInfo:
    """Grant (or change) the tenant's Invoicing Licence, as the platform owner's licence page does."""
    from .services.licenses import license_grant as grant

    grant(tenant=tenant, prepaid=prepaid, postpaid=postpaid, valid_until=valid_until, actor_id=actor_id)
    return license_for(tenant)
