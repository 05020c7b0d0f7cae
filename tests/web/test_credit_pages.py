"""Corrections and credits pages (SPEC §4): issue a credit note, its list and page (PDF, email), apply customer
credit to an invoice, the user's customer credit (refunds, adjustments, reversals), one payment for a user.

The book (tests/web/conftest.py): Nimbus Ltd's INV-2026-00001 is 1,000.00 + VAT 7.5 % = 1,075.00, 500.00 paid.
"""

from decimal import Decimal

import pytest
from django.core import mail

from invoicing.models import CreditEntry, CreditNote, CustomerCredit, EmailLog, Invoice, Payment, Receipt, Refund
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.customer_credit import credit_adjust, refund_record
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record
from invoicing.services.receipts import receipt_record
from msgplatform.accounts.models import StaffRole
from tests.conftest import staff_client
from tests.factories import AccountFactory

from .conftest import D


def html(response) -> str:
    return response.content.decode()


def line_of(invoice):
    return invoice.lines.get()


def issue(admin, invoice, **kwargs):
    return credit_note_issue(
        tenant=admin.tenant, invoice_id=invoice.id, actor_id=admin.login.id, reason="Overcharged", **kwargs
    )


def give_credit(admin, account, amount="100.00"):
    return credit_adjust(
        tenant=admin.tenant, account_id=account.id, actor_id=admin.login.id, amount=amount, reason="Goodwill"
    )


def credit_of(account) -> Decimal:
    return CustomerCredit.objects.get(account=account).balance


def invoice_state(invoice):
    return Invoice.objects.values_list("amount_paid", "credited_total", "balance_due", "payment_status").get(
        pk=invoice.pk
    )


@pytest.fixture
def corrected(admin, book, user):
    """A credit note on the book's invoice, a refund of credit and a payment received for the user."""
    note = issue(admin, book.paid_part, amount="100.00")
    give_credit(admin, user, "50.00")
    refund = refund_record(
        tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, amount="20.00", method="cheque"
    )
    receipt = receipt_record(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=admin.login.id,
        amount="10.00",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
        allocations=[],  # all of it kept as customer credit
    )
    return {"note": note, "refund": refund, "receipt": receipt}


# --- who sees what --------------------------------------------------------------------------------------------


def read_pages(book, user, corrected):
    return [
        f"/invoicing/invoices/{book.paid_part.id}/",
        "/invoicing/credit-notes/",
        f"/invoicing/credit-notes/{corrected['note'].id}/",
        f"/invoicing/users/{user.id}/credit/",
        "/invoicing/payments/",
    ]


def form_pages(book, user, corrected):
    return [
        f"/invoicing/invoices/{book.paid_part.id}/credit-note/",
        f"/invoicing/payments/new-for-user/?account={user.id}",
        "/invoicing/payments/new-for-user/",
        f"/invoicing/refunds/{corrected['refund'].id}/reverse/",
        f"/invoicing/receipts/{corrected['receipt'].id}/reverse/",
    ]


def test_owner_opens_every_credit_page(admin, book, user, corrected):
    for url in read_pages(book, user, corrected) + form_pages(book, user, corrected):
        response = admin.client.get(url)
        assert response.status_code == 200, (url, html(response)[:2000])


def test_viewer_reads_the_credit_pages_without_write_buttons(admin, book, user, corrected):
    viewer = staff_client(admin.tenant, StaffRole.VIEWER)
    give_credit(admin, user)

    for url in read_pages(book, user, corrected):
        assert viewer.get(url).status_code == 200, url
    for url in form_pages(book, user, corrected):
        assert viewer.get(url).status_code == 403, url
    invoice = html(viewer.get(f"/invoicing/invoices/{book.paid_part.id}/"))
    credit = html(viewer.get(f"/invoicing/users/{user.id}/credit/"))
    note = html(viewer.get(f"/invoicing/credit-notes/{corrected['note'].id}/"))
    assert "Issue credit note" not in invoice and "/apply-credit/" not in invoice
    assert "/credit/refund/" not in credit and "/credit/adjust/" not in credit and "Reverse…" not in credit
    assert "/new-for-user/" not in credit
    assert "Download PDF" in note and "/email/" not in note


