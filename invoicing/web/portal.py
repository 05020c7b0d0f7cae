"""The users' own invoices (portal logins): approved invoices only, never drafts, always of request.account; their
credit notes, and the user's customer credit with its ledger and refunds.

Licence-gated like every invoicing URL: the user of an unlicensed admin gets the "not licensed" page.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from msgplatform.accounts.permissions import portal_required
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import DomainError

from ..rules import due_status
from ..selectors.portal import (
    portal_credit,
    portal_credit_note_get,
    portal_invoice_detail,
    portal_invoice_get,
    portal_invoices,
    portal_payments,
)
from ..services.documents import credit_note_pdf, invoice_pdf
from .common import attachment, found


@portal_required
def my_invoices(request):
    today = tenant_today(request.tenant)
    page = Paginator(portal_invoices(account=request.account), 25).get_page(request.GET.get("page"))
    rows = [{"invoice": inv, "due": due_status(inv, today)} for inv in page]
    return render(
        request,
        "invoicing/portal/invoices.html",
        {"page": page, "rows": rows, "currency": request.tenant.currency, "account": request.account},
    )


@portal_required
def my_invoice(request, invoice_id):
    detail = found(portal_invoice_detail, account=request.account, invoice_id=invoice_id)
    invoice = detail.invoice
    return render(
        request,
        "invoicing/portal/invoice.html",
        {
            "invoice": invoice,
            "currency": invoice.currency,
            "due": due_status(invoice, tenant_today(request.tenant)),
            "lines": detail.lines,
            "taxes": detail.taxes,
            "payments": detail.payments,
            "credit_notes": detail.credit_notes,
        },
    )


@portal_required
def my_invoice_pdf(request, invoice_id):
    invoice = found(portal_invoice_get, account=request.account, invoice_id=invoice_id)
    try:
        name, content = found(invoice_pdf, tenant=request.tenant, invoice_id=invoice.pk)
    except DomainError:  # recorded for the admin's staff, whose invoice page offers Retry
        messages.error(request, f"The PDF of {invoice} cannot be made right now; please try again later.")
        return redirect("invoicing:portal-invoice", invoice_id=invoice.pk)
    return attachment(name, content, "application/pdf")


@portal_required
def my_payments(request):
    page = Paginator(portal_payments(account=request.account), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "invoicing/portal/payments.html",
        {"page": page, "currency": request.tenant.currency, "account": request.account},
    )


@portal_required
def my_credit(request):
    credit = portal_credit(account=request.account)
    return render(request, "invoicing/portal/credit.html", {"credit": credit, "currency": credit.currency})


@portal_required
def my_credit_note_pdf(request, credit_note_id):
    note = found(portal_credit_note_get, account=request.account, credit_note_id=credit_note_id)
    return attachment(f"{note.number}.pdf", credit_note_pdf(note), "application/pdf")
