"""Corrections and credits under concurrency (SPEC §4), on PostgreSQL with real threads.

Each thread has its own database connection (closed when it ends) and waits at a barrier so all start together.
What is checked: the row locks of invoicing/locks.py serialise every write that guards money, so no credit-note
number is skipped or taken twice, customer credit is never spent twice, an invoice is never overpaid and its balance
due stays its effective total less what is applied; every refusal is a clean domain error that wrote nothing; and no
database error (a deadlock above all) ever reaches the caller.
"""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import close_old_connections, connection

from invoicing.models import (
    CreditEntry,
    CreditNote,
    CreditNoteSequence,
    CustomerCredit,
    Invoice,
    InvoiceSequence,
    Payment,
    Receipt,
)
from invoicing.money import credited_so_far
from invoicing.rules import payment_status_for
from invoicing.services.configuration import tax_rate_create
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.customer_credit import credit_adjust
from invoicing.services.invoices import invoice_approve, invoice_create_prepaid
from invoicing.services.payments import credit_apply, payment_record
from invoicing.services.receipts import receipt_record
from invoicing.services.stats import stats_rebuild, stats_snapshot
from msgplatform.accounts.models import BalanceTransaction
from msgplatform.core.errors import Conflict, DomainError, ValidationFailed
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, LicenseFactory, TenantFactory

D = datetime.date
TODAY = D(2026, 3, 20)

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


class Outcome:
    """What the threads of one race gave: results (index, value), domain refusals (index, error), anything else."""

    def __init__(self):
        self.results: list[tuple[int, object]] = []
        self.refusals: list[tuple[int, DomainError]] = []
        self.unexpected: list[tuple[int, str]] = []

    def succeeded(self, indexes) -> list[int]:
        return sorted(i for i, _ in self.results if i in indexes)

    def refused(self, indexes) -> list[DomainError]:
        return [e for i, e in self.refusals if i in indexes]


DEADLOCK = "a database error escaped a service (a deadlock means two transactions took row locks in different orders)"


