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
