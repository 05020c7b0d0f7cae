"""The test clock: the platform owner moves one tenant's "today" forward to rehearse billing cycles, due dates and
reminders without waiting (like Stripe's test clocks). Off unless DEBUG or INVOICING_TEST_CLOCK=1.
"""

from django.conf import settings
from django.db import transaction

from msgplatform.accounts.models import Tenant
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotAllowed, ValidationFailed

from .. import events
from ..conf import setting
from ..locks import tenant_lock


def clock_enabled() -> bool:
    return bool(settings.DEBUG or setting("INVOICING_TEST_CLOCK"))


@transaction.atomic
def clock_advance(*, tenant: Tenant, days: int, actor_id: int | None) -> Tenant:
    if not clock_enabled():
        raise NotAllowed(
            "The test clock is off (set INVOICING_TEST_CLOCK=1 on a test installation).", code="test_clock_disabled"
        )
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationFailed("Give a number of days.", field="days")
    if not 1 <= days <= 366:
        raise ValidationFailed("Move the clock 1 to 366 days at a time.", field="days")
    locked = tenant_lock(tenant)
    before = tenant_today(locked)
    locked.clock_offset_days += days
    locked.save(update_fields=["clock_offset_days"])
    events.clock_advanced(tenant, actor_id=actor_id, days=days, before=before, after=tenant_today(locked))
    return locked


@transaction.atomic
def clock_reset(*, tenant: Tenant, actor_id: int | None) -> Tenant:
    locked = tenant_lock(tenant)
    if locked.clock_offset_days:
        locked.clock_offset_days = 0
        locked.save(update_fields=["clock_offset_days"])
        events.clock_reset(tenant, actor_id=actor_id)
    return locked
