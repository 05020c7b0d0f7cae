""" "Now" and "today" for a tenant. Every date the product computes for a tenant comes from here."""

import datetime

from django.utils import timezone


def tenant_now(tenant) -> datetime.datetime:
    """Aware current time in the tenant's time zone, moved forward by the tenant's test clock if it is set."""
    now = timezone.now()
    if tenant.clock_offset_days:
        now += datetime.timedelta(days=tenant.clock_offset_days)
    return now.astimezone(tenant.tz)


def tenant_today(tenant) -> datetime.date:
    return tenant_now(tenant).date()


def local_day(moment: datetime.datetime, tz) -> datetime.date:
    return moment.astimezone(tz).date()


# The days a person may type, on pages and in the API alike: wide enough for any billing, narrow enough that date
# arithmetic around them (a day before, a month after, a period's end) can never overflow Python's years 1 to 9999.
FIRST_DAY = datetime.date(1970, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)
DAY_RANGE_MESSAGE = f"Give a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."


def day_supported(day: datetime.date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def day_clamp(day: datetime.date) -> datetime.date:
    """The supported day nearest to `day` (for browsing, where a refusal would be no help)."""
    return min(max(day, FIRST_DAY), LAST_DAY)
