"""Excel reports: the invoice report of the current search filter (with a payments sheet) and the payments report.

Small reports are written at once; above SYNC_LIMIT rows they become a job run by a worker, with progress and a
download when done (no long job in a web request).
"""

from __future__ import annotations

import datetime
import tempfile

from babel.numbers import get_currency_precision
from django.db.models import F

from msgplatform.core.clock import tenant_today

from ..documents.xlsx import Column, Sheet, write_workbook
from ..models import Job, Payment
from ..money import money_round
from ..rules import due_status
from ..selectors.invoices import InvoiceFilters, invoice_queryset, payments_list

SYNC_LIMIT = 5000

INVOICE_COLUMNS = [
    Column("Invoice number", width=18),
    Column("Invoice date", "date", 12),
    Column("User", width=28),
    Column("Billing method", width=10),
    Column("Due date", "date", 12),
    Column("Billing period", width=24),
    Column("Status", width=10),
    Column("Payment status", width=14),
    Column("Due status", width=12),
    Column("Days overdue", "int", 8),
    Column("Subtotal", "money"),
    Column("Tax", "money"),
    Column("Total", "money"),
    Column("Paid", "money"),
    Column("Balance due", "money"),
]
PAYMENT_COLUMNS = [
    Column("Payment date", "date", 12),
    Column("Invoice number", width=18),
    Column("User", width=28),
    Column("Type", width=14),
    Column("Transaction id", width=20),
    Column("Bank reference", width=20),
    Column("Amount", "money"),
    Column("Reversed", width=10),
    Column("Reversal reason", width=28),
]


def _invoice_rows(qs, today, currency):
    for inv in qs.select_related("account").iterator(chunk_size=2000):
        due = due_status(inv, today)
        period = f"{inv.period_start:%Y-%m-%d} to {inv.period_end:%Y-%m-%d}" if inv.period_start else ""
        yield [
            inv.number or f"Draft #{inv.pk}",
            inv.invoice_date,
            inv.account.name,
            inv.billing_method,
            inv.due_date,
            period,
            inv.status,
            "" if inv.status == "draft" else inv.payment_status,
            due.status or "",
            due.days_overdue or None,
            money_round(inv.subtotal, currency),
            money_round(inv.tax_total, currency),
            money_round(inv.total, currency),
            money_round(inv.amount_paid, currency),
            money_round(inv.balance_due, currency),
        ]


def _payment_rows(qs, currency):
    for p in qs.iterator(chunk_size=2000):
        yield [
            p.payment_date,
            p.invoice.number,
            p.account.name,
            p.get_payment_type_display(),
            p.transaction_id,
            p.bank_reference,
            money_round(p.amount, currency),
            "yes" if p.reversed_at else "",
            p.reversal_reason,
        ]


def _write(tenant, *, invoices_qs, payments_qs, on_row=None) -> bytes:
    currency = tenant.currency
    today = tenant_today(tenant)
    sheets = []
    if invoices_qs is not None:
        sheets.append(Sheet("Invoices", INVOICE_COLUMNS, _invoice_rows(invoices_qs, today, currency)))
    sheets.append(Sheet("Payments", PAYMENT_COLUMNS, _payment_rows(payments_qs, currency)))
    with tempfile.TemporaryFile() as handle:
        write_workbook(
            handle, sheets=sheets, currency=currency, currency_decimals=get_currency_precision(currency), on_row=on_row
        )
        handle.seek(0)
        return handle.read()


def _filters_from(params: dict) -> InvoiceFilters:
    data = dict(params)
    for key in ("date_from", "date_to"):
        if data.get(key):
            data[key] = datetime.date.fromisoformat(data[key])
    return InvoiceFilters(**data)


def _filters_to(filters: InvoiceFilters) -> dict:
    out = {}
    for key, value in filters.__dict__.items():
        out[key] = value.isoformat() if isinstance(value, datetime.date) else value
    return out


def invoice_report(*, tenant, filters: InvoiceFilters, ordering: str = "-invoice_date", actor_id=None):
    """(file name, bytes) for a small report, or a queued Job for a large one."""
    invoices = invoice_queryset(tenant=tenant, filters=filters, ordering=ordering)
    payments = (
        Payment.objects.filter(tenant=tenant, invoice__in=invoices.values("pk"))
        .select_related("invoice", "account")
        .order_by("payment_date", "id")
    )
    if invoices[: SYNC_LIMIT + 1].count() <= SYNC_LIMIT:
        return f"invoices-{tenant_today(tenant):%Y%m%d}.xlsx", _write(
            tenant, invoices_qs=invoices, payments_qs=payments
        )
    job = Job.objects.create(
        tenant=tenant,
        kind="invoice_report",
        created_by_id=actor_id,
        params={"filters": _filters_to(filters), "ordering": ordering},
        total=invoices.count(),
    )
    from .jobs import job_dispatch

    job_dispatch(job.id)
    return job


def invoice_report_run(job: Job) -> str:
    tenant = job.tenant
    invoices = invoice_queryset(
        tenant=tenant,
        filters=_filters_from(job.params["filters"]),
        ordering=job.params.get("ordering", "-invoice_date"),
    )
    payments = (
        Payment.objects.filter(tenant=tenant, invoice__in=invoices.values("pk"))
        .select_related("invoice", "account")
        .order_by("payment_date", "id")
    )

    def progress(rows):
        Job.objects.filter(pk=job.pk).update(done=rows)

    content = _write(tenant, invoices_qs=invoices, payments_qs=payments, on_row=progress)
    Job.objects.filter(pk=job.pk).update(result=content, result_name=f"invoices-{job.pk}.xlsx", done=F("total"))
    return f"Report of {job.total} invoice(s) ready"


def payments_report(*, tenant, date_from=None, date_to=None, account_id=None) -> tuple[str, bytes]:
    qs = payments_list(tenant=tenant, account_id=account_id, date_from=date_from, date_to=date_to)
    return f"payments-{tenant_today(tenant):%Y%m%d}.xlsx", _write(
        tenant, invoices_qs=None, payments_qs=qs.select_related("invoice", "account")
    )
