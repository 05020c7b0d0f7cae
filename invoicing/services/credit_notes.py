"""Credit notes (SPEC §4): the only correction of an approved invoice.

One transaction: the invoice row locked, then the admin's credit-note counter (gapless numbers), then the user's
customer credit, then the account's ledger. The credit note's lines credit invoice lines (up to what is left
uncredited of each) or one adjustment; its taxes are the invoice's frozen rates on its subtotal; all credit notes
of an invoice together never exceed its total (checked here and by the invoice's database constraints).

Effects: the invoice's effective total and base drop; a paid amount above the new effective total moves to the
user's customer credit (taken from the newest payments first, each remembering how much of it moved); the balance
ledger gets the cumulative rule's difference on the effective figures, and a postpaid invoice's credit note also
credits the balance with its subtotal (the usage the user will not pay for).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from msgplatform.accounts.models import LedgerKind
from msgplatform.accounts.services.balance import balance_change
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, ValidationFailed

from .. import events
from ..locks import customer_credit_lock, invoice_lock
from ..models import (
    CreditEntryKind,
    CreditNote,
    CreditNoteLine,
    CreditNoteTax,
    Invoice,
    InvoiceStatus,
    Payment,
)
from ..money import ZERO, credit_note_taxes, money_format, money_parse
from .configuration import settings_for
from .customer_credit import credit_move
from .documents import schedule_pdf_render
from .numbering import credit_note_sequence_next, number_render
from .settlement import invoice_settle
from .stats import credit_note_counted


@dataclass(frozen=True)
class Creditable:
    """What is left to credit of an invoice: per line (id -> amount left) and in all."""

    lines: dict[int, Decimal]
    subtotal: Decimal
    total: Decimal


def creditable(invoice: Invoice) -> Creditable:
    """What credit notes may still credit of `invoice` (read under its lock when about to issue)."""
    lines = {line.pk: line.amount - line.credited_amount for line in invoice.lines.all() if line.amount > 0}
    return Creditable(lines=lines, subtotal=invoice.subtotal - invoice.credited_subtotal, total=invoice.effective_total)


def _issuable(invoice: Invoice) -> None:
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict(
            f"Draft #{invoice.pk} is not approved; edit or regenerate it instead of crediting it.", code="not_approved"
        )
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice} is void; a void invoice cannot be credited.", code="void")
    if invoice.effective_total <= 0:
        raise Conflict(f"Invoice {invoice} is credited in full already.", code="fully_credited")


def _amounts(invoice: Invoice, left: Creditable, lines, amount) -> list[tuple[int | None, str, Decimal]]:
    """(invoice line id or None, description, amount) of the credit note, or a field error."""
    if (lines is None) == (amount is None):
        raise ValidationFailed("Credit either invoice lines or one adjustment amount.", field="lines")
    if amount is not None:
        value = money_parse(amount, currency=invoice.currency, field_name="amount")
        return [(None, "Adjustment", value)]
    if not isinstance(lines, dict) or not lines:
        raise ValidationFailed("Give an amount for at least one invoice line.", field="lines")
    by_id = {line.pk: line for line in invoice.lines.all()}
    chosen = []
    for raw_id, raw_amount in lines.items():
        try:
            line_id = int(raw_id)
        except (TypeError, ValueError):
            raise ValidationFailed("Invoice line ids are integers.", field="lines")
        line = by_id.get(line_id)
        if line is None:
            raise ValidationFailed(f"Invoice {invoice} has no line {raw_id}.", field="lines")
        value = money_parse(raw_amount, currency=invoice.currency, field_name="lines", allow_zero=True)
        if value == 0:
            continue
        remaining = left.lines.get(line_id, ZERO)
        if value > remaining:
            raise ValidationFailed(
                f"Line {line.position} \u201c{line.description[:60]}\u201d has "
                f"{money_format(remaining, invoice.currency)} left to credit, less than "
                f"{money_format(value, invoice.currency)}.",
                field="lines",
                code="exceeds_line",
            )
        chosen.append((line_id, line.description, value, line.position))
    if not chosen:
        raise ValidationFailed("Give an amount for at least one invoice line.", field="lines")
    return [(line_id, text, value) for line_id, text, value, _ in sorted(chosen, key=lambda c: c[3])]


def _move_excess(invoice: Invoice, excess: Decimal) -> None:
    """Take `excess` off the invoice's active payments, newest first, marking how much of each moved to credit."""
    for payment in (
        Payment.objects.select_for_update().filter(invoice=invoice, reversed_at__isnull=True).order_by("-id")
    ):
        if excess <= 0:
            return
        take = min(excess, payment.applied)
        if take > 0:
            Payment.objects.filter(pk=payment.pk).update(moved_to_credit=payment.moved_to_credit + take)
            excess -= take
    if excess > 0:
        raise RuntimeError(f"invoice {invoice.pk}: paid amount not covered by its payments")


