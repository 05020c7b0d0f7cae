"""Payments received ("claims") and their reversals, with the balance credits they carry.

The invoice row is locked first (`SELECT ... FOR UPDATE`), so two people paying one invoice at once are
serialised and the second sees the first's amount: an invoice can never be overpaid. The account is locked
second by the ledger service. Credits follow SPEC §2's cumulative rule (money.credited_so_far).
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from msgplatform.accounts.models import LedgerKind
from msgplatform.accounts.services.balance import balance_change
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed

from .. import events
from ..locks import invoice_lock, payment_lock
from ..models import Invoice, InvoiceStatus, Payment, PaymentType
from ..money import credited_so_far, money_format, money_parse
from ..rules import payment_status_for
from .documents import schedule_pdf_render
from .stats import invoice_counted, payment_counted, state_of


def _apply_paid(invoice: Invoice, new_paid, *, reference: str, kind: str, actor_id) -> object:
    """Move amount_paid to `new_paid`, re-derive statuses and credit the balance by the cumulative rule."""
    credited = credited_so_far(base=invoice.credit_base, paid=new_paid, total=invoice.total, currency=invoice.currency)
    delta = credited - invoice.credited
    before = state_of(invoice)
    invoice.amount_paid = new_paid
    invoice.balance_due = invoice.total - new_paid
    invoice.payment_status = payment_status_for(total=invoice.total, amount_paid=new_paid)
    invoice.credited = credited
    invoice.save(update_fields=["amount_paid", "balance_due", "payment_status", "credited", "updated_at"])
    if delta:
        balance_change(account=invoice.account, amount=delta, kind=kind, reference=reference, actor_id=actor_id)
    invoice_counted(tenant_id=invoice.tenant_id, before=before, after=state_of(invoice))
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
    if payment_date is None:
        raise ValidationFailed("Give the payment date.", field="payment_date")
    if payment_date > tenant_today(tenant):
        raise ValidationFailed("The payment date cannot be in the future.", field="payment_date")
    if payment_type not in PaymentType.values:
        raise ValidationFailed(f"Payment type must be one of {', '.join(PaymentType.values)}.", field="payment_type")
    transaction_id = (transaction_id or "").strip()
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    amount = money_parse(amount, currency=invoice.currency, field_name="amount")  # in the invoice's currency
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict(
            f"Draft #{invoice.pk} is not approved yet; approve it before recording a payment.", code="not_approved"
        )
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice} is void.", code="void")
    if amount > invoice.balance_due:
        raise ValidationFailed(
            f"The payment {money_format(amount, invoice.currency)} is more than the balance due "
            f"{money_format(invoice.balance_due, invoice.currency)} of invoice {invoice}.",
            field="amount",
            code="overpayment",
        )
    if transaction_id and Payment.objects.filter(tenant=tenant, transaction_id=transaction_id).exists():
        raise Conflict(
            f"A payment with transaction id {transaction_id} is already recorded.",
            field="transaction_id",
            code="duplicate_transaction",
        )
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
        raise Conflict(
            f"A payment with transaction id {transaction_id} is already recorded.",
            field="transaction_id",
            code="duplicate_transaction",
        )
    kind = LedgerKind.RECHARGE if invoice.billing_method == "prepaid" else LedgerKind.INVOICE_PAYMENT
    delta = _apply_paid(
        invoice,
        invoice.amount_paid + amount,
        reference=f"invoice {invoice.number} payment",
        kind=kind,
        actor_id=actor_id,
    )
    Payment.objects.filter(pk=payment.pk).update(credit_delta=delta)
    payment_counted(tenant_id=tenant.id, payment_date=payment_date, amount=amount, sign=1)
    payment.credit_delta = delta
    events.payment_recorded(invoice, payment, actor_id=actor_id, credited=delta)
    schedule_pdf_render(invoice.pk)
    return payment


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
    delta = _apply_paid(
        invoice,
        invoice.amount_paid - payment.amount,
        reference=f"invoice {invoice.number} payment reversed",
        kind=LedgerKind.PAYMENT_REVERSAL,
        actor_id=actor_id,
    )
    payment.reversed_at = timezone.now()
    payment.reversed_by_id = actor_id
    payment.reversal_reason = reason[:300]
    payment.reversal_credit_delta = delta
    payment.save(update_fields=["reversed_at", "reversed_by", "reversal_reason", "reversal_credit_delta"])
    payment_counted(tenant_id=tenant.id, payment_date=payment.payment_date, amount=payment.amount, sign=-1)
    events.payment_reversed(invoice, payment, actor_id=actor_id, reason=reason, credited=delta)
    schedule_pdf_render(invoice.pk)
    return payment
