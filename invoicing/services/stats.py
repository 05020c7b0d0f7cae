"""Keeping the dashboard's summary counters (models/stats.py) in step with invoices and payments.

Called by the services at the end of each change, in the same transaction: counters are the last rows a
transaction locks, after the invoice and the account, so the lock order stays the same everywhere.
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count

from ..models import (
    CREDIT_PAYMENT,
    CreditNote,
    Invoice,
    InvoiceMonthTotal,
    InvoiceStatus,
    InvoiceTally,
    Payment,
    PaymentMonthTotal,
    Receipt,
)
from ..money import to_milli


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _upsert_add(table: str, key: dict, add: dict) -> None:
    columns = [*key, *add]
    placeholders = ", ".join(["%s"] * len(columns))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "  # noqa: S608 - constant names
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}",
            [*key.values(), *add.values()],
        )


def state_of(invoice: Invoice) -> tuple | None:
    """What the counters know of an invoice: (status, payment_status, source, invoiced month, total)."""
    return (invoice.status, invoice.payment_status, invoice.source, month_of(invoice.invoice_date), invoice.total)


@dataclass
class _Changes:
    """Counter changes not written yet: {tally key: count}, {month: invoiced, credited count, credited},
    {month: payments, received}; written in that table order, each table's rows in sorted key order."""

    tenant_id: int
    tally: dict[tuple, int] = field(default_factory=dict)
    months: dict[datetime.date, list[int]] = field(default_factory=dict)
    payments: dict[datetime.date, list[int]] = field(default_factory=dict)

    def write(self) -> None:
        for (status, payment_status, source), delta in sorted(self.tally.items()):
            if delta:
                _upsert_add(
                    InvoiceTally._meta.db_table,
                    {"tenant_id": self.tenant_id, "status": status, "payment_status": payment_status, "source": source},
                    {"count": delta},
                )
        for month, (invoiced, count, credited) in sorted(self.months.items()):
            add = {"invoiced_milli": invoiced, "credited_count": count, "credited_milli": credited}
            add = {column: value for column, value in add.items() if value}
            if add:
                _upsert_add(InvoiceMonthTotal._meta.db_table, {"tenant_id": self.tenant_id, "month": month}, add)
        for month, (count, amount) in sorted(self.payments.items()):
            if count or amount:
                _upsert_add(
                    PaymentMonthTotal._meta.db_table,
                    {"tenant_id": self.tenant_id, "month": month},
                    {"count": count, "amount_milli": amount},
                )


_batch: ContextVar[_Changes | None] = ContextVar("invoicing_counter_batch", default=None)


def _changes(tenant_id: int) -> tuple[_Changes, bool]:
    """The batch being collected (and False), or a new one to write at once (and True)."""
    batch = _batch.get()
    if batch is not None and batch.tenant_id == tenant_id:
        return batch, False
    return _Changes(tenant_id), True


@contextmanager
def counters_batched(*, tenant_id: int):
    """Collect every counter change of the block and write them once at its end, merged, in one sorted order.

    For a transaction that moves several invoices (a payment across invoices and its reversal): written one
    invoice at a time, its counter rows would be locked in an order another transaction can cross (deadlock), and
    before the account rows its later allocations lock. Nothing is written if the block raises.
    """
    batch = _Changes(tenant_id)
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    batch.write()


def invoice_counted(*, tenant_id: int, before: tuple | None, after: tuple | None) -> None:
    """Move one invoice from its `before` state to its `after` state (None: absent) in the counters.

    Rows are updated in one fixed order (sorted keys), so two transactions moving invoices in opposite directions
    (a payment and a reversal) cannot deadlock on the counter rows.
    """
    if before == after:
        return
    changes, now = _changes(tenant_id)
    for state, sign in ((before, -1), (after, 1)):
        if state is None:
            continue
        status, payment_status, source, month, total = state
        key = (status, payment_status, source)
        changes.tally[key] = changes.tally.get(key, 0) + sign
        if status == InvoiceStatus.APPROVED and total:
            changes.months.setdefault(month, [0, 0, 0])[0] += sign * to_milli(total)
    if now:
        changes.write()


