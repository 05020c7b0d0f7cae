import datetime
import io

import pytest
import time_machine
from openpyxl import load_workbook

from invoicing.models import Job
from invoicing.selectors.invoices import InvoiceFilters, invoice_search
from invoicing.services import reports
from invoicing.services.invoices import invoice_create_prepaid
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
    assert name == "invoices-20260320.xlsx"
    assert rows[0][:3] == ["Invoice number", "Invoice date", "User"]
    assert [r[0] for r in rows[1:-1]] == [i.number or f"Draft #{i.pk}" for i in page.items]
    first = next(r for r in rows if r[0] == "INV-2026-00001")
    assert first[3:10] == ["prepaid", datetime.datetime(2026, 2, 15), None, "approved", "partially_paid", "overdue", 33]
    assert first[10:] == [100.5, 0, 100.5, 40.25, 60.25]
    assert rows[-1][0] == "Total" and rows[-1][12] == 127.5  # 100.50 + 20.00 + 7.00 (draft)


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
    assert len(rows_of(bytes(job.result), "Invoices")) == 5


def test_payments_report(book):
    _, content = payments_report(tenant=book.tenant)
    rows = rows_of(content, "Payments")
    assert rows[1][1:4] == ["INV-2026-00001", "Nimbus Ltd", "Bank transfer"]
    assert rows[-1][0] == "Total" and rows[-1][6] == 40.25


def test_report_is_tenant_scoped(book, other_admin):
    _, content = invoice_report(tenant=other_admin.tenant, filters=InvoiceFilters())
    assert rows_of(content, "Invoices")[1:] == [
        ["Total", None, None, None, None, None, None, None, None, None, 0, 0, 0, 0, 0]
    ]
