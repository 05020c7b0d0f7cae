"""Recurring billing: schedules (create, edit, start, stop), the draft of each period, regeneration, dry runs.

Exactly once by construction, not by hoping the scheduler runs once:
- a period is generated in a transaction holding the tenant's usage lock and the schedule's row lock; the
  draft, the billing of its usage and the move of the schedule's cursor (`covered_through`) commit together.
  A batch bills the next period of all its schedules of one admin in one such transaction (a pass: one read of
  their usage, one billing UPDATE, one insert of the drafts, of their lines...), pass after pass while periods are due;
  on PostgreSQL the commit does not wait for the disk: a commit lost in a crash loses drafts, billed usage and cursor
  moves together, and the next tick generates those periods again;
- a partial unique index allows one non-void invoice per (schedule, period start);
- one user's periods never overlap among non-void invoices (checked under the same lock).
A second tick, a retry after a crash or a second worker finds the cursor moved and does nothing.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from msgplatform.accounts.models import AccountType, BillingMethod
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed
from msgplatform.core.models import Event

from .. import events
from ..conf import usage_source
from ..contracts import UsageSummary
from ..locks import invoice_lock, schedule_lock, schedules_lock
from ..models import (
    BillingSchedule,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceSource,
    InvoiceStatus,
    InvoiceTax,
    ScheduleStatus,
)
from ..money import ZERO, money_format, money_round, totals_compute
from ..periods import DAY, Period, anchor, draft_dates, next_period, periods_over
from .builder import Preview, billing_account, license_require, lines_write, period_conflict, usage_lines
from .configuration import settings_for, taxes_applicable
from .invoices import Immutable
from .stats import invoice_counted, state_of

log = logging.getLogger(__name__)
TRAILING_CYCLES = 3


# --- schedules ------------------------------------------------------------------------------------------------


def _clean_schedule(*, interval, every_n_days, due_in_days, start_date, end_date):
    if interval not in Interval.values:
        raise ValidationFailed(f"Interval must be one of {', '.join(Interval.values)}.", field="interval")
    if interval == Interval.EVERY_N_DAYS:
        if not every_n_days or not 1 <= int(every_n_days) <= 366:
            raise ValidationFailed("Give the number of days (1 to 366).", field="every_n_days")
        every_n_days = int(every_n_days)
    else:
        every_n_days = None
    due_in_days = int(due_in_days)
    if not 0 <= due_in_days <= 365:
        raise ValidationFailed("Due in days must be between 0 and 365.", field="due_in_days")
    if start_date is None:
        raise ValidationFailed("Give the start date.", field="start_date")
    if end_date is not None and end_date < start_date:
        raise ValidationFailed("The end date is before the start date.", field="end_date")
    return every_n_days, due_in_days


@transaction.atomic
def schedule_create(
    *,
    tenant,
    account_id,
    actor_id,
    interval=Interval.MONTHLY,
    every_n_days=None,
    due_in_days=15,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    active: bool = True,
    confirm_past: bool = False,
) -> BillingSchedule:
    """A user's recurring schedule. A start date whose periods are already over makes a catch-up draft for each at
    the next billing run; two or more need `confirm_past` (409 start_in_past says how many)."""
    license_require(tenant, BillingMethod.POSTPAID)
    account = billing_account(tenant, account_id)
    if account.billing_method != BillingMethod.POSTPAID or account.account_type != AccountType.USER:
        raise ValidationFailed("Recurring invoices are for postpaid users.", field="account")
    every_n_days, due_in_days = _clean_schedule(
        interval=interval, every_n_days=every_n_days, due_in_days=due_in_days, start_date=start_date, end_date=end_date
    )
    if BillingSchedule.objects.filter(account=account).exists():
        raise Conflict(
            f"{account.name} already has a recurring schedule; edit it instead.",
            field="account",
            code="schedule_exists",
        )
    if active and not confirm_past:
        _past_start_check(
            tenant, interval=interval, every_n_days=every_n_days, start_date=start_date, end_date=end_date
        )
    schedule = BillingSchedule.objects.create(
        tenant=tenant,
        account=account,
        interval=interval,
        every_n_days=every_n_days,
        due_in_days=due_in_days,
        start_date=start_date,
        end_date=end_date,
        covered_through=start_date - DAY,
        status=ScheduleStatus.ACTIVE if active else ScheduleStatus.STOPPED,
    )
    events.schedule_created(schedule, actor_id=actor_id)
    return schedule


def _past_start_check(tenant, *, interval, every_n_days, start_date, end_date) -> None:
    over = periods_over(
        start_date=start_date,
        interval=interval,
        every_n_days=every_n_days,
        end_date=end_date,
        today=tenant_today(tenant),
    )
    if over >= 2:
        raise Conflict(
            f"The start date {start_date:%d %b %Y} is {over} periods in the past: the next billing run will make "
            f"{over} drafts at once, each dated today and due from today. Confirm to go on.",
            field="start_date",
            code="start_in_past",
        )


@transaction.atomic
def schedule_update(*, tenant, schedule_id, actor_id, confirm_past: bool = False, **changes) -> BillingSchedule:
    allowed = {"interval", "every_n_days", "due_in_days", "start_date", "end_date"}
    if set(changes) - allowed:
        raise ValidationFailed(f"These cannot be edited: {', '.join(sorted(set(changes) - allowed))}.")
    schedule = schedule_lock(tenant=tenant, schedule_id=schedule_id)
    values = {f: changes.get(f, getattr(schedule, f)) for f in allowed}
    values["every_n_days"], values["due_in_days"] = _clean_schedule(**values)
    started = schedule.covered_through >= schedule.start_date or schedule.invoices.exists()
    if values["start_date"] != schedule.start_date:
        if started:
            raise ValidationFailed("The start date cannot change once a period was billed.", field="start_date")
        if schedule.status == ScheduleStatus.ACTIVE and not confirm_past:
            _past_start_check(
                tenant,
                interval=values["interval"],
                every_n_days=values["every_n_days"],
                start_date=values["start_date"],
                end_date=values["end_date"],
            )
        schedule.covered_through = values["start_date"] - DAY
    if values["end_date"] is not None and values["end_date"] < schedule.covered_through:
        raise ValidationFailed("The end date is before the already billed periods.", field="end_date")
    before = {f: str(getattr(schedule, f)) for f in allowed}
    for key, value in values.items():
        setattr(schedule, key, value)
    if schedule.status == ScheduleStatus.COMPLETED and (
        schedule.end_date is None or schedule.end_date > schedule.covered_through
    ):
        schedule.status = ScheduleStatus.ACTIVE
    schedule.save()
    events.schedule_updated(
        schedule, actor_id=actor_id, before=before, after={f: str(getattr(schedule, f)) for f in allowed}
    )
    return schedule


@transaction.atomic
def schedule_stop(*, tenant, schedule_id, actor_id) -> BillingSchedule:
    schedule = schedule_lock(tenant=tenant, schedule_id=schedule_id)
    if schedule.status != ScheduleStatus.ACTIVE:
        raise Conflict(f"The schedule is {schedule.status}.", code="not_active")
    schedule.status = ScheduleStatus.STOPPED
    schedule.save(update_fields=["status", "updated_at"])
    events.schedule_stopped(schedule, actor_id=actor_id)
    return schedule


@transaction.atomic
def schedule_start(*, tenant, schedule_id, actor_id) -> BillingSchedule:
    schedule = schedule_lock(tenant=tenant, schedule_id=schedule_id)
    if schedule.status != ScheduleStatus.STOPPED:
        raise Conflict(f"The schedule is {schedule.status}.", code="not_stopped")
    schedule.status = ScheduleStatus.ACTIVE
    # Coverage continues from where it ended; the next period runs to the end of the current natural period.
    schedule.resumed_on = tenant_today(schedule.tenant)
    schedule.save(update_fields=["status", "resumed_on", "updated_at"])
    events.schedule_started(schedule, actor_id=actor_id)
    return schedule


# --- generation -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Comparable:
    """A draft as the anomaly flag sees it: its account, its period's start and what that period is comparable with.

    `kind` is ("cycle", interval) for one whole cycle of the schedule's interval, else ("days", number of days).
    """

    account_id: int
    start: datetime.date
    interval: str | None
    every_n_days: int | None
    kind: tuple


_MONTH_INTERVALS = {Interval.MONTHLY: (28, 31), Interval.QUARTERLY: (89, 92)}  # and their numbers of days


def _cycle_kind(start: datetime.date, end: datetime.date, interval: str | None, every_n_days: int | None) -> tuple:
    """("cycle", interval) when the period is one whole cycle of `interval`, else ("days", its number of days).

    A whole cycle runs from a day to the day before the next anchor counted from that day; a monthly (quarterly)
    one started on a clamped month end may end later (started on 28 February, a period to 30 March is one: the
    anchor is the 31st). Anything else (a partial first period, a catch-up fragment after a restart, a period cut
    short by a manual invoice) only compares with periods of the same number of days.
    """
    days = (end - start).days + 1
    if interval is None or (interval == Interval.EVERY_N_DAYS and not every_n_days):
        return ("days", days)
    following = anchor(start=start, interval=interval, every_n_days=every_n_days, k=1)
    after = end + DAY
    clamped = (
        interval in _MONTH_INTERVALS
        and (start + DAY).month != start.month
        and (after.year, after.month) == (following.year, following.month)
        and after.day >= following.day
    )
    if after == following or clamped:
        return ("cycle", interval)
    return ("days", days)


def _comparable(*, account_id: int, start: datetime.date, end: datetime.date, schedule) -> _Comparable:
    interval = schedule.interval if schedule is not None else None
    every_n_days = schedule.every_n_days if schedule is not None else None
    return _Comparable(account_id, start, interval, every_n_days, _cycle_kind(start, end, interval, every_n_days))


def _length_bounds(draft: _Comparable) -> tuple[int, int]:
    """The numbers of days a period of the draft's kind can have: what the database narrows on."""
    if draft.kind[0] == "days":
        return draft.kind[1], draft.kind[1]
    if draft.interval in _MONTH_INTERVALS:
        return _MONTH_INTERVALS[draft.interval]
    days = (anchor(start=draft.start, interval=draft.interval, every_n_days=draft.every_n_days, k=1) - draft.start).days
    return days, days


