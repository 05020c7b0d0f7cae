"""Invoice pages: the Manage Invoices grid, the invoice, create (prepaid, postpaid), drafts, and invoice actions.

Thin: parse with a form, call one service, render. A service's DomainError is shown at the form field it names;
a lookup of another tenant's invoice is a 404.
"""

from __future__ import annotations

import datetime
import itertools

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from msgplatform.accounts.models import BillingMethod
from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import DomainError
from msgplatform.core.http import content_disposition, next_url

from .. import api
from ..models import EmailStatus, Job
from ..money import money_round
from ..rules import Action, due_status, invoice_actions
from ..selectors.accounts import account_choices
from ..selectors.invoices import InvoiceFilters, invoice_detail_get, invoice_drafts, invoice_get, invoice_search
from ..selectors.usage import invoice_records, preview_records_page
from ..services.configuration import settings_for
from ..services.documents import (
    invoice_document_context,
    invoice_pdf,
    invoice_pdf_problem,
    invoice_pdf_retry,
    invoice_pdf_version,
    invoice_pdf_versions,
)
from ..services.emails import invoice_email_problems, invoice_email_send
from ..services.evidence import evidence_csv_chunks
from ..services.invoices import (
    invoice_approve,
    invoice_approve_bulk,
    invoice_create_postpaid,
    invoice_create_prepaid,
    invoice_delete_draft,
    invoice_preview_postpaid,
    invoice_update_draft,
    invoice_void,
)
from ..services.recurring import invoice_regenerate
from ..services.reminders import (
    bulk_reminder_plan,
    bulk_reminder_preview,
    bulk_reminder_start,
    invoice_reminder_send,
    invoice_reminder_window,
)
from .common import XLSX, attachment, form_error, found, is_htmx, staff_action, staff_page
from .credit_forms import ApplyCreditForm
from .forms import (
    BulkApproveForm,
    DraftEditForm,
    InvoiceFilterForm,
    PostpaidInvoiceForm,
    PrepaidInvoiceForm,
    ReasonForm,
    ReminderForm,
)

# --- the grid -------------------------------------------------------------------------------------------------

GRID_USER_CHOICES = 300  # above this many users, find a user with the search box instead of a drop-down


def _filters(request) -> tuple[InvoiceFilterForm, InvoiceFilters, str, int, int]:
    data = request.GET.copy()
    data.setdefault("page_size", "25")
    choices = account_choices(
        tenant=request.tenant, blank="Any user", limit=GRID_USER_CHOICES, selected=data.get("account_id")
    )
    form = InvoiceFilterForm(data, account_choices=choices)
    form.is_valid()  # an invalid field is left out of cleaned_data (and shown with its error)
    filters = InvoiceFilters.from_params(form.cleaned_data)
    return form, filters, form.value("ordering", "-invoice_date"), form.value("page", 1), form.value("page_size", 25)


def _rows(invoices, today):
    return [{"invoice": inv, "due": due_status(inv, today), "actions": invoice_actions(inv)} for inv in invoices]


SORTABLE = ("number", "invoice_date", "account", "due_date", "total", "balance_due")


def _sort_headers(ordering: str) -> dict:
    """Per sortable column: the ordering its header link asks for, and its aria-sort state."""
    headers = {}
    for key in SORTABLE:
        if ordering == key:
            headers[key] = {"next": f"-{key}", "aria": "ascending"}
        elif ordering == f"-{key}":
            headers[key] = {"next": key, "aria": "descending"}
        else:
            headers[key] = {"next": key, "aria": None}
    return headers


