"""Property: any sequence of corrections and credits keeps SPEC §4's figures (SQLite and PostgreSQL).

A prepaid and a postpaid user (VAT 7.5 %, both taxed), two invoices each; hypothesis draws a sequence of payments,
reversals, credit notes (by line and by adjustment), credit applications, manual adjustments, refunds and their
reversals, payments for a user (receipts) and their reversals, with amounts drawn relative to what is owed or held
so that both successes and refusals happen. After every step every invariant below holds; a refused step (the
service raised a domain error) changed nothing at all.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from invoicing.models import (
    CreditEntry,
    CreditNote,
    CreditNoteLine,
    CreditNoteSequence,
    CustomerCredit,
    Invoice,
    InvoiceLine,
    Payment,
    Receipt,
    Refund,
)
from invoicing.money import credited_so_far, money_round
from invoicing.rules import payment_status_for
from invoicing.services.configuration import tax_rate_create
from invoicing.services.credit_notes import credit_note_issue, creditable
from invoicing.services.customer_credit import credit_adjust, refund_record, refund_reverse
from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid
from invoicing.services.payments import credit_apply, payment_record, payment_reverse
from invoicing.services.receipts import receipt_record, receipt_reverse
from invoicing.services.stats import stats_rebuild, stats_snapshot
from msgplatform.accounts.models import Account, BalanceTransaction
from msgplatform.core.errors import DomainError
from msgplatform.core.models import Event
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, LicenseFactory, TenantFactory, record_row

D = datetime.date
TODAY = D(2026, 3, 20)
ZERO = Decimal("0")
CURRENCY = "USD"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


# --- the world -----------------------------------------------------------------------------------------------------


class World:
    """One admin, a prepaid and a postpaid user, two invoices each (the postpaid ones with two usage lines), the first
    of each half paid, and some customer credit."""

    def __init__(self, recharges: tuple[str, str], prices: tuple[str, str]):
        self.tenant = TenantFactory(currency=CURRENCY)
        LicenseFactory(tenant=self.tenant)
        tax_rate_create(tenant=self.tenant, actor_id=None, name="VAT", rate="7.5")
        self.prepaid = AccountFactory(tenant=self.tenant, name="Nimbus Ltd")
        self.postpaid = AccountFactory(
            tenant=self.tenant, name="Orbit Ltd", billing_method="postpaid", overdraft_limit="100000.00"
        )
        self.users = (self.prepaid, self.postpaid)
        self.invoices = [
            invoice_create_prepaid(
                tenant=self.tenant, account_id=self.prepaid.id, actor_id=None, recharge_amount=amount
            ).id
            for amount in recharges
        ]
        # Two routes (two usage lines) in each half of March, one postpaid invoice per half.
        rows, n = [], 0
        for first_day in (1, 16):
            for offset, (price, network) in enumerate(zip(prices, ("T-Mobile US", "AT&T"), strict=True)):
                for repeat in range(3):
                    n += 1
                    rows.append(
                        record_row(
                            self.postpaid,
                            n,
                            submitted_at=f"2026-03-{first_day + offset + repeat:02d}T12:00:00Z",
                            unit_price=price,
                            network=network,
                            mnc=("260", "410")[offset],
                            parts=1 + repeat,
                        )
                    )
        records_ingest(tenant=self.tenant, rows=rows)
        self.postpaid.refresh_from_db()
        self.usage_balance = self.postpaid.balance  # -(the raw charges), before any invoice
        for start, end in ((D(2026, 3, 1), D(2026, 3, 15)), (D(2026, 3, 16), D(2026, 3, 19))):
            self.invoices.append(
                invoice_create_postpaid(
                    tenant=self.tenant,
                    account_id=self.postpaid.id,
                    actor_id=None,
                    period_start=start,
                    period_end=end,
                ).id
            )

        # Something to reverse, refund and apply from the first step on: half of the first invoice of each user paid,
        # and 20.00 of customer credit each.
        for index in (0, 2):
            invoice = self.invoice(index)
            payment_record(
                tenant=self.tenant,
                invoice_id=invoice.id,
                actor_id=None,
                amount=str(fraction("half", invoice.balance_due)),
                payment_date=TODAY,
                payment_type="cheque",
            )
        for account in self.users:
            credit_adjust(tenant=self.tenant, account_id=account.id, actor_id=None, amount="20.00", reason="opening")

    def invoice(self, index: int) -> Invoice:
        return Invoice.objects.get(pk=self.invoices[index % len(self.invoices)])

    def user(self, index: int) -> Account:
        return self.users[index % 2]


def fraction(kind: str, amount: Decimal) -> Decimal:
    """An amount relative to what is owed or held: some fit, some are refused."""
    return {
        "third": money_round(amount / 3, CURRENCY),
        "half": money_round(amount / 2, CURRENCY),
        "all": amount,
        "over": amount + Decimal("0.01"),
        "cent": Decimal("0.01"),
    }[kind]


def credit_of(account) -> Decimal:
    row = CustomerCredit.objects.filter(account=account).first()
    return row.balance if row else ZERO


def nth(queryset, pick: int):
    rows = list(queryset.order_by("id"))
    return rows[pick % len(rows)] if rows else None


# --- the steps -----------------------------------------------------------------------------------------------------

AMOUNT = st.sampled_from(["third", "half", "all", "over", "cent"])
INVOICE = st.integers(0, 3)
USER = st.integers(0, 1)
PICK = st.integers(0, 7)

STEPS = st.one_of(
    st.tuples(st.just("pay"), INVOICE, AMOUNT),
    st.tuples(st.just("reverse"), PICK),
    st.tuples(st.just("credit_note_lines"), INVOICE, AMOUNT, st.integers(0, 1)),
    st.tuples(st.just("credit_note_amount"), INVOICE, AMOUNT),
    st.tuples(st.just("apply"), INVOICE, st.sampled_from(["third", "all", "over", "as_much"])),
    st.tuples(st.just("adjust"), USER, st.sampled_from(["25.00", "-10.00", "-1000.00"])),
    st.tuples(st.just("refund"), USER, AMOUNT),
    st.tuples(st.just("refund_reverse"), PICK),
    st.tuples(st.just("receipt"), USER, st.sampled_from(["half", "all", "over", "plus"]), st.sampled_from(
        ["oldest_first", "newest_first", "over_allocated"]
    )),
    st.tuples(st.just("receipt_reverse"), PICK),
)  # fmt: skip


def step_run(world: World, step: tuple) -> None:
    """Run one step through the services (it may raise a DomainError: a refusal)."""
    tenant, kind = world.tenant, step[0]
    if kind == "pay":
        invoice = world.invoice(step[1])
        payment_record(
            tenant=tenant,
            invoice_id=invoice.id,
            actor_id=None,
            amount=str(fraction(step[2], invoice.balance_due)),
            payment_date=TODAY,
            payment_type="bank_transfer",
        )
    elif kind == "reverse":
        payment = nth(Payment.objects.filter(tenant=tenant), step[1])
        payment_reverse(tenant=tenant, payment_id=payment.id if payment else 0, actor_id=None, reason="bounced")
    elif kind == "credit_note_lines":
        invoice = world.invoice(step[1])
        left = creditable(invoice).lines
        line_ids = sorted(left)
        line_id = line_ids[step[3] % len(line_ids)]
        credit_note_issue(
            tenant=tenant,
            invoice_id=invoice.id,
            actor_id=None,
            reason="Wrong route price",
            lines={line_id: str(fraction(step[2], left[line_id]))},
        )
    elif kind == "credit_note_amount":
        invoice = world.invoice(step[1])
        credit_note_issue(
            tenant=tenant,
            invoice_id=invoice.id,
            actor_id=None,
            reason="Goodwill",
            amount=str(fraction(step[2], creditable(invoice).subtotal)),
        )
    elif kind == "apply":
        invoice = world.invoice(step[1])
        held = min(invoice.balance_due, credit_of(invoice.account))
        amount = None if step[2] == "as_much" else str(fraction(step[2], held))
        credit_apply(tenant=tenant, invoice_id=invoice.id, actor_id=None, amount=amount)
    elif kind == "adjust":
        credit_adjust(tenant=tenant, account_id=world.user(step[1]).id, actor_id=None, amount=step[2], reason="fix")
    elif kind == "refund":
        account = world.user(step[1])
        refund_record(
            tenant=tenant,
            account_id=account.id,
            actor_id=None,
            amount=str(fraction(step[2], credit_of(account))),
            method="bank_transfer",
            reference="R-1",
        )
    elif kind == "refund_reverse":
        refund = nth(Refund.objects.filter(tenant=tenant), step[1])
        refund_reverse(tenant=tenant, refund_id=refund.id if refund else 0, actor_id=None, reason="bounced")
    elif kind == "receipt":
        receipt_step(world, *step[1:])
    elif kind == "receipt_reverse":
        receipt = nth(Receipt.objects.filter(tenant=tenant), step[1])
        receipt_reverse(tenant=tenant, receipt_id=receipt.id if receipt else 0, actor_id=None, reason="bounced")
    else:  # pragma: no cover - the strategy draws only the kinds above
        raise AssertionError(kind)


def receipt_step(world: World, user_index: int, amount_kind: str, allocation: str) -> None:
    account = world.user(user_index)
    owing = list(
        Invoice.objects.filter(tenant=world.tenant, account=account, status="approved", balance_due__gt=0).order_by(
            "id"
        )
    )
    due = sum((i.balance_due for i in owing), ZERO)
    amount = due + Decimal("5.00") if amount_kind == "plus" else fraction(amount_kind, due)
    allocations = None
    if allocation == "newest_first":
        left, allocations = amount, []
        for invoice in reversed(owing):
            take = min(left, invoice.balance_due)
            if take > 0:
                allocations.append({"invoice": invoice.id, "amount": str(take)})
                left -= take
    elif allocation == "over_allocated" and owing:
        allocations = [{"invoice": owing[0].id, "amount": str(owing[0].balance_due + Decimal("0.01"))}]
    receipt_record(
        tenant=world.tenant,
        account_id=account.id,
        actor_id=None,
        amount=str(amount),
        payment_date=TODAY,
        payment_type="bank_transfer",
        allocations=allocations,
    )


# --- what must hold ------------------------------------------------------------------------------------------------


def snapshot(world: World):
    """Every row a step may write, as plain values."""
    tenant = world.tenant
    return (
        list(
            Invoice.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list(
                "status",
                "payment_status",
                "amount_paid",
                "balance_due",
                "credited",
                "credited_subtotal",
                "credited_total",
            )
        ),
        list(InvoiceLine.objects.filter(invoice__tenant=tenant).order_by("id").values_list("credited_amount")),
        list(
            Payment.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list("id", "amount", "moved_to_credit", "reversed_at")
        ),
        list(CreditNote.objects.filter(tenant=tenant).order_by("id").values_list("id", "number", "total")),
        list(CreditNoteSequence.objects.filter(tenant=tenant).values_list("last_value")),
        list(CustomerCredit.objects.filter(tenant=tenant).order_by("id").values_list("account_id", "balance")),
        CreditEntry.objects.filter(tenant=tenant).count(),
        list(Refund.objects.filter(tenant=tenant).order_by("id").values_list("id", "reversed_at")),
        list(Receipt.objects.filter(tenant=tenant).order_by("id").values_list("id", "reversed_at")),
        list(Account.objects.filter(tenant=tenant).order_by("id").values_list("id", "balance")),
        BalanceTransaction.objects.filter(tenant=tenant).count(),
        Event.objects.count(),
        stats_snapshot(tenant=tenant),
    )


def invariants_check(world: World, after: str) -> None:
    tenant = world.tenant
    expected_balance = {world.prepaid.id: ZERO, world.postpaid.id: world.usage_balance}
    for invoice in Invoice.objects.filter(tenant=tenant).order_by("id"):
        label = f"after {after}: invoice {invoice.number}"
        active = Payment.objects.filter(invoice=invoice, reversed_at__isnull=True)
        assert invoice.amount_paid == sum((p.applied for p in active), ZERO), label
        assert invoice.balance_due == invoice.effective_total - invoice.amount_paid >= 0, label
        assert invoice.amount_paid <= invoice.effective_total, label
        notes = CreditNote.objects.filter(invoice=invoice)
        assert invoice.credited_total == sum((n.total for n in notes), ZERO) <= invoice.total, label
        assert invoice.credited_subtotal == sum((n.subtotal for n in notes), ZERO) <= invoice.subtotal, label
        for line in invoice.lines.all():
            credited = sum(CreditNoteLine.objects.filter(invoice_line=line).values_list("amount", flat=True), ZERO)
            assert line.credited_amount == credited <= line.amount, f"{label}, line {line.position}"
        cumulative = credited_so_far(
            base=invoice.effective_base,
            paid=invoice.amount_paid,
            total=invoice.effective_total,
            currency=invoice.currency,
        )
        assert invoice.credited == cumulative, f"{label}: credited {invoice.credited} != cumulative {cumulative}"
        assert invoice.payment_status == payment_status_for(
            total=invoice.total, amount_paid=invoice.amount_paid, credited_total=invoice.credited_total
        ), label
        expected_balance[invoice.account_id] += cumulative
        if invoice.is_postpaid and invoice.status == "approved":
            # Approval's rounding row (so that paying the rounded subtotal restores the balance exactly), and the
            # usage its credit notes credit back to the balance (SPEC §4).
            expected_balance[invoice.account_id] += invoice.usage_raw - invoice.subtotal + invoice.credited_subtotal
    for account in Account.objects.filter(pk__in=[u.pk for u in world.users]):
        label = f"after {after}: {account.name}"
        entries = sum(CreditEntry.objects.filter(account=account).values_list("amount", flat=True), ZERO)
        assert credit_of(account) == entries >= 0, label
        ledger = sum(BalanceTransaction.objects.filter(account=account).values_list("amount", flat=True), ZERO)
        assert account.balance == ledger == expected_balance[account.pk], (
            f"{label}: balance {account.balance}, ledger {ledger}, cumulative rule {expected_balance[account.pk]}"
        )
    kept = stats_snapshot(tenant=tenant)
    stats_rebuild(tenant=tenant)
    assert stats_snapshot(tenant=tenant) == kept, f"after {after}: the dashboard counters differ from a rebuild"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    recharges=st.tuples(
        st.sampled_from(["100.00", "33.33", "0.07", "1234.56"]), st.sampled_from(["10.00", "999.99", "0.01"])
    ),
    prices=st.tuples(st.sampled_from(["0.0075", "1.3333", "250.0"]), st.sampled_from(["0.0412", "7.77"])),
    steps=st.lists(STEPS, min_size=1, max_size=16),
)
@pytest.mark.django_db
def test_any_sequence_of_corrections_and_credits_keeps_the_figures(recharges, prices, steps):
    world = World(recharges, prices)
    invariants_check(world, "set-up")
    for number, step in enumerate(steps, start=1):
        before = snapshot(world)
        try:
            step_run(world, step)
        except DomainError as refusal:
            event(f"{step[0]}: refused ({refusal.code or type(refusal).__name__})")
            assert snapshot(world) == before, f"step {number} {step} was refused ({refusal!r}) but changed rows"
        else:
            event(f"{step[0]}: done")
        invariants_check(world, f"step {number} {step}")