def _anomaly_reason(total: Decimal, previous: list[Invoice], threshold: Decimal, currency: str) -> str:
    """Why a recurring total is far from the average of `previous` (past cycles of the same length), or ""."""
    if not previous:
        return ""
    average = money_round(sum((invoice.total for invoice in previous), ZERO) / len(previous), currency)
    if average <= 0:
        return ""
    change = (total - average) / average * 100
    if abs(change) <= threshold:
        return ""
    direction = "above" if change > 0 else "below"
    names = ", ".join(invoice.number or f"draft #{invoice.pk}" for invoice in previous)
    cycles = f"the last {len(previous)} cycles" if len(previous) > 1 else "the last cycle"
    percent = abs(change).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    reason = (
        f"Total {money_format(total, currency)} is {percent} % {direction} the average "
        f"{money_format(average, currency)} of {names} ({cycles} of the same length)"
    )
    return reason[: Invoice._meta.get_field("anomaly_reason").max_length]


def _past_cycles(*, tenant_id: int, drafts: list[_Comparable], exclude_id: int | None = None) -> dict[int, list]:
    """For each draft, its account's last TRAILING_CYCLES non-void postpaid invoices (recurring or manual, draft or
    approved) of the same kind that end before it starts, oldest first; one query for all: {account id: [invoices]}.

    The database narrows by account, start and number of days and ranks each account's most recent; the exact
    kind is checked here. A fragment can have a whole month's number of days, so the query ranks a few more than
    TRAILING_CYCLES (the average uses fewer cycles only when such fragments crowd out the whole ones).
    """
    found: dict[int, list] = {draft.account_id: [] for draft in drafts}
    if not drafts:
        return found
    groups: dict[tuple, list[int]] = {}
    for draft in drafts:
        groups.setdefault((draft.start, _length_bounds(draft)), []).append(draft.account_id)
    matches = Q()
    for (start, (shortest, longest)), account_ids in groups.items():
        matches |= Q(
            account_id__in=account_ids,
            period_end__lt=start,
            length__gte=datetime.timedelta(days=shortest - 1),
            length__lte=datetime.timedelta(days=longest - 1),
        )
    qs = Invoice.objects.filter(tenant_id=tenant_id, billing_method=BillingMethod.POSTPAID, period_start__isnull=False)
    qs = qs.exclude(status=InvoiceStatus.VOID)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    length = ExpressionWrapper(F("period_end") - F("period_start"), output_field=DurationField())
    rank = Window(RowNumber(), partition_by=[F("account_id")], order_by=[F("period_start").desc(), F("id").desc()])
    rows = (
        qs.annotate(length=length)
        .filter(matches)
        .annotate(rank=rank)
        .filter(rank__lte=4 * TRAILING_CYCLES)
        .only("id", "account_id", "number", "total", "period_start", "period_end")
    )
    draft_of = {draft.account_id: draft for draft in drafts}
    for invoice in sorted(rows, key=lambda row: row.rank):
        draft = draft_of[invoice.account_id]
        same = _cycle_kind(invoice.period_start, invoice.period_end, draft.interval, draft.every_n_days) == draft.kind
        if same and len(found[invoice.account_id]) < TRAILING_CYCLES:
            found[invoice.account_id].append(invoice)
    for invoices in found.values():
        invoices.reverse()
    return found