@staff_required(Perm.VIEW)
def invoice_list(request):
    """Manage Invoices: every invoice (recurring included) with its payment status; tabs, filters, sort, pages."""
    form, filters, ordering, page_number, page_size = _filters(request)
    page = None
    try:
        page = invoice_search(
            tenant=request.tenant, filters=filters, ordering=ordering, page=page_number, page_size=page_size
        )
    except DomainError as error:
        form_error(form, error)
    today = tenant_today(request.tenant)
    context = {
        "form": form,
        "filters": filters,
        "ordering": ordering,
        "page": page,
        "rows": _rows(page.items if page else [], today),
        "today": today,
        "currency": request.tenant.currency,
        "sort": _sort_headers(ordering),
        "advanced_open": any([filters.account_id, filters.number, filters.due_status, filters.payment_status]),
    }
    template = "invoicing/invoices/_grid.html" if is_htmx(request) else "invoicing/invoices/list.html"
    return render(request, template, context)


@staff_required(Perm.VIEW)
def invoice_report_view(request):
    """Download Invoice Report: the current filter as an Excel file, or a job with progress when it is large."""
    from ..services.reports import invoice_report  # the report needs the search queryset of the selectors

    form, filters, ordering, _, _ = _filters(request)
    try:
        result = invoice_report(tenant=request.tenant, filters=filters, ordering=ordering, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(reverse("invoicing:invoice-list") + "?" + request.GET.urlencode())
    if isinstance(result, Job):
        messages.info(request, "The report is large: it is being written in the background.")
        return redirect("invoicing:job", job_id=result.id)
    name, content = result
    return attachment(name, content, XLSX)


# --- one invoice ----------------------------------------------------------------------------------------------


def _back(request, default: str) -> str:
    return next_url(request, request.POST.get("next") or request.GET.get("next"), default)


def invoice_detail_context(request, detail, *, apply_form=None) -> dict:
    """The invoice page's context (also rendered by "Apply available credit" when its amount is refused)."""
    tenant = request.tenant
    invoice = detail.invoice
    can_apply = Action.RECORD_PAYMENT in detail.actions and detail.available_credit > 0
    if apply_form is None and can_apply:
        apply_form = ApplyCreditForm(
            initial={"amount": money_round(min(detail.available_credit, invoice.balance_due), invoice.currency)}
        )
    return {
        "invoice": invoice,
        "currency": invoice.currency,
        "due": detail.due,
        "actions": detail.actions,
        "lines": detail.lines,
        "taxes": detail.taxes,
        "payments": detail.payments,
        "events": detail.events,
        "emails": detail.emails,
        "versions": [] if invoice.is_draft else invoice_pdf_versions(tenant=tenant, invoice_id=invoice.pk),
        "annex": invoice_document_context(invoice)["annex"] if invoice.is_postpaid else None,
        "late_usage": detail.late_usage,
        "void_form": ReasonForm() if Action.VOID in detail.actions else None,
        "credit_notes": detail.credit_notes,
        "available_credit": detail.available_credit,
        "apply_form": apply_form if can_apply else None,
        "credited": invoice.credited_total > 0,
        "document_problems": document_problems(invoice),
        # (last reminded, next possible) while the reminder window holds: said beside "Send reminder".
        "reminder_window": (
            invoice_reminder_window(tenant=tenant, account_id=invoice.account_id)
            if Action.REMIND in detail.actions
            else None
        ),
    }


def document_problems(invoice) -> list[dict]:
    """The failures of the invoice's PDF and emails that still stand, each with what failed in plain words and the
    Retry it offers (a PDF is rendered again, an email sent again)."""
    problems = []
    pdf = invoice_pdf_problem(invoice)
    if pdf is not None:
        problems.append(
            {
                "level": pdf.event.level,
                "title": "PDF made without the logo" if pdf.event.level == "warning" else "PDF not made",
                "message": pdf.message,
                "retry": reverse("invoicing:invoice-pdf-retry", args=[invoice.pk]),
            }
        )
    for email in invoice_email_problems(invoice):
        problems.append(
            {
                "level": "error",
                "title": "Email not delivered",
                "message": email.message,
                "retry": reverse("invoicing:outbox-retry", args=[email.entry.pk]) if email.retryable else None,
            }
        )
    return problems


@staff_required(Perm.VIEW)
def invoice_detail(request, invoice_id):
    detail = found(invoice_detail_get, tenant=request.tenant, invoice_id=invoice_id)
    return render(request, "invoicing/invoices/detail.html", invoice_detail_context(request, detail))


@staff_required(Perm.VIEW)
def invoice_records_view(request, invoice_id):
    """The messaging records an invoice billed, a page at a time (htmx fragment of the usage annex)."""
    invoice = found(invoice_get, tenant=request.tenant, invoice_id=invoice_id)
    records = Paginator(invoice_records(tenant=request.tenant, invoice=invoice), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "invoicing/invoices/_records.html",
        {"records": records, "currency": invoice.currency, "records_base": request.path + "?"},
    )


@staff_required(Perm.VIEW)
def invoice_pdf_view(request, invoice_id):
    try:
        name, content = found(invoice_pdf, tenant=request.tenant, invoice_id=invoice_id)
    except DomainError as error:  # the PDF could not be made: the invoice page says why and offers Retry
        messages.error(request, error.message)
        return redirect("invoicing:invoice-detail", invoice_id=invoice_id)
    return attachment(name, content, "application/pdf")


@staff_action(Perm.BILL)
def invoice_pdf_retry_view(request, invoice_id):
    """Retry of a PDF that failed or was made without the logo: render the invoice's current state again."""
    detail = reverse("invoicing:invoice-detail", args=[invoice_id])
    try:
        document = found(invoice_pdf_retry, tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if invoice_pdf_problem(document.invoice) is None:
            messages.success(request, f"The PDF of {document.invoice} was made again (version {document.version}).")
    return redirect(_back(request, detail))


@staff_required(Perm.VIEW)
def invoice_pdf_version_view(request, invoice_id, version):
    name, content = found(invoice_pdf_version, tenant=request.tenant, invoice_id=invoice_id, version=version)
    return attachment(name, content, "application/pdf")


@staff_required(Perm.VIEW)
def invoice_evidence_view(request, invoice_id):
    invoice = found(invoice_get, tenant=request.tenant, invoice_id=invoice_id)
    chunks = evidence_csv_chunks(invoice)
    try:
        first = next(chunks)  # the service refuses a prepaid invoice before the response starts
    except DomainError as error:
        raise Http404(error.message)
    response = StreamingHttpResponse(itertools.chain([first], chunks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(f"{invoice.number or f'draft-{invoice.pk}'}-usage.csv")
    return response


def _act(request, invoice_id, service, success: str, **kwargs):
    """Run one invoice action; a refusal is shown as a message, another tenant's invoice is a 404."""
    detail = reverse("invoicing:invoice-detail", args=[invoice_id])
    try:
        result = found(service, tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id, **kwargs)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(_back(request, detail)), None
    messages.success(request, success.format(invoice=result))
    return redirect(_back(request, detail)), result


@staff_action(Perm.BILL)
def invoice_approve_view(request, invoice_id):
    return _act(request, invoice_id, invoice_approve, "Invoice {invoice} approved.")[0]


@staff_action(Perm.BILL)
def invoice_regenerate_view(request, invoice_id):
    return _act(request, invoice_id, invoice_regenerate, "Draft regenerated from usage.")[0]


@staff_action(Perm.BILL)
def invoice_email_view(request, invoice_id):
    detail = reverse("invoicing:invoice-detail", args=[invoice_id])
    try:
        entry = found(invoice_email_send, tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(_back(request, detail))
    if entry.status == EmailStatus.FAILED:
        messages.error(request, entry.last_error)  # a stored template that cannot be used: the outbox shows it too
    else:
        messages.success(request, "Invoice email queued.")
    return redirect(_back(request, detail))


@staff_action(Perm.BILL)
def invoice_delete_view(request, invoice_id):
    try:
        found(invoice_delete_draft, tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("invoicing:invoice-detail", invoice_id=invoice_id)
    messages.success(request, "Draft deleted; its usage is unbilled again.")
    return redirect(reverse("invoicing:invoice-list") + "?tab=drafts")


@staff_page(get=Perm.BILL, post=Perm.BILL)
def invoice_void_view(request, invoice_id):
    invoice = found(invoice_get, tenant=request.tenant, invoice_id=invoice_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invoice_void(
                tenant=request.tenant,
                invoice_id=invoice.pk,
                actor_id=request.user.id,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Invoice {invoice} voided.")
            return redirect("invoicing:invoice-detail", invoice_id=invoice.pk)
    return render(request, "invoicing/invoices/void.html", {"invoice": invoice, "form": form})


@staff_action(Perm.BILL)
def invoice_remind_view(request, invoice_id):
    """Remind the invoice's user of everything it owes (one email, the reminder window applies), and say what
    happened: sent, or skipped because a reminder went out within the window, and when."""
    invoice = found(invoice_get, tenant=request.tenant, invoice_id=invoice_id)
    detail = reverse("invoicing:invoice-detail", args=[invoice.pk])
    try:
        outcome = invoice_reminder_send(tenant=request.tenant, invoice_id=invoice.pk, actor_id=request.user.id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        (messages.success if outcome.sent else messages.warning)(request, outcome.message)
    return redirect(_back(request, detail))


# --- create ---------------------------------------------------------------------------------------------------


def _create_kind(request, info) -> str:
    wanted = request.POST.get("type") or request.GET.get("type") or ""
    modes = info.modes
    if wanted in modes:
        return wanted
    return modes[0] if modes else BillingMethod.PREPAID


@staff_required(Perm.BILL)
@require_http_methods(["GET", "POST"])
def invoice_create(request):
    """Create Invoice: prepaid (recharge) or postpaid (fetch the records of a range); Create, Save as draft,
    Create & Claim (with the payment dialog)."""
    tenant = request.tenant
    info = api.license_for(tenant)
    kind = _create_kind(request, info)
    defaults = settings_for(tenant)
    today = tenant_today(tenant)
    initial = {
        "invoice_date": today,
        "terms": defaults.default_terms,
        "notes": defaults.default_notes,
        "claim_date": today,
        "claim_type": "bank_transfer",
    }
    data = request.POST if request.method == "POST" else None
    action = request.POST.get("action", "")
    preview = records = records_base = None
    if kind == BillingMethod.PREPAID:
        initial["due_date"] = today + datetime.timedelta(days=defaults.default_due_days)
        if request.GET.get("account"):
            initial["account"] = request.GET["account"]
        form = PrepaidInvoiceForm(
            data,
            initial=initial,
            account_choices=account_choices(tenant=tenant, billing_method=kind, blank="Choose a user"),
        )
    else:
        initial.update(period_start=today.replace(day=1), period_end=today)
        if request.GET.get("account"):
            initial["account"] = request.GET["account"]
        form = PostpaidInvoiceForm(
            data,
            initial=initial,
            account_choices=account_choices(tenant=tenant, billing_method=kind, blank="Choose a user"),
        )
    if data is not None and form.is_valid():
        values = form.cleaned_data
        if kind == BillingMethod.POSTPAID and action == "fetch":
            try:
                preview = invoice_preview_postpaid(
                    tenant=tenant,
                    account_id=values["account"],
                    period_start=values["period_start"],
                    period_end=values["period_end"],
                )
                records = preview_records_page(
                    tenant=tenant,
                    account_id=values["account"],
                    period_start=values["period_start"],
                    period_end=values["period_end"],
                )
                records_base = _records_base(
                    {
                        "account": values["account"],
                        "period_start": values["period_start"].isoformat(),
                        "period_end": values["period_end"].isoformat(),
                    }
                )
            except DomainError as error:
                form_error(form, error)
        elif action in ("create", "draft", "claim") and form.date_confirmed(today):
            common = {
                "tenant": tenant,
                "account_id": values["account"],
                "actor_id": request.user.id,
                "invoice_date": values["invoice_date"],
                "due_date": values["due_date"],
                "description": values["description"],
                "terms": values["terms"],
                "notes": values["notes"],
                "as_draft": action == "draft",
                "claim": form.claim_input() if action == "claim" else None,
            }
            try:
                if kind == BillingMethod.PREPAID:
                    invoice = invoice_create_prepaid(recharge_amount=values["recharge_amount"], **common)
                else:
                    invoice = invoice_create_postpaid(
                        period_start=values["period_start"], period_end=values["period_end"], **common
                    )
            except DomainError as error:
                form_error(form, error, form.CLAIM_ERRORS if action == "claim" else None)
            else:
                what = "Draft saved" if invoice.is_draft else f"Invoice {invoice.number} created"
                if action == "claim":
                    what += f" and payment recorded (balance due {invoice.balance_due})"
                messages.success(request, what + ".")
                return redirect("invoicing:invoice-detail", invoice_id=invoice.pk)
    context = {
        "form": form,
        "kind": kind,
        "license": info,
        "preview": preview,
        "records": records,
        "records_base": records_base,
        "currency": tenant.currency,
        "default_due_days": defaults.default_due_days,
    }
    if is_htmx(request) and kind == BillingMethod.POSTPAID:
        return render(request, "invoicing/invoices/_postpaid_form.html", context)
    return render(request, "invoicing/invoices/create.html", context)


@staff_required(Perm.BILL)
def preview_records_view(request):
    """The unbilled records of a postpaid range, a page at a time (the list under "Fetch records")."""
    form = PostpaidInvoiceForm(
        request.GET, account_choices=account_choices(tenant=request.tenant, billing_method=BillingMethod.POSTPAID)
    )
    form.is_valid()
    if any(name in form.errors for name in ("account", "period_start", "period_end")):
        raise Http404("Choose a user and a range.")
    records = found(
        preview_records_page,
        tenant=request.tenant,
        account_id=form.cleaned_data["account"],
        period_start=form.cleaned_data["period_start"],
        period_end=form.cleaned_data["period_end"],
        page=request.GET.get("page") or 1,
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "invoicing/invoices/_records.html",
        {"records": records, "currency": request.tenant.currency, "records_base": _records_base(params)},
    )


def _records_base(params) -> str:
    return reverse("invoicing:invoice-preview-records") + "?" + urlencode(params) + "&"


# --- drafts ---------------------------------------------------------------------------------------------------


@staff_page(get=Perm.BILL, post=Perm.BILL)
def invoice_edit(request, invoice_id):
    invoice = found(invoice_get, tenant=request.tenant, invoice_id=invoice_id)
    if not invoice.is_editable:
        messages.error(request, f"Invoice {invoice} is {invoice.status}; only drafts can be edited.")
        return redirect("invoicing:invoice-detail", invoice_id=invoice.pk)
    initial = {
        "invoice_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "description": invoice.description,
        "customer_notes": invoice.customer_notes,
        "terms": invoice.terms,
        "recharge_amount": money_round(invoice.subtotal, invoice.currency),
    }
    form = DraftEditForm(request.POST or None, invoice=invoice, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        changes = {k: values[k] for k in ("invoice_date", "due_date", "description", "customer_notes", "terms")}
        if not invoice.is_postpaid:
            changes["recharge_amount"] = values["recharge_amount"]  # the service rewrites the lines if it changed
        lines = {
            int(name.removeprefix("line_")): values[name]
            for name in form.line_fields
            if values[name] != form.fields[name].initial
        }
        if lines:
            changes["line_descriptions"] = lines
        try:
            invoice_update_draft(tenant=request.tenant, invoice_id=invoice.pk, actor_id=request.user.id, **changes)
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, "Draft saved.")
            return redirect("invoicing:invoice-detail", invoice_id=invoice.pk)
    return render(request, "invoicing/invoices/edit.html", {"invoice": invoice, "form": form})


@staff_page(get=Perm.BILL, post=Perm.BILL)
def invoice_bulk_approve(request):
    """Approve the selected drafts; flagged anomalies are listed and must be confirmed explicitly."""
    source = request.POST if request.method == "POST" else request.GET
    drafts = invoice_drafts(tenant=request.tenant, invoice_ids=source.getlist("invoice_ids"))
    form = BulkApproveForm(request.POST or None, drafts=drafts, initial={"invoice_ids": [d.pk for d in drafts]})
    if request.method == "POST" and form.is_valid():
        try:
            approved = invoice_approve_bulk(
                tenant=request.tenant,
                invoice_ids=form.cleaned_data["invoice_ids"],
                actor_id=request.user.id,
                confirm_flagged=form.cleaned_data["confirm_flagged"],
            )
        except DomainError as error:
            form_error(form, error, {None: "confirm_flagged"} if error.code == "flagged_need_confirmation" else None)
        else:
            messages.success(request, f"{len(approved)} draft(s) approved: {', '.join(i.number for i in approved)}.")
            return redirect(reverse("invoicing:invoice-list") + "?tab=drafts")
    flagged = [d for d in drafts if d.anomaly_reason]
    return render(
        request,
        "invoicing/invoices/bulk_approve.html",
        {"form": form, "drafts": drafts, "flagged": flagged, "currency": request.tenant.currency},
    )


# --- bulk reminder --------------------------------------------------------------------------------------------


@staff_page(get=Perm.VIEW, post=Perm.BILL)
def reminder_select(request):
    """Select Users for Reminder: who owes what (counts and amounts), optionally overdue only, then send."""
    tenant = request.tenant
    source = request.POST if request.method == "POST" else request.GET
    overdue_only = source.get("overdue_only") in ("on", "true", "1")
    recipients = bulk_reminder_preview(tenant=tenant, overdue_only=overdue_only)
    choices = [(r.account.id, r.account.name) for r in recipients]
    bound = request.method == "POST" or "preview" in request.GET
    form = ReminderForm(
        source if bound else None,
        account_choices=choices,
        initial={"overdue_only": overdue_only, "account_ids": [c[0] for c in choices]},
    )
    if request.method == "POST" and form.is_valid():
        # "Remind all users that owe" is no selection (every user that owes when it starts), as in the API.
        selected = None if request.POST.get("all") else form.cleaned_data["account_ids"]
        try:
            if request.POST.get("confirm") != "1":
                # First press: nothing is sent; the page asks, with the count, before anything goes out.
                plan = bulk_reminder_plan(tenant=tenant, overdue_only=overdue_only, account_ids=selected)
                return render(
                    request,
                    "invoicing/reminders/confirm.html",
                    {"plan": plan, "all": selected is None, "overdue_only": overdue_only, "currency": tenant.currency},
                )
            job = bulk_reminder_start(
                tenant=tenant, actor_id=request.user.id, overdue_only=overdue_only, account_ids=selected
            )
        except DomainError as error:
            form_error(form, error)
        else:
            messages.info(request, f"Reminder to {job.total} user{'s' if job.total != 1 else ''} started.")
            return redirect("invoicing:job", job_id=job.id)
    selected = set(form.cleaned_data.get("account_ids") or []) if form.is_bound and form.is_valid() else None
    context = {
        "form": form,
        "recipients": recipients,
        "selected": selected if selected is not None else {c[0] for c in choices},
        "overdue_only": overdue_only,
        "currency": tenant.currency,
        "total_due": sum((r.total_due for r in recipients), start=0),
        "invoice_count": sum(len(r.invoices) for r in recipients),
    }
    template = "invoicing/reminders/_recipients.html" if is_htmx(request) else "invoicing/reminders/select.html"
    return render(request, template, context)
