"""Corrections and credits pages (SPEC §4): issue a credit note, the credit notes list and one note (PDF, email),
apply a user's customer credit to an invoice, the user's customer credit (ledger, refunds, adjustments, payments
received for it) and one payment for a user allocated across its open invoices.

Thin, like the other pages: parse with a form, call one service, redirect with a message; a refusal is shown at
the field it names and changes nothing; another tenant's row is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import redirect, render

from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import DomainError
from msgplatform.core.ids import id_parse

from ..models import EmailStatus
from ..money import ZERO, money_format, quantum
from ..selectors.accounts import account_choices
from ..selectors.credits import (
    CreditNoteFilters,
    credit_note_get,
    credit_notes_list,
    customer_credit_get,
    receipt_get,
    refund_get,
)
from ..selectors.invoices import invoice_detail_get, invoice_get, open_invoices
from ..services.credit_notes import credit_note_issue, creditable
from ..services.customer_credit import credit_adjust, refund_record, refund_reverse
from ..services.payments import credit_apply
from ..services.receipts import receipt_record, receipt_reverse
from .common import attachment, form_error, found, staff_action, staff_page
from .credit_forms import (
    ApplyCreditForm,
    CreditAdjustForm,
    CreditNoteFilterForm,
    CreditNoteForm,
    ReceiptForm,
    RefundForm,
)
from .forms import ReasonForm
from .invoices import invoice_detail_context

# --- credit notes ---------------------------------------------------------------------------------------------


@staff_page(get=Perm.BILL, post=Perm.BILL)
def credit_note_create(request, invoice_id):
    """Issue a credit note: an amount per invoice line (up to what is left of it) or one adjustment amount."""
    tenant = request.tenant
    invoice = found(invoice_get, tenant=tenant, invoice_id=invoice_id)
    left = creditable(invoice)
    lines = list(invoice.lines.all())
    form = CreditNoteForm(
        request.POST or None,
        lines=lines,
        left=left.lines,
        initial={"mode": "lines", "issue_date": tenant_today(tenant)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            note = credit_note_issue(
                tenant=tenant,
                invoice_id=invoice.pk,
                actor_id=request.user.id,
                reason=form.cleaned_data["reason"],
                issue_date=form.cleaned_data["issue_date"],
                **form.service_values(),
            )
        except DomainError as error:
            form.service_error(error)
        else:
            text = f"Credit note {note.number} issued on {invoice.number}: {money_format(note.total, note.currency)}."
            if note.to_customer_credit:
                moved = money_format(note.to_customer_credit, note.currency)
                text += f" {moved} paid above the new total moved to {invoice.account.name}'s customer credit."
            messages.success(request, text)
            return redirect("invoicing:credit-note-detail", credit_note_id=note.pk)
    context = {
        "invoice": invoice,
        "currency": invoice.currency,
        "form": form,
        "left": left,
        "taxes": list(invoice.taxes.all()),
        "credit_notes": list(invoice.credit_notes.order_by("issue_date", "id")),
    }
    return render(request, "invoicing/credits/credit_note_form.html", context)


def _credit_note_filters(request) -> tuple[CreditNoteFilterForm, CreditNoteFilters]:
    form = CreditNoteFilterForm(request.GET, account_choices=account_choices(tenant=request.tenant, blank="Any user"))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    return form, CreditNoteFilters(
        account_id=data.get("account_id"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        text=data.get("q") or "",
    )


@staff_required(Perm.VIEW)
def credit_note_list(request):
    form, filters = _credit_note_filters(request)
    page = None
    try:
        page = Paginator(credit_notes_list(tenant=request.tenant, filters=filters), 50).get_page(
            request.GET.get("page")
        )
    except DomainError as error:
        form_error(form, error)
    return render(request, "invoicing/credits/credit_note_list.html", {"form": form, "page": page})


@staff_required(Perm.VIEW)
def credit_note_detail(request, credit_note_id):
    note = found(credit_note_get, tenant=request.tenant, credit_note_id=credit_note_id)
    context = {
        "note": note,
        "currency": note.currency,
        "lines": list(note.lines.select_related("invoice_line")),
        "taxes": list(note.taxes.all()),
        "balance_change": note.balance_delta + note.usage_credited,
    }
    return render(request, "invoicing/credits/credit_note_detail.html", context)


@staff_required(Perm.VIEW)
def credit_note_pdf_view(request, credit_note_id):
    from ..services.documents import credit_note_pdf

    note = found(credit_note_get, tenant=request.tenant, credit_note_id=credit_note_id)
    return attachment(f"{note.number}.pdf", credit_note_pdf(note), "application/pdf")


@staff_action(Perm.BILL)
def credit_note_email_view(request, credit_note_id):
    from ..services.emails import credit_note_email_send

    note = found(credit_note_get, tenant=request.tenant, credit_note_id=credit_note_id)
    try:
        entry = credit_note_email_send(tenant=request.tenant, credit_note_id=note.pk, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if entry.status == EmailStatus.FAILED:
            messages.error(request, entry.last_error)  # a stored template that cannot be used: the outbox shows it
        else:
            messages.success(request, f"Credit note {note.number} email queued.")
    return redirect("invoicing:credit-note-detail", credit_note_id=note.pk)


# --- customer credit on an invoice ----------------------------------------------------------------------------


@staff_action(Perm.BILL)
def credit_apply_view(request, invoice_id):
    """Apply available credit: a payment of type credit on the invoice; a refused amount is shown at the form."""
    detail = found(invoice_detail_get, tenant=request.tenant, invoice_id=invoice_id)
    invoice = detail.invoice
    form = ApplyCreditForm(request.POST)
    if form.is_valid():
        try:
            payment = credit_apply(
                tenant=request.tenant,
                invoice_id=invoice.pk,
                actor_id=request.user.id,
                amount=form.cleaned_data["amount"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            amount = money_format(payment.amount, invoice.currency)
            messages.success(request, f"{amount} of customer credit applied to {invoice.number}.")
            return redirect("invoicing:invoice-detail", invoice_id=invoice.pk)
    context = invoice_detail_context(request, detail, apply_form=form)
    return render(request, "invoicing/invoices/detail.html", context)


# --- the user's customer credit -------------------------------------------------------------------------------


def _credit_page(request, account_id, *, refund_form=None, adjust_form=None, status=200):
    tenant = request.tenant
    credit = found(customer_credit_get, tenant=tenant, account_id=account_id)
    receipts = list(credit.receipts)
    prefetch_related_objects(receipts, "allocations__invoice")
    context = {
        "credit": credit,
        "account": credit.account,
        "currency": credit.currency,
        "receipts": receipts,
        "refund_form": refund_form
        or RefundForm(prefix="refund", initial={"refund_date": tenant_today(tenant), "method": "bank_transfer"}),
        "adjust_form": adjust_form or CreditAdjustForm(prefix="adjust"),
    }
    return render(request, "invoicing/credits/customer_credit.html", context, status=status)


@staff_required(Perm.VIEW)
def customer_credit_view(request, account_id):
    """The user's customer credit: balance, ledger, refunds and payments received for it; refund and adjust."""
    return _credit_page(request, account_id)