def _anomaly(*, tenant_id: int, invoice: Invoice, threshold: Decimal) -> str:
    """The anomaly reason of one recurring draft, against its account's past cycles of the same length."""
    draft = _comparable(
        account_id=invoice.account_id, start=invoice.period_start, end=invoice.period_end, schedule=invoice.schedule
    )
    previous = _past_cycles(tenant_id=tenant_id, drafts=[draft], exclude_id=invoice.pk)[invoice.account_id]
    return _anomaly_reason(invoice.total, previous, threshold, invoice.currency)


def _period_conflicts(tenant, due: list[tuple[BillingSchedule, Period]]) -> dict[int, Invoice]:
    """`period_conflict` of each schedule's account and period, in one query: {account id: first overlap}."""
    by_period: dict[tuple, list[int]] = {}
    for schedule, period in due:
        by_period.setdefault((period.start, period.end), []).append(schedule.account_id)
    if not by_period:
        return {}
    overlaps = Q()
    for (start, end), account_ids in by_period.items():
        overlaps |= Q(account_id__in=account_ids, period_start__lte=end, period_end__gte=start)
    period_of = {schedule.account_id: period for schedule, period in due}
    first: dict[int, Invoice] = {}
    candidates = Invoice.objects.filter(overlaps, tenant=tenant).exclude(status=InvoiceStatus.VOID)
    for other in candidates.order_by("period_start"):
        period = period_of[other.account_id]
        if other.period_start <= period.end and other.period_end >= period.start:
            first.setdefault(other.account_id, other)
    return first


