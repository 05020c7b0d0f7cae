"""Corrections and credits (SPEC §4): credit notes, customer credit, refunds, payments across several invoices."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from invoicing.models import CreditEntry, CreditNote, CustomerCredit, Invoice, Payment, Receipt, Refund
from invoicing.services.configuration import settings_update, tax_rate_create
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.customer_credit import credit_adjust, refund_record, refund_reverse
from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid, invoice_void
from invoicing.services.payments import credit_apply, payment_record, payment_reverse
from invoicing.services.receipts import receipt_record, receipt_reverse
from invoicing.services.stats import stats_rebuild, stats_snapshot
from msgplatform.accounts.models import BalanceTransaction
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, record_row

D = datetime.date
TODAY = D(2026, 3, 20)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def vat(admin):
    return tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")


def postpaid_invoice(admin, account):
    """SPEC §4's example: usage 1,000.00 (four records of 250.00), VAT 7.5 % -> total 1,075.00."""
    records_ingest(
        tenant=admin.tenant,
        rows=[record_row(account, n, submitted_at=f"2026-03-0{n}T12:00:00Z", unit_price="250.0") for n in range(1, 5)],
    )
    return invoice_create_postpaid(
        tenant=admin.tenant, account_id=account.id, actor_id=None, period_start=D(2026, 3, 1), period_end=D(2026, 3, 15)
    )


def prepaid_invoice(admin, account, amount="1000.00", **kwargs):
    return invoice_create_prepaid(
        tenant=admin.tenant, account_id=account.id, actor_id=None, recharge_amount=amount, **kwargs
    )


def pay(admin, invoice, amount, **kwargs):
    defaults = {"payment_date": TODAY, "payment_type": "bank_transfer"}
    return payment_record(
        tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, amount=amount, **{**defaults, **kwargs}
    )


def usage_line(invoice):
    return invoice.lines.get()


def figures(invoice):
    invoice.refresh_from_db()
    return (
        invoice.payment_status,
        invoice.effective_total,
        invoice.effective_base,
        invoice.amount_paid,
        invoice.balance_due,
        invoice.credited,
    )


def balance(account):
    account.refresh_from_db()
    return account.balance


def customer_credit(account):
    row = CustomerCredit.objects.filter(account=account).first()
    return row.balance if row else Decimal("0")


def ledger_sum(account):
    return sum(CreditEntry.objects.filter(account=account).values_list("amount", flat=True), Decimal("0"))


# --- SPEC §4 worked example --------------------------------------------------------------------------------------


def test_spec_worked_example_paid(admin, postpaid_user, vat):
    invoice = postpaid_invoice(admin, postpaid_user)
    assert (invoice.subtotal, invoice.total) == (Decimal("1000.00"), Decimal("1075.00"))
    assert balance(postpaid_user) == Decimal("-1000.000000")

    pay(admin, invoice, "1075.00")
    assert figures(invoice) == (
        "paid",
        Decimal("1075.00"),
        Decimal("1000.00"),
        Decimal("1075.00"),
        Decimal("0.00"),
        Decimal("1000.00"),
    )
    assert balance(postpaid_user) == Decimal("0")

    note = credit_note_issue(
        tenant=admin.tenant,
        invoice_id=invoice.id,
        actor_id=None,
        reason="Wrong route price",
        lines={usage_line(invoice).id: "200.00"},
    )
    assert (note.number, note.subtotal, note.tax_total, note.total) == (
        "CN-2026-00001",
        Decimal("200.00"),
        Decimal("15.00"),
        Decimal("215.00"),
    )
    assert figures(invoice) == (
        "paid",
        Decimal("860.00"),
        Decimal("800.00"),
        Decimal("860.00"),
        Decimal("0.00"),
        Decimal("800.00"),
    )
    assert (note.to_customer_credit, note.balance_delta, note.usage_credited) == (
        Decimal("215.00"),
        Decimal("-200.00"),
        Decimal("200.00"),
    )
    assert customer_credit(postpaid_user) == Decimal("215.00") == ledger_sum(postpaid_user)
    assert balance(postpaid_user) == Decimal("0")
    rows = list(BalanceTransaction.objects.filter(kind="credit_note").order_by("id").values_list("amount", flat=True))
    assert rows == [Decimal("200.000000"), Decimal("-200.000000")]
    assert usage_line(invoice).credited_amount == Decimal("200.00")
    assert Payment.objects.get().moved_to_credit == Decimal("215.00")