def race(targets, *, lock_order: str = DEADLOCK) -> Outcome:
    """Run every callable of `targets` in its own thread, all released together by a barrier; no thread may end in
    anything but a result or a domain refusal (`lock_order` says which lock order a database error would break)."""
    barrier = threading.Barrier(len(targets))
    outcome = Outcome()
    lock = threading.Lock()

    def worker(index, target):
        try:
            barrier.wait()
            value = target()
            with lock:
                outcome.results.append((index, value))
        except DomainError as exc:
            with lock:
                outcome.refusals.append((index, exc))
        except Exception as exc:  # noqa: BLE001 - a deadlock or any database error is what this test looks for
            with lock:
                outcome.unexpected.append((index, f"{type(exc).__module__}.{type(exc).__name__}: {exc}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert outcome.unexpected == [], f"{lock_order}: {outcome.unexpected}"
    return outcome


def admin_with_vat(currency="USD"):
    tenant = TenantFactory(currency=currency)
    LicenseFactory(tenant=tenant)
    tax_rate_create(tenant=tenant, actor_id=None, name="VAT", rate="7.5")
    return tenant


def prepaid(tenant, account, amount, **kwargs):
    return invoice_create_prepaid(tenant=tenant, account_id=account.id, actor_id=None, recharge_amount=amount, **kwargs)


def pay(tenant, invoice_id, amount, **kwargs):
    return payment_record(
        tenant=tenant,
        invoice_id=invoice_id,
        actor_id=None,
        amount=amount,
        payment_date=TODAY,
        payment_type="bank_transfer",
        **kwargs,
    )


def ledger_sum(account) -> Decimal:
    return sum(CreditEntry.objects.filter(account=account).values_list("amount", flat=True), Decimal("0"))


def balance_rows_sum(account) -> Decimal:
    return sum(BalanceTransaction.objects.filter(account=account).values_list("amount", flat=True), Decimal("0"))


def customer_credit(account) -> Decimal:
    row = CustomerCredit.objects.filter(account=account).first()
    return row.balance if row else Decimal("0")


def assert_invoice_settled_consistently(invoice: Invoice) -> None:
    """SPEC §4 on one invoice: applied = the active payments' applied amounts, at most the effective total; balance
    due = effective total - applied >= 0; credit notes never above the total; status and credited by the rules."""
    invoice.refresh_from_db()
    active = Payment.objects.filter(invoice=invoice, reversed_at__isnull=True)
    applied = sum((p.applied for p in active), Decimal("0"))
    notes = list(CreditNote.objects.filter(invoice=invoice))
    label = f"invoice {invoice.number}"
    assert invoice.amount_paid == applied, f"{label}: amount paid {invoice.amount_paid} != payments applied {applied}"
    assert invoice.credited_total == sum((n.total for n in notes), Decimal("0")), label
    assert invoice.credited_subtotal == sum((n.subtotal for n in notes), Decimal("0")), label
    assert Decimal("0") <= invoice.credited_total <= invoice.total, label
    assert Decimal("0") <= invoice.amount_paid <= invoice.effective_total, f"{label} is overpaid"
    assert invoice.balance_due == invoice.effective_total - invoice.amount_paid >= 0, label
    assert invoice.payment_status == payment_status_for(
        total=invoice.total, amount_paid=invoice.amount_paid, credited_total=invoice.credited_total
    ), label
    assert invoice.credited == credited_so_far(
        base=invoice.effective_base, paid=invoice.amount_paid, total=invoice.effective_total, currency=invoice.currency
    ), label


def assert_credit_ledger_serial(account) -> None:
    """The customer-credit ledger is one chain: each row starts where the one before ended, never below zero."""
    entries = list(CreditEntry.objects.filter(account=account).order_by("id"))
    running = Decimal("0")
    for entry in entries:
        assert entry.balance_before == running, f"entry {entry.pk} starts at {entry.balance_before}, not {running}"
        assert entry.balance_after == entry.balance_before + entry.amount >= 0, entry.pk
        running = entry.balance_after
    assert customer_credit(account) == running == ledger_sum(account)


def assert_counters_match_a_rebuild(tenant) -> None:
    kept = stats_snapshot(tenant=tenant)
    stats_rebuild(tenant=tenant)
    assert stats_snapshot(tenant=tenant) == kept, "the dashboard counters drifted under concurrency"


# --- credit-note numbers -----------------------------------------------------------------------------------------


def test_twenty_simultaneous_credit_notes_take_gapless_numbers_beside_simultaneous_approvals():
    tenant = admin_with_vat()
    accounts = [AccountFactory(tenant=tenant) for _ in range(4)]
    invoices = [prepaid(tenant, accounts[i % 4], "100.00") for i in range(20)]  # INV-2026-00001..00020
    for invoice in invoices[::2]:  # half of them paid in full: their credit notes move money to customer credit
        pay(tenant, invoice.id, "107.50")
    drafts = [prepaid(tenant, accounts[i % 4], "10.00", as_draft=True) for i in range(20)]

    issues = [
        (lambda invoice=invoice: credit_note_issue(
            tenant=tenant, invoice_id=invoice.id, actor_id=None, reason="Wrong route price", amount="10.00"
        ))
        for invoice in invoices
    ]  # fmt: skip
    approvals = [
        lambda draft=draft: invoice_approve(tenant=tenant, invoice_id=draft.id, actor_id=None) for draft in drafts
    ]
    outcome = race(issues + approvals)

    assert outcome.refusals == []
    numbers = sorted(CreditNote.objects.filter(tenant=tenant).values_list("sequence_number", "number"))
    assert numbers == [(n, f"CN-2026-{n:05d}") for n in range(1, 21)]
    assert CreditNoteSequence.objects.get(tenant=tenant).last_value == 20
    invoice_numbers = sorted(Invoice.objects.filter(tenant=tenant).values_list("sequence_number", flat=True))
    assert invoice_numbers == list(range(1, 41))
    assert InvoiceSequence.objects.get(tenant=tenant).last_value == 40
    for index, invoice in enumerate(invoices):
        note = CreditNote.objects.get(invoice=invoice)
        assert (note.subtotal, note.tax_total, note.total) == (Decimal("10.00"), Decimal("0.75"), Decimal("10.75"))
        # 107.50 - 10.75 = 96.75 owed; a paid invoice moves the 10.75 above it to customer credit.
        assert note.to_customer_credit == (Decimal("10.75") if index % 2 == 0 else Decimal("0"))
        assert_invoice_settled_consistently(invoice)
    for account in accounts:
        assert_credit_ledger_serial(account)
        account.refresh_from_db()
        assert account.balance == balance_rows_sum(account)
    assert_counters_match_a_rebuild(tenant)


# --- customer credit ---------------------------------------------------------------------------------------------


def test_twenty_simultaneous_credit_applications_never_spend_the_credit_twice():
    tenant = admin_with_vat()
    account = AccountFactory(tenant=tenant, apply_tax=False)
    small_a, small_b, large = (prepaid(tenant, account, amount) for amount in ("30.00", "30.00", "200.00"))
    credit_adjust(tenant=tenant, account_id=account.id, actor_id=None, amount="100.00", reason="Goodwill")
    targets = [small_a, small_b, large]
    # 7 threads on each 30.00 invoice (room for 3), 6 on the large one: 12 could fit, the credit pays only 10.
    applications = [
        (lambda invoice=targets[i % 3]: credit_apply(
            tenant=tenant, invoice_id=invoice.id, actor_id=None, amount="10.00"
        ))
        for i in range(20)
    ]  # fmt: skip
    outcome = race(applications)

    assert len(outcome.results) == 10 and len(outcome.refusals) == 10
    for error in outcome.refused(range(20)):
        # The credit ran out, or the invoice is settled (nothing due) or owes less than 10.00 (overpayment).
        assert (isinstance(error, Conflict) and error.code in {"insufficient_credit", "nothing_due"}) or (
            isinstance(error, ValidationFailed) and error.code == "overpayment"
        ), error
    applied = Payment.objects.filter(account=account, payment_type="credit", reversed_at__isnull=True)
    assert applied.count() == 10
    assert sum((p.amount for p in applied), Decimal("0")) == Decimal("100.00")
    assert customer_credit(account) == Decimal("0.00") == ledger_sum(account)
    entries = list(CreditEntry.objects.filter(account=account).order_by("id").values_list("kind", "amount"))
    assert entries == [("adjustment", Decimal("100.00"))] + [("applied", Decimal("-10.00"))] * 10
    assert_credit_ledger_serial(account)
    for invoice in targets:
        assert_invoice_settled_consistently(invoice)
    small_a.refresh_from_db()
    small_b.refresh_from_db()
    assert small_a.amount_paid <= Decimal("30.00") and small_b.amount_paid <= Decimal("30.00")
    account.refresh_from_db()
    assert account.balance == Decimal("100.00") == balance_rows_sum(account)  # recharge credited as it is paid
    assert_counters_match_a_rebuild(tenant)


# --- one payment across several invoices -------------------------------------------------------------------------


def test_payments_across_invoices_racing_single_payments_never_overpay():
    tenant = admin_with_vat()
    account = AccountFactory(tenant=tenant, apply_tax=False)
    first, second, third = (prepaid(tenant, account, "100.00") for _ in range(3))
    allocations = [
        {"invoice": first.id, "amount": "30.00"},
        {"invoice": second.id, "amount": "20.00"},
        {"invoice": third.id, "amount": "10.00"},
    ]
    receipts = [
        (lambda: receipt_record(
            tenant=tenant, account_id=account.id, actor_id=None, amount="70.00", payment_date=TODAY,
            payment_type="bank_transfer", allocations=allocations,
        ))
        for _ in range(4)
    ]  # fmt: skip
    on_first = [lambda: pay(tenant, first.id, "15.00") for _ in range(8)]
    on_third = [lambda: pay(tenant, third.id, "25.00") for _ in range(4)]
    outcome = race(receipts + on_first + on_third)

    receipts_ok = len(outcome.succeeded(range(4)))
    first_ok = len(outcome.succeeded(range(4, 12)))
    third_ok = len(outcome.succeeded(range(12, 16)))
    for error in outcome.refusals:
        assert isinstance(error[1], ValidationFailed | Conflict) and error[1].code == "overpayment", error
    # Whatever the order, every success is all there and every refusal left nothing behind.
    assert Receipt.objects.filter(tenant=tenant).count() == receipts_ok
    assert Payment.objects.filter(tenant=tenant).count() == 3 * receipts_ok + first_ok + third_ok
    for invoice, paid in (
        (first, 30 * receipts_ok + 15 * first_ok),
        (second, 20 * receipts_ok),
        (third, 10 * receipts_ok + 25 * third_ok),
    ):
        invoice.refresh_from_db()
        assert invoice.amount_paid == Decimal(paid)
        assert_invoice_settled_consistently(invoice)
    assert customer_credit(account) == Decimal("10.00") * receipts_ok
    assert_credit_ledger_serial(account)
    account.refresh_from_db()
    assert account.balance == Decimal(60 * receipts_ok + 15 * first_ok + 25 * third_ok) == balance_rows_sum(account)
    assert_counters_match_a_rebuild(tenant)


# invoicing/locks.py's order is invoices -> payments -> sequences -> customer credit -> account -> counters.
RECEIPT_COUNTER_BEFORE_ACCOUNT = (
    "LOCK ORDER: a payment for a user must lock the dashboard counters (PaymentMonthTotal for its unallocated part) "
    "only after the account row its allocations lock (services/stats.counters_batched in receipts.py); otherwise it "
    "waits in a circle with a payment_record of another invoice of the same user (account, then counters)"
)
RECEIPT_COUNTERS_INTERLEAVED = (
    "LOCK ORDER: a payment for a user with several allocations must lock its InvoiceTally rows once, merged and in "
    "sorted order (services/stats.counters_batched); locked allocation by allocation, a second allocation "
    "(unpaid -> partially_paid) takes 'partially_paid' after the first holds 'unpaid', and a payment_record of any "
    "user of the tenant taking them the other way round waits in a circle with it"
)


def test_a_payment_across_invoices_racing_payments_on_the_users_other_invoices():
    """The receipt and the single payments lock different invoices of one user, then that user's account row."""
    tenant = admin_with_vat()
    account = AccountFactory(tenant=tenant, apply_tax=False)
    in_receipt = [prepaid(tenant, account, "100.00") for _ in range(3)]
    others = [prepaid(tenant, account, "100.00") for _ in range(8)]
    receipt = [
        lambda: receipt_record(
            tenant=tenant,
            account_id=account.id,
            actor_id=None,
            amount="310.00",
            payment_date=TODAY,
            payment_type="bank_transfer",
            allocations=[{"invoice": i.id, "amount": "100.00"} for i in in_receipt],
        )
    ]
    singles = [lambda invoice=invoice: pay(tenant, invoice.id, "100.00") for invoice in others]
    outcome = race(receipt + singles, lock_order=RECEIPT_COUNTER_BEFORE_ACCOUNT)

    assert outcome.refusals == []
    for invoice in in_receipt + others:
        assert_invoice_settled_consistently(invoice)
        assert invoice.payment_status == "paid"
    assert customer_credit(account) == Decimal("10.00")
    account.refresh_from_db()
    assert account.balance == Decimal("1100.00") == balance_rows_sum(account)
    assert_counters_match_a_rebuild(tenant)


def test_payments_across_invoices_racing_payments_of_other_users_in_the_tenant():
    """No lock is shared but the tenant's dashboard counters: they must be taken in one order by every service."""
    tenant = admin_with_vat()
    account = AccountFactory(tenant=tenant, apply_tax=False)
    mine = [prepaid(tenant, account, "100.00") for _ in range(6)]
    strangers = [AccountFactory(tenant=tenant, apply_tax=False) for _ in range(8)]
    theirs = [prepaid(tenant, stranger, "100.00") for stranger in strangers]
    # Each receipt pays its first invoice in full and the second in part; the others' payments are partial.
    receipts = [
        (lambda full=full, part=part: receipt_record(
            tenant=tenant, account_id=account.id, actor_id=None, amount="150.00", payment_date=TODAY,
            payment_type="bank_transfer",
            allocations=[{"invoice": full.id, "amount": "100.00"}, {"invoice": part.id, "amount": "50.00"}],
        ))
        for full, part in (mine[0:2], mine[2:4], mine[4:6])
    ]  # fmt: skip
    singles = [lambda invoice=invoice: pay(tenant, invoice.id, "40.00") for invoice in theirs]
    outcome = race(receipts + singles, lock_order=RECEIPT_COUNTERS_INTERLEAVED)

    assert outcome.refusals == []
    assert [Invoice.objects.get(pk=i.pk).payment_status for i in mine] == ["paid", "partially_paid"] * 3
    for invoice in mine + theirs:
        assert_invoice_settled_consistently(invoice)
    assert {Invoice.objects.get(pk=i.pk).amount_paid for i in theirs} == {Decimal("40.00")}
    assert_counters_match_a_rebuild(tenant)


# --- credit notes racing payments --------------------------------------------------------------------------------


def test_credit_notes_racing_payments_and_credit_applications_on_one_invoice_keep_its_balance():
    tenant = admin_with_vat()
    account = AccountFactory(tenant=tenant)
    invoice = prepaid(tenant, account, "100.00")  # 107.50
    pay(tenant, invoice.id, "50.00")
    notes = [
        (lambda: credit_note_issue(tenant=tenant, invoice_id=invoice.id, actor_id=None, reason="Promo", amount="20.00"))
        for _ in range(6)
    ]  # fmt: skip
    payments = [lambda: pay(tenant, invoice.id, "12.00") for _ in range(6)]
    applications = [lambda: credit_apply(tenant=tenant, invoice_id=invoice.id, actor_id=None) for _ in range(3)]
    outcome = race(notes + payments + applications)

    for _index, error in outcome.refusals:
        assert isinstance(error, ValidationFailed | Conflict), error
        assert error.code in {
            "overpayment",
            "exceeds_invoice",
            "fully_credited",
            "insufficient_credit",
            "nothing_due",
        }, error
    issued = CreditNote.objects.filter(invoice=invoice)
    assert issued.count() == len(outcome.succeeded(range(6)))
    # Five notes of 20.00 credit the whole 100.00 subtotal (the fifth takes exactly the tax left): a sixth never fits.
    assert issued.count() <= 5
    assert_invoice_settled_consistently(invoice)
    assert_credit_ledger_serial(account)
    moved = sum(Payment.objects.filter(invoice=invoice).values_list("moved_to_credit", flat=True), Decimal("0"))
    applied_credit = sum(
        (p.amount for p in Payment.objects.filter(invoice=invoice, payment_type="credit")), Decimal("0")
    )
    # Customer credit: what credit notes moved off the payments, less what was applied back to the invoice.
    assert sum((n.to_customer_credit for n in issued), Decimal("0")) == moved
    assert customer_credit(account) == moved - applied_credit
    account.refresh_from_db()
    invoice.refresh_from_db()
    assert account.balance == invoice.credited == balance_rows_sum(account)
    assert_counters_match_a_rebuild(tenant)
