"""Reads of the users' portal: always one account's own rows, approved invoices only (never drafts; void ones are
not the user's to pay). Every function takes the portal's account and filters by its tenant and by it first."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from msgplatform.core.errors import NotFound

from ..models import CreditEntry, CreditNote, Invoice, InvoiceLine, InvoiceStatus, InvoiceTax, Payment, Refund
from .credits import LEDGER_ROWS, customer_credit_balance


@dataclass(frozen=True)
class PortalInvoice:
    """One invoice as its user sees it: the lines, taxes, the payments that stand (reversed ones left out) and its
    credit notes."""

    invoice: Invoice
    lines: tuple[InvoiceLine, ...]
    taxes: tuple[InvoiceTax, ...]
    payments: tuple[Payment, ...]
    credit_notes: tuple[CreditNote, ...] = ()


@dataclass(frozen=True)
class PortalCredit:
    """The user's customer credit as it sees it: the balance, the latest ledger rows, refunds and credit notes (newest
    first). The rows are the models; the page shows none of their staff-only fields (who recorded, internal notes)."""

    currency: str
    balance: Decimal
    entries: tuple[CreditEntry, ...]
    refunds: tuple[Refund, ...]
    credit_notes: tuple[CreditNote, ...]


def portal_invoices(*, account) -> QuerySet[Invoice]:
    """The account's approved invoices, newest first."""
    return Invoice.objects.filter(tenant_id=account.tenant_id, account=account, status=InvoiceStatus.APPROVED).order_by(
        "-invoice_date", "-id"
    )


def portal_invoice_get(*, account, invoice_id) -> Invoice:
    try:
        return portal_invoices(account=account).get(pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


def portal_invoice_detail(*, account, invoice_id) -> PortalInvoice:
    invoice = portal_invoice_get(account=account, invoice_id=invoice_id)
    return PortalInvoice(
        invoice=invoice,
        lines=tuple(invoice.lines.all()),
        taxes=tuple(invoice.taxes.all()),
        payments=tuple(invoice.payments.filter(reversed_at__isnull=True).order_by("payment_date", "id")),
        credit_notes=tuple(invoice.credit_notes.order_by("issue_date", "id")),
    )


def portal_credit_notes(*, account) -> QuerySet[CreditNote]:
    """The account's credit notes (all on its approved invoices), newest first."""
    return (
        CreditNote.objects.filter(tenant_id=account.tenant_id, account=account, invoice__status=InvoiceStatus.APPROVED)
        .select_related("invoice")
        .order_by("-issue_date", "-id")
    )


def portal_credit_note_get(*, account, credit_note_id) -> CreditNote:
    """One of the account's credit notes, or NotFound (another user's, another admin's or a missing one alike)."""
    try:
        return portal_credit_notes(account=account).select_related("tenant", "account").get(pk=int(credit_note_id))
    except (CreditNote.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such credit note.")


def portal_credit(*, account) -> PortalCredit:
    """The account's customer credit, its latest ledger rows, its refunds and its credit notes."""
    return PortalCredit(
        currency=account.tenant.currency,
        balance=customer_credit_balance(account),
        entries=tuple(
            CreditEntry.objects.filter(tenant_id=account.tenant_id, account=account).order_by("-id")[:LEDGER_ROWS]
        ),
        refunds=tuple(
            Refund.objects.filter(tenant_id=account.tenant_id, account=account).order_by("-refund_date", "-id")[
                :LEDGER_ROWS
            ]
        ),
        credit_notes=tuple(portal_credit_notes(account=account)[:LEDGER_ROWS]),
    )


def portal_payments(*, account) -> QuerySet[Payment]:
    """The account's payments on approved invoices (reversed ones included), newest first."""
    return (
        Payment.objects.filter(tenant_id=account.tenant_id, account=account, invoice__status=InvoiceStatus.APPROVED)
        .select_related("invoice")
        .order_by("-payment_date", "-id")
    )