def test_viewer_posts_are_refused_and_change_nothing(admin, book, user, corrected):
    viewer = staff_client(admin.tenant, StaffRole.VIEWER)
    line = line_of(book.paid_part)
    posts = [
        (f"/invoicing/invoices/{book.paid_part.id}/credit-note/", {"mode": "lines", f"line_{line.id}": "1.00"}),
        (f"/invoicing/invoices/{book.paid_part.id}/apply-credit/", {"amount": "1.00"}),
        (f"/invoicing/credit-notes/{corrected['note'].id}/email/", {}),
        (f"/invoicing/users/{user.id}/credit/refund/", {"refund-amount": "1.00", "refund-method": "cash"}),
        (f"/invoicing/users/{user.id}/credit/adjust/", {"adjust-amount": "1.00", "adjust-reason": "x"}),
        (f"/invoicing/refunds/{corrected['refund'].id}/reverse/", {"reason": "x"}),
        (f"/invoicing/receipts/{corrected['receipt'].id}/reverse/", {"reason": "x"}),
        ("/invoicing/payments/new-for-user/", {"account": user.id, "amount": "1.00", "payment_type": "cash"}),
    ]
    before = (
        CreditNote.objects.count(),
        CreditEntry.objects.count(),
        Payment.objects.count(),
        list(Refund.objects.values_list("id", "reversed_at")),
        list(Receipt.objects.values_list("id", "reversed_at")),
        EmailLog.objects.count(),
    )

    for url, data in posts:
        assert viewer.post(url, data).status_code == 403, url

    assert (
        CreditNote.objects.count(),
        CreditEntry.objects.count(),
        Payment.objects.count(),
        list(Refund.objects.values_list("id", "reversed_at")),
        list(Receipt.objects.values_list("id", "reversed_at")),
        EmailLog.objects.count(),
    ) == before


def test_another_admins_invoice_credit_note_and_credit_are_404(admin, other_admin, book, foreign):
    theirs = credit_note_issue(
        tenant=other_admin.tenant, invoice_id=foreign.invoice.id, actor_id=None, reason="Theirs", amount="5.00"
    )
    account = foreign.invoice.account
    before = (CreditNote.objects.count(), Payment.objects.count(), CreditEntry.objects.count())

    for url in [
        f"/invoicing/invoices/{foreign.invoice.id}/credit-note/",
        f"/invoicing/credit-notes/{theirs.id}/",
        f"/invoicing/credit-notes/{theirs.id}/pdf/",
        f"/invoicing/users/{account.id}/credit/",
        f"/invoicing/payments/new-for-user/?account={account.id}",
    ]:
        assert admin.client.get(url).status_code == 404, url
    for url, data in [
        (f"/invoicing/invoices/{foreign.invoice.id}/credit-note/", {"mode": "amount", "amount": "1.00"}),
        (f"/invoicing/invoices/{foreign.invoice.id}/apply-credit/", {"amount": "1.00"}),
        (f"/invoicing/credit-notes/{theirs.id}/email/", {}),
        (f"/invoicing/users/{account.id}/credit/adjust/", {"adjust-amount": "1.00", "adjust-reason": "x"}),
        ("/invoicing/payments/new-for-user/", {"account": account.id, "amount": "1.00", "payment_type": "cash"}),
    ]:
        assert admin.client.post(url, data).status_code == 404, url
    assert "Theirs" not in html(admin.client.get("/invoicing/credit-notes/"))
    assert (CreditNote.objects.count(), Payment.objects.count(), CreditEntry.objects.count()) == before


# --- the invoice page -----------------------------------------------------------------------------------------