def _resolve_manual_overlap(schedule: BillingSchedule, period: Period, other: Invoice | None) -> Period | None:
    """Move the cursor past invoices that already cover the period's start; truncate before one that starts later.

    `other` is the account's first non-void invoice overlapping the period (`period_conflict`). Returns the period
    to bill, or None when the cursor moved (the caller asks for the next period again).
    """
    if other is None:
        return period
    if other.period_start <= period.start:
        schedule.covered_through = max(schedule.covered_through, other.period_end)
        schedule.save(update_fields=["covered_through", "updated_at"])
        events.schedule_covered_by_invoice(schedule, start=period.start, other=other)
        return None
    return Period(
        start=period.start,
        end=other.period_start - DAY,
        invoice_date=period.invoice_date,
        due_date=period.due_date,
        last=False,
    )


@dataclass
class _Draft:
    schedule: BillingSchedule
    billed: Period
    summary: UsageSummary
    taxes: list
    invoice: Invoice


def _bill_pass(*, tenant, schedule_ids: list[int], today: datetime.date, settings) -> dict[int, tuple]:
    """Bill the next due period of each of these schedules of `tenant`, all in one transaction.

    Returns {schedule id: ('draft'|'skipped'|'covered'|'idle', invoice or None, the schedule as committed)}.
    The usage is read once: each draft is written with the totals of its summary, then one statement bills
    exactly the buckets summarised (the usage lock keeps them unchanged until the commit).
    """
    outcomes: dict[int, tuple] = {}
    with transaction.atomic():
        usage_source().lock(tenant_id=tenant.id, synchronous_commit=False)
        due = []
        for schedule in schedules_lock(tenant=tenant, schedule_ids=schedule_ids):
            outcomes[schedule.id] = ("idle", None, schedule)
            if schedule.status != ScheduleStatus.ACTIVE:
                continue
            period = next_period(schedule)
            if period is None:
                schedule.status = ScheduleStatus.COMPLETED
                schedule.save(update_fields=["status", "updated_at"])
                events.schedule_completed(schedule)
                continue
            if period.invoice_date <= today:
                due.append((schedule, period))
        conflicts = _period_conflicts(tenant, due)
        billable = []
        for schedule, period in due:
            billed = _resolve_manual_overlap(schedule, period, conflicts.get(schedule.account_id))
            if billed is None:
                outcomes[schedule.id] = ("covered", None, schedule)
            else:
                billable.append((schedule, period, billed))
        summaries = usage_source().summaries(
            tenant_id=tenant.id,
            ranges={schedule.account_id: (billed.start, billed.end) for schedule, _, billed in billable},
            delivered_only=settings.bill_delivered_only,
            include_prior=True,
        )
        history = _past_cycles(
            tenant_id=tenant.id,
            drafts=[
                _comparable(account_id=s.account_id, start=billed.start, end=billed.end, schedule=s)
                for s, _, billed in billable
            ],
        )
        taxes_of: dict[bool, list] = {}  # the taxes depend on the admin and on the account's apply_tax only
        drafts: list[_Draft] = []
        rows: tuple[list, list] = ([], [])
        now = timezone.now()
        for schedule, period, billed in billable:
            summary = summaries[schedule.account_id]
            lines = usage_lines(summary.groups, tenant.currency)
            if schedule.account.apply_tax not in taxes_of:
                taxes_of[schedule.account.apply_tax] = taxes_applicable(tenant=tenant, account=schedule.account)
            taxes = taxes_of[schedule.account.apply_tax]
            total = totals_compute(
                line_amounts=[line.amount for line in lines], tax_rates=taxes, currency=tenant.currency
            ).total
            advance = {"covered_through": period.end, "last_run_at": now, "last_error": ""}
            if schedule.resumed_on and period.end >= schedule.resumed_on:
                advance["resumed_on"] = None
            for key, value in advance.items():
                setattr(schedule, key, value)
            if total < 0 or (not lines and not settings.issue_zero_invoices):
                reason = "no billable usage" if not lines else "usage nets to a credit, carried to the next period"
                schedule.save(update_fields=[*advance, "updated_at"])
                events.schedule_period_skipped(schedule, start=billed.start, end=billed.end, reason=reason)
                outcomes[schedule.id] = ("skipped", None, schedule)
                continue
            invoice_date, due_date = draft_dates(billed, today=today, due_in_days=schedule.due_in_days)
            invoice = Invoice(
                tenant=tenant,
                account=schedule.account,
                billing_method=BillingMethod.POSTPAID,
                source=InvoiceSource.RECURRING,
                schedule=schedule,
                currency=tenant.currency,
                invoice_date=invoice_date,
                due_date=due_date,
                period_start=billed.start,
                period_end=billed.end,
                description=f"Messaging usage {billed.start:%Y-%m-%d} to {billed.end:%Y-%m-%d}",
                terms=settings.default_terms,
                customer_notes=settings.default_notes,
                anomaly_reason=_anomaly_reason(
                    total, history[schedule.account_id], settings.anomaly_threshold_percent, tenant.currency
                ),
            )
            lines_write(invoice, lines, taxes, rows=rows)
            drafts.append(_Draft(schedule, billed, summary, taxes, invoice))
        if drafts:
            Invoice.objects.bulk_create([d.invoice for d in drafts])
            InvoiceLine.objects.bulk_create(rows[0])
            InvoiceTax.objects.bulk_create(rows[1])
            billed = usage_source().bill_many(tenant_id=tenant.id, bills={d.invoice.pk: d.summary for d in drafts})
            moves: dict[tuple, list[int]] = {}
            for d in drafts:
                if billed[d.invoice.pk] != d.summary.groups:
                    # Not expected under the usage lock; if it happens, the draft bills what it took.
                    lines_write(d.invoice, usage_lines(billed[d.invoice.pk], tenant.currency), d.taxes)
                    d.invoice.anomaly_reason = _anomaly(
                        tenant_id=tenant.id, invoice=d.invoice, threshold=settings.anomaly_threshold_percent
                    )
                    d.invoice.save()
                d.schedule.updated_at = now
                moves.setdefault((d.schedule.covered_through, d.schedule.resumed_on), []).append(d.schedule.pk)
            for (covered_through, resumed_on), ids in moves.items():
                BillingSchedule.objects.filter(pk__in=ids).update(
                    covered_through=covered_through,
                    resumed_on=resumed_on,
                    last_run_at=now,
                    last_error="",
                    updated_at=now,
                )
            # The `invoice.generated` rows, in one INSERT.
            Event.objects.bulk_create(
                events.invoice_generated_row(d.invoice, start=d.billed.start, end=d.billed.end) for d in drafts
            )
            for d in drafts:
                invoice_counted(tenant_id=tenant.id, before=None, after=state_of(d.invoice))
                outcomes[d.schedule.id] = ("draft", d.invoice, d.schedule)
    return outcomes


