"""The facade the host platform calls (invoicing/api.py): each function returns exactly what the host shows."""

import datetime

from invoicing import api
from invoicing.contracts import LicenseInfo
from invoicing.models import InvoicingLicense
from msgplatform.core.models import Event
from tests.factories import TenantFactory


def test_license_grant_gives_an_unlicensed_tenant_its_licence(db):
    tenant = TenantFactory()

    info = api.license_grant(
        tenant=tenant, prepaid=True, postpaid=False, valid_until=datetime.date(2030, 1, 31), actor_id=None
    )

    assert info == LicenseInfo(active=True, prepaid=True, postpaid=False, valid_until=datetime.date(2030, 1, 31))
    assert InvoicingLicense.objects.filter(tenant=tenant).count() == 1
    assert list(Event.objects.filter(tenant_id=tenant.id).values_list("kind", flat=True)) == ["license.granted"]
