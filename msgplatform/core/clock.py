""" "Now" and "today" for a tenant. Every date the product computes for a tenant comes from here."""

import datetime

from django.utils import timezone


def tenant_now(tenant) -> datetime.datetime:
    """Aware current time in the tenant's time zone."""
    return timezone.now().astimezone(tenant.tz)


def tenant_today(tenant) -> datetime.date:
    return tenant_now(tenant).date()


def local_day(moment: datetime.datetime, tz) -> datetime.date:
    return moment.astimezone(tz).date()
