import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import Sum

from msgplatform.accounts.models import Account, BalanceTransaction, LedgerKind
from msgplatform.accounts.services.balance import InsufficientBalance, balance_change, balances_change
from tests.conftest import requires_postgres
from tests.factories import AccountFactory


def test_balance_change_writes_ledger_row_with_before_and_after(user):
    with transaction.atomic():
        row = balance_change(account=user, amount=Decimal("25.50"), kind=LedgerKind.ADJUSTMENT, reference="gift")

    user.refresh_from_db()
    assert user.balance == Decimal("25.500000")
    assert (row.balance_before, row.amount, row.balance_after) == (
        Decimal("0"),
        Decimal("25.500000"),
        Decimal("25.500000"),
    )
    assert row.kind == "adjustment" and row.reference == "gift"


def test_zero_change_writes_nothing(user):
    with transaction.atomic():
        assert balance_change(account=user, amount=Decimal("0.0000001"), kind=LedgerKind.ADJUSTMENT) is None
    assert BalanceTransaction.objects.count() == 0


def test_prepaid_floor_refuses_debit_below_zero_and_changes_nothing(user):
    with transaction.atomic():
        balance_change(account=user, amount=Decimal("10"), kind=LedgerKind.ADJUSTMENT)

    with pytest.raises(InsufficientBalance), transaction.atomic():
        balance_change(account=user, amount=Decimal("-10.01"), kind=LedgerKind.ADJUSTMENT, enforce_floor=True)

    user.refresh_from_db()
    assert user.balance == Decimal("10")
    assert BalanceTransaction.objects.filter(account=user).count() == 1


def test_postpaid_may_go_down_to_minus_overdraft_limit(postpaid_user):
    with transaction.atomic():
        balance_change(account=postpaid_user, amount=Decimal("-100.00"), kind=LedgerKind.ADJUSTMENT, enforce_floor=True)
    with pytest.raises(InsufficientBalance), transaction.atomic():
        balance_change(account=postpaid_user, amount=Decimal("-0.01"), kind=LedgerKind.ADJUSTMENT, enforce_floor=True)

    postpaid_user.refresh_from_db()
    assert postpaid_user.balance == Decimal("-100.000000")


@pytest.mark.django_db(transaction=True)
def test_balance_change_outside_transaction_is_refused():
    user = AccountFactory()
    with pytest.raises(RuntimeError):
        balance_change(account=user, amount=Decimal("1"), kind=LedgerKind.ADJUSTMENT)
    assert BalanceTransaction.objects.count() == 0


def test_float_amount_is_refused(user):
    with pytest.raises(TypeError), transaction.atomic():
        balance_change(account=user, amount=0.1, kind=LedgerKind.ADJUSTMENT)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_lose_no_update_and_balance_equals_ledger_sum():
    account = AccountFactory()
    amounts = [Decimal("1.000001") * (i + 1) * (1 if i % 3 else -1) for i in range(40)]
    barrier = threading.Barrier(8)
    errors = []

    def worker(chunk):
        try:
            barrier.wait()
            for amount in chunk:
                with transaction.atomic():
                    balance_change(account=account, amount=amount, kind=LedgerKind.ADJUSTMENT)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(amounts[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()

    assert errors == []
    account.refresh_from_db()
    ledger = BalanceTransaction.objects.filter(account=account)
    assert ledger.count() == 40
    assert account.balance == sum(amounts)
    assert ledger.aggregate(s=Sum("amount"))["s"] == account.balance
    # Every row chains from the previous one: no two writers saw the same "before".
    rows = list(ledger.order_by("id").values_list("balance_before", "balance_after"))
    for (_, prev_after), (before, _) in zip(rows, rows[1:], strict=False):
        assert before == prev_after
    assert Account.objects.get(pk=account.pk).balance == rows[-1][1]


def test_balances_change_writes_one_row_per_account_in_one_go(admin, user, postpaid_user):
    with transaction.atomic():
        balance_change(account=user, amount=Decimal("5"), kind=LedgerKind.ADJUSTMENT)
    with transaction.atomic():
        rows = balances_change(
            tenant_id=admin.tenant.id,
            amounts={user.id: Decimal("-1.2345675"), postpaid_user.id: Decimal("-0.000001"), 999999: Decimal("0")},
            kind=LedgerKind.USAGE,
            reference="usage batch 7",
        )

    assert [(r.account_id, r.amount, r.balance_before, r.balance_after) for r in rows] == [
        (user.id, Decimal("-1.234568"), Decimal("5"), Decimal("3.765432")),
        (postpaid_user.id, Decimal("-0.000001"), Decimal("0"), Decimal("-0.000001")),
    ]
    user.refresh_from_db()
    postpaid_user.refresh_from_db()
    assert (user.balance, postpaid_user.balance) == (Decimal("3.765432"), Decimal("-0.000001"))
    assert BalanceTransaction.objects.filter(reference="usage batch 7").count() == 2
