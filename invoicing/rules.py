"""The transition table: which actions an invoice offers, and its due status. Pages and API both use it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .models import DueStatus, Invoice, InvoiceStatus, PaymentStatus


class Action:
    VIEW = "view"
    EDIT = "edit"
    APPROVE = "approve"
    DELETE = "delete"
    VOID = "void"
    RECORD_PAYMENT = "record_payment"
    REMIND = "remind"
    DOWNLOAD = "download"
    EMAIL = "email"
    CREDIT_NOTE = "credit_note"


# status -> actions always offered in that status; conditional ones are added by invoice_actions().
TRANSITIONS: dict[str, tuple[str, ...]] = {
    InvoiceStatus.DRAFT: (Action.VIEW, Action.EDIT, Action.APPROVE, Action.DELETE, Action.DOWNLOAD),
    InvoiceStatus.APPROVED: (Action.VIEW, Action.DOWNLOAD, Action.EMAIL),
    InvoiceStatus.VOID: (Action.VIEW, Action.DOWNLOAD),
}


@dataclass(frozen=True)
class Due:
    status: str | None  # None: no due status (draft, void, or nothing owing)
    days_overdue: int = 0


def due_status(invoice: Invoice, today: datetime.date) -> Due:
    if invoice.status != InvoiceStatus.APPROVED or invoice.balance_due <= 0:
        return Due(None)
    if invoice.due_date > today:
        return Due(DueStatus.NOT_DUE)
    if invoice.due_date == today:
        return Due(DueStatus.DUE_TODAY)
    return Due(DueStatus.OVERDUE, (today - invoice.due_date).days)


def invoice_actions(invoice: Invoice, *, has_active_payments: bool | None = None) -> list[str]:
    actions = list(TRANSITIONS[invoice.status])
    if invoice.status == InvoiceStatus.APPROVED:
        if invoice.balance_due > 0:
            actions += [Action.RECORD_PAYMENT, Action.REMIND]
        paid_any = invoice.amount_paid > 0 if has_active_payments is None else has_active_payments
        if not paid_any and not invoice.credited_total:
            actions.append(Action.VOID)
        if invoice.total - invoice.credited_total > 0:
            actions.append(Action.CREDIT_NOTE)
    return actions


def payment_status_for(*, total, amount_paid, credited_total=0) -> str:
    """The payment axis from the applied amount and the effective total (SPEC §4): an invoice its credit notes
    settle entirely is "credited"; a zero-total invoice is paid."""
    effective = total - credited_total
    if total > 0 and effective <= 0:
        return PaymentStatus.CREDITED
    if amount_paid >= effective:
        return PaymentStatus.PAID
    if amount_paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    return PaymentStatus.UNPAID
