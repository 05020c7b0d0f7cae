"""Customer credit (SPEC §4): money that belongs to a user but to no invoice, kept as its own ledger.

Sources: a credit note's excess over what was paid, the unallocated rest of a payment received for the user, a
manual adjustment, a reversed application or refund. Uses: applied to an invoice (a payment of type `credit`),
refunded to the user, taken back when the payment that funded it is reversed. Never negative: every change locks
the user's CustomerCredit row (after the invoices, see invoicing/locks.py) and refuses what would overdraw it.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed

from .. import events
from ..locks import customer_credit_lock
from ..models import CreditEntry, CreditEntryKind, CustomerCredit, Refund, RefundMethod
from ..money import money_format, money_parse
from .builder import billing_account


class InsufficientCredit(Conflict):
    code = "insufficient_credit"


def credit_move(
    credit: CustomerCredit, amount, *, kind: str, description: str, actor_id, refusal: str = "", **links
) -> CreditEntry | None:
    """Add `amount` (signed) to the locked customer credit and write its ledger row; refuses going below zero with
    `refusal` (or a default message) and changes nothing. Zero writes nothing (None), like the balance ledger."""
    if amount == 0:
        return None
    after = credit.balance + amount
    if after < 0:
        raise InsufficientCredit(
            refusal
            or f"The user has {money_format(credit.balance, credit.currency)} of customer credit, less than "
            f"{money_format(-amount, credit.currency)}.",
            field="amount",
        )
    entry = CreditEntry.objects.create(
        tenant_id=credit.tenant_id,
        account_id=credit.account_id,
        amount=amount,
        kind=kind,
        balance_before=credit.balance,
        balance_after=after,
        description=description[:300],
        actor_id=actor_id,
        **links,
    )
    credit.balance = after
    CustomerCredit.objects.filter(pk=credit.pk).update(balance=after, updated_at=timezone.now())
    return entry


def _date(tenant, value, field: str) -> datetime.date:
    if value is None:
        return tenant_today(tenant)
    if value > tenant_today(tenant):
        raise ValidationFailed("The date cannot be in the future.", field=field)
    return value


@transaction.atomic
def credit_adjust(*, tenant, account_id, actor_id, amount, reason: str) -> CreditEntry:
    """A manual adjustment of the user's customer credit: `amount` signed ("-25.00" takes credit away)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the credit is adjusted.", field="reason")
    account = billing_account(tenant, account_id)
    text = str(amount).strip() if amount is not None else ""
    negative = text.startswith("-")
    value = money_parse(text[1:] if negative else text, currency=tenant.currency, field_name="amount")
    credit = customer_credit_lock(account=account)
    entry = credit_move(
        credit,
        -value if negative else value,
        kind=CreditEntryKind.ADJUSTMENT,
        description=reason,
        actor_id=actor_id,
    )
    events.credit_adjusted(account, entry, actor_id=actor_id, reason=reason)
    return entry


@transaction.atomic
def refund_record(
    *,
    tenant,
    account_id,
    actor_id,
    amount,
    refund_date: datetime.date | None = None,
    method: str,
    reference: str = "",
    notes: str = "",
) -> Refund:
    """Pay customer credit back to the user (money leaves the admin: date, method, reference)."""
    account = billing_account(tenant, account_id)
    if method not in RefundMethod.values:
        raise ValidationFailed(f"Refund method must be one of {', '.join(RefundMethod.values)}.", field="method")
    value = money_parse(amount, currency=tenant.currency, field_name="amount")
    refund_date = _date(tenant, refund_date, "refund_date")
    credit = customer_credit_lock(account=account)
    refund = Refund.objects.create(
        tenant=tenant,
        account=account,
        currency=tenant.currency,
        amount=value,
        refund_date=refund_date,
        method=method,
        reference=(reference or "").strip()[:100],
        notes=notes or "",
        recorded_by_id=actor_id,
    )
    credit_move(
        credit,
        -value,
        kind=CreditEntryKind.REFUND,
        description=f"Refund by {RefundMethod(method).label.lower()}"
        + (f" {refund.reference}" if refund.reference else ""),
        actor_id=actor_id,
        refund=refund,
        refusal=f"The refund {money_format(value, tenant.currency)} is more than the user's customer credit "
        f"{money_format(credit.balance, tenant.currency)}.",
    )
    events.refund_recorded(account, refund, actor_id=actor_id)
    return refund


@transaction.atomic
def refund_reverse(*, tenant, refund_id, actor_id, reason: str) -> Refund:
    """The refund did not happen (a bounced transfer): its amount returns to the user's customer credit."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the refund is reversed.", field="reason")
    row = Refund.objects.filter(tenant=tenant, pk=refund_id).select_related("account").first()
    if row is None:
        raise NotFound("No such refund.")
    credit = customer_credit_lock(account=row.account)
    refund = Refund.objects.select_for_update().get(pk=row.pk)
    if refund.is_reversed:
        raise Conflict("This refund is already reversed.", code="already_reversed")
    refund.reversed_at = timezone.now()
    refund.reversed_by_id = actor_id
    refund.reversal_reason = reason[:300]
    refund.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    credit_move(
        credit,
        refund.amount,
        kind=CreditEntryKind.REFUND_REVERSED,
        description=f"Refund reversed: {reason}",
        actor_id=actor_id,
        refund=refund,
    )
    events.refund_reversed(row.account, refund, actor_id=actor_id, reason=reason)
    return refund
