"""The admin's invoicing licence, read as of its own today (the facade's `license_for` answers the host with it)."""

from msgplatform.core.clock import tenant_today

from ..contracts import NO_LICENSE, LicenseInfo
from ..models import InvoicingLicense


def license_info(tenant) -> LicenseInfo:
    """The tenant's licence as of its own today; NO_LICENSE when it has none, or it expired or was revoked."""
    lic = InvoicingLicense.objects.filter(tenant_id=tenant.pk).first()
    if lic is None or not lic.is_active_on(tenant_today(tenant)):
        return NO_LICENSE
    return LicenseInfo(active=True, prepaid=lic.prepaid, postpaid=lic.postpaid, valid_until=lic.valid_until)