def schedules_bill_due(
    *,
    tenant,
    schedule_ids: list[int],
    as_of: datetime.date | None = None,
    settings=None,
    max_periods: int = 400,
    drafts: list | None = None,
) -> list[Invoice]:
    """Generate every due period of these schedules of one admin, oldest first (after downtime, each missed
    period in order): one period of each schedule per transaction, until none is due.

    `settings`: the admin's invoicing settings (read here when not given). `drafts`: a list that collects the
    drafts as their transactions commit, including those committed before a later one failed.
    """
    settings = settings or settings_for(tenant)
    today = as_of or tenant_today(tenant)
    drafts = [] if drafts is None else drafts
    pending = list(dict.fromkeys(schedule_ids))
    for _ in range(max_periods):
        if not pending:
            break
        outcomes = _bill_pass(tenant=tenant, schedule_ids=pending, today=today, settings=settings)
        drafts.extend(outcomes[i][1] for i in pending if outcomes[i][1] is not None)
        # As committed: a schedule with nothing more due would only find that out again under the locks.
        pending = [i for i in pending if outcomes[i][0] != "idle" and schedule_is_due(outcomes[i][2], today)]
    return drafts


def schedule_bill_due(*, schedule_id: int, as_of: datetime.date | None = None, max_periods: int = 400):
    """Generate every due period of one schedule, oldest first (after downtime, each missed period in order)."""
    schedule = BillingSchedule.objects.select_related("tenant").get(pk=schedule_id)
    return schedules_bill_due(tenant=schedule.tenant, schedule_ids=[schedule_id], as_of=as_of, max_periods=max_periods)


