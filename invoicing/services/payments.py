"""Payments received ("claims") and their reversals, with the balance credits they carry.

The invoice row is locked first (`SELECT ... FOR UPDATE`), so two people paying one invoice at once are
serialised and the second sees the first's amount: an invoice can never be overpaid. The account is locked
second by the ledger service. Credits follow SPEC §2's cumulative rule (money.credited_so_far).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from msgplatform.accounts.models import LedgerKind
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed

from .. import events
from ..locks import customer_credit_lock, invoice_lock, payment_lock
from ..models import CREDIT_PAYMENT, CreditEntryKind, Invoice, InvoiceStatus, Payment, PaymentType, Receipt
from ..money import money_format, money_parse
from .customer_credit import InsufficientCredit, credit_move
from .documents import schedule_pdf_render
from .settlement import invoice_settle
from .stats import payment_counted


def payment_guards(tenant, payment_date, payment_type) -> None:
    if payment_date is None:
        raise ValidationFailed("Give the payment date.", field="payment_date")
    if payment_date > tenant_today(tenant):
        raise ValidationFailed("The payment date cannot be in the future.", field="payment_date")
    if payment_type not in PaymentType.values:
        raise ValidationFailed(f"Payment type must be one of {', '.join(PaymentType.values)}.", field="payment_type")


def invoice_payable(invoice: Invoice) -> None:
    """Refuse a payment on an invoice that takes none: a draft or a void invoice."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict(
            f"Draft #{invoice.pk} is not approved yet; approve it before recording a payment.", code="not_approved"
        )
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice} is void.", code="void")


def duplicate_transaction(transaction_id: str) -> Conflict:
    return Conflict(
        f"A payment with transaction id {transaction_id} is already recorded.",
        field="transaction_id",
        code="duplicate_transaction",
    )


def transaction_id_free(tenant, transaction_id: str) -> None:
    """A bank transaction is recorded once, whether as a payment of one invoice or a payment for a user."""
    if transaction_id and (
        Payment.objects.filter(tenant=tenant, transaction_id=transaction_id).exists()
        or Receipt.objects.filter(tenant=tenant, transaction_id=transaction_id).exists()
    ):
        raise duplicate_transaction(transaction_id)


def payment_kind(invoice: Invoice) -> str:
    return LedgerKind.RECHARGE if invoice.billing_method == "prepaid" else LedgerKind.INVOICE_PAYMENT


def payment_apply(invoice: Invoice, payment: Payment, *, actor_id) -> Decimal:
    """Put a new payment row on the locked invoice: settle, keep the ledger delta on the row, count money received,
    write the event, re-render the PDF after commit."""
    delta = invoice_settle(
        invoice,
        invoice.amount_paid + payment.amount,
        reference=f"invoice {invoice.number} payment",
        kind=payment_kind(invoice),
        actor_id=actor_id,
    )
    Payment.objects.filter(pk=payment.pk).update(credit_delta=delta)
    payment.credit_delta = delta
    if not payment.is_credit:
        payment_counted(tenant_id=invoice.tenant_id, payment_date=payment.payment_date, amount=payment.amount, sign=1)
    events.payment_recorded(invoice, payment, actor_id=actor_id, credited=delta)
    schedule_pdf_render(invoice.pk)
    return delta


@transaction.atomic
def payment_record(
    *,
    tenant,
    invoice_id,
    actor_id,
    amount,
    payment_date: datetime.date,
    payment_type: str,
    transaction_id: str = "",
    bank_reference: str = "",
    notes: str = "",
) -> Payment:
    payment_guards(tenant, payment_date, payment_type)
    transaction_id = (transaction_id or "").strip()
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    amount = money_parse(amount, currency=invoice.currency, field_name="amount")  # in the invoice's currency
    invoice_payable(invoice)
    if amount > invoice.balance_due:
        raise ValidationFailed(
            f"The payment {money_format(amount, invoice.currency)} is more than the balance due "
            f"{money_format(invoice.balance_due, invoice.currency)} of invoice {invoice}; to keep the excess as "
            "customer credit, record it as a payment for the user.",
            field="amount",
            code="overpayment",
        )
    transaction_id_free(tenant, transaction_id)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                tenant=tenant,
                invoice=invoice,
                account_id=invoice.account_id,
                amount=amount,
                payment_date=payment_date,
                payment_type=payment_type,
                transaction_id=transaction_id,
                bank_reference=(bank_reference or "").strip()[:100],
                notes=notes or "",
                recorded_by_id=actor_id,
            )
    except IntegrityError:
        raise duplicate_transaction(transaction_id)
    payment_apply(invoice, payment, actor_id=actor_id)
    return payment


