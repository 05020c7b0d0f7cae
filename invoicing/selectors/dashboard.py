"""The invoicing dashboard's figures: counts, amounts owed and received, and a 12-month invoiced/received series.

Four small queries whatever the number of invoices:

1. invoice counts by (status, payment status, source) from the maintained counters (models/stats.py);
2. owing invoices (approved, balance due > 0): conditional aggregates over the partial index inv_tenant_open_due
   (owing amounts depend on "today", so they are read, not counted);
3. invoiced and credited (credit notes) per month and 4. received per month (with payment counts) from the monthly
   counters.

The counters are written by the services in the same transaction as each change (services/stats.py) and checked
against a direct aggregate by the tests. Void invoices count in no figure except `void`; reversed payments count
in none. Amounts are quantised to the tenant currency's minor unit.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from msgplatform.core.clock import tenant_today

from ..models import (
    Invoice,
    InvoiceMonthTotal,
    InvoiceSource,
    InvoiceStatus,
    InvoiceTally,
    PaymentMonthTotal,
    PaymentStatus,
)
from ..money import ZERO, from_milli, money_round

SERIES_MONTHS = 12


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date  # first day of the month
    invoiced: Decimal  # total of the approved invoices dated in the month
    received: Decimal  # payments (not reversed) dated in the month
    credited: Decimal = ZERO  # totals of the credit notes issued in the month


@dataclass(frozen=True)
class DashboardFigures:
    today: datetime.date
    currency: str
    invoices: int  # every invoice, void included
    approved: int
    drafts: int
    void: int
    paid: int  # approved and fully paid
    unpaid: int  # approved, nothing paid yet
    partially_paid: int  # approved, paid in part
    outstanding_amount: Decimal  # balance due of approved invoices that still owe something
    overdue_amount: Decimal
    overdue_count: int  # approved, owing, due date before today
    received_this_month: Decimal
    recurring: int  # created by a billing schedule, not void
    payments: int  # payments recorded and not reversed, all time
    credited: int  # approved invoices settled entirely by credit notes (payment status "credited")
    credit_notes: int  # credit notes issued, all time
    credited_amount: Decimal  # their totals, all time
    series: tuple[MonthFigures, ...]  # SERIES_MONTHS months, oldest first, today's month last

    @property
    def unsettled(self) -> int:
        return self.unpaid + self.partially_paid


def month_starts(today: datetime.date, months: int = SERIES_MONTHS) -> list[datetime.date]:
    """First days of the `months` months ending with today's, oldest first, then the first day after them."""
    index = today.year * 12 + today.month - 1
    return [datetime.date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 2)]


def dashboard_figures(*, tenant, today: datetime.date | None = None) -> DashboardFigures:
    today = today or tenant_today(tenant)
    currency = tenant.currency
    starts = month_starts(today)
    first, end = starts[0], starts[-1]

    # 1. Counts per (status, payment status, source).
    counts: dict[str, int] = defaultdict(int)
    groups = InvoiceTally.objects.filter(tenant=tenant, count__gt=0).values_list(
        "status", "payment_status", "source", "count"
    )
    for status, payment_status, source, n in groups:
        counts["invoices"] += n
        counts[status] += n
        if status == InvoiceStatus.APPROVED:
            counts[payment_status] += n
        if source == InvoiceSource.RECURRING and status != InvoiceStatus.VOID:
            counts["recurring"] += n

    # 2. What approved invoices still owe, and how much of it is overdue in the tenant's today.
    overdue = Q(due_date__lt=today)
    owing = Invoice.objects.filter(tenant=tenant, status=InvoiceStatus.APPROVED, balance_due__gt=0).aggregate(
        outstanding=Sum("balance_due"),
        overdue_amount=Sum("balance_due", filter=overdue),
        overdue_count=Count("tenant", filter=overdue),
    )

    # 3. Invoiced per month of the window (approved invoices only), and credit notes per issue month (all time).
    invoiced: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    credited: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    credit_notes, credited_milli = 0, 0
    for month, value, n, credit_value in InvoiceMonthTotal.objects.filter(tenant=tenant).values_list(
        "month", "invoiced_milli", "credited_count", "credited_milli"
    ):
        credit_notes += n
        credited_milli += credit_value
        if first <= month < end:
            invoiced[month] += from_milli(value)
            credited[month] += from_milli(credit_value)

    # 4. Payments not reversed: how many (all time), and received per month of the window.
    received: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    payments = 0
    for month, n, value in PaymentMonthTotal.objects.filter(tenant=tenant).values_list(
        "month", "count", "amount_milli"
    ):
        payments += n
        if first <= month < end:
            received[month] += from_milli(value)

    def money(value) -> Decimal:
        return money_round(value if value is not None else ZERO, currency)

    series = tuple(
        MonthFigures(
            month=month,
            invoiced=money(invoiced[month]),
            received=money(received[month]),
            credited=money(credited[month]),
        )
        for month in starts[:-1]
    )
    return DashboardFigures(
        today=today,
        currency=currency,
        invoices=counts["invoices"],
        approved=counts[InvoiceStatus.APPROVED],
        drafts=counts[InvoiceStatus.DRAFT],
        void=counts[InvoiceStatus.VOID],
        paid=counts[PaymentStatus.PAID],
        unpaid=counts[PaymentStatus.UNPAID],
        partially_paid=counts[PaymentStatus.PARTIALLY_PAID],
        outstanding_amount=money(owing["outstanding"]),
        overdue_amount=money(owing["overdue_amount"]),
        overdue_count=owing["overdue_count"],
        received_this_month=series[-1].received,
        recurring=counts["recurring"],
        payments=payments,
        credited=counts[PaymentStatus.CREDITED],
        credit_notes=credit_notes,
        credited_amount=money(from_milli(credited_milli)),
        series=series,
    )