def test_invoice_page_offers_a_credit_note_and_shows_what_was_credited(admin, book, user):
    before = html(admin.client.get(f"/invoicing/invoices/{book.paid_part.id}/"))
    note = issue(admin, book.paid_part, lines={line_of(book.paid_part).id: "200.00"})

    page = html(admin.client.get(f"/invoicing/invoices/{book.paid_part.id}/"))

    assert f"/invoicing/invoices/{book.paid_part.id}/credit-note/" in before and "Effective total" not in before
    assert 'data-testid="credited-total">$215.00<' in page
    assert 'data-testid="effective-total">$860.00<' in page
    assert 'data-testid="balance-due">$360.00<' in page
    assert f'<a href="/invoicing/credit-notes/{note.id}/">CN-2026-00001</a>' in page
    assert '<td class="amount">$1,000.00</td><td class="amount">$200.00</td>' in page  # the line and its credit
    assert f"/invoicing/users/{user.id}/credit/" in page


# --- issue a credit note --------------------------------------------------------------------------------------


def test_credit_note_form_lists_the_lines_with_what_is_left(admin, book):
    line = line_of(book.paid_part)
    issue(admin, book.paid_part, lines={line.id: "300.00"})

    page = html(admin.client.get(f"/invoicing/invoices/{book.paid_part.id}/credit-note/"))

    assert "$1,000.00" in page and "$300.00" in page and "$700.00" in page
    assert f'name="line_{line.id}"' in page
    assert "VAT 7.5 %" in page and 'name="issue_date" value="2026-03-20"' in page


def test_issuing_a_credit_note_by_line_creates_one_with_exact_totals(admin, book):
    line = line_of(book.paid_part)

    response = admin.client.post(
        f"/invoicing/invoices/{book.paid_part.id}/credit-note/",
        {"mode": "lines", f"line_{line.id}": "200.00", "reason": "Wrong quantity", "issue_date": "2026-03-20"},
    )

    note = CreditNote.objects.get()
    assert response.status_code == 302 and response.url == f"/invoicing/credit-notes/{note.id}/"
    assert (note.number, note.subtotal, note.tax_total, note.total, note.to_customer_credit, note.reason) == (
        "CN-2026-00001",
        Decimal("200.00"),
        Decimal("15.00"),
        Decimal("215.00"),
        Decimal("0.00"),
        "Wrong quantity",
    )
    assert list(note.lines.values_list("invoice_line_id", "amount")) == [(line.id, Decimal("200.000"))]
    assert invoice_state(book.paid_part) == (Decimal("500.00"), Decimal("215.00"), Decimal("360.00"), "partially_paid")
    shown = html(admin.client.get(response.url))
    assert "Credit note CN-2026-00001 issued on INV-2026-00001: $215.00." in shown


def test_an_adjustment_on_a_paid_invoice_moves_the_excess_to_customer_credit(admin, book, user):
    payment_record(
        tenant=admin.tenant,
        invoice_id=book.paid_part.id,
        actor_id=None,
        amount="575.00",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )

    response = admin.client.post(
        f"/invoicing/invoices/{book.paid_part.id}/credit-note/",
        {"mode": "amount", "amount": "200.00", "reason": "Discount agreed", "issue_date": "2026-03-20"},
        follow=True,
    )

    note = CreditNote.objects.get()
    assert (note.total, note.to_customer_credit) == (Decimal("215.00"), Decimal("215.00"))
    assert list(note.lines.values_list("invoice_line_id", "description", "amount")) == [
        (None, "Adjustment", Decimal("200.000"))
    ]
    assert credit_of(user) == Decimal("215.00")
    page = html(response)
    assert "$215.00 paid above the new total moved to Nimbus Ltd&#x27;s customer credit." in page
    assert 'data-testid="to-customer-credit">$215.00<' in page


