"""The only code that changes an account's balance.

Every change locks the account row (`SELECT ... FOR UPDATE`), writes one ledger row with the balance before and
after, and stores the new balance, all in the caller's transaction. Callers that touch several accounts lock them
through `accounts_lock` in id order so two such callers can never deadlock each other.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, Value, When

from msgplatform.core.errors import ValidationFailed

from ..models import Account, BalanceTransaction

LEDGER_QUANTUM = Decimal("0.000001")


class InsufficientBalance(ValidationFailed):
    code = "insufficient_balance"


def accounts_lock(*, tenant_id: int, account_ids: Iterable[int]) -> dict[int, Account]:
    """Lock the given accounts of one tenant in ascending id order; returns them by id."""
    ids = sorted(set(account_ids))
    locked = Account.objects.select_for_update().filter(tenant_id=tenant_id, id__in=ids).order_by("id")
    return {account.id: account for account in locked}


def balance_change(
    *,
    account: Account,
    amount: Decimal,
    kind: str,
    reference: str = "",
    actor_id: int | None = None,
    enforce_floor: bool = False,
    locked: bool = False,
) -> BalanceTransaction | None:
    """Add `amount` (signed) to the account's balance and write the ledger row. Zero writes nothing.

    `enforce_floor` refuses a change that would take the balance below the account's floor (0 for prepaid,
    -overdraft_limit for postpaid); usage that already happened is recorded regardless, so ingestion leaves it off.
    Pass `locked=True` when the caller already holds the row lock through `accounts_lock` (its instance is fresh).
    """
    if not isinstance(amount, Decimal):
        raise TypeError("balance amounts are Decimal")
    amount = amount.quantize(LEDGER_QUANTUM)
    if amount == 0:
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("balance_change must run inside a transaction")
    if not locked:
        account = Account.objects.select_for_update().get(pk=account.pk, tenant_id=account.tenant_id)
    before = account.balance
    after = before + amount
    if enforce_floor and amount < 0 and after < account.balance_floor:
        raise InsufficientBalance(
            f"{account.name}: balance {before} cannot go below {account.balance_floor}.", field="amount"
        )
    account.balance = after
    Account.objects.filter(pk=account.pk).update(balance=after)
    return BalanceTransaction.objects.create(
        tenant_id=account.tenant_id,
        account=account,
        amount=amount,
        kind=kind,
        reference=reference[:200],
        actor_id=actor_id,
        balance_before=before,
        balance_after=after,
    )


def balances_change(
    *, tenant_id: int, amounts: dict[int, Decimal], kind: str, reference: str = "", actor_id: int | None = None
) -> list[BalanceTransaction]:
    """Apply one signed amount to each of several accounts of a tenant: one ledger row per account.

    The same rules as `balance_change` (row locks in id order, before/after on every row, no floor: used for usage
    that already happened), written in three statements whatever the number of accounts: lock, one UPDATE of the
    balances, one INSERT of the ledger rows.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("balances_change must run inside a transaction")
    changes = {aid: Decimal(a).quantize(LEDGER_QUANTUM) for aid, a in amounts.items()}
    changes = {aid: a for aid, a in changes.items() if a != 0}
    if not changes:
        return []
    locked = accounts_lock(tenant_id=tenant_id, account_ids=changes)
    rows, after = [], {}
    for account_id in sorted(changes):
        account = locked[account_id]
        before = account.balance
        after[account_id] = before + changes[account_id]
        rows.append(
            BalanceTransaction(
                tenant_id=tenant_id,
                account_id=account_id,
                amount=changes[account_id],
                kind=kind,
                reference=reference[:200],
                actor_id=actor_id,
                balance_before=before,
                balance_after=after[account_id],
            )
        )
    Account.objects.filter(tenant_id=tenant_id, pk__in=list(after)).update(
        balance=Case(
            *(When(pk=pk, then=Value(value)) for pk, value in after.items()),
            output_field=DecimalField(max_digits=20, decimal_places=6),
        )
    )
    return BalanceTransaction.objects.bulk_create(rows)
