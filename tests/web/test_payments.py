"""Payments received: the list and its filters, the Excel export, Add New Payment, reversal."""

import io
from decimal import Decimal

import openpyxl

from invoicing.models import Payment
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record

from .conftest import D


def html(response) -> str:
    return response.content.decode()


def test_list_shows_payments_and_filters_by_user_and_dates(admin, book, user):
    other = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, recharge_amount="20"
    )
    payment_record(
        tenant=admin.tenant,
        invoice_id=other.id,
        actor_id=admin.login.id,
        amount="5.00",
        payment_date=D(2026, 3, 1),
        payment_type="cash",
        transaction_id="CASH-5",
    )

    everything = html(admin.client.get("/invoicing/payments/"))
    recent = html(admin.client.get("/invoicing/payments/?date_from=2026-03-10&date_to=2026-03-20"))
    by_user = html(admin.client.get(f"/invoicing/payments/?account_id={user.id}"))

    assert "TX-1" in everything and "CASH-5" in everything and "$500.00" in everything
    assert "TX-1" in recent and "CASH-5" not in recent
    assert "TX-1" in by_user
    assert f"/invoicing/payments/{book.payment.id}/reverse/" in everything


def test_export_is_an_excel_file_of_the_filter(admin, book):
    response = admin.client.get("/invoicing/payments/export/?date_from=2026-03-01")

    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Payments"]
    assert response["Content-Disposition"].startswith('attachment; filename="payments-')
    assert [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))][1:5] == [
        "INV-2026-00001",
        "Nimbus Ltd",
        "Bank transfer",
        "TX-1",
    ]


def test_add_new_payment_lists_the_users_open_invoices(admin, book, user):
    page = html(admin.client.get(f"/invoicing/payments/new/?account={user.id}"))
    from_invoice = html(admin.client.get(f"/invoicing/payments/new/?invoice={book.paid_part.id}"))

    assert "INV-2026-00001 · due 2026-04-04 · balance $575.00" in page
    assert f"Draft #{book.draft.id}" not in page  # drafts are not payable
    assert 'name="amount" value="575.00"' in from_invoice  # the balance due, prefilled


def test_record_a_partial_payment(admin, book, user):
    response = admin.client.post(
        "/invoicing/payments/new/",
        {
            "account": user.id,
            "invoice": book.paid_part.id,
            "amount": "75.00",
            "payment_date": "2026-03-20",
            "payment_type": "cheque",
            "bank_reference": "CHQ 0042",
            "notes": "Posted",
        },
    )

    book.paid_part.refresh_from_db()
    assert response.status_code == 302 and response.url == f"/invoicing/invoices/{book.paid_part.id}/"
    assert (book.paid_part.amount_paid, book.paid_part.balance_due) == (Decimal("575.00"), Decimal("500.00"))
    assert Payment.objects.get(bank_reference="CHQ 0042").payment_type == "cheque"


def test_payment_errors_are_shown_at_their_fields(admin, book, user):
    base = {"account": user.id, "invoice": book.paid_part.id, "payment_type": "cash"}

    too_much = admin.client.post("/invoicing/payments/new/", {**base, "amount": "600.00", "payment_date": "2026-03-20"})
    future = admin.client.post("/invoicing/payments/new/", {**base, "amount": "1.00", "payment_date": "2026-03-21"})
    duplicate = admin.client.post(
        "/invoicing/payments/new/", {**base, "amount": "1.00", "payment_date": "2026-03-20", "transaction_id": "TX-1"}
    )

    assert 'id="id_amount-error"' in html(too_much) and "more than the balance due" in html(too_much)
    assert 'id="id_payment_date-error"' in html(future) and "cannot be in the future" in html(future)
    assert 'id="id_transaction_id-error"' in html(duplicate) and "already recorded" in html(duplicate)
    assert Payment.objects.count() == 1


def test_reverse_a_payment_with_a_reason(admin, book):
    url = f"/invoicing/payments/{book.payment.id}/reverse/"

    empty = admin.client.post(url, {"reason": ""})
    done = admin.client.post(url, {"reason": "Cheque bounced"})
    twice = admin.client.post(url, {"reason": "again"})

    book.payment.refresh_from_db()
    book.paid_part.refresh_from_db()
    assert 'id="id_reason-error"' in html(empty)
    assert done.status_code == 302
    assert (book.payment.reversal_reason, book.paid_part.balance_due, book.paid_part.payment_status) == (
        "Cheque bounced",
        Decimal("1075.00"),
        "unpaid",
    )
    assert twice.status_code == 200 and "already reversed" in html(twice)
