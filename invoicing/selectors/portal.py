"""Reads of the users' portal: always one account's own rows, approved invoices only (never drafts; void ones are
not the user's to pay). Every function takes the portal's account and filters by its tenant and by it first."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from msgplatform.core.errors import NotFound

from ..models import Invoice, InvoiceLine, InvoiceStatus, InvoiceTax, Payment


@dataclass(frozen=True)
class PortalInvoice:
    """One invoice as its user sees it: the lines, taxes and the payments that stand (reversed ones left out)."""

    invoice: Invoice
    lines: tuple[InvoiceLine, ...]
    taxes: tuple[InvoiceTax, ...]
    payments: tuple[Payment, ...]


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
    )


def portal_payments(*, account) -> QuerySet[Payment]:
    """The account's payments on approved invoices (reversed ones included), newest first."""
    return (
        Payment.objects.filter(tenant_id=account.tenant_id, account=account, invoice__status=InvoiceStatus.APPROVED)
        .select_related("invoice")
        .order_by("-payment_date", "-id")
    )
