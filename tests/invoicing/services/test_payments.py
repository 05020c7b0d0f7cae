import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.models import Invoice, InvoiceSequence, Payment
from invoicing.money import money_round
from invoicing.services.configuration import tax_rate_create
from invoicing.services.invoices import invoice_approve, invoice_create_prepaid
from invoicing.services.payments import payment_record, payment_reverse
from msgplatform.accounts.models import BalanceTransaction
from msgplatform.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, LicenseFactory, TenantFactory

D = datetime.date
TODAY = D(2026, 3, 20)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def invoice(admin, user):
    tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")
    return invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1000.00")


def pay(admin, invoice, amount, **kwargs):
    defaults = {"payment_date": TODAY, "payment_type": "bank_transfer"}
    return payment_record(
        tenant=admin.tenant, invoice_id=invoice.id, actor_id=admin.login.id, amount=amount, **{**defaults, **kwargs}
    )


def state(invoice, account):
    invoice.refresh_from_db()
    account.refresh_from_db()
    return invoice.payment_status, invoice.amount_paid, invoice.balance_due, account.balance


def test_spec_worked_example_payments_and_reversal(admin, user, invoice):
    first = pay(admin, invoice, "500.00")
    assert state(invoice, user) == ("partially_paid", Decimal("500.00"), Decimal("575.00"), Decimal("465.12"))
    assert first.credit_delta == Decimal("465.12")

    second = pay(admin, invoice, "575.00", transaction_id="TX-2")
    assert state(invoice, user) == ("paid", Decimal("1075.00"), Decimal("0.00"), Decimal("1000.00"))
    assert second.credit_delta == Decimal("534.88")

    reversed_payment = payment_reverse(tenant=admin.tenant, payment_id=second.id, actor_id=None, reason="bounced")
    assert state(invoice, user) == ("partially_paid", Decimal("500.00"), Decimal("575.00"), Decimal("465.12"))
    assert reversed_payment.reversal_credit_delta == Decimal("-534.88")
    assert list(BalanceTransaction.objects.order_by("id").values_list("kind", "amount")) == [
        ("recharge", Decimal("465.12")),
        ("recharge", Decimal("534.88")),
        ("payment_reversal", Decimal("-534.88")),
    ]


def snapshot():
    return (
        list(Invoice.objects.values_list("amount_paid", "payment_status")),
        Payment.objects.count(),
        BalanceTransaction.objects.count(),
    )


@pytest.mark.parametrize(
    "amount,kwargs,error_field",
    [
        ("1075.01", {}, "amount"),
        ("0", {}, "amount"),
        ("-1", {}, "amount"),
        ("10.001", {}, "amount"),
        ("10", {"payment_date": D(2026, 3, 21)}, "payment_date"),
        ("10", {"payment_type": "bitcoin"}, "payment_type"),
    ],
)
def test_refused_payments_change_nothing(admin, invoice, amount, kwargs, error_field):
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        pay(admin, invoice, amount, **kwargs)
    assert error.value.field == error_field
    assert snapshot() == before


def test_payment_above_balance_due_after_partial_is_refused(admin, invoice):
    pay(admin, invoice, "1000.00")
    with pytest.raises(ValidationFailed) as error:
        pay(admin, invoice, "75.01")
    assert error.value.code == "overpayment"


def test_draft_and_void_invoices_take_no_payment(admin, user, invoice):
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="5", as_draft=True
    )
    from invoicing.services.invoices import invoice_void

    invoice_void(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="duplicate")
    before = snapshot()
    with pytest.raises(Conflict, match="not approved"):
        pay(admin, draft, "1")
    with pytest.raises(Conflict, match="void"):
        pay(admin, invoice, "1")
    assert snapshot() == before


def test_transaction_id_is_unique_per_admin_only(admin, other_admin, invoice):
    pay(admin, invoice, "1.00", transaction_id="BANK-77")
    with pytest.raises(Conflict) as error:
        pay(admin, invoice, "1.00", transaction_id="BANK-77")
    assert error.value.field == "transaction_id"

    foreign_user = AccountFactory(tenant=other_admin.tenant)
    foreign_invoice = invoice_create_prepaid(
        tenant=other_admin.tenant, account_id=foreign_user.id, actor_id=None, recharge_amount="10.00"
    )
    payment_record(
        tenant=other_admin.tenant,
        invoice_id=foreign_invoice.id,
        actor_id=None,
        amount="1.00",
        payment_date=TODAY,
        payment_type="cash",
        transaction_id="BANK-77",
    )
    assert Payment.objects.filter(transaction_id="BANK-77").count() == 2