def test_an_adjustment_amount_typed_with_the_lines_choice_left_is_the_adjustment(admin, book):
    admin.client.post(
        f"/invoicing/invoices/{book.paid_part.id}/credit-note/",
        {"mode": "lines", "amount": "10.00", "reason": "Goodwill", "issue_date": "2026-03-20"},
    )

    note = CreditNote.objects.get()
    assert list(note.lines.values_list("invoice_line_id", "amount")) == [(None, Decimal("10.000"))]
    assert note.total == Decimal("10.75")


def test_credit_note_errors_are_shown_and_create_nothing(admin, book):
    line = line_of(book.paid_part)
    url = f"/invoicing/invoices/{book.paid_part.id}/credit-note/"
    before = invoice_state(book.paid_part)

    too_much = admin.client.post(
        url, {"mode": "lines", f"line_{line.id}": "1000.01", "reason": "x", "issue_date": "2026-03-20"}
    )
    nothing = admin.client.post(url, {"mode": "lines", "reason": "x", "issue_date": "2026-03-20"})
    adjustment = admin.client.post(
        url, {"mode": "amount", "amount": "1000.01", "reason": "x", "issue_date": "2026-03-20"}
    )
    no_reason = admin.client.post(url, {"mode": "amount", "amount": "1.00", "reason": "", "issue_date": "2026-03-20"})
    future = admin.client.post(url, {"mode": "amount", "amount": "1.00", "reason": "x", "issue_date": "2026-03-21"})

    assert too_much.status_code == 200 and 'id="id_lines-error"' in html(too_much)
    assert "has $1,000.00 left to credit, less than $1,000.01." in html(too_much)
    assert 'id="id_lines-error"' in html(nothing) and "at least one invoice line" in html(nothing)
    assert 'id="id_amount-error"' in html(adjustment) and "$1,000.00 before tax left to credit" in html(adjustment)
    assert 'id="id_reason-error"' in html(no_reason)
    assert 'id="id_issue_date-error"' in html(future) and "cannot be dated in the future" in html(future)
    assert CreditNote.objects.count() == 0
    assert invoice_state(book.paid_part) == before
    assert line_of(book.paid_part).credited_amount == 0


# --- credit notes list and page -------------------------------------------------------------------------------


def test_credit_note_list_filters_by_text_user_and_date(admin, book, user):
    zenith = AccountFactory(tenant=admin.tenant, name="Zenith Ltd")
    other = invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=zenith.id,
        actor_id=None,
        recharge_amount="50",
        invoice_date=D(2026, 3, 1),
        due_date=D(2026, 3, 31),
    )
    second = issue(admin, other, amount="5.00", issue_date=D(2026, 3, 10))
    first = issue(admin, book.paid_part, amount="10.00")

    everything = html(admin.client.get("/invoicing/credit-notes/"))
    by_text = html(admin.client.get(f"/invoicing/credit-notes/?q={other.number}"))
    by_user = html(admin.client.get(f"/invoicing/credit-notes/?account_id={user.id}"))
    by_date = html(admin.client.get("/invoicing/credit-notes/?date_from=2026-03-15&date_to=2026-03-20"))
    reversed_range = admin.client.get("/invoicing/credit-notes/?date_from=2026-03-20&date_to=2026-03-01")

    assert first.number in everything and second.number in everything and "$10.75" in everything
    assert second.number in by_text and first.number not in by_text
    assert first.number in by_user and second.number not in by_user
    assert first.number in by_date and second.number not in by_date
    assert reversed_range.status_code == 200 and "ends before it starts" in html(reversed_range)
    assert "/invoicing/credit-notes/" in html(admin.client.get("/invoicing/invoices/"))


