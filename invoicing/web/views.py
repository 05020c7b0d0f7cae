"""Invoicing dashboard and background-job pages of an admin's staff. Every URL here is licence-gated by
web/guard.py (see web/urls.py)."""

from django.http import Http404
from django.shortcuts import render

from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.core.errors import Conflict

from .. import api
from ..models import Job, ScheduleStatus
from ..money import money_format
from ..selectors.dashboard import dashboard_figures
from ..selectors.recurring import schedule_counts
from ..services.jobs import job_get, job_result
from .common import XLSX, attachment, found, is_htmx


@staff_required(Perm.VIEW)
def home(request):
    """The Invoicing Dashboard: the six tiles of the seed, amounts owed and received, and the 12-month chart."""
    figures = dashboard_figures(tenant=request.tenant)
    currency = figures.currency
    chart = {
        # The amounts' currency: the value axis is titled with it and its ticks carry its symbol.
        "currency": currency,
        "axis_title": f"Amount ({currency})",
        "labels": [f"{m.month:%b %Y}" for m in figures.series],
        # Plain decimal strings for drawing; the formatted amounts are the tooltips and the table.
        "invoiced": [str(m.invoiced) for m in figures.series],
        "received": [str(m.received) for m in figures.series],
        "invoiced_text": [money_format(m.invoiced, currency) for m in figures.series],
        "received_text": [money_format(m.received, currency) for m in figures.series],
    }
    counts = schedule_counts(tenant=request.tenant)
    context = {
        "license": api.license_for(request.tenant),
        "figures": figures,
        "currency": currency,
        "chart": chart,
        "schedules_active": counts.get(ScheduleStatus.ACTIVE, 0),
        "schedules_stopped": counts.get(ScheduleStatus.STOPPED, 0),
    }
    return render(request, "invoicing/dashboard.html", context)


# --- background jobs (bulk reminders, large reports) -----------------------------------------------------------


@staff_required(Perm.VIEW)
def job_detail(request, job_id):
    job = found(job_get, tenant=request.tenant, job_id=job_id)
    template = "invoicing/jobs/_progress.html" if is_htmx(request) else "invoicing/jobs/detail.html"
    return render(request, template, {"job": job, "finished": job.status in (Job.Status.DONE, Job.Status.FAILED)})


@staff_required(Perm.VIEW)
def job_download(request, job_id):
    try:
        name, content = found(job_result, tenant=request.tenant, job_id=job_id)
    except Conflict:
        raise Http404("The file is not ready.")
    return attachment(name, content, XLSX)