def test_spec_worked_example_unpaid(admin, postpaid_user, vat):
    invoice = postpaid_invoice(admin, postpaid_user)
    credit_note_issue(
        tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="Wrong route price", amount="200.00"
    )
    assert figures(invoice) == (
        "unpaid",
        Decimal("860.00"),
        Decimal("800.00"),
        Decimal("0.00"),
        Decimal("860.00"),
        Decimal("0.00"),
    )
    assert balance(postpaid_user) == Decimal("-800.000000")
    assert customer_credit(postpaid_user) == Decimal("0")

    payment = pay(admin, invoice, "860.00")
    assert payment.credit_delta == Decimal("800.00")
    assert figures(invoice)[0] == "paid"
    assert balance(postpaid_user) == Decimal("0")


def test_prepaid_credit_note_takes_back_the_recharge_pro_rata(admin, user, vat):
    invoice = prepaid_invoice(admin, user)
    pay(admin, invoice, "500.00")
    assert balance(user) == Decimal("465.12")
    note = credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="Promo", amount="400")
    # effective total 645.00, base 600.00; 500.00 applied -> credited round(600 x 500 / 645) = 465.12: unchanged.
    assert (note.total, note.to_customer_credit, note.balance_delta) == (
        Decimal("430.00"),
        Decimal("0"),
        Decimal("0"),
    )
    assert figures(invoice) == (
        "partially_paid",
        Decimal("645.00"),
        Decimal("600.00"),
        Decimal("500.00"),
        Decimal("145.00"),
        Decimal("465.12"),
    )
    pay(admin, invoice, "145.00")
    assert balance(user) == Decimal("600.00")


def test_full_credit_of_an_unpaid_invoice_settles_it_as_credited(admin, user, vat):
    invoice = prepaid_invoice(admin, user, amount="10.00")
    part = credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="a", amount="5.01")
    rest = credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="b", amount="4.99")
    # 5.01 x 7.5 % = 0.37575 -> 0.38; the last note takes exactly the tax left (0.37), never a cent above.
    assert (part.total, rest.total) == (Decimal("5.39"), Decimal("5.36"))
    assert figures(invoice) == ("credited", Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 0)
    assert [n.number for n in CreditNote.objects.order_by("id")] == ["CN-2026-00001", "CN-2026-00002"]
    with pytest.raises(Conflict) as refused:
        credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="c", amount="0.01")
    assert refused.value.code == "fully_credited"


def test_credit_notes_have_their_own_number_format(admin, user):
    settings_update(tenant=admin.tenant, actor_id=None, credit_note_number_format="CR/{YY}{MM}/{seq:03}")
    invoice = prepaid_invoice(admin, user)
    note = credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="x", amount="1")
    assert note.number == "CR/2603/001"
    assert invoice.number == "INV-2026-00001"


def snapshot():
    return (
        list(
            Invoice.objects.order_by("id").values_list("amount_paid", "credited_total", "balance_due", "payment_status")
        ),
        CreditNote.objects.count(),
        Payment.objects.filter(reversed_at__isnull=True).count(),
        list(CustomerCredit.objects.values_list("balance", flat=True)),
        CreditEntry.objects.count(),
        BalanceTransaction.objects.count(),
        Refund.objects.count(),
        Receipt.objects.count(),
    )


