"""Excel reports: the invoice report of the current search filter (invoices, drafts, credit notes and payments
sheets) and the payments report.

Small reports are written at once; above SYNC_LIMIT rows they become a job run by a worker, with progress and a
download when done (no long job in a web request).
"""

from __future__ import annotations

import datetime
import tempfile
import time
from functools import lru_cache

from babel.numbers import get_currency_precision
from django.db import connection
from django.db.models import F

from msgplatform.core.clock import tenant_today

from ..documents.xlsx import Column, Sheet, write_workbook
from ..models import CreditNote, InvoiceStatus, Job, Payment
from ..money import money_round
from ..rules import due_status
from ..selectors.invoices import InvoiceFilters, invoice_queryset, payments_list

SYNC_LIMIT = 5000
PROGRESS_SECONDS = 0.5  # a job's progress is written at most this often

# The labels of the invoice grid and the payments page (templates/invoicing/invoices/_grid.html, payments/list.html),
# so a column of the report is found under the name it has on screen.
INVOICE_COLUMNS = [
    Column("Invoice Number", width=18),
    Column("Invoice Date", "date", 12),
    Column("User", width=28),
    Column("Billing Method", width=10),
    Column("Due Date", "date", 12),
    Column("Billing Period", width=24),
    Column("Status", width=10),
    Column("Payment Status", width=14),
    Column("Due Status", width=12),
    Column("Days Overdue", "int", 8),
    Column("Subtotal", "money"),
    Column("Tax", "money"),
    Column("Amount", "money"),
    Column("Credited", "money"),
    Column("Effective Total", "money"),
    Column("Paid", "money"),
    Column("Balance Due", "money"),
]
STATUS_COLUMN = 6
CREDIT_NOTE_COLUMNS = [
    Column("Credit Note Number", width=18),
    Column("Date", "date", 12),
    Column("Invoice", width=18),
    Column("User", width=28),
    Column("Subtotal", "money"),
    Column("Tax", "money"),
    Column("Total", "money"),
    Column("Reason", width=40),
]
PAYMENT_COLUMNS = [
    Column("Payment date", "date", 12),
    Column("Invoice", width=18),
    Column("User", width=28),
    Column("Type", width=14),
    Column("Transaction id", width=20),
    Column("Bank reference", width=20),
    Column("Amount", "money"),
    Column("Status", width=10),
    Column("Reversal reason", width=28),
]


def _approved(row) -> bool:
    """The invoices the totals row sums: approved ones (void invoices are listed, counted in no figure)."""
    return row[STATUS_COLUMN] == InvoiceStatus.APPROVED


# Only the columns a report shows are read, as tuples (no model instances), through a server-side cursor on
# PostgreSQL in chunks of CHUNK rows: memory stays flat whatever the size (bench/excel.py).
CHUNK = 2000
INVOICE_FIELDS = (
    "pk",
    "number",
    "invoice_date",
    "account__name",
    "billing_method",
    "due_date",
    "period_start",
    "period_end",
    "status",
    "payment_status",
    "subtotal",
    "tax_total",
    "total",
    "credited_total",
    "amount_paid",
    "balance_due",
)
CREDIT_NOTE_FIELDS = (
    "number",
    "issue_date",
    "invoice__number",
    "account__name",
    "subtotal",
    "tax_total",
    "total",
    "reason",
)
PAYMENT_FIELDS = (
    "payment_date",
    "invoice__number",
    "account__name",
    "payment_type",
    "transaction_id",
    "bank_reference",
    "amount",
    "reversed_at",
    "reversal_reason",
)


@lru_cache(maxsize=4096)
def _period_text(start: datetime.date, end: datetime.date) -> str:
    """Billing periods repeat (monthly ones above all) and strftime costs microseconds: format each once."""
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"


def _invoice_rows(qs, today, currency):
    # Named rows carry status, balance_due and due_date: rules.due_status reads them as it reads an invoice.
    for inv in qs.values_list(*INVOICE_FIELDS, named=True).iterator(chunk_size=CHUNK):
        due = due_status(inv, today)
        period = _period_text(inv.period_start, inv.period_end) if inv.period_start else ""
        yield (
            inv.number or f"Draft #{inv.pk}",
            inv.invoice_date,
            inv.account__name,
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
            money_round(inv.credited_total, currency),
            money_round(inv.total - inv.credited_total, currency),  # the effective total (SPEC §4)
            money_round(inv.amount_paid, currency),
            money_round(inv.balance_due, currency),
        )


