"""One payment received for a user, allocated across several of its invoices (SPEC §4).

The receipt's invoices are locked in id order, each allocation is a Payment row of its invoice (the per-invoice
rules apply: never above that invoice's balance due), and what is not allocated becomes the user's customer
credit. A receipt is reversed as a whole: every allocation, and the customer credit it left (which must still be
there; a refund or an application that used it is reversed first).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from msgplatform.core.errors import Conflict, NotFound, ValidationFailed

from .. import events
from ..locks import customer_credit_lock, invoices_lock, payment_lock
from ..models import CreditEntryKind, Invoice, InvoiceStatus, Payment, Receipt
from ..money import ZERO, money_format, money_parse
from ..selectors.invoices import open_invoices
from .builder import billing_account
from .customer_credit import credit_move
from .payments import duplicate_transaction, payment_apply, payment_guards, payment_unapply, transaction_id_free
from .stats import counters_batched, payment_counted


def allocation_default(invoices: list[Invoice], amount: Decimal) -> list[tuple[int, Decimal]]:
    """Oldest due first: each invoice takes what it owes until the amount runs out."""
    plan, left = [], amount
    for invoice in invoices:
        if left <= 0:
            break
        take = min(left, invoice.balance_due)
        plan.append((invoice.pk, take))
        left -= take
    return plan


def _allocations(tenant, raw, currency: str) -> list[tuple[int, Decimal]]:
    if not isinstance(raw, (list, tuple)):
        raise ValidationFailed("Allocations are a list of {invoice, amount}.", field="allocations")
    plan: dict[int, Decimal] = {}
    for item in raw:
        try:
            invoice_id = int(item["invoice"])
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed("Each allocation names an invoice id.", field="allocations")
        value = money_parse(item.get("amount"), currency=currency, field_name="allocations", allow_zero=True)
        if invoice_id in plan:
            raise ValidationFailed("Each invoice is allocated once.", field="allocations")
        plan[invoice_id] = value
    return [(i, v) for i, v in plan.items() if v > 0]


@transaction.atomic
def receipt_record(
    *,
    tenant,
    account_id,
    actor_id,
    amount,
    payment_date: datetime.date,
    payment_type: str,
    transaction_id: str = "",
    bank_reference: str = "",
    notes: str = "",
    allocations: list | None = None,
) -> Receipt:
    """Record a payment for the user: `allocations` [{invoice, amount}] (None: oldest due first), the rest kept
    as customer credit. Its counter changes are written once, after every allocation (stats.counters_batched)."""
    with counters_batched(tenant_id=tenant.id):
        return _receipt_record(
            tenant=tenant,
            account_id=account_id,
            actor_id=actor_id,
            amount=amount,
            payment_date=payment_date,
            payment_type=payment_type,
            transaction_id=transaction_id,
            bank_reference=bank_reference,
            notes=notes,
            allocations=allocations,
        )


def _receipt_record(
    *,
    tenant,
    account_id,
    actor_id,
    amount,
    payment_date: datetime.date,
    payment_type: str,
    transaction_id: str = "",
    bank_reference: str = "",
    notes: str = "",
    allocations: list | None = None,
) -> Receipt:
    payment_guards(tenant, payment_date, payment_type)
    account = billing_account(tenant, account_id)
    total = money_parse(amount, currency=tenant.currency, field_name="amount")
    transaction_id = (transaction_id or "").strip()
    wanted = None if allocations is None else _allocations(tenant, allocations, tenant.currency)
    candidates = [i.pk for i in open_invoices(tenant=tenant, account_id=account.pk)] if wanted is None else []
    locked = invoices_lock(tenant=tenant, invoice_ids=candidates if wanted is None else [i for i, _ in wanted])
    if wanted is None:
        ordered = sorted(
            (i for i in locked.values() if i.status == InvoiceStatus.APPROVED and i.balance_due > 0),
            key=lambda i: (i.due_date, i.invoice_date, i.pk),
        )
        wanted = allocation_default(ordered, total)
    allocated = sum((v for _, v in wanted), ZERO)
    if allocated > total:
        raise ValidationFailed(
            f"The allocations add up to {money_format(allocated, tenant.currency)}, more than the payment "
            f"{money_format(total, tenant.currency)}.",
            field="allocations",
            code="over_allocated",
        )
    for invoice_id, value in wanted:
        invoice = locked.get(invoice_id)
        if invoice is None or invoice.account_id != account.pk:
            raise NotFound(f"Invoice {invoice_id} is not an invoice of {account.name}.", field="allocations")
        if invoice.status != InvoiceStatus.APPROVED:
            raise Conflict(f"Invoice {invoice} is {invoice.status}; it takes no payment.", code=invoice.status)
        if value > invoice.balance_due:
            raise ValidationFailed(
                f"{money_format(value, tenant.currency)} is more than the balance due "
                f"{money_format(invoice.balance_due, tenant.currency)} of invoice {invoice}.",
                field="allocations",
                code="overpayment",
            )
    transaction_id_free(tenant, transaction_id)
    try:
        with transaction.atomic():
            receipt = Receipt.objects.create(
                tenant=tenant,
                account=account,
                currency=tenant.currency,
                amount=total,
                allocated=allocated,
                unallocated=total - allocated,
                payment_date=payment_date,
                payment_type=payment_type,
                transaction_id=transaction_id,
                bank_reference=(bank_reference or "").strip()[:100],
                notes=notes or "",
                recorded_by_id=actor_id,
            )
    except IntegrityError:
        raise duplicate_transaction(transaction_id)
    if receipt.unallocated:
        # Customer credit is locked after every invoice of the receipt and before the account's ledger.
        credit = customer_credit_lock(account=account)
        credit_move(
            credit,
            receipt.unallocated,
            kind=CreditEntryKind.UNAPPLIED_PAYMENT,
            description=f"Payment received #{receipt.pk}: not allocated to an invoice",
            actor_id=actor_id,
            receipt=receipt,
        )
        payment_counted(
            tenant_id=tenant.id, payment_date=payment_date, amount=receipt.unallocated, sign=1, counted=False
        )
    for invoice_id, value in sorted(wanted):
        invoice = locked[invoice_id]
        payment = Payment.objects.create(
            tenant=tenant,
            invoice=invoice,
            account_id=account.pk,
            receipt=receipt,
            amount=value,
            payment_date=payment_date,
            payment_type=payment_type,
            bank_reference=receipt.bank_reference,
            notes=receipt.notes,
            recorded_by_id=actor_id,
        )
        payment_apply(invoice, payment, actor_id=actor_id)
    events.receipt_recorded(account, receipt, actor_id=actor_id)
    return receipt


@transaction.atomic
def receipt_reverse(*, tenant, receipt_id, actor_id, reason: str) -> Receipt:
    """Reverse a payment for a user as a whole: every allocation and the customer credit it left."""
    with counters_batched(tenant_id=tenant.id):
        return _receipt_reverse(tenant=tenant, receipt_id=receipt_id, actor_id=actor_id, reason=reason)


def _receipt_reverse(*, tenant, receipt_id, actor_id, reason: str) -> Receipt:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the payment is reversed.", field="reason")
    row = Receipt.objects.filter(tenant=tenant, pk=receipt_id).select_related("account").first()
    if row is None:
        raise NotFound("No such payment.")
    invoice_ids = list(Payment.objects.filter(receipt=row).values_list("invoice_id", flat=True))
    locked = invoices_lock(tenant=tenant, invoice_ids=invoice_ids)
    receipt = Receipt.objects.select_for_update().get(pk=row.pk)
    if receipt.is_reversed:
        raise Conflict("This payment is already reversed.", code="already_reversed")
    payments = [
        payment_lock(payment_id=p)
        for p in Payment.objects.filter(receipt=receipt).order_by("id").values_list("pk", flat=True)
    ]
    credit = customer_credit_lock(account=row.account)
    if receipt.unallocated:
        credit_move(
            credit,
            -receipt.unallocated,
            kind=CreditEntryKind.PAYMENT_REVERSED,
            description=f"Payment received #{receipt.pk} reversed: {reason}",
            actor_id=actor_id,
            receipt=receipt,
            refusal=f"{money_format(receipt.unallocated, receipt.currency)} of this payment went to the user's "
            f"customer credit and only {money_format(credit.balance, receipt.currency)} of it is left; reverse the "
            "refund or credit application that used it first.",
        )
        payment_counted(
            tenant_id=tenant.id, payment_date=receipt.payment_date, amount=receipt.unallocated, sign=-1, counted=False
        )
    for payment in payments:
        if not payment.is_reversed:
            payment_unapply(locked[payment.invoice_id], payment, actor_id=actor_id, reason=reason)
    receipt.reversed_at = timezone.now()
    receipt.reversed_by_id = actor_id
    receipt.reversal_reason = reason[:300]
    receipt.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    events.receipt_reversed(row.account, receipt, actor_id=actor_id, reason=reason)
    return receipt