def test_another_tenants_invoice_and_payment_are_not_found(admin, other_admin, invoice):
    payment = pay(admin, invoice, "1.00")
    with pytest.raises(NotFound):
        payment_record(
            tenant=other_admin.tenant,
            invoice_id=invoice.id,
            actor_id=None,
            amount="1.00",
            payment_date=TODAY,
            payment_type="cash",
        )
    with pytest.raises(NotFound):
        payment_reverse(tenant=other_admin.tenant, payment_id=payment.id, actor_id=None, reason="x")
    assert Payment.objects.get().reversed_at is None


def test_reversal_needs_a_reason_and_happens_once(admin, invoice):
    payment = pay(admin, invoice, "1.00")
    with pytest.raises(ValidationFailed):
        payment_reverse(tenant=admin.tenant, payment_id=payment.id, actor_id=None, reason="")
    payment_reverse(tenant=admin.tenant, payment_id=payment.id, actor_id=None, reason="error")
    with pytest.raises(Conflict):
        payment_reverse(tenant=admin.tenant, payment_id=payment.id, actor_id=None, reason="again")
    assert BalanceTransaction.objects.count() == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    recharge=st.decimals(min_value=Decimal("1"), max_value=Decimal("50000"), places=0),
    rates=st.lists(st.decimals(min_value=Decimal("0"), max_value=Decimal("25"), places=2), max_size=2),
    weights=st.lists(st.integers(1, 50), min_size=1, max_size=5),
)
@pytest.mark.django_db
def test_any_payment_split_settles_to_zero_credits_the_recharge_and_reverses_cleanly(
    currency, recharge, rates, weights
):
    tenant = TenantFactory(currency=currency)
    LicenseFactory(tenant=tenant)
    account = AccountFactory(tenant=tenant)
    for i, rate in enumerate(rates):
        tax_rate_create(tenant=tenant, actor_id=None, name=f"T{i}", rate=rate)
    invoice = invoice_create_prepaid(tenant=tenant, account_id=account.id, actor_id=None, recharge_amount=str(recharge))
    assert invoice.total == invoice.subtotal + sum(t.amount for t in invoice.taxes.all())

    parts = [money_round(invoice.total * w / sum(weights), currency) for w in weights[:-1]]
    parts = [p for p in parts if p > 0]
    parts.append(invoice.total - sum(parts))
    payments = []
    for amount in parts:
        if amount > 0:
            payments.append(
                payment_record(
                    tenant=tenant,
                    invoice_id=invoice.id,
                    actor_id=None,
                    amount=amount,
                    payment_date=TODAY,
                    payment_type="cash",
                )
            )
    invoice.refresh_from_db()
    account.refresh_from_db()
    assert (invoice.balance_due, invoice.payment_status) == (0, "paid")
    assert account.balance == recharge

    for payment in reversed(payments):
        payment_reverse(tenant=tenant, payment_id=payment.id, actor_id=None, reason="test")
    invoice.refresh_from_db()
    account.refresh_from_db()
    assert (invoice.amount_paid, invoice.balance_due, invoice.payment_status) == (0, invoice.total, "unpaid")
    assert account.balance == 0


def run_threads(count, target):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait()
            results.append(target(i))
        except DomainError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()
    return results, errors


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_payments_never_exceed_the_total():
    tenant = TenantFactory()
    LicenseFactory(tenant=tenant)
    account = AccountFactory(tenant=tenant)
    invoice = invoice_create_prepaid(tenant=tenant, account_id=account.id, actor_id=None, recharge_amount="100.00")

    results, errors = run_threads(
        20,
        lambda i: payment_record(
            tenant=tenant, invoice_id=invoice.id, actor_id=None, amount="7.00", payment_date=TODAY, payment_type="cash"
        ),
    )

    invoice.refresh_from_db()
    account.refresh_from_db()
    assert len(results) == 14 and len(errors) == 6
    assert all(e.code == "overpayment" for e in errors)
    assert (invoice.amount_paid, invoice.balance_due) == (Decimal("98.00"), Decimal("2.00"))
    assert account.balance == Decimal("98.00")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_approvals_give_consecutive_numbers():
    tenant = TenantFactory()
    LicenseFactory(tenant=tenant)
    account = AccountFactory(tenant=tenant)
    drafts = [
        invoice_create_prepaid(tenant=tenant, account_id=account.id, actor_id=None, recharge_amount="1", as_draft=True)
        for _ in range(20)
    ]

    results, errors = run_threads(20, lambda i: invoice_approve(tenant=tenant, invoice_id=drafts[i].id, actor_id=None))

    assert errors == [] and len(results) == 20
    numbers = sorted(Invoice.objects.filter(tenant=tenant).values_list("sequence_number", flat=True))
    assert numbers == list(range(1, 21))
    assert InvoiceSequence.objects.get(tenant=tenant).last_value == 20