@transaction.atomic
def credit_note_issue(
    *,
    tenant,
    invoice_id,
    actor_id,
    reason: str,
    lines: dict | None = None,
    amount=None,
    issue_date: datetime.date | None = None,
) -> CreditNote:
    """Issue a credit note against an approved invoice: `lines` {invoice line id: amount} or one `amount`."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the invoice is credited.", field="reason")
    today = tenant_today(tenant)
    issue_date = today if issue_date is None else issue_date
    if issue_date > today:
        raise ValidationFailed("The credit note cannot be dated in the future.", field="issue_date")
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    _issuable(invoice)
    if issue_date < invoice.invoice_date:
        raise ValidationFailed(
            f"The credit note cannot be dated before invoice {invoice} ({invoice.invoice_date:%d %b %Y}).",
            field="issue_date",
        )
    left = creditable(invoice)
    chosen = _amounts(invoice, left, lines, amount)
    subtotal = sum((value for _, _, value in chosen), ZERO)
    if subtotal > left.subtotal:
        raise ValidationFailed(
            f"Invoice {invoice} has {money_format(left.subtotal, invoice.currency)} before tax left to credit, "
            f"less than {money_format(subtotal, invoice.currency)}.",
            field="amount" if amount is not None else "lines",
            code="exceeds_invoice",
        )
    invoice_taxes = list(invoice.taxes.all())
    credited_taxes = dict(
        CreditNoteTax.objects.filter(invoice_tax__in=invoice_taxes)
        .values("invoice_tax")
        .annotate(s=Sum("amount"))
        .values_list("invoice_tax", "s")
    )
    tax_amounts = credit_note_taxes(
        subtotal=subtotal,
        remaining_subtotal=left.subtotal,
        taxes=[(t.rate, t.amount - credited_taxes.get(t.pk, ZERO)) for t in invoice_taxes],
        currency=invoice.currency,
    )
    tax_total = sum(tax_amounts, ZERO)
    total = subtotal + tax_total
    if total > left.total:  # cannot happen with the caps above; the database would refuse it too
        raise ValidationFailed("The credit note would exceed the invoice.", field="amount", code="exceeds_invoice")

    seq = credit_note_sequence_next(tenant_id=tenant.id)
    note = CreditNote.objects.create(
        tenant=tenant,
        invoice=invoice,
        account_id=invoice.account_id,
        number=number_render(settings_for(tenant).credit_note_number_format, seq, issue_date),
        sequence_number=seq,
        currency=invoice.currency,
        issue_date=issue_date,
        reason=reason[:500],
        subtotal=subtotal,
        tax_total=tax_total,
        total=total,
        created_by_id=actor_id,
    )
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(credit_note=note, position=i, invoice_line_id=line_id, description=text[:300], amount=value)
        for i, (line_id, text, value) in enumerate(chosen, start=1)
    )
    CreditNoteTax.objects.bulk_create(
        CreditNoteTax(credit_note=note, invoice_tax=tax, name=tax.name, rate=tax.rate, amount=value)
        for tax, value in zip(invoice_taxes, tax_amounts, strict=True)
        if value
    )
    for line_id, _text, value in chosen:
        if line_id is not None:
            line = invoice.lines.get(pk=line_id)
            invoice.lines.filter(pk=line_id).update(credited_amount=line.credited_amount + value)

    invoice.credited_subtotal += subtotal
    invoice.credited_total += total
    excess = max(invoice.amount_paid - invoice.effective_total, ZERO)
    if excess:
        _move_excess(invoice, excess)
        credit = customer_credit_lock(account=invoice.account)
        credit_move(
            credit,
            excess,
            kind=CreditEntryKind.CREDIT_NOTE,
            description=f"Credit note {note.number}: paid above invoice {invoice.number}'s new total",
            actor_id=actor_id,
            credit_note=note,
        )
    # The usage credited back first, then the cumulative rule's difference: the balance never dips on the way.
    usage_credited = ZERO
    if invoice.is_postpaid:
        usage_credited = subtotal
        balance_change(
            account=invoice.account,
            amount=subtotal,
            kind=LedgerKind.CREDIT_NOTE,
            reference=f"credit note {note.number}: usage credited back",
            actor_id=actor_id,
        )
    delta = invoice_settle(
        invoice,
        invoice.amount_paid - excess,
        reference=f"credit note {note.number} on invoice {invoice.number}",
        kind=LedgerKind.CREDIT_NOTE,
        actor_id=actor_id,
    )
    CreditNote.objects.filter(pk=note.pk).update(
        to_customer_credit=excess, balance_delta=delta, usage_credited=usage_credited
    )
    note.to_customer_credit, note.balance_delta, note.usage_credited = excess, delta, usage_credited
    credit_note_counted(tenant_id=tenant.id, issue_date=issue_date, total=total)
    events.credit_note_issued(invoice, note, actor_id=actor_id)
    schedule_pdf_render(invoice.pk)
    return note
