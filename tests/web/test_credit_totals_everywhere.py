"""One credited invoice reads the same on its page, its PDF, the Excel report and the API (SPEC §4), whatever
sequence of payments, reversals, credit notes and credit applications led there."""

import datetime
import io
import os
import re
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from invoicing.models import Payment
from invoicing.money import money_format, money_round
from invoicing.selectors.invoices import InvoiceFilters
from invoicing.services.configuration import tax_rate_create
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.customer_credit import credit_adjust
from invoicing.services.documents import invoice_pdf
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import credit_apply, payment_record, payment_reverse
from invoicing.services.reports import invoice_report
from msgplatform.core.errors import DomainError
from tests.factories import AccountFactory

TODAY = datetime.date(2026, 3, 20)

steps = st.lists(
    st.tuples(st.sampled_from(["pay", "reverse", "credit_note", "apply_credit"]), st.integers(1, 100)),
    min_size=1,
    max_size=6,
)


def _run(tenant, invoice, account, ops):
    for op, share in ops:
        invoice.refresh_from_db()
        try:
            if op == "pay" and invoice.balance_due > 0:
                amount = max(money_round(invoice.balance_due * share / 100, "USD"), Decimal("0.01"))
                payment_record(
                    tenant=tenant,
                    invoice_id=invoice.id,
                    actor_id=None,
                    amount=str(amount),
                    payment_date=TODAY,
                    payment_type="cash",
                )
            elif op == "reverse":
                payment = Payment.objects.filter(invoice=invoice, reversed_at__isnull=True).order_by("id").first()
                if payment is not None:
                    payment_reverse(tenant=tenant, payment_id=payment.id, actor_id=None, reason="bounced")
            elif op == "credit_note" and invoice.subtotal > invoice.credited_subtotal:
                left = invoice.subtotal - invoice.credited_subtotal
                amount = max(money_round(left * share / 100, "USD"), Decimal("0.01"))
                credit_note_issue(tenant=tenant, invoice_id=invoice.id, actor_id=None, reason="fix", amount=str(amount))
            elif op == "apply_credit" and invoice.balance_due > 0:
                credit_adjust(tenant=tenant, account_id=account.id, actor_id=None, amount=f"{share}.00", reason="gift")
                credit_apply(tenant=tenant, invoice_id=invoice.id, actor_id=None)
        except DomainError:
            pass  # a refusal (e.g. reversing a payment whose moved credit was spent) changes nothing


def _page_figure(page: str, test_id: str) -> str:
    return re.search(rf'data-testid="{test_id}">([^<]*)<', page).group(1).strip()


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=int(os.environ.get("CREDIT_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=steps)
def test_page_pdf_excel_and_api_show_the_same_figures(admin, ops):
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        if not admin.tenant.tax_rates.exists():
            tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")
        account = AccountFactory(tenant=admin.tenant)
        invoice = invoice_create_prepaid(
            tenant=admin.tenant, account_id=account.id, actor_id=None, recharge_amount="333.33"
        )
        _run(admin.tenant, invoice, account, ops)
        invoice.refresh_from_db()
        fmt = lambda amount: money_format(amount, "USD")  # noqa: E731

        api = admin.client.get(f"/api/v1/invoices/{invoice.id}/").json()
        assert (
            api["total"],
            api["credited_total"],
            api["effective_total"],
            api["amount_paid"],
            api["balance_due"],
        ) == (
            f"{invoice.total:.2f}",
            f"{invoice.credited_total:.2f}",
            f"{invoice.effective_total:.2f}",
            f"{invoice.amount_paid:.2f}",
            f"{invoice.balance_due:.2f}",
        )
        assert api["payment_status"] == invoice.payment_status
        assert invoice.balance_due == invoice.effective_total - invoice.amount_paid >= 0

        page = admin.client.get(f"/invoicing/invoices/{invoice.id}/").content.decode()
        assert _page_figure(page, "invoice-total") == fmt(invoice.total)
        assert _page_figure(page, "balance-due") == fmt(invoice.balance_due)
        if invoice.credited_total:
            assert _page_figure(page, "effective-total") == fmt(invoice.effective_total)
            assert _page_figure(page, "credited-total") == fmt(invoice.credited_total)

        pdf = invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)[1]
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
        assert f"Balance due {fmt(invoice.balance_due)}" in text
        if invoice.credited_total:
            assert f"Effective total {fmt(invoice.effective_total)}" in text

        _, content = invoice_report(
            tenant=admin.tenant, filters=InvoiceFilters(account_id=account.id), ordering="invoice_date"
        )
        rows = list(load_workbook(io.BytesIO(content), read_only=True)["Invoices"].iter_rows(values_only=True))
        header, row = rows[0], rows[1]
        cells = dict(zip(header, row, strict=False))
        excel = [
            Decimal(str(cells[k])).quantize(Decimal("0.01"))
            for k in ("Amount", "Credited", "Effective Total", "Paid", "Balance Due")
        ]
        assert excel == [
            invoice.total,
            invoice.credited_total,
            invoice.effective_total,
            invoice.amount_paid,
            invoice.balance_due,
        ]
