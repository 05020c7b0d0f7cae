"""The test clock: the platform owner moves one tenant's "today" forward to rehearse billing cycles, due dates and
reminders without waiting (like Stripe's test clocks). Off unless DEBUG or INVOICING_TEST_CLOCK=1.
"""

from django.conf import settings
from django.db import transaction

from msgplatform.accounts.models import Tenant
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotAllowed, ValidationFailed
from msgplatform.core.events import event_record


def clock_enabled() -> bool:
    return bool(settings.DEBUG or settings.INVOICING_TEST_CLOCK)


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
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant_today(locked)
    locked.clock_offset_days += days
    locked.save(update_fields=["clock_offset_days"])
    event_record(
        area="invoicing",
        kind="test_clock.advanced",
        tenant_id=tenant.id,
        actor_id=actor_id,
        subject_type="tenant",
        subject_id=tenant.id,
        level="warning",
        message=f"Test clock moved {days} day(s): today {before} -> {tenant_today(locked)}",
    )
    return locked


@transaction.atomic
def clock_reset(*, tenant: Tenant, actor_id: int | None) -> Tenant:
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.clock_offset_days:
        locked.clock_offset_days = 0
        locked.save(update_fields=["clock_offset_days"])
        event_record(
            area="invoicing",
            kind="test_clock.reset",
            tenant_id=tenant.id,
            actor_id=actor_id,
            subject_type="tenant",
            subject_id=tenant.id,
            message="Test clock back to real time",
        )
    return locked
