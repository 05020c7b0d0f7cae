"""Payments received: the list with its filters and Excel export, Add New Payment (a user's open invoices), reverse."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import DomainError
from msgplatform.core.ids import id_parse

from ..money import money_format, money_round
from ..selectors.accounts import account_choices
from ..selectors.invoices import invoice_get, open_invoices, payment_get, payments_list
from ..services.payments import payment_record, payment_reverse
from .common import XLSX, attachment, form_error, found, staff_page
from .forms import PaymentFilterForm, PaymentForm, ReasonForm


def _filters(request) -> tuple[PaymentFilterForm, dict]:
    form = PaymentFilterForm(request.GET, account_choices=account_choices(tenant=request.tenant, blank="Any user"))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    return form, {
        "account_id": data.get("account_id"),
        "date_from": data.get("date_from"),
        "date_to": data.get("date_to"),
    }


@staff_required(Perm.VIEW)
def payment_list(request):
    form, filters = _filters(request)
    page = None
    try:
        page = Paginator(payments_list(tenant=request.tenant, **filters), 50).get_page(request.GET.get("page"))
    except DomainError as error:
        form_error(form, error)
    return render(
        request,
        "invoicing/payments/list.html",
        {"form": form, "page": page, "currency": request.tenant.currency},
    )


@staff_required(Perm.VIEW)
def payment_export(request):
    from ..services.reports import payments_report  # reports import the invoice search of the selectors

    form, filters = _filters(request)
    try:
        name, content = payments_report(tenant=request.tenant, **filters)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("invoicing:payment-list")
    return attachment(name, content, XLSX)


@staff_page(get=Perm.BILL, post=Perm.BILL)
def payment_create(request):
    """Add New Payment: choose the user, then one of its open invoices, then the payment's details."""
    tenant = request.tenant
    source = request.POST if request.method == "POST" else request.GET
    invoice = None
    if source.get("invoice") and request.method == "GET":
        invoice = found(invoice_get, tenant=tenant, invoice_id=source["invoice"])
    account_id = invoice.account_id if invoice else id_parse(source.get("account"))
    owing = list(open_invoices(tenant=tenant, account_id=account_id)) if account_id else []
    invoice_choices = [("", "Choose an invoice" if owing else "No open invoice")] + [
        (inv.pk, f"{inv.number} · due {inv.due_date:%Y-%m-%d} · balance {money_format(inv.balance_due, inv.currency)}")
        for inv in owing
    ]
    initial = {"payment_date": tenant_today(tenant), "payment_type": "bank_transfer"}
    if invoice is not None:
        initial.update(invoice=invoice.pk, amount=money_round(invoice.balance_due, invoice.currency))
    form = PaymentForm(request.POST or None, invoice_choices=invoice_choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            payment = payment_record(
                tenant=tenant,
                invoice_id=values["invoice"],
                actor_id=request.user.id,
                amount=values["amount"],
                payment_date=values["payment_date"],
                payment_type=values["payment_type"],
                transaction_id=values["transaction_id"],
                bank_reference=values["bank_reference"],
                notes=values["notes"],
            )
        except DomainError as error:
            form_error(form, error, {"invoice_id": "invoice"})
        else:
            amount = money_format(payment.amount, payment.invoice.currency)
            messages.success(request, f"Payment of {amount} recorded on {payment.invoice.number}.")
            return redirect("invoicing:invoice-detail", invoice_id=payment.invoice_id)
    context = {
        "form": form,
        "accounts": account_choices(tenant=tenant, blank="Choose a user"),
        "account_id": account_id,
        "owing": owing,
        "currency": tenant.currency,
    }
    return render(request, "invoicing/payments/create.html", context)


@staff_page(get=Perm.BILL, post=Perm.BILL)
def payment_reverse_view(request, payment_id):
    payment = found(payment_get, tenant=request.tenant, payment_id=payment_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payment_reverse(
                tenant=request.tenant,
                payment_id=payment.pk,
                actor_id=request.user.id,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Payment on {payment.invoice.number} reversed.")
            return redirect("invoicing:invoice-detail", invoice_id=payment.invoice_id)
    return render(
        request,
        "invoicing/payments/reverse.html",
        {"payment": payment, "form": form, "currency": payment.invoice.currency},
    )