def test_credit_note_refusals_change_nothing(admin, user, vat):
    invoice = prepaid_invoice(admin, user, amount="100.00")
    line = invoice.lines.get()
    draft = prepaid_invoice(admin, user, as_draft=True)
    before = snapshot()
    cases = [
        ({"invoice_id": invoice.id, "reason": "", "amount": "1"}, ValidationFailed, "reason"),
        ({"invoice_id": invoice.id, "reason": "x"}, ValidationFailed, "lines"),
        ({"invoice_id": invoice.id, "reason": "x", "amount": "1", "lines": {line.id: "1"}}, ValidationFailed, "lines"),
        ({"invoice_id": invoice.id, "reason": "x", "amount": "100.01"}, ValidationFailed, "amount"),
        ({"invoice_id": invoice.id, "reason": "x", "lines": {line.id: "100.01"}}, ValidationFailed, "lines"),
        ({"invoice_id": invoice.id, "reason": "x", "lines": {999999: "1"}}, ValidationFailed, "lines"),
        ({"invoice_id": invoice.id, "reason": "x", "amount": "1e3"}, ValidationFailed, "amount"),
        ({"invoice_id": invoice.id, "reason": "x", "amount": "-5"}, ValidationFailed, "amount"),
        (
            {"invoice_id": invoice.id, "reason": "x", "amount": "1", "issue_date": D(2026, 3, 21)},
            ValidationFailed,
            "issue_date",
        ),
        ({"invoice_id": draft.id, "reason": "x", "amount": "1"}, Conflict, None),
        ({"invoice_id": 10**9, "reason": "x", "amount": "1"}, NotFound, None),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as refused:
            credit_note_issue(tenant=admin.tenant, actor_id=None, **kwargs)
        if field:
            assert refused.value.field == field, kwargs
        assert snapshot() == before, kwargs
    # The number a refused issue would have taken is not used up.
    assert credit_note_issue(
        tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="x", amount="1"
    ).number == ("CN-2026-00001")


def test_another_tenants_invoice_cannot_be_credited(admin, other_admin, user):
    invoice = prepaid_invoice(admin, user)
    with pytest.raises(NotFound):
        credit_note_issue(tenant=other_admin.tenant, invoice_id=invoice.id, actor_id=None, reason="x", amount="1")


def test_an_invoice_with_credit_notes_cannot_be_voided(admin, user):
    invoice = prepaid_invoice(admin, user)
    credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="x", amount="1")
    with pytest.raises(Conflict) as refused:
        invoice_void(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="mistake")
    assert refused.value.code == "has_credit_notes"


# --- customer credit, applications and refunds -------------------------------------------------------------------


def test_credit_applied_to_another_invoice_and_reversed_returns(admin, postpaid_user, user, vat):
    first = postpaid_invoice(admin, postpaid_user)
    pay(admin, first, "1075.00")
    credit_note_issue(tenant=admin.tenant, invoice_id=first.id, actor_id=None, reason="x", amount="200.00")
    second = prepaid_invoice(admin, user)  # another user's invoice cannot take this user's credit
    with pytest.raises(Conflict):
        credit_apply(tenant=admin.tenant, invoice_id=second.id, actor_id=None, amount="10.00")

    later = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="100.00")
    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="50.00", reason="goodwill")
    applied = credit_apply(tenant=admin.tenant, invoice_id=later.id, actor_id=None)
    assert (applied.payment_type, applied.amount) == ("credit", Decimal("50.00"))
    assert figures(later)[3:5] == (Decimal("50.00"), Decimal("57.50"))
    assert customer_credit(user) == Decimal("0.00")
    payment_reverse(tenant=admin.tenant, payment_id=applied.id, actor_id=None, reason="wrong invoice")
    assert customer_credit(user) == Decimal("50.00") == ledger_sum(user)
    assert figures(later)[3:5] == (Decimal("0.00"), Decimal("107.50"))
    assert list(CreditEntry.objects.filter(account=user).order_by("id").values_list("kind", "amount")) == [
        ("adjustment", Decimal("50.00")),
        ("applied", Decimal("-50.00")),
        ("application_reversed", Decimal("50.00")),
    ]