def _credit_note_rows(qs, currency):
    for number, date, invoice, name, subtotal, tax, total, reason in qs.values_list(*CREDIT_NOTE_FIELDS).iterator(
        chunk_size=CHUNK
    ):
        yield (
            number,
            date,
            invoice,
            name,
            money_round(subtotal, currency),
            money_round(tax, currency),
            money_round(total, currency),
            reason,
        )


def _payment_rows(qs, currency):
    labels = dict(Payment._meta.get_field("payment_type").flatchoices)  # what get_payment_type_display shows
    for date, number, name, kind, txn, ref, amount, reversed_at, reason in qs.values_list(*PAYMENT_FIELDS).iterator(
        chunk_size=CHUNK
    ):
        yield (
            date,
            number,
            name,
            labels.get(kind, kind),
            txn,
            ref,
            money_round(amount, currency),
            "Reversed" if reversed_at else "Received",
            reason,
        )


def _write(tenant, *, invoices_qs, payments_qs, on_row=None) -> bytes:
    currency = tenant.currency
    today = tenant_today(tenant)
    sheets = []
    if invoices_qs is not None:
        # Drafts are not billed yet: listed on their own sheet, out of the invoices' totals (docs/decisions.md).
        issued = invoices_qs.exclude(status=InvoiceStatus.DRAFT)
        drafts = invoices_qs.filter(status=InvoiceStatus.DRAFT)
        sheets.append(
            Sheet(
                "Invoices",
                INVOICE_COLUMNS,
                _invoice_rows(issued, today, currency),
                counted=_approved,
                totals_label="Total of approved invoices",
            )
        )
        sheets.append(
            Sheet("Drafts", INVOICE_COLUMNS, _invoice_rows(drafts, today, currency), totals_label="Total of drafts")
        )
        credit_notes = CreditNote.objects.filter(tenant=tenant, invoice__in=invoices_qs.values("pk")).order_by(
            "issue_date", "id"
        )
        sheets.append(
            Sheet(
                "Credit notes",
                CREDIT_NOTE_COLUMNS,
                _credit_note_rows(credit_notes, currency),
                totals_label="Total of credit notes",
            )
        )
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
    return InvoiceFilters.from_params(data)


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

    last = [-PROGRESS_SECONDS]

    def progress(rows):
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS:  # an UPDATE and a commit each: not every 1,000 rows
            last[0] = now
            Job.objects.filter(pk=job.pk).update(done=rows)

    content = _write(tenant, invoices_qs=invoices, payments_qs=payments, on_row=progress)
    _result_store(job, content, f"invoices-{job.pk}.xlsx")
    return f"Report of {job.total} invoice(s) ready"


def _result_store(job: Job, content: bytes, name: str) -> None:
    """The workbook on the job row, progress at 100 %.

    On PostgreSQL the bytes go as one binary parameter: Django binds parameters on the client, so it would send
    them as an escaped literal, several copies of twice their size in memory (+85 MB for an 11 MB report of
    100,000 invoices against +21 MB this way, bench/excel.py).
    """
    if connection.vendor != "postgresql":
        Job.objects.filter(pk=job.pk).update(result=content, result_name=name, done=F("total"))
        return
    import psycopg
    from psycopg import sql

    meta = Job._meta
    column = {f: sql.Identifier(meta.get_field(f).column) for f in ("result", "result_name", "done", "total")}
    statement = sql.SQL("UPDATE {table} SET {result} = %b, {result_name} = %s, {done} = {total} WHERE {pk} = %s")
    statement = statement.format(table=sql.Identifier(meta.db_table), pk=sql.Identifier(meta.pk.column), **column)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, [content, name, job.pk])


def payments_report(*, tenant, date_from=None, date_to=None, account_id=None) -> tuple[str, bytes]:
    qs = payments_list(tenant=tenant, account_id=account_id, date_from=date_from, date_to=date_to)
    return f"payments-{tenant_today(tenant):%Y%m%d}.xlsx", _write(
        tenant, invoices_qs=None, payments_qs=qs.select_related("invoice", "account")
    )