def schedule_record_failure(*, schedule_id: int, error: Exception) -> None:
    """A schedule that failed: keep the reason on it and in the event log; the next tick retries it."""
    message = f"{error.__class__.__name__}: {error}"[:2000]
    schedule = BillingSchedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        return
    BillingSchedule.objects.filter(pk=schedule_id).update(last_error=message, last_run_at=timezone.now())
    events.schedule_failed(schedule, message=message)


def schedule_is_due(schedule: BillingSchedule, today: datetime.date) -> bool:
    if schedule.status != ScheduleStatus.ACTIVE:
        return False
    period = next_period(schedule)
    return period is None or period.invoice_date <= today


@dataclass(frozen=True)
class DryRun:
    period: Period | None
    preview: Preview | None


def schedule_dry_run(*, tenant, schedule_id) -> DryRun:
    """The draft the schedule would produce next, computed without writing anything."""
    schedule = BillingSchedule.objects.filter(tenant=tenant, pk=schedule_id).select_related("account").first()
    if schedule is None:
        raise NotFound("No such schedule.")
    period = next_period(schedule)
    if period is None:
        return DryRun(None, None)
    settings = settings_for(tenant)
    groups = usage_source().summarise(
        tenant_id=tenant.id,
        account_id=schedule.account_id,
        start=period.start,
        end=period.end,
        delivered_only=settings.bill_delivered_only,
        include_prior=True,
    )
    lines = usage_lines(groups, tenant.currency)
    totals = totals_compute(
        line_amounts=[line.amount for line in lines],
        tax_rates=taxes_applicable(tenant=tenant, account=schedule.account),
        currency=tenant.currency,
    )
    other = period_conflict(tenant=tenant, account_id=schedule.account_id, start=period.start, end=period.end)
    return DryRun(
        period,
        Preview(
            lines=lines,
            totals=totals,
            usage_raw=sum((g.charge for g in groups), ZERO),
            messages=sum(g.messages for g in groups),
            conflict=f"overlaps invoice {other}" if other else None,
        ),
    )