def test_credit_note_page_shows_lines_taxes_and_totals(admin, book):
    line = line_of(book.paid_part)
    note = issue(admin, book.paid_part, lines={line.id: "200.00"})

    page = html(admin.client.get(f"/invoicing/credit-notes/{note.id}/"))

    assert "Credit note CN-2026-00001" in page and "Overcharged" in page
    assert f'<a href="/invoicing/invoices/{book.paid_part.id}/">INV-2026-00001</a>' in page
    assert "Invoice line 1" in page and "VAT (7.5 %)" in page
    assert 'data-testid="credit-note-total">$215.00<' in page and "$200.00" in page and "$15.00" in page


def test_credit_note_pdf_and_email(admin, book, django_capture_on_commit_callbacks):
    note = issue(admin, book.paid_part, amount="100.00")

    pdf = admin.client.get(f"/invoicing/credit-notes/{note.id}/pdf/")
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin.client.post(f"/invoicing/credit-notes/{note.id}/email/")

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and 'filename="CN-2026-00001.pdf"' in pdf["Content-Disposition"]
    entry = EmailLog.objects.get(tenant=admin.tenant)
    assert sent.status_code == 302 and sent.url == f"/invoicing/credit-notes/{note.id}/"
    assert (entry.kind, entry.recipient, entry.status) == ("credit_note", "nimbusltd@example.com", "sent")
    assert mail.outbox[0].attachments[0][0] == "CN-2026-00001.pdf"


# --- apply available credit -----------------------------------------------------------------------------------


def test_apply_available_credit_from_the_invoice_page(admin, book, user):
    give_credit(admin, user, "100.00")
    url = f"/invoicing/invoices/{book.paid_part.id}/"

    page = html(admin.client.get(url))
    response = admin.client.post(f"{url}apply-credit/", {"amount": "60.00"})

    assert 'name="amount" value="100.00"' in page  # min(credit 100.00, balance due 575.00)
    assert response.status_code == 302 and response.url == url
    payment = Payment.objects.get(payment_type="credit")
    assert (payment.invoice_id, payment.amount) == (book.paid_part.id, Decimal("60.00"))
    assert invoice_state(book.paid_part) == (Decimal("560.00"), Decimal("0.00"), Decimal("515.00"), "partially_paid")
    assert credit_of(user) == Decimal("40.00")
    assert 'name="amount" value="40.00"' in html(admin.client.get(url))


def test_applying_more_credit_than_the_user_has_is_refused_at_the_field(admin, book, user):
    give_credit(admin, user, "100.00")
    before = invoice_state(book.paid_part)

    response = admin.client.post(f"/invoicing/invoices/{book.paid_part.id}/apply-credit/", {"amount": "150.00"})

    assert response.status_code == 200 and 'id="id_amount-error"' in html(response)
    assert "less than $150.00" in html(response)
    assert invoice_state(book.paid_part) == before and credit_of(user) == Decimal("100.00")
    assert not Payment.objects.filter(payment_type="credit").exists()


# --- the user's customer credit -------------------------------------------------------------------------------


def test_credit_page_shows_balance_ledger_refunds_and_payments_received(admin, book, user, corrected):
    page = html(admin.client.get(f"/invoicing/users/{user.id}/credit/"))

    assert 'data-testid="credit-balance">$40.00<' in page  # 50.00 adjusted - 20.00 refunded + 10.00 received
    assert "Manual adjustment" in page and "Refunded" in page and "Unapplied payment" in page
    assert f'id="refund-{corrected["refund"].id}"' in page and f'id="receipt-{corrected["receipt"].id}"' in page
    assert f"/invoicing/refunds/{corrected['refund'].id}/reverse/" in page
    assert f"/invoicing/receipts/{corrected['receipt'].id}/reverse/" in page
    user_page = html(admin.client.get(f"/users/{user.id}/"))
    assert f"/invoicing/users/{user.id}/credit/" in user_page
    assert f"/invoicing/payments/new-for-user/?account={user.id}" in user_page