@staff_action(Perm.BILL)
def refund_create(request, account_id):
    credit = found(customer_credit_get, tenant=request.tenant, account_id=account_id)
    form = RefundForm(request.POST, prefix="refund")
    if form.is_valid():
        values = form.cleaned_data
        try:
            refund = refund_record(
                tenant=request.tenant,
                account_id=credit.account.pk,
                actor_id=request.user.id,
                amount=values["amount"],
                refund_date=values["refund_date"],
                method=values["method"],
                reference=values["reference"],
                notes=values["notes"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            amount = money_format(refund.amount, refund.currency)
            messages.success(request, f"Refund of {amount} to {credit.account.name} recorded.")
            return redirect("invoicing:customer-credit", account_id=credit.account.pk)
    return _credit_page(request, credit.account.pk, refund_form=form)


@staff_action(Perm.BILL)
def credit_adjust_view(request, account_id):
    credit = found(customer_credit_get, tenant=request.tenant, account_id=account_id)
    form = CreditAdjustForm(request.POST, prefix="adjust")
    if form.is_valid():
        try:
            entry = credit_adjust(
                tenant=request.tenant,
                account_id=credit.account.pk,
                actor_id=request.user.id,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            after = money_format(entry.balance_after, credit.currency)
            messages.success(request, f"Customer credit of {credit.account.name} adjusted: now {after}.")
            return redirect("invoicing:customer-credit", account_id=credit.account.pk)
    return _credit_page(request, credit.account.pk, adjust_form=form)


@staff_page(get=Perm.BILL, post=Perm.BILL)
def refund_reverse_view(request, refund_id):
    refund = found(refund_get, tenant=request.tenant, refund_id=refund_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            refund_reverse(
                tenant=request.tenant, refund_id=refund.pk, actor_id=request.user.id, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            form_error(form, error)
        else:
            amount = money_format(refund.amount, refund.currency)
            messages.success(request, f"Refund of {amount} reversed: the amount is customer credit again.")
            return redirect("invoicing:customer-credit", account_id=refund.account_id)
    return render(
        request, "invoicing/credits/refund_reverse.html", {"refund": refund, "form": form, "currency": refund.currency}
    )


@staff_page(get=Perm.BILL, post=Perm.BILL)
def receipt_reverse_view(request, receipt_id):
    receipt = found(receipt_get, tenant=request.tenant, receipt_id=receipt_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            receipt_reverse(
                tenant=request.tenant,
                receipt_id=receipt.pk,
                actor_id=request.user.id,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            amount = money_format(receipt.amount, receipt.currency)
            messages.success(request, f"Payment of {amount} received from {receipt.account.name} reversed.")
            return redirect("invoicing:customer-credit", account_id=receipt.account_id)
    return render(
        request,
        "invoicing/credits/receipt_reverse.html",
        {"receipt": receipt, "form": form, "currency": receipt.currency},
    )


# --- one payment for a user -----------------------------------------------------------------------------------


@staff_page(get=Perm.BILL, post=Perm.BILL)
def receipt_create(request):
    """Record a payment for a user: allocated across its open invoices (all blank: oldest due first), the rest
    kept as customer credit."""
    tenant = request.tenant
    source = request.POST if request.method == "POST" else request.GET
    accounts = account_choices(tenant=tenant, blank="Choose a user")
    account_id = id_parse(source.get("account"))
    if source.get("account") and account_id not in {value for value, _ in accounts if value}:
        raise Http404("No such user.")  # another admin's user, or one that is not invoiced
    owing = list(open_invoices(tenant=tenant, account_id=account_id)) if account_id else []
    form = ReceiptForm(
        request.POST or None,
        invoices=owing,
        initial={"payment_date": tenant_today(tenant), "payment_type": "bank_transfer"},
    )
    if request.method == "POST" and account_id and form.is_valid():
        values = form.cleaned_data
        try:
            receipt = receipt_record(
                tenant=tenant,
                account_id=account_id,
                actor_id=request.user.id,
                amount=values["amount"],
                payment_date=values["payment_date"],
                payment_type=values["payment_type"],
                transaction_id=values["transaction_id"],
                bank_reference=values["bank_reference"],
                notes=values["notes"],
                allocations=form.allocations(),
            )
        except DomainError as error:
            form.service_error(error)
        else:
            count = receipt.allocations.count()
            text = (
                f"Payment of {money_format(receipt.amount, receipt.currency)} recorded for {receipt.account.name}: "
                f"{money_format(receipt.allocated, receipt.currency)} allocated to {count} invoice(s)"
            )
            if receipt.unallocated:
                text += f", {money_format(receipt.unallocated, receipt.currency)} kept as customer credit"
            messages.success(request, text + ".")
            return redirect("invoicing:customer-credit", account_id=account_id)
    context = {
        "form": form,
        "accounts": accounts,
        "account_id": account_id,
        "owing": owing,
        "currency": tenant.currency,
        "decimals": -quantum(tenant.currency).as_tuple().exponent,
        "zero": money_format(ZERO, tenant.currency),  # the script writes amounts in this shape
    }
    return render(request, "invoicing/credits/receipt_form.html", context)