# --- drafts ---------------------------------------------------------------------------------------------------


@transaction.atomic
def invoice_regenerate(*, tenant, invoice_id, actor_id) -> Invoice:
    """Rebuild a postpaid draft from usage: releases its usage and bills the same range again (late records
    included), recomputing lines and taxes."""
    usage_source().lock(tenant_id=tenant.id)
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    if not invoice.is_draft:
        raise Immutable(f"Invoice {invoice} is {invoice.status}; only drafts can be regenerated.")
    if not invoice.is_postpaid:
        raise ValidationFailed("Only postpaid drafts are built from usage.")
    before = invoice.total
    usage_source().release(tenant_id=tenant.id, invoice_id=invoice.pk)
    settings = settings_for(tenant)
    billed = usage_source().bill(
        tenant_id=tenant.id,
        account_id=invoice.account_id,
        start=invoice.period_start,
        end=invoice.period_end,
        invoice_id=invoice.pk,
        delivered_only=settings.bill_delivered_only,
        include_prior=True,
    )
    totals = lines_write(
        invoice, usage_lines(billed, invoice.currency), taxes_applicable(tenant=tenant, account=invoice.account)
    )
    if totals.total < 0:
        raise ValidationFailed("The usage now nets to a credit; delete the draft instead.", code="negative_total")
    if invoice.source == InvoiceSource.RECURRING:
        invoice.anomaly_reason = _anomaly(
            tenant_id=invoice.tenant_id, invoice=invoice, threshold=settings.anomaly_threshold_percent
        )
    invoice.save()
    events.invoice_regenerated(invoice, actor_id=actor_id, before=before)
    return invoice