def test_refund_through_the_form_then_reverse_it(admin, book, user):
    give_credit(admin, user, "100.00")
    url = f"/invoicing/users/{user.id}/credit/"

    response = admin.client.post(
        f"{url}refund/",
        {
            "refund-amount": "30.00",
            "refund-refund_date": "2026-03-19",
            "refund-method": "bank_transfer",
            "refund-reference": "RF-7",
            "refund-notes": "Closing",
        },
    )

    refund = Refund.objects.get()
    assert response.status_code == 302 and response.url == url
    assert (refund.amount, refund.refund_date, refund.method, refund.reference, refund.notes) == (
        Decimal("30.00"),
        D(2026, 3, 19),
        "bank_transfer",
        "RF-7",
        "Closing",
    )
    assert credit_of(user) == Decimal("70.00")

    empty = admin.client.post(f"/invoicing/refunds/{refund.id}/reverse/", {"reason": ""})
    done = admin.client.post(f"/invoicing/refunds/{refund.id}/reverse/", {"reason": "Bank returned it"})

    refund.refresh_from_db()
    assert 'id="id_reason-error"' in html(empty)
    assert done.status_code == 302 and done.url == url
    assert refund.reversal_reason == "Bank returned it" and refund.reversed_at is not None
    assert credit_of(user) == Decimal("100.00")


def test_a_refund_above_the_credit_is_refused_at_the_field(admin, book, user):
    give_credit(admin, user, "10.00")

    response = admin.client.post(
        f"/invoicing/users/{user.id}/credit/refund/",
        {"refund-amount": "10.01", "refund-refund_date": "2026-03-20", "refund-method": "cash"},
    )

    assert response.status_code == 200 and 'id="id_refund-amount-error"' in html(response)
    assert "more than the user&#x27;s customer credit $10.00" in html(response)
    assert Refund.objects.count() == 0 and credit_of(user) == Decimal("10.00")


def test_adjust_credit_up_and_down(admin, book, user):
    url = f"/invoicing/users/{user.id}/credit/"

    up = admin.client.post(f"{url}adjust/", {"adjust-amount": "25.00", "adjust-reason": "Promotion"})
    down = admin.client.post(f"{url}adjust/", {"adjust-amount": "-5.00", "adjust-reason": "Correction"})
    below_zero = admin.client.post(f"{url}adjust/", {"adjust-amount": "-20.01", "adjust-reason": "Too much"})

    assert up.status_code == 302 and down.status_code == 302
    assert below_zero.status_code == 200 and 'id="id_adjust-amount-error"' in html(below_zero)
    assert list(CreditEntry.objects.order_by("id").values_list("amount", "balance_after", "description")) == [
        (Decimal("25.000"), Decimal("25.000"), "Promotion"),
        (Decimal("-5.000"), Decimal("20.000"), "Correction"),
    ]


# --- one payment for a user -----------------------------------------------------------------------------------


@pytest.fixture
def second(admin, user):
    """A second open invoice of Nimbus Ltd: 100.00 + VAT = 107.50, due 2026-04-04 after INV-2026-00001 (by id)."""
    return invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="100")


def test_payment_for_a_user_lists_its_open_invoices_oldest_due_first(admin, book, user, second):
    page = html(admin.client.get(f"/invoicing/payments/new-for-user/?account={user.id}"))

    assert page.index(f'name="alloc_{book.paid_part.id}"') < page.index(f'name="alloc_{second.id}"')
    assert "$575.00" in page and "$107.50" in page and f"alloc_{book.draft.id}" not in page
    assert 'data-balance="575.00' in page and "js/allocation.js" in page
    assert "/invoicing/payments/new-for-user/" in html(admin.client.get("/invoicing/payments/"))


