"""The invoicing dashboard's figures: counts, amounts owed and received, and a 12-month invoiced/received series.

Four queries whatever the number of invoices, each answered from one index (see the Invoice indexes):

1. invoice counts by (status, payment status, source): a GROUP BY of at most 18 rows over inv_tenant_counts;
2. owing invoices (approved, balance due > 0): conditional aggregates over the partial index inv_tenant_open_due;
3. the total of approved invoices per invoice date over the 12 months, over inv_tenant_approved_date;
4. payments not reversed: their count, and their sum per payment date within the 12 months (conditional sum).

Per-day rows are folded into months here: grouping by the stored date is much cheaper than truncating every row's
date to its month in SQL. Counts are COUNT(<not-null column>) so that PostgreSQL answers them from an index alone
(Django's Count("*") takes no filter; COUNT(id) would need the table, the indexes do not hold the id).

Void invoices count in no figure except `void`; reversed payments count in none. Amounts are quantised to the
tenant currency's minor unit.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from msgplatform.core.clock import tenant_today

from ..models import Invoice, InvoiceSource, InvoiceStatus, Payment, PaymentStatus
from ..money import ZERO, money_round

SERIES_MONTHS = 12


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date  # first day of the month
    invoiced: Decimal  # total of the approved invoices dated in the month
    received: Decimal  # payments (not reversed) dated in the month


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
    groups = (
        Invoice.objects.filter(tenant=tenant)
        .values_list("status", "payment_status", "source")
        .annotate(n=Count("tenant"))
        .order_by()
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

    # 3. Invoiced per day of the window (approved invoices only).
    invoiced: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    days = (
        Invoice.objects.filter(
            tenant=tenant, status=InvoiceStatus.APPROVED, invoice_date__gte=first, invoice_date__lt=end
        )
        .values_list("invoice_date")
        .annotate(total=Sum("total"))
        .order_by()
    )
    for day, total in days:
        invoiced[day.replace(day=1)] += total

    # 4. Payments not reversed: how many, and received per day of the window.
    received: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    payments = 0
    days = (
        Payment.objects.filter(tenant=tenant, reversed_at__isnull=True)
        .values_list("payment_date")
        .annotate(n=Count("tenant"), amount=Sum("amount", filter=Q(payment_date__gte=first, payment_date__lt=end)))
        .order_by()
    )
    for day, n, amount in days:
        payments += n
        if amount is not None:
            received[day.replace(day=1)] += amount

    def money(value) -> Decimal:
        return money_round(value if value is not None else ZERO, currency)

    series = tuple(
        MonthFigures(month=month, invoiced=money(invoiced[month]), received=money(received[month]))
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
        series=series,
    )
