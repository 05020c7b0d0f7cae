import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader

from invoicing.models import InvoiceDocument
from invoicing.services.configuration import bank_details_update, settings_update, tax_rate_create
from invoicing.services.documents import invoice_pdf, invoice_pdf_render, invoice_pdf_version, invoice_pdf_versions
from invoicing.services.evidence import evidence_rows
from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid
from invoicing.services.payments import payment_record, payment_reverse
from msgplatform.core.errors import NotFound
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import record_row

D = datetime.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def branded(admin):
    tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")
    bank_details_update(
        tenant=admin.tenant,
        actor_id=None,
        bank_name="First Bank",
        swift="FBNKUS33",
        account_number="0001234567",
        account_holder="Acme Messaging LLC",
    )
    settings_update(
        tenant=admin.tenant,
        actor_id=None,
        business_name="Acme Messaging LLC",
        business_address="1 Main St\nSpringfield",
    )
    return admin


def test_prepaid_pdf_shows_number_totals_bank_details_and_escapes_markup(branded, user):
    user.billing_name = "Ünïcode & <b>Bold</b> Ltd"
    user.save()
    invoice = invoice_create_prepaid(
        tenant=branded.tenant,
        account_id=user.id,
        actor_id=None,
        recharge_amount="1000.00",
        notes="<script>alert(1)</script> thanks",
    )

    name, pdf = invoice_pdf(tenant=branded.tenant, invoice_id=invoice.id)

    text = text_of(pdf)
    assert name == "INV-2026-00001.pdf"
    for expected in (
        "INV-2026-00001",
        "$1,000.00",
        "$75.00",
        "$1,075.00",
        "FBNKUS33",
        "0001234567",
        "Ünïcode & <b>Bold</b> Ltd",
        "<script>alert(1)</script> thanks",
        "Unpaid",
    ):
        assert expected in text


def test_download_returns_the_same_bytes_and_a_payment_makes_a_new_version(branded, user):
    invoice = invoice_create_prepaid(
        tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="1000.00"
    )
    _, first = invoice_pdf(tenant=branded.tenant, invoice_id=invoice.id)
    _, again = invoice_pdf(tenant=branded.tenant, invoice_id=invoice.id)
    assert first == again

    payment = payment_record(
        tenant=branded.tenant,
        invoice_id=invoice.id,
        actor_id=None,
        amount="500.00",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )
    _, second = invoice_pdf(tenant=branded.tenant, invoice_id=invoice.id)
    payment_reverse(tenant=branded.tenant, payment_id=payment.id, actor_id=None, reason="bounced")
    invoice_pdf_render(invoice_id=invoice.id)

    versions = invoice_pdf_versions(tenant=branded.tenant, invoice_id=invoice.id)
    assert [v.version for v in versions] == [1, 2, 3]
    assert second != first and "Partially paid" in text_of(second) and "$575.00" in text_of(second)
    assert invoice_pdf_version(tenant=branded.tenant, invoice_id=invoice.id, version=1)[1] == first
    assert all(len(v.sha256) == 64 and v.template_version for v in versions)
    assert InvoiceDocument.objects.count() == 3


def test_draft_renders_with_watermark_and_is_not_stored(branded, user):
    draft = invoice_create_prepaid(
        tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="10", as_draft=True
    )
    name, pdf = invoice_pdf(tenant=branded.tenant, invoice_id=draft.id)
    assert name == f"draft-{draft.id}.pdf" and "DRAFT" in text_of(pdf)
    assert InvoiceDocument.objects.count() == 0


def test_other_tenants_pdf_is_not_found(branded, other_admin, user):
    invoice = invoice_create_prepaid(tenant=branded.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    with pytest.raises(NotFound):
        invoice_pdf(tenant=other_admin.tenant, invoice_id=invoice.id)


@pytest.fixture
def postpaid_invoice(branded, postpaid_user):
    rows = [
        record_row(postpaid_user, 1, submitted_at="2026-03-02T15:00:00Z", unit_price="0.004175", parts=1),
        record_row(
            postpaid_user, 2, submitted_at="2026-03-03T15:00:00Z", unit_price="0.004175", parts=2, status="UNDELIV"
        ),
        record_row(
            postpaid_user,
            3,
            submitted_at="2026-03-04T15:00:00Z",
            unit_price="0.031",
            country="GB",
            network='=HYPERLINK("x")',
        ),
    ]
    records_ingest(tenant=branded.tenant, rows=rows)
    return invoice_create_postpaid(
        tenant=branded.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
    )


def test_postpaid_pdf_has_a_usage_annex_that_ties_to_the_lines(branded, postpaid_invoice):
    text = text_of(invoice_pdf(tenant=branded.tenant, invoice_id=postpaid_invoice.id)[1])
    assert "Usage annex" in text and "Billing period" in text and "2026-03-01 to 2026-03-15" in text
    assert postpaid_invoice.subtotal == Decimal("0.04")
    assert sorted(postpaid_invoice.lines.values_list("country", "messages", "parts")) == [("GB", 1, 1), ("US", 2, 3)]
    assert "Annex total" in text and "$0.04" in text


def test_evidence_lists_exactly_the_billed_records_and_closes_on_the_subtotal(branded, postpaid_invoice):
    rows = list(evidence_rows(postpaid_invoice))

    records = [r for r in rows[1:] if r[1]]
    assert sorted(r[1] for r in records) == ["m-1", "m-2", "m-3"]
    assert [r[11] for r in records if r[1] == "m-2"] == ["0.008350"]
    assert Decimal(rows[-1][11]) == postpaid_invoice.subtotal and rows[-1][11] == "0.04"
    # A network name that looks like a formula is neutralised.
    assert any(r[6] == '\'=HYPERLINK("x")' for r in records)
    csv.writer(io.StringIO()).writerows(rows)