def test_payment_for_a_user_with_explicit_allocations(admin, book, user, second):
    response = admin.client.post(
        "/invoicing/payments/new-for-user/",
        {
            "account": user.id,
            "amount": "700.00",
            "payment_date": "2026-03-20",
            "payment_type": "bank_transfer",
            "transaction_id": "WIRE-9",
            f"alloc_{book.paid_part.id}": "500.00",
            f"alloc_{second.id}": "107.50",
        },
    )

    receipt = Receipt.objects.get()
    assert response.status_code == 302 and response.url == f"/invoicing/users/{user.id}/credit/"
    assert (receipt.amount, receipt.allocated, receipt.unallocated, receipt.transaction_id) == (
        Decimal("700.000"),
        Decimal("607.50"),
        Decimal("92.50"),
        "WIRE-9",
    )
    assert list(receipt.allocations.order_by("invoice_id").values_list("invoice_id", "amount")) == [
        (book.paid_part.id, Decimal("500.000")),
        (second.id, Decimal("107.500")),
    ]
    assert invoice_state(book.paid_part)[2] == Decimal("75.00") and invoice_state(second)[2] == Decimal("0.00")
    assert credit_of(user) == Decimal("92.50")
    page = html(admin.client.get(response.url))
    assert "Payment of $700.00 recorded for Nimbus Ltd: $607.50 allocated to 2 invoice(s)" in page
    assert "$92.50 kept as customer credit." in page


def test_payment_for_a_user_without_allocations_goes_oldest_due_first(admin, book, user, second):
    admin.client.post(
        "/invoicing/payments/new-for-user/",
        {"account": user.id, "amount": "600.00", "payment_date": "2026-03-20", "payment_type": "cash"},
    )

    receipt = Receipt.objects.get()
    assert list(receipt.allocations.order_by("invoice_id").values_list("invoice_id", "amount")) == [
        (book.paid_part.id, Decimal("575.000")),
        (second.id, Decimal("25.000")),
    ]
    assert receipt.unallocated == Decimal("0.00")


def test_payment_for_a_user_over_allocated_is_refused_and_records_nothing(admin, book, user, second):
    before = (invoice_state(book.paid_part), invoice_state(second))
    base = {"account": user.id, "payment_date": "2026-03-20", "payment_type": "cash"}

    over = admin.client.post(
        "/invoicing/payments/new-for-user/",
        {**base, "amount": "100.00", f"alloc_{book.paid_part.id}": "60.00", f"alloc_{second.id}": "50.00"},
    )
    above_due = admin.client.post(
        "/invoicing/payments/new-for-user/", {**base, "amount": "200.00", f"alloc_{second.id}": "107.51"}
    )
    no_amount = admin.client.post("/invoicing/payments/new-for-user/", {**base, "amount": ""})

    assert 'id="id_allocations-error"' in html(over) and "add up to $110.00, more than the payment $100.00" in html(
        over
    )
    assert 'id="id_allocations-error"' in html(above_due) and "more than the balance due $107.50" in html(above_due)
    assert 'id="id_amount-error"' in html(no_amount)
    assert Receipt.objects.count() == 0 and not CustomerCredit.objects.filter(account=user).exists()
    assert (invoice_state(book.paid_part), invoice_state(second)) == before


def test_reverse_a_payment_received_for_a_user_as_a_whole(admin, book, user, second):
    receipt = receipt_record(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        amount="700.00",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )
    url = f"/invoicing/receipts/{receipt.id}/reverse/"

    page = html(admin.client.get(url))
    response = admin.client.post(url, {"reason": "Wrong account"})

    receipt.refresh_from_db()
    assert "INV-2026-00001" in page and "$17.50" in page  # 700.00 - 575.00 - 107.50 left as credit
    assert response.status_code == 302 and response.url == f"/invoicing/users/{user.id}/credit/"
    assert receipt.reversal_reason == "Wrong account"
    assert invoice_state(book.paid_part)[2] == Decimal("575.00") and invoice_state(second)[2] == Decimal("107.50")
    assert credit_of(user) == Decimal("0.00")
    invoice_page = html(admin.client.get(f"/invoicing/invoices/{second.id}/"))
    assert "Part of a payment for the user" in invoice_page