def test_credit_application_refusals_change_nothing(admin, user):
    invoice = prepaid_invoice(admin, user, amount="100.00")
    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="30.00", reason="goodwill")
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        credit_apply(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, amount="30.01")
    assert refused.value.code == "insufficient_credit"
    with pytest.raises(ValidationFailed) as too_much:
        credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="200", reason="x")
        credit_apply(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, amount="100.01")
    assert too_much.value.code == "overpayment"
    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="-200", reason="undo")
    assert customer_credit(user) == Decimal("30.00")
    with pytest.raises(Conflict):
        credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="-30.01", reason="x")
    assert snapshot()[0] == before[0]
    assert customer_credit(user) == Decimal("30.00") == ledger_sum(user)


def test_refund_pays_credit_back_and_its_reversal_restores_it(admin, user):
    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="80.00", reason="overpaid")
    before = snapshot()
    with pytest.raises(Conflict):
        refund_record(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="80.01", method="bank_transfer")
    with pytest.raises(ValidationFailed):
        refund_record(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="1", method="paypal")
    with pytest.raises(ValidationFailed):
        refund_record(
            tenant=admin.tenant,
            account_id=user.id,
            actor_id=None,
            amount="1",
            method="cash",
            refund_date=D(2026, 3, 21),
        )
    assert snapshot() == before
    refund = refund_record(
        tenant=admin.tenant, account_id=user.id, actor_id=None, amount="60.00", method="bank_transfer", reference="R1"
    )
    assert customer_credit(user) == Decimal("20.00")
    refund_reverse(tenant=admin.tenant, refund_id=refund.id, actor_id=None, reason="bounced")
    assert customer_credit(user) == Decimal("80.00") == ledger_sum(user)
    with pytest.raises(Conflict):
        refund_reverse(tenant=admin.tenant, refund_id=refund.id, actor_id=None, reason="again")


def test_reversing_a_payment_takes_back_the_credit_its_credit_note_made(admin, postpaid_user, vat):
    invoice = postpaid_invoice(admin, postpaid_user)
    payment = pay(admin, invoice, "1075.00")
    credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="x", amount="200.00")
    refund = refund_record(
        tenant=admin.tenant, account_id=postpaid_user.id, actor_id=None, amount="100.00", method="cash"
    )
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        payment_reverse(tenant=admin.tenant, payment_id=payment.id, actor_id=None, reason="bounced")
    assert refused.value.code == "insufficient_credit"
    assert snapshot() == before
    refund_reverse(tenant=admin.tenant, refund_id=refund.id, actor_id=None, reason="wrong")
    payment_reverse(tenant=admin.tenant, payment_id=payment.id, actor_id=None, reason="bounced")
    assert figures(invoice) == (
        "unpaid",
        Decimal("860.00"),
        Decimal("800.00"),
        Decimal("0.00"),
        Decimal("860.00"),
        Decimal("0.00"),
    )
    assert customer_credit(postpaid_user) == Decimal("0.00") == ledger_sum(postpaid_user)
    assert balance(postpaid_user) == Decimal("-800.000000")


# --- one payment, several invoices -------------------------------------------------------------------------------


def three_invoices(admin, user):
    a = prepaid_invoice(admin, user, amount="100.00", invoice_date=D(2026, 3, 1), due_date=D(2026, 3, 31))
    b = prepaid_invoice(admin, user, amount="50.00", invoice_date=D(2026, 3, 2), due_date=D(2026, 3, 10))
    c = prepaid_invoice(admin, user, amount="30.00", invoice_date=D(2026, 3, 3), due_date=D(2026, 3, 20))
    return a, b, c


