"""Billing period arithmetic on local dates (the admin's time zone), anchored to a schedule's start date.

Anchors are computed from the start date each time, never step by step, so month-end clamping does not drift:
started on 31 January, monthly anchors are 31 Jan, 28/29 Feb, 31 Mar, 30 Apr... A period runs from one anchor
to the day before the next; the invoice is dated the day after the period ends.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from .models import BillingSchedule, Interval

DAY = datetime.timedelta(days=1)
_STEP_DAYS = {Interval.WEEKLY: 7, Interval.FORTNIGHTLY: 14}
_STEP_MONTHS = {Interval.MONTHLY: 1, Interval.QUARTERLY: 3}


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date
    invoice_date: datetime.date
    due_date: datetime.date
    last: bool  # the schedule's end date ends this period


def add_months(day: datetime.date, months: int, anchor_day: int | None = None) -> datetime.date:
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    wanted = anchor_day or day.day
    return datetime.date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def anchor(*, start: datetime.date, interval: str, every_n_days: int | None, k: int) -> datetime.date:
    if interval in _STEP_MONTHS:
        return add_months(start, _STEP_MONTHS[interval] * k, anchor_day=start.day)
    step = _STEP_DAYS.get(interval) or every_n_days
    if not step:
        raise ValueError("every_n_days is required for that interval")
    return start + datetime.timedelta(days=step * k)


def boundary_after(*, start: datetime.date, interval: str, every_n_days: int | None, day: datetime.date):
    """The first anchor strictly after `day` (anchors before the start do not exist)."""
    if day < start:
        return start
    if interval in _STEP_MONTHS:
        step = _STEP_MONTHS[interval]
        k = max(0, ((day.year - start.year) * 12 + day.month - start.month) // step - 1)
    else:
        step = _STEP_DAYS.get(interval) or every_n_days
        k = (day - start).days // step
    while anchor(start=start, interval=interval, every_n_days=every_n_days, k=k) <= day:
        k += 1
    return anchor(start=start, interval=interval, every_n_days=every_n_days, k=k)


def next_period(schedule: BillingSchedule) -> Period | None:
    """The period after `covered_through`, or None when the end date is passed.

    After a stop, the period starts where coverage ended and runs to the end of the natural period in which the
    schedule was restarted (SPEC §3), so no usage is lost and no period is billed twice.
    """
    start = schedule.covered_through + DAY
    if schedule.end_date and start > schedule.end_date:
        return None
    reference = max(start, schedule.resumed_on) if schedule.resumed_on else start
    natural_end = (
        boundary_after(
            start=schedule.start_date, interval=schedule.interval, every_n_days=schedule.every_n_days, day=reference
        )
        - DAY
    )
    end = natural_end
    last = False
    if schedule.end_date and end >= schedule.end_date:
        end, last = schedule.end_date, True
    invoice_date = end + DAY
    return Period(
        start=start,
        end=end,
        invoice_date=invoice_date,
        due_date=invoice_date + datetime.timedelta(days=schedule.due_in_days),
        last=last,
    )


def draft_dates(period: Period, *, today: datetime.date, due_in_days: int) -> tuple[datetime.date, datetime.date]:
    """(invoice date, due date) of the draft of `period` made on `today`: the day after the period on time, and a
    catch-up draft (after downtime, or a start date in the past) is dated today and due `due_in_days` from today,
    so a user is never sent an invoice already overdue the day it is made. Its period stays as it is."""
    if period.invoice_date >= today:
        return period.invoice_date, period.due_date
    return today, today + datetime.timedelta(days=due_in_days)


def periods_over(
    *,
    start_date: datetime.date,
    interval: str,
    every_n_days: int | None,
    end_date: datetime.date | None,
    today: datetime.date,
    limit: int = 1000,
) -> int:
    """How many periods from `start_date` are over by `today` (invoice date on or before it): the drafts the next
    billing run makes at once for a new schedule. Counted up to `limit`."""
    count = 0
    while count < limit:
        end = anchor(start=start_date, interval=interval, every_n_days=every_n_days, k=count + 1) - DAY
        if end_date and end >= end_date:
            end = end_date
        if end + DAY > today:
            break
        count += 1
        if end_date and end >= end_date:
            break
    return count