@transaction.atomic
def credit_apply(*, tenant, invoice_id, actor_id, amount=None, payment_date: datetime.date | None = None) -> Payment:
    """Apply the user's customer credit to one of its invoices: a payment of type `credit` (SPEC §4), at most the
    balance due and the credit available (the whole of the smaller when `amount` is None)."""
    payment_date = tenant_today(tenant) if payment_date is None else payment_date
    if payment_date > tenant_today(tenant):
        raise ValidationFailed("The payment date cannot be in the future.", field="payment_date")
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    invoice_payable(invoice)
    credit = customer_credit_lock(account=invoice.account)
    if invoice.balance_due <= 0:
        raise Conflict(f"Invoice {invoice} has nothing left to pay.", code="nothing_due")
    if amount is None:
        amount = min(invoice.balance_due, credit.balance)
        if amount <= 0:
            raise InsufficientCredit("The user has no customer credit to apply.", field="amount")
    else:
        amount = money_parse(amount, currency=invoice.currency, field_name="amount")
    if amount > invoice.balance_due:
        raise ValidationFailed(
            f"The credit {money_format(amount, invoice.currency)} is more than the balance due "
            f"{money_format(invoice.balance_due, invoice.currency)} of invoice {invoice}.",
            field="amount",
            code="overpayment",
        )
    payment = Payment.objects.create(
        tenant=tenant,
        invoice=invoice,
        account_id=invoice.account_id,
        amount=amount,
        payment_date=payment_date,
        payment_type=CREDIT_PAYMENT,
        notes="Customer credit applied",
        recorded_by_id=actor_id,
    )
    credit_move(
        credit,
        -amount,
        kind=CreditEntryKind.APPLIED,
        description=f"Applied to invoice {invoice.number}",
        actor_id=actor_id,
        payment=payment,
        refusal=f"The user has {money_format(credit.balance, invoice.currency)} of customer credit, less than "
        f"{money_format(amount, invoice.currency)}.",
    )
    payment_apply(invoice, payment, actor_id=actor_id)
    return payment


def payment_unapply(invoice: Invoice, payment: Payment, *, actor_id, reason: str) -> Decimal:
    """Reverse one payment row on its locked invoice: what it applies leaves the invoice; a credit application
    returns to customer credit, and the customer credit a credit note made of a money payment is taken back."""
    if payment.is_credit or payment.moved_to_credit:
        credit = customer_credit_lock(account=invoice.account)  # before the account's ledger (lock order)
        if payment.is_credit:
            credit_move(
                credit,
                payment.applied,
                kind=CreditEntryKind.APPLICATION_REVERSED,
                description=f"Application to invoice {invoice.number} reversed: {reason}",
                actor_id=actor_id,
                payment=payment,
            )
        else:
            credit_move(
                credit,
                -payment.moved_to_credit,
                kind=CreditEntryKind.PAYMENT_REVERSED,
                description=f"Payment on invoice {invoice.number} reversed: {reason}",
                actor_id=actor_id,
                payment=payment,
                refusal=f"A credit note moved {money_format(payment.moved_to_credit, invoice.currency)} of this "
                f"payment to the user's customer credit, and only {money_format(credit.balance, invoice.currency)} "
                "of it is left; reverse the refund or credit application that used it first.",
            )
    delta = invoice_settle(
        invoice,
        invoice.amount_paid - payment.applied,
        reference=f"invoice {invoice.number} payment reversed",
        kind=LedgerKind.PAYMENT_REVERSAL,
        actor_id=actor_id,
    )
    payment.reversed_at = timezone.now()
    payment.reversed_by_id = actor_id
    payment.reversal_reason = reason[:300]
    payment.reversal_credit_delta = delta
    payment.save(update_fields=["reversed_at", "reversed_by", "reversal_reason", "reversal_credit_delta"])
    if not payment.is_credit:
        payment_counted(tenant_id=invoice.tenant_id, payment_date=payment.payment_date, amount=payment.amount, sign=-1)
    events.payment_reversed(invoice, payment, actor_id=actor_id, reason=reason, credited=delta)
    schedule_pdf_render(invoice.pk)
    return delta


@transaction.atomic
def payment_reverse(*, tenant, payment_id, actor_id, reason: str) -> Payment:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the payment is reversed.", field="reason")
    invoice_id = Payment.objects.filter(tenant=tenant, pk=payment_id).values_list("invoice_id", flat=True).first()
    if invoice_id is None:
        raise NotFound("No such payment.")
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    payment = payment_lock(payment_id=payment_id)
    if payment.is_reversed:
        raise Conflict("This payment is already reversed.", code="already_reversed")
    if payment.receipt_id is not None:
        raise Conflict(
            f"This payment is part of payment received #{payment.receipt_id} across several invoices; "
            "reverse that payment as a whole.",
            code="part_of_receipt",
        )
    payment_unapply(invoice, payment, actor_id=actor_id, reason=reason)
    return payment
