import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from invoicing.models import Invoice, Job
from invoicing.selectors.invoices import InvoiceFilters, invoice_search
from invoicing.services import reports
from invoicing.services.invoices import invoice_create_prepaid, invoice_void
from invoicing.services.payments import payment_record
from invoicing.services.reports import invoice_report, payments_report
from tests.factories import AccountFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def book(admin, user):
    evil = AccountFactory(tenant=admin.tenant, name="=cmd|' /C calc'!A0")
    a = invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        recharge_amount="100.50",
        invoice_date=datetime.date(2026, 2, 1),
        due_date=datetime.date(2026, 2, 15),
    )
    invoice_create_prepaid(tenant=admin.tenant, account_id=evil.id, actor_id=None, recharge_amount="20.00")
    invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="7.00", as_draft=True
    )
    payment_record(
        tenant=admin.tenant,
        invoice_id=a.id,
        actor_id=None,
        amount="40.25",
        payment_date=datetime.date(2026, 3, 1),
        payment_type="bank_transfer",
        transaction_id="+TX1",
    )
    return admin


def rows_of(content: bytes, sheet: str):
    ws = load_workbook(io.BytesIO(content), read_only=True)[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_invoice_report_equals_the_search_results_with_totals(book):
    filters = InvoiceFilters(tab="all")
    name, content = invoice_report(tenant=book.tenant, filters=filters)

    rows = rows_of(content, "Invoices")
    page = invoice_search(tenant=book.tenant, filters=filters, page_size=100)
    drafts = rows_of(content, "Drafts")
    assert name == "invoices-20260320.xlsx"
    assert rows[0] == [
        "Invoice Number",
        "Invoice Date",
        "User",
        "Billing Method",
        "Due Date",
        "Billing Period",
        "Status",
        "Payment Status",
        "Due Status",
        "Days Overdue",
        "Subtotal",
        "Tax",
        "Amount",
        "Credited",
        "Effective Total",
        "Paid",
        "Balance Due",
    ]
    assert [r[0] for r in rows[1:-1]] == [i.number for i in page.items if i.number]
    assert [r[0] for r in drafts[1:-1]] == [f"Draft #{i.pk}" for i in page.items if not i.number]
    first = next(r for r in rows if r[0] == "INV-2026-00001")
    assert first[3:10] == ["prepaid", datetime.datetime(2026, 2, 15), None, "approved", "partially_paid", "overdue", 33]
    assert first[10:] == [100.5, 0, 100.5, 0, 100.5, 40.25, 60.25]
    assert rows[-1][0] == "Total of approved invoices" and rows[-1][12] == 120.5  # 100.50 + 20.00, not the draft
    assert drafts[-1][0] == "Total of drafts" and drafts[-1][12] == 7


def test_invoice_totals_sum_the_approved_invoices_exactly_and_leave_drafts_and_void_out(book):
    # Given approved invoices with amounts binary floats cannot add exactly, a void invoice and a draft
    for amount in ("0.10", "0.20", "1234567.89"):
        invoice_create_prepaid(
            tenant=book.tenant, account_id=book.tenant.accounts.first().id, actor_id=None, recharge_amount=amount
        )
    voided = Invoice.objects.filter(tenant=book.tenant, status="approved").order_by("-id").first()
    invoice_void(tenant=book.tenant, invoice_id=voided.id, actor_id=None, reason="Issued twice")

    _, content = invoice_report(tenant=book.tenant, filters=InvoiceFilters())

    rows = rows_of(content, "Invoices")
    approved = Invoice.objects.filter(tenant=book.tenant, status="approved")
    expected = [
        sum((getattr(i, field) for i in approved), Decimal(0))
        for field in (
            "subtotal",
            "tax_total",
            "total",
            "credited_total",
            "effective_total",
            "amount_paid",
            "balance_due",
        )
    ]
    assert expected[2] == Decimal("120.80")  # 100.50 + 20.00 + 0.10 + 0.20
    assert [Decimal(str(value)) for value in rows[-1][10:]] == expected
    assert sorted(r[6] for r in rows[1:-1]) == ["approved"] * 4 + ["void"]
    assert [r[6] for r in rows_of(content, "Drafts")[1:-1]] == ["draft"]


def test_every_sheet_has_its_header_frozen_and_an_autofilter_over_its_rows(book):
    _, invoices = invoice_report(tenant=book.tenant, filters=InvoiceFilters())
    _, payments = payments_report(tenant=book.tenant)

    workbook = load_workbook(io.BytesIO(invoices))
    sheets = {ws.title: (ws.freeze_panes, ws.auto_filter.ref) for ws in workbook.worksheets}
    payment_sheet = load_workbook(io.BytesIO(payments))["Payments"]
    # Invoices: header + 2 approved (row 4 is the totals row); Drafts: header + 1; Payments: header + 1
    assert sheets == {
        "Invoices": ("A2", "A1:Q3"),
        "Drafts": ("A2", "A1:Q2"),
        "Credit notes": ("A2", "A1:H1"),
        "Payments": ("A2", "A1:I2"),
    }
    assert (payment_sheet.freeze_panes, payment_sheet.auto_filter.ref) == ("A2", "A1:I2")


def test_an_empty_sheet_still_has_its_header_frozen_and_filterable(other_admin):
    _, content = invoice_report(tenant=other_admin.tenant, filters=InvoiceFilters())

    ws = load_workbook(io.BytesIO(content))["Drafts"]
    assert (ws.freeze_panes, ws.auto_filter.ref) == ("A2", "A1:Q1")


def test_formula_like_text_arrives_neutralised(book):
    _, content = invoice_report(tenant=book.tenant, filters=InvoiceFilters())
    users = [r[2] for r in rows_of(content, "Invoices")[1:-1]]
    payments = rows_of(content, "Payments")
    assert "'=cmd|' /C calc'!A0" in users
    assert payments[1][4] == "'+TX1" and payments[1][6] == 40.25


def test_large_report_becomes_a_job_with_a_download(book, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(reports, "SYNC_LIMIT", 1)
    with django_capture_on_commit_callbacks(execute=True):
        job = invoice_report(tenant=book.tenant, filters=InvoiceFilters(), actor_id=None)

    assert isinstance(job, Job)
    job.refresh_from_db()
    assert (job.status, job.kind, job.total, job.done, job.percent) == ("done", "invoice_report", 3, 3, 100)
    assert len(rows_of(bytes(job.result), "Invoices")) == 4  # header, 2 approved, totals
    assert len(rows_of(bytes(job.result), "Drafts")) == 3  # header, 1 draft, totals


def test_payments_report(book):
    _, content = payments_report(tenant=book.tenant)
    rows = rows_of(content, "Payments")
    assert rows[0] == [
        "Payment date",
        "Invoice",
        "User",
        "Type",
        "Transaction id",
        "Bank reference",
        "Amount",
        "Status",
        "Reversal reason",
    ]
    assert rows[1][1:4] == ["INV-2026-00001", "Nimbus Ltd", "Bank transfer"] and rows[1][7] == "Received"
    assert rows[-1][0] == "Total" and rows[-1][6] == 40.25


def test_report_is_tenant_scoped(book, other_admin):
    _, content = invoice_report(tenant=other_admin.tenant, filters=InvoiceFilters())
    assert rows_of(content, "Invoices")[1:] == [
        ["Total of approved invoices", None, None, None, None, None, None, None, None, None, 0, 0, 0, 0, 0, 0, 0]
    ]
