"""The Event Viewer (what happened, filterable, so an admin sees why an invoice did not go out) and the Outbox
(every email the module sent or tried to send, with its attempts and last error)."""

import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse

from msgplatform.accounts.permissions import Perm, staff_can, staff_required
from msgplatform.core.errors import DomainError
from msgplatform.core.http import next_url

from .. import events as event_kinds
from ..models import EmailLog, EmailStatus
from ..selectors.activity import email_log_get, email_log_invoices, email_logs, event_areas, events
from ..selectors.invoices import invoice_get
from ..selectors.subjects import invoice_labels
from ..services.documents import invoice_pdf_problem
from ..services.emails import email_retry
from .common import csv_download, found, staff_action
from .forms import EventFilterForm, OutboxFilterForm


def _local_bounds(tenant, date_from, date_to):
    """A range of the admin's local days as aware datetimes (the stored times are UTC)."""
    tz = tenant.tz
    since = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz) if date_from else None
    until = (
        datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        if date_to
        else None
    )
    return since, until


@staff_required(Perm.VIEW)
def event_list(request):
    tenant = request.tenant
    form = EventFilterForm(request.GET, areas=event_areas(tenant=tenant))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    since, until = _local_bounds(tenant, data.get("date_from"), data.get("date_to"))
    qs = events(
        tenant=tenant,
        area=data.get("area", ""),
        kind=data.get("kind", ""),
        level=data.get("level", ""),
        since=since,
        until=until,
    )
    if request.GET.get("format") == "csv":
        rows = (
            [
                e.created_at.astimezone(tenant.tz).isoformat(),
                e.area,
                e.kind,
                e.level,
                e.subject_type,
                e.subject_id or "",
                e.actor.username if e.actor else "system",
                e.message,
            ]
            for e in qs.iterator(chunk_size=2000)
        )
        header = ["time", "area", "kind", "level", "subject_type", "subject_id", "actor", "message"]
        return csv_download("events.csv", header, rows)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    labels = invoice_labels(tenant=tenant, events=page)
    retries = _retries(request, page) if staff_can(request.user, Perm.BILL) else {}
    for event in page:
        event.invoice_label = labels.get(event.subject_id) if event.subject_type == "invoice" else None
        event.retry = retries.get(event.pk)
    return render(request, "invoicing/activity/events.html", {"form": form, "page": page})


def _retries(request, page) -> dict[int, str]:
    """{event id: the URL of its Retry} for the failure events of the page whose failure still stands: an email that
    was not delivered (and is not being sent again), the PDF problem the invoice page shows."""
    retries = {}
    failed_emails = [e for e in page if e.kind == "email.failed" and e.subject_type == "email"]
    retryable = set(
        EmailLog.objects.filter(
            tenant=request.tenant, pk__in=[e.subject_id for e in failed_emails], status=EmailStatus.FAILED
        ).values_list("pk", flat=True)
    )
    for event in failed_emails:
        if event.subject_id in retryable:
            retries[event.pk] = reverse("invoicing:outbox-retry", args=[event.subject_id])
    for event in page:
        if event.kind not in (event_kinds.PDF_FAILED, event_kinds.PDF_WITHOUT_LOGO):
            continue
        try:
            problem = invoice_pdf_problem(invoice_get(tenant=request.tenant, invoice_id=event.subject_id))
        except DomainError:
            continue
        if problem is not None and problem.event.pk == event.pk:
            retries[event.pk] = reverse("invoicing:invoice-pdf-retry", args=[event.subject_id])
    return retries


@staff_required(Perm.VIEW)
def outbox(request):
    tenant = request.tenant
    form = OutboxFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    qs = email_logs(tenant=tenant, status=data.get("status", ""), kind=data.get("kind", ""), search=data.get("q", ""))
    if request.GET.get("format") == "csv":
        rows = (
            [
                m.created_at.astimezone(tenant.tz).isoformat(),
                m.kind,
                m.trigger,
                m.recipient,
                m.subject,
                m.status,
                m.attempts,
                m.sent_at.astimezone(tenant.tz).isoformat() if m.sent_at else "",
                m.last_error,
            ]
            for m in qs.iterator(chunk_size=2000)
        )
        header = ["created", "kind", "trigger", "recipient", "subject", "status", "attempts", "sent", "last_error"]
        return csv_download("outbox.csv", header, rows)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "invoicing/activity/outbox.html", {"form": form, "page": page})


@staff_required(Perm.VIEW)
def outbox_detail(request, log_id):
    entry = found(email_log_get, tenant=request.tenant, log_id=log_id)
    return render(
        request,
        "invoicing/activity/outbox_detail.html",
        {"entry": entry, "invoices": email_log_invoices(tenant=request.tenant, entry=entry)},
    )


@staff_action(Perm.BILL)
def outbox_retry(request, log_id):
    """Retry of an email that could not be delivered: the same email goes back to the outbox, due now."""
    back = request.POST.get("next") or reverse("invoicing:outbox-detail", args=[log_id])
    try:
        entry = found(email_retry, tenant=request.tenant, log_id=log_id, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"The {entry.get_kind_display().lower()} email to {entry.recipient} is being sent again."
        )
    return redirect(next_url(request, back, reverse("invoicing:outbox")))
