"""Recurring invoices (postpaid only): the schedules, their form, start/stop, the next draft's preview, and
"Run billing now" with the progress of its BillingRun."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.core.errors import DomainError
from msgplatform.core.ids import ids_parse

from ..models import BillingRun, BillingSchedule, ScheduleStatus
from ..periods import next_period
from ..selectors.recurring import (
    billing_run_get,
    recent_billing_runs,
    schedule_get,
    schedules,
    unscheduled_postpaid_accounts,
)
from ..services.billing_runs import batch_dispatch, billing_run_start
from ..services.recurring import schedule_create, schedule_dry_run, schedule_start, schedule_stop, schedule_update
from .common import csv_download, form_error, found, is_htmx, staff_action, staff_page
from .forms import ScheduleForm


def _row(schedule: BillingSchedule) -> dict:
    started = schedule.covered_through >= schedule.start_date
    return {
        "schedule": schedule,
        # Only an active schedule has a next run (a stopped one resumes from where its coverage ended on restart).
        "next": next_period(schedule) if schedule.status == ScheduleStatus.ACTIVE else None,
        "billed_through": schedule.covered_through if started else None,
    }


@staff_required(Perm.VIEW)
def schedule_list(request):
    qs = schedules(tenant=request.tenant)
    if request.GET.get("format") == "csv":
        return _schedules_csv(qs)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "invoicing/recurring/list.html",
        {
            "page": page,
            "rows": [_row(s) for s in page],
            "runs": recent_billing_runs(tenant=request.tenant),
        },
    )


def _schedules_csv(qs):
    def rows():
        for s in qs.iterator(chunk_size=500):
            row = _row(s)
            period = row["next"]
            yield [
                s.account.name,
                s.interval if s.interval != "every_n_days" else f"every {s.every_n_days} days",
                s.due_in_days,
                s.start_date,
                s.end_date or "never",
                period.invoice_date if period else "",
                f"{period.start} to {period.end}" if period else "",
                row["billed_through"] or "",
                s.status,
                s.last_error,
            ]

    header = [
        "user",
        "interval",
        "due_in_days",
        "start_date",
        "end_date",
        "next_run",
        "next_period",
        "billed_through",
        "status",
        "last_error",
    ]
    return csv_download("recurring-invoices.csv", header, rows())


@staff_required(Perm.BILL)
@require_http_methods(["GET", "POST"])
def schedule_create_view(request):
    tenant = request.tenant
    choices = [("", "Choose a postpaid user")] + [(a.id, a.name) for a in unscheduled_postpaid_accounts(tenant=tenant)]
    initial = {"interval": "monthly", "due_in_days": 15, "never_expire": True, "active": True}
    if request.GET.get("account"):
        initial["account"] = request.GET["account"]
    form = ScheduleForm(request.POST or None, account_choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            schedule = schedule_create(
                tenant=tenant,
                account_id=form.cleaned_data["account"],
                actor_id=request.user.id,
                active=form.cleaned_data["active"],
                confirm_past=form.cleaned_data["confirm_past"],
                **form.service_values(),
            )
        except DomainError as error:
            form.needs_past_confirmation = error.code == "start_in_past"
            form_error(form, error)
        else:
            messages.success(request, f"Recurring invoice for {schedule.account.name} created.")
            return redirect("invoicing:schedule-list")
    return render(request, "invoicing/recurring/form.html", {"form": form, "creating": True})


@staff_required(Perm.BILL)
@require_http_methods(["GET", "POST"])
def schedule_edit_view(request, schedule_id):
    schedule = found(schedule_get, tenant=request.tenant, schedule_id=schedule_id)
    initial = {
        "interval": schedule.interval,
        "every_n_days": schedule.every_n_days,
        "due_in_days": schedule.due_in_days,
        "start_date": schedule.start_date,
        "end_date": schedule.end_date,
        "never_expire": schedule.end_date is None,
    }
    form = ScheduleForm(request.POST or None, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            schedule_update(
                tenant=request.tenant,
                schedule_id=schedule.pk,
                actor_id=request.user.id,
                confirm_past=form.cleaned_data["confirm_past"],
                **form.service_values(),
            )
        except DomainError as error:
            form.needs_past_confirmation = error.code == "start_in_past"
            form_error(form, error)
        else:
            messages.success(request, f"Recurring invoice of {schedule.account.name} saved.")
            return redirect("invoicing:schedule-list")
    return render(request, "invoicing/recurring/form.html", {"form": form, "schedule": schedule})


def _toggle(request, schedule_id, service, done: str):
    try:
        schedule = found(service, tenant=request.tenant, schedule_id=schedule_id, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done.format(name=schedule.account.name))
    return redirect("invoicing:schedule-list")


@staff_action(Perm.BILL)
def schedule_start_view(request, schedule_id):
    return _toggle(request, schedule_id, schedule_start, "Billing cycle of {name} started.")


@staff_page(get=Perm.BILL, post=Perm.BILL)
def schedule_stop_view(request, schedule_id):
    """ "Stop billing cycle" of one schedule: asks first ("Stop 1 schedule?"), stops on the confirmation."""
    schedule = found(schedule_get, tenant=request.tenant, schedule_id=schedule_id)
    return _stop_confirmed(request, [schedule])


@staff_page(get=Perm.BILL, post=Perm.BILL)
def schedule_bulk_stop_view(request):
    """Stop the schedules ticked on the list: the count and the users are confirmed before any stops."""
    source = request.POST if request.method == "POST" else request.GET
    chosen = schedules(tenant=request.tenant, ordering="id").filter(pk__in=ids_parse(source.getlist("schedule_ids")))
    return _stop_confirmed(request, list(chosen))


def _stop_confirmed(request, chosen: list[BillingSchedule]):
    """The confirmation page of stopping `chosen` (their active ones); with `confirm`, each is stopped by the
    service, in id order, and the page says which stopped and which were refused (stopped meanwhile)."""
    active = [s for s in chosen if s.status == ScheduleStatus.ACTIVE]
    if not active:
        messages.error(request, "No active schedule selected: only an active billing cycle can be stopped.")
        return redirect("invoicing:schedule-list")
    if request.method != "POST" or request.POST.get("confirm") != "1":
        rows = [_row(s) for s in active]
        return render(request, "invoicing/recurring/stop_confirm.html", {"rows": rows, "count": len(rows)})
    stopped, refused = [], []
    for schedule in active:
        try:
            schedule_stop(tenant=request.tenant, schedule_id=schedule.pk, actor_id=request.user.id)
        except DomainError as error:
            refused.append(f"{schedule.account.name} ({error.message})")
        else:
            stopped.append(schedule.account.name)
    if stopped:
        what = "1 billing cycle" if len(stopped) == 1 else f"{len(stopped)} billing cycles"
        messages.success(request, f"{what} stopped: {', '.join(stopped)}.")
    if refused:
        messages.error(request, f"Not stopped: {', '.join(refused)}.")
    return redirect("invoicing:schedule-list")


@staff_required(Perm.VIEW)
def schedule_dry_run_view(request, schedule_id):
    """The draft the schedule would generate next, computed without writing anything."""
    schedule = found(schedule_get, tenant=request.tenant, schedule_id=schedule_id)
    dry = found(schedule_dry_run, tenant=request.tenant, schedule_id=schedule.pk)
    context = {"schedule": schedule, "dry": dry, "currency": request.tenant.currency}
    template = "invoicing/recurring/_dry_run.html" if is_htmx(request) else "invoicing/recurring/dry_run.html"
    return render(request, template, context)


@staff_action(Perm.BILL)
def billing_run_view(request):
    """Run billing now for this admin: one BillingRun, its batches handed to the Celery workers."""
    try:
        run = billing_run_start(tenant=request.tenant, actor_id=request.user.id, dispatch=batch_dispatch)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("invoicing:schedule-list")
    return redirect("invoicing:billing-run", run_id=run.id)


@staff_required(Perm.VIEW)
def billing_run_detail(request, run_id):
    run = found(billing_run_get, tenant=request.tenant, run_id=run_id)
    finished = run.status in (BillingRun.Status.DONE, BillingRun.Status.FAILED)
    percent = 100 if finished else (100 * run.schedules_done // run.schedules_total if run.schedules_total else 0)
    context = {"run": run, "finished": finished, "percent": percent}
    template = "invoicing/recurring/_run_progress.html" if is_htmx(request) else "invoicing/recurring/run.html"
    return render(request, template, context)
