import datetime

import pytest
import time_machine
from django.test import Client

from invoicing.services.clock import clock_advance, clock_reset
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotAllowed, ValidationFailed


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


def test_clock_is_refused_when_not_enabled(admin, settings):
    settings.DEBUG = False
    settings.INVOICING_TEST_CLOCK = False
    with pytest.raises(NotAllowed) as error:
        clock_advance(tenant=admin.tenant, days=10, actor_id=None)
    assert error.value.code == "test_clock_disabled"
    admin.tenant.refresh_from_db()
    assert admin.tenant.clock_offset_days == 0


def test_every_date_of_the_tenant_follows_the_clock(admin, user, settings):
    settings.INVOICING_TEST_CLOCK = True
    tenant = clock_advance(tenant=admin.tenant, days=40, actor_id=None)

    assert tenant_today(tenant) == datetime.date(2026, 4, 29)
    invoice = invoice_create_prepaid(tenant=tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    assert invoice.invoice_date == datetime.date(2026, 4, 29)
    # A payment dated on the moved "today" is not in the future for this tenant.
    payment_record(
        tenant=tenant,
        invoice_id=invoice.id,
        actor_id=None,
        amount="1",
        payment_date=tenant_today(tenant),
        payment_type="cash",
    )
    with pytest.raises(ValidationFailed):
        clock_advance(tenant=tenant, days=0, actor_id=None)
    assert tenant_today(clock_reset(tenant=tenant, actor_id=None)) == datetime.date(2026, 3, 20)


def test_owner_page_moves_the_clock(admin, settings, django_user_model):
    settings.INVOICING_TEST_CLOCK = True
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw-pw-pw-pw"))

    response = client.post(f"/platform/admins/{admin.tenant.id}/test-clock/", {"days": "7"})

    admin.tenant.refresh_from_db()
    assert response.status_code == 302 and admin.tenant.clock_offset_days == 7
    assert admin.client.post(f"/platform/admins/{admin.tenant.id}/test-clock/", {"days": "7"}).status_code == 403
