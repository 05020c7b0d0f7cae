"""Reads of what happened: the event log, the outbox (emails sent or tried) and background jobs.

Every function takes the tenant and filters by it first; another tenant's id is NotFound (a 404), never a 403.
"""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from msgplatform.core.errors import NotFound
from msgplatform.core.models import Event

from ..models import EmailLog, Invoice, Job


def events(
    *,
    tenant,
    area: str = "",
    kind: str = "",
    level: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> QuerySet[Event]:
    """The tenant's events, newest first, with their actor; `kind` matches a part of the kind."""
    qs = Event.objects.filter(tenant=tenant)
    if area:
        qs = qs.filter(area=area)
    if kind:
        qs = qs.filter(kind__icontains=kind)
    if level:
        qs = qs.filter(level=level)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.select_related("actor").order_by("-id")


def event_areas(*, tenant) -> list[str]:
    return list(Event.objects.filter(tenant=tenant).order_by("area").values_list("area", flat=True).distinct())


def invoice_events(*, tenant, invoice_id) -> QuerySet[Event]:
    """The events of one of the tenant's invoices, oldest first (the invoice's history as it happened)."""
    return (
        Event.objects.filter(tenant=tenant, subject_type="invoice", subject_id=invoice_id)
        .select_related("actor")
        .order_by("id")
    )


def email_logs(*, tenant, status: str = "", kind: str = "", search: str = "") -> QuerySet[EmailLog]:
    qs = EmailLog.objects.filter(tenant=tenant)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(recipient__icontains=search) | qs.filter(subject__icontains=search)
    return qs.select_related("account").order_by("-id")


def email_log_get(*, tenant, log_id) -> EmailLog:
    try:
        return EmailLog.objects.select_related("account").get(tenant=tenant, pk=int(log_id))
    except (EmailLog.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such email.")


def email_log_invoices(*, tenant, entry: EmailLog) -> list[Invoice]:
    """The invoices an email was about (attached or listed), in id order."""
    return list(entry.invoices.filter(tenant=tenant).order_by("id"))


def jobs(*, tenant) -> QuerySet[Job]:
    """The tenant's background jobs, newest first, without their result files."""
    return Job.objects.filter(tenant=tenant).defer("result").order_by("-id")