def payment_counted(
    *, tenant_id: int, payment_date: datetime.date, amount: Decimal, sign: int, counted: bool = True
) -> None:
    """Money received (or, sign -1, its reversal): payments of invoices, and with `counted` False the part of a
    payment for a user kept as customer credit (money received, but no payment of an invoice). Applications of
    customer credit are not money received and are not counted."""
    changes, now = _changes(tenant_id)
    row = changes.payments.setdefault(month_of(payment_date), [0, 0])
    row[0] += sign if counted else 0
    row[1] += sign * to_milli(amount)
    if now:
        changes.write()


def credit_note_counted(*, tenant_id: int, issue_date: datetime.date, total: Decimal) -> None:
    changes, now = _changes(tenant_id)
    row = changes.months.setdefault(month_of(issue_date), [0, 0, 0])
    row[1] += 1
    row[2] += to_milli(total)
    if now:
        changes.write()


@transaction.atomic
def stats_rebuild(*, tenant) -> None:
    """Recompute every counter of the tenant from its invoices and payments (repair, or after an import)."""
    InvoiceTally.objects.filter(tenant=tenant).delete()
    InvoiceMonthTotal.objects.filter(tenant=tenant).delete()
    PaymentMonthTotal.objects.filter(tenant=tenant).delete()
    InvoiceTally.objects.bulk_create(
        InvoiceTally(tenant=tenant, **row)
        for row in Invoice.objects.filter(tenant=tenant)
        .values("status", "payment_status", "source")
        .annotate(count=Count("id"))
        .order_by()
    )
    months: dict[datetime.date, int] = {}
    for day, total in (
        Invoice.objects.filter(tenant=tenant, status=InvoiceStatus.APPROVED)
        .values_list("invoice_date", "total")
        .iterator(chunk_size=5000)
    ):
        months[month_of(day)] = months.get(month_of(day), 0) + to_milli(total)
    credited: dict[datetime.date, list[int]] = {}
    for day, total in CreditNote.objects.filter(tenant=tenant).values_list("issue_date", "total").iterator(5000):
        acc = credited.setdefault(month_of(day), [0, 0])
        acc[0] += 1
        acc[1] += to_milli(total)
    InvoiceMonthTotal.objects.bulk_create(
        InvoiceMonthTotal(
            tenant=tenant,
            month=m,
            invoiced_milli=months.get(m, 0),
            credited_count=credited.get(m, [0, 0])[0],
            credited_milli=credited.get(m, [0, 0])[1],
        )
        for m in set(months) | set(credited)
    )
    received: dict[datetime.date, list[int]] = {}
    for day, amount in (
        Payment.objects.filter(tenant=tenant, reversed_at__isnull=True)
        .exclude(payment_type=CREDIT_PAYMENT)
        .values_list("payment_date", "amount")
        .iterator(chunk_size=5000)
    ):
        acc = received.setdefault(month_of(day), [0, 0])
        acc[0] += 1
        acc[1] += to_milli(amount)
    for day, amount in (
        Receipt.objects.filter(tenant=tenant, reversed_at__isnull=True, unallocated__gt=0)
        .values_list("payment_date", "unallocated")
        .iterator(chunk_size=5000)
    ):
        received.setdefault(month_of(day), [0, 0])[1] += to_milli(amount)
    PaymentMonthTotal.objects.bulk_create(
        PaymentMonthTotal(tenant=tenant, month=m, count=c, amount_milli=a) for m, (c, a) in received.items()
    )


def stats_snapshot(*, tenant) -> dict:
    """The counters as plain data (tests compare it with a rebuild)."""
    return {
        "tally": sorted(
            (t.status, t.payment_status, t.source, t.count)
            for t in InvoiceTally.objects.filter(tenant=tenant)
            if t.count
        ),
        "invoiced": sorted(
            (m.month, m.invoiced_milli, m.credited_count, m.credited_milli)
            for m in InvoiceMonthTotal.objects.filter(tenant=tenant)
            if m.invoiced_milli or m.credited_count or m.credited_milli
        ),
        "received": sorted(
            (p.month, p.count, p.amount_milli)
            for p in PaymentMonthTotal.objects.filter(tenant=tenant)
            if p.count or p.amount_milli
        ),
    }