def test_receipt_allocates_oldest_due_first_and_keeps_the_rest_as_credit(admin, user):
    a, b, c = three_invoices(admin, user)
    receipt = receipt_record(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        amount="200.00",
        payment_date=TODAY,
        payment_type="bank_transfer",
        transaction_id="BANK-1",
    )
    assert (receipt.allocated, receipt.unallocated) == (Decimal("180.00"), Decimal("20.00"))
    assert [figures(i)[0] for i in (a, b, c)] == ["paid", "paid", "paid"]
    assert customer_credit(user) == Decimal("20.00")
    assert balance(user) == Decimal("180.00")
    snapshot_stats = stats_snapshot(tenant=admin.tenant)
    stats_rebuild(tenant=admin.tenant)
    assert stats_snapshot(tenant=admin.tenant) == snapshot_stats
    with pytest.raises(Conflict) as duplicate:
        pay(admin, prepaid_invoice(admin, user, amount="5"), "5", transaction_id="BANK-1")
    assert duplicate.value.code == "duplicate_transaction"
    with pytest.raises(Conflict) as whole:
        payment_reverse(
            tenant=admin.tenant,
            payment_id=Payment.objects.filter(receipt=receipt).first().id,
            actor_id=None,
            reason="x",
        )
    assert whole.value.code == "part_of_receipt"

    receipt_reverse(tenant=admin.tenant, receipt_id=receipt.id, actor_id=None, reason="bounced")
    assert [figures(i)[0] for i in (a, b, c)] == ["unpaid", "unpaid", "unpaid"]
    assert customer_credit(user) == Decimal("0.00") == ledger_sum(user)
    assert balance(user) == Decimal("0.00")
    assert stats_snapshot(tenant=admin.tenant)["received"] == []


def test_receipt_with_explicit_allocations_and_partial_amounts(admin, user):
    a, b, c = three_invoices(admin, user)
    receipt = receipt_record(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        amount="60.00",
        payment_date=TODAY,
        payment_type="cheque",
        allocations=[{"invoice": a.id, "amount": "40.00"}, {"invoice": c.id, "amount": "20.00"}],
    )
    assert receipt.unallocated == Decimal("0.00")
    assert [figures(i)[3] for i in (a, b, c)] == [Decimal("40.00"), Decimal("0.00"), Decimal("20.00")]


def test_receipt_refusals_change_nothing(admin, user, other_admin):
    a, b, c = three_invoices(admin, user)
    stranger = AccountFactory(tenant=admin.tenant, name="Other Ltd")
    theirs = prepaid_invoice(admin, stranger, amount="10.00")
    before = snapshot()
    base = {"tenant": admin.tenant, "account_id": user.id, "actor_id": None, "payment_date": TODAY}
    cases = [
        (
            {"amount": "10", "payment_type": "bank_transfer", "allocations": [{"invoice": a.id, "amount": "11"}]},
            "over_allocated",
        ),
        (
            {"amount": "200", "payment_type": "bank_transfer", "allocations": [{"invoice": b.id, "amount": "53.76"}]},
            "overpayment",
        ),
        (
            {"amount": "20", "payment_type": "bank_transfer", "allocations": [{"invoice": theirs.id, "amount": "5"}]},
            None,
        ),
        ({"amount": "20", "payment_type": "credit"}, None),
        ({"amount": "0", "payment_type": "cash"}, None),
        (
            {
                "amount": "20",
                "payment_type": "cash",
                "allocations": [{"invoice": a.id, "amount": "5"}, {"invoice": a.id, "amount": "5"}],
            },
            None,
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises((ValidationFailed, Conflict, NotFound)) as refused:
            receipt_record(**base, **kwargs)
        if code:
            assert refused.value.code == code
        assert snapshot() == before, kwargs
    with pytest.raises(NotFound):
        receipt_record(**{**base, "tenant": other_admin.tenant}, amount="10", payment_type="cash")
    assert snapshot() == before


def test_reversing_a_credit_application_a_credit_note_moved_back_entirely_writes_no_empty_row(admin, user):
    invoice = prepaid_invoice(admin, user, amount="100.00")
    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="40.00", reason="gift")
    applied = credit_apply(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)
    credit_note_issue(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="cancel", amount="100.00")
    assert Payment.objects.get(pk=applied.pk).moved_to_credit == Decimal("40.00")
    assert customer_credit(user) == Decimal("40.00")

    payment_reverse(tenant=admin.tenant, payment_id=applied.id, actor_id=None, reason="undo")

    assert customer_credit(user) == Decimal("40.00") == ledger_sum(user)
    assert list(CreditEntry.objects.filter(account=user).order_by("id").values_list("kind", "amount")) == [
        ("adjustment", Decimal("40.00")),
        ("applied", Decimal("-40.00")),
        ("credit_note", Decimal("40.00")),
    ]
    assert figures(invoice)[0] == "credited"
