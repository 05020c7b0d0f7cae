"""What credit notes show outside the pages: their PDF, the invoice's PDF, their email, the Excel report and the
usage evidence file (SPEC §4)."""

import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from pypdf import PdfReader

from invoicing.models import EmailLog
from invoicing.selectors.invoices import InvoiceFilters
from invoicing.services.configuration import settings_logo_set, settings_update, tax_rate_create
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.documents import (
    credit_note_pdf,
    invoice_pdf,
    invoice_pdf_render,
    invoice_pdf_versions,
    pdf_due_for_render,
)
from invoicing.services.emails import credit_note_email_send, invoice_email_send
from invoicing.services.evidence import HEADER, evidence_rows
from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid
from invoicing.services.payments import payment_record
from invoicing.services.reports import invoice_report
from msgplatform.core.errors import Conflict, NotFound
from msgplatform.core.models import Event
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, record_row
from tests.security.images import image_bytes

D = datetime.date
TODAY = D(2026, 3, 20)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False) as traveller:
        yield traveller


def text_of(pdf: bytes) -> str:
    """The PDF's words, one space apart (a table cell's text may wrap)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def images_of(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def branded(admin):
    tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")
    settings_update(
        tenant=admin.tenant, actor_id=None, business_name="Acme Messaging LLC", business_address="1 Main St"
    )
    return admin


@pytest.fixture
def paid_and_credited(branded, user):
    """INV-2026-00001: 1,000.00 + VAT 75.00, paid 1,075.00 on 2026-03-18, then CN-2026-00001 of 200.00 + 15.00 VAT
    on its line: effective total 860.00, and the 215.00 paid above it moved to customer credit."""
    invoice = invoice_create_prepaid(
        tenant=branded.tenant,
        account_id=user.id,
        actor_id=None,
        recharge_amount="1000.00",
        invoice_date=D(2026, 3, 2),
        due_date=D(2026, 3, 16),
    )
    payment_record(
        tenant=branded.tenant,
        invoice_id=invoice.id,
        actor_id=None,
        amount="1075.00",
        payment_date=D(2026, 3, 18),
        payment_type="bank_transfer",
        transaction_id="TX-9",
    )
    note = credit_note_issue(
        tenant=branded.tenant,
        invoice_id=invoice.id,
        actor_id=branded.login.id,
        reason="Recharge billed twice",
        lines={invoice.lines.get().id: "200.00"},
    )
    invoice.refresh_from_db()
    return invoice, note


# --- the credit note's PDF ------------------------------------------------------------------------------------


def test_credit_note_pdf_shows_its_number_the_invoice_lines_taxes_totals_and_reason(paid_and_credited, user):
    invoice, note = paid_and_credited

    text = text_of(credit_note_pdf(note))

    assert (note.number, note.subtotal, note.tax_total, note.total) == (
        "CN-2026-00001",
        Decimal("200.00"),
        Decimal("15.00"),
        Decimal("215.00"),
    )
    assert note.to_customer_credit == Decimal("215.00")
    for expected in (
        "Acme Messaging LLC",
        "Credit note",
        "CN-2026-00001",
        "Credit note date 2026-03-20",
        "Credit note for invoice INV-2026-00001 of 2026-03-02",
        user.billing_name or user.name,
        invoice.lines.get().description,
        "Subtotal $200.00",
        "VAT (7.5%) $15.00",
        "Tax $15.00",
        "Total credited $215.00",
        "Moved to customer credit $215.00",
        "Recharge billed twice",
    ):
        assert expected in text, expected


def test_an_unpaid_invoices_credit_note_moves_nothing_and_says_nothing_of_customer_credit(branded, user):
    invoice = invoice_create_prepaid(tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="80")

    note = credit_note_issue(
        tenant=branded.tenant, invoice_id=invoice.id, actor_id=None, reason="Discount agreed", amount="10.00"
    )

    text = text_of(credit_note_pdf(note))
    assert (note.total, note.to_customer_credit) == (Decimal("10.75"), Decimal("0"))
    assert "Adjustment $10.00" in text and "Total credited $10.75" in text
    assert "customer credit" not in text


def test_credit_note_pdf_carries_the_logo_when_its_file_can_be_read_and_renders_without_it_otherwise(
    paid_and_credited, branded, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    _, note = paid_and_credited
    row = settings_logo_set(
        tenant=branded.tenant,
        actor_id=None,
        uploaded=SimpleUploadedFile("logo.png", image_bytes("PNG", (4, 4)), content_type="image/png"),
    )

    with_logo = credit_note_pdf(note)
    Path(row.logo.path).unlink()
    without_logo = credit_note_pdf(note)

    assert (images_of(with_logo), images_of(without_logo)) == (1, 0)
    assert "CN-2026-00001" in text_of(without_logo)


# --- the invoice's PDF ----------------------------------------------------------------------------------------


def test_invoice_pdf_shows_its_credit_notes_the_credited_and_effective_totals_and_the_stored_balance_due(
    paid_and_credited,
):
    invoice, _ = paid_and_credited

    text = text_of(invoice_pdf(tenant=invoice.tenant, invoice_id=invoice.id)[1])

    assert (invoice.effective_total, invoice.balance_due, invoice.amount_paid) == (
        Decimal("860.00"),
        Decimal("0.00"),
        Decimal("860.00"),
    )
    for expected in (
        "Total $1,075.00",
        "Credited −$215.00",
        "Effective total $860.00",
        # the payment as it stands on the invoice now, and what of it moved to customer credit
        "Paid 2026-03-18 (Bank transfer, TX-9); $215.00 moved to customer credit −$860.00",
        "Balance due $0.00",
        "Credit notes",
        "CN-2026-00001 2026-03-20 Recharge billed twice $215.00",
    ):
        assert expected in text, expected


def test_an_invoice_without_credit_notes_shows_no_credit_rows(branded, user):
    invoice = invoice_create_prepaid(tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="10")

    text = text_of(invoice_pdf(tenant=branded.tenant, invoice_id=invoice.id)[1])

    assert "Balance due $10.75" in text
    assert "Credited" not in text and "Effective total" not in text and "Credit notes" not in text


def test_a_credit_note_makes_a_new_version_of_the_invoice_pdf_that_the_sweep_renders_if_its_task_was_lost(
    branded, user, frozen
):
    invoice = invoice_create_prepaid(tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="100")
    invoice_pdf_render(invoice_id=invoice.id)
    frozen.shift(datetime.timedelta(minutes=5))
    assert pdf_due_for_render() == []

    # Given a credit note whose render task never ran (no commit callbacks run here)
    credit_note_issue(tenant=branded.tenant, invoice_id=invoice.id, actor_id=None, reason="Goodwill", amount="5.00")
    assert pdf_due_for_render() == []  # its own task has a minute first
    frozen.shift(datetime.timedelta(minutes=2))

    # Then the sweep finds the invoice, renders the new state once, and is done
    assert pdf_due_for_render() == [invoice.id]
    invoice_pdf_render(invoice_id=invoice.id)
    assert pdf_due_for_render() == []
    versions = invoice_pdf_versions(tenant=branded.tenant, invoice_id=invoice.id)
    assert [(v.version, v.state_key) for v in versions] == [
        (1, "approved|0.000|0|0"),
        (2, "approved|0.000|0|0|cn1"),
    ]
    assert "Effective total $102.12" in text_of(invoice_pdf(tenant=branded.tenant, invoice_id=invoice.id)[1])


# --- the credit note's email ----------------------------------------------------------------------------------


def test_credit_note_email_is_logged_then_delivered_with_its_pdf(
    paid_and_credited, branded, user, smtp, django_capture_on_commit_callbacks
):
    invoice, note = paid_and_credited

    with django_capture_on_commit_callbacks(execute=True):
        entry = credit_note_email_send(tenant=branded.tenant, credit_note_id=note.id, actor_id=branded.login.id)

    entry.refresh_from_db()
    assert (entry.kind, entry.status, entry.attempts, entry.recipient) == ("credit_note", "sent", 1, user.billing_email)
    assert (entry.credit_note_id, list(entry.invoices.all())) == (note.id, [invoice])
    [message] = smtp.messages
    assert message["Subject"] == "Credit note CN-2026-00001 for invoice INV-2026-00001"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "CN-2026-00001.pdf"
    assert "Credit note for invoice INV-2026-00001 of 2026-03-02" in text_of(attachment.get_content())
    body = message.get_body(("plain",)).get_content()
    assert "credit note CN-2026-00001 dated 2026-03-20 for $215.00" in body
    assert "Reason: Recharge billed twice" in body and "Balance due on the invoice: $0.00." in body
    queued = Event.objects.get(kind="email.queued", subject_type="invoice", subject_id=invoice.id)
    assert queued.actor_id == branded.login.id
    assert Event.objects.filter(kind="email.sent", subject_type="email", subject_id=entry.id).count() == 1


def test_a_second_credit_note_email_within_a_minute_is_refused_and_changes_nothing(paid_and_credited, branded, frozen):
    invoice, note = paid_and_credited
    credit_note_email_send(tenant=branded.tenant, credit_note_id=note.id, actor_id=None)
    emails, events = EmailLog.objects.count(), Event.objects.count()

    with pytest.raises(Conflict) as refused:
        credit_note_email_send(tenant=branded.tenant, credit_note_id=note.id, actor_id=None)

    assert refused.value.code == "email_recent"
    assert str(refused.value.message).startswith("Credit note CN-2026-00001 was emailed to ")
    assert (EmailLog.objects.count(), Event.objects.count()) == (emails, events)
    # The invoice's own email is another document: not refused by its credit note's
    assert invoice_email_send(tenant=branded.tenant, invoice_id=invoice.id, actor_id=None).kind == "invoice"
    frozen.shift(datetime.timedelta(seconds=61))
    assert credit_note_email_send(tenant=branded.tenant, credit_note_id=note.id, actor_id=None).status == "queued"


def test_another_admins_credit_note_is_not_emailed(paid_and_credited, other_admin):
    _, note = paid_and_credited

    with pytest.raises(NotFound):
        credit_note_email_send(tenant=other_admin.tenant, credit_note_id=note.id, actor_id=None)

    assert EmailLog.objects.count() == 0


# --- the Excel report -----------------------------------------------------------------------------------------


def rows_of(content: bytes, sheet: str):
    ws = load_workbook(io.BytesIO(content), read_only=True)[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_excel_report_has_credited_and_effective_totals_and_a_credit_notes_sheet(paid_and_credited, branded, user):
    invoice, _ = paid_and_credited
    other = invoice_create_prepaid(tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="20")
    credit_note_issue(tenant=branded.tenant, invoice_id=other.id, actor_id=None, reason="=HYPERLINK(1)", amount="2")

    _, content = invoice_report(tenant=branded.tenant, filters=InvoiceFilters(), ordering="invoice_date")

    invoices = rows_of(content, "Invoices")
    assert invoices[0][10:] == ["Subtotal", "Tax", "Amount", "Credited", "Effective Total", "Paid", "Balance Due"]
    assert [r[0] for r in invoices[1:]] == ["INV-2026-00001", "INV-2026-00002", "Total of approved invoices"]
    assert invoices[1][7] == "paid" and invoices[1][10:] == [1000, 75, 1075, 215, 860, 860, 0]
    assert invoices[2][10:] == [20, 1.5, 21.5, 2.15, 19.35, 0, 19.35]
    assert invoices[3][10:] == [1020, 76.5, 1096.5, 217.15, 879.35, 860, 19.35]
    notes = rows_of(content, "Credit notes")
    assert notes == [
        ["Credit Note Number", "Date", "Invoice", "User", "Subtotal", "Tax", "Total", "Reason"],
        [
            "CN-2026-00001",
            datetime.datetime(2026, 3, 20),
            "INV-2026-00001",
            user.name,
            200,
            15,
            215,
            "Recharge billed twice",
        ],
        ["CN-2026-00002", datetime.datetime(2026, 3, 20), "INV-2026-00002", user.name, 2, 0.15, 2.15, "'=HYPERLINK(1)"],
        ["Total of credit notes", None, None, None, 202, 15.15, 217.15, None],
    ]
    sheets = {ws.title: (ws.freeze_panes, ws.auto_filter.ref) for ws in load_workbook(io.BytesIO(content)).worksheets}
    assert sheets == {
        "Invoices": ("A2", "A1:Q3"),
        "Drafts": ("A2", "A1:Q1"),
        "Credit notes": ("A2", "A1:H3"),
        "Payments": ("A2", "A1:I2"),
    }


def test_excel_credit_notes_sheet_lists_only_the_filtered_invoices_credit_notes(paid_and_credited, branded):
    invoice, _ = paid_and_credited
    someone = invoice_create_prepaid(
        tenant=branded.tenant,
        account_id=AccountFactory(tenant=branded.tenant, name="Zeta Ltd").id,
        actor_id=None,
        recharge_amount="20",
    )
    credit_note_issue(tenant=branded.tenant, invoice_id=someone.id, actor_id=None, reason="Other", amount="1")

    _, content = invoice_report(tenant=branded.tenant, filters=InvoiceFilters(account_id=invoice.account_id))

    assert [r[0] for r in rows_of(content, "Credit notes")[1:]] == ["CN-2026-00001", "Total of credit notes"]


# --- the usage evidence file ----------------------------------------------------------------------------------


@pytest.fixture
def postpaid_credited(branded, postpaid_user):
    """Usage 1.004 (US, two records of 0.502) and 0.50 (GB) billed as lines of 1.00 and 0.50."""
    records_ingest(
        tenant=branded.tenant,
        rows=[
            record_row(postpaid_user, 1, submitted_at="2026-03-02T15:00:00Z", unit_price="0.502"),
            record_row(postpaid_user, 2, submitted_at="2026-03-03T15:00:00Z", unit_price="0.502"),
            record_row(postpaid_user, 3, submitted_at="2026-03-04T15:00:00Z", unit_price="0.5", country="GB"),
        ],
    )
    invoice = invoice_create_postpaid(
        tenant=branded.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
    )
    return invoice


def test_evidence_of_a_credited_invoice_shows_what_was_credited_and_still_closes_on_the_usage_subtotal(
    branded, postpaid_credited
):
    invoice = postpaid_credited
    gb, us = invoice.lines.order_by("country")
    credit_note_issue(
        tenant=branded.tenant, invoice_id=invoice.id, actor_id=None, reason="Route", lines={us.id: "0.40"}
    )
    credit_note_issue(tenant=branded.tenant, invoice_id=invoice.id, actor_id=None, reason="Goodwill", amount="0.05")
    invoice.refresh_from_db()

    rows = list(evidence_rows(invoice))

    assert rows[0] == [*HEADER, "credited"]
    assert all(len(row) == len(HEADER) + 1 for row in rows)
    records = [r for r in rows[1:] if r[1]]
    assert sorted((r[1], r[11], r[13]) for r in records) == [
        ("m-1", "0.502000", ""),
        ("m-2", "0.502000", ""),
        ("m-3", "0.500000", ""),
    ]
    line_totals = [(r[0], r[11], r[12], r[13]) for r in rows if r[0] and not r[1]]
    assert sorted(line_totals) == [
        (str(gb.position), "0.500000", f"line {gb.position} raw total; rounded line amount 0.50", "0.00"),
        (str(us.position), "1.004000", f"line {us.position} raw total; rounded line amount 1.00", "0.40"),
    ]
    blank = [""] * 11
    assert rows[-4:] == [
        [*blank, "1.50", "closing total = invoice usage subtotal", ""],
        [*blank, "", "credit note CN-2026-00002: Adjustment", "0.05"],
        [*blank, "", "credited by credit notes CN-2026-00001, CN-2026-00002", "0.45"],
        [*blank, "1.05", "net usage = closing total - credited", ""],
    ]
    assert Decimal(rows[-4][11]) == invoice.subtotal == Decimal("1.50")
    assert Decimal(rows[-1][11]) == invoice.subtotal - invoice.credited_subtotal
    csv.writer(io.StringIO()).writerows(rows)


def test_evidence_of_an_invoice_without_credit_notes_keeps_its_columns_and_closing_row(branded, postpaid_credited):
    rows = list(evidence_rows(postpaid_credited))

    assert rows[0] == HEADER and all(len(row) == len(HEADER) for row in rows)
    assert rows[-1] == [*[""] * 11, "1.50", "closing total = invoice usage subtotal"]
