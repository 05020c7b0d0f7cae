"""Invoice and credit-note PDFs: the data they show, immutable stored versions of invoices (one per state),
on-demand rendering.

Rendering never happens while holding row locks: the PDF is built first, then inserted; a unique constraint on
(invoice, state) makes a concurrent second rendering of the same state a no-op.

A credit note is rendered on demand and not stored: its content never changes (SPEC §4), and a stored copy would
need a table of its own (InvoiceDocument's versions are the invoice's states). What it does change is its invoice's
PDF, so a credit note is part of the invoice's state key.

The render task sent after commit is only the fast path: `pdf_due_for_render` finds approved invoices whose current
state has no stored version (the task was lost with the broker or a worker) and the periodic sweep renders them.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, Count, Exists, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from msgplatform.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from msgplatform.core.models import Event

from .. import events
from ..dispatch import RENDER_INVOICE_PDF, task_send_after_commit
from ..documents.pdf import TEMPLATE_VERSION, render_credit_note_pdf, render_invoice_pdf
from ..locks import invoice_lock_briefly
from ..models import CreditNote, EmailLog, Invoice, InvoiceDocument, InvoiceStatus, LineKind, Payment
from ..money import money_format, unit_price_format, unit_price_places
from .builder import SUB_CENT, is_sub_cent, line_unit_prices, quantity_text
from .configuration import bank_details_for, logo_decode, settings_for
from .evidence import prior_usage_days

log = logging.getLogger(__name__)

CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "rcs": "RCS", "viber": "Viber"}
# The sweep leaves a change this long to its own render task, takes at most a batch per run, and looks back this far
# (an older state without a version is rendered when someone downloads the PDF).
PDF_SWEEP_GRACE = timedelta(seconds=60)
PDF_SWEEP_BATCH = 100
PDF_SWEEP_HORIZON = timedelta(days=30)
# Separates the credit-note count in a state key ("approved|860.000|1|0|cn1").
CREDIT_NOTES_MARK = "|cn"


def state_key(invoice: Invoice) -> str:
    """What a rendering shows: status, payments and credit notes. A payment, a reversal or a credit note makes a new
    key, hence a new version. An invoice without credit notes keeps the key it had before they existed."""
    payments = list(invoice.payments.order_by("id").values_list("id", "reversed_at"))
    reversed_count = sum(1 for _, reversed_at in payments if reversed_at)
    key = f"{invoice.status}|{invoice.amount_paid}|{len(payments)}|{reversed_count}"
    credit_notes = invoice.credit_notes.count()
    return f"{key}{CREDIT_NOTES_MARK}{credit_notes}" if credit_notes else key


# What a PDF made without the admin's logo says of it, in the words the invoice page and the Event Viewer show.
LOGO_UNREADABLE = "the logo could not be read; upload it again in Settings, Business profile"


def _logo(settings) -> tuple[str, str]:
    """(file: URL of the admin's logo, "") when its file can be read and still decodes as the image it was uploaded
    as; ("", LOGO_UNREADABLE) when the admin has a logo that cannot be (the file is gone or damaged: the PDF is
    rendered without it, and says so); ("", "") without a logo, or on a storage without local files."""
    if not settings.logo:
        return "", ""
    try:
        path = Path(settings.logo.path)
    except (NotImplementedError, ValueError):  # a storage without local files
        return "", ""
    try:
        if path.suffix.lower() != ".svg":  # an SVG stored before uploads were decoded is drawn as it is
            with File(path.open("rb")) as stored:
                logo_decode(stored)
        elif not path.is_file():
            raise FileNotFoundError(path)
    except (OSError, ValidationFailed):
        return "", LOGO_UNREADABLE
    return path.as_uri(), ""


def _branding(tenant) -> dict:
    """The business block every PDF of the admin opens with (invoices and credit notes alike); `logo_problem` says
    why the logo is left out when the admin has one that cannot be read."""
    settings = settings_for(tenant)
    logo_uri, logo_problem = _logo(settings)
    return {
        "business": {
            "name": settings.business_name or tenant.name,
            "address": settings.business_address,
            "tax_id": settings.business_tax_id,
            "email": settings.business_email,
        },
        "logo_uri": logo_uri,
        "logo_problem": logo_problem,
    }


def _bill_to(account) -> dict:
    return {
        "name": account.billing_name or account.name,
        "address": account.billing_address,
        "email": account.billing_email or account.email,
        "tax_id": account.tax_id,
    }


def _annex(invoice: Invoice, fmt) -> dict | None:
    """The usage of a postpaid invoice by route and unit price, and (read when shown: the PDF shows it, the invoice
    page lists the records instead) its prior-period usage day by day."""
    if not invoice.is_postpaid:
        return None
    lines = list(invoice.lines.all())
    prices = dict(zip((line.pk for line in lines), line_unit_prices(lines, invoice.currency), strict=True))
    rows: OrderedDict[tuple, dict] = OrderedDict()
    for line in lines:
        key = (line.country, line.network, line.channel, line.unit_price)
        row = rows.setdefault(
            key,
            {
                "country": line.country,
                "network": line.network,
                "channel": SUB_CENT if is_sub_cent(line) else CHANNELS.get(line.channel, line.channel),
                "messages": 0,
                "parts": 0,
                "unit_price": prices[line.pk],
                "amount": Decimal(0),
            },
        )
        row["messages"] += line.messages
        row["parts"] += line.parts
        row["amount"] += line.amount
    total = sum((r["amount"] for r in rows.values()), Decimal(0))
    return {
        "rows": [{**r, "amount": fmt(r["amount"])} for r in rows.values()],
        "messages": sum(r["messages"] for r in rows.values()),
        "parts": sum(r["parts"] for r in rows.values()),
        "amount": fmt(total),
        "amount_value": total,
        "days": partial(_annex_days, invoice, lines),
    }


def _annex_days(invoice: Invoice, lines: list) -> list[dict]:
    """The annex's rows of prior-period usage and corrections by day, charges at the precision of the unit prices."""
    currency = invoice.currency
    places = unit_price_places([line.unit_price for line in lines if not is_sub_cent(line)], currency)
    return [
        {
            "day": f"{d.day:%Y-%m-%d}",
            "position": d.line.position,
            "what": f"{CHANNELS.get(d.line.channel, d.line.channel)} {d.line.country} {d.line.network}".strip(),
            "messages": d.messages,
            "parts": d.parts,
            "unit_price": unit_price_format(d.line.unit_price, currency, places),
            "charge": unit_price_format(d.charge, currency, places),
        }
        for d in prior_usage_days(invoice)
    ]


def invoice_document_context(invoice: Invoice) -> dict:
    """Plain data for the PDF template; every amount is formatted from the stored Decimal by money_format."""
    currency = invoice.currency

    def fmt(amount):
        return money_format(amount, currency)

    settings = settings_for(invoice.tenant)
    bank = bank_details_for(invoice.tenant)
    lines = list(invoice.lines.all())
    unit_prices = line_unit_prices(lines, currency)
    payments = invoice.payments.filter(reversed_at__isnull=True).order_by("payment_date", "id")
    credit_notes = list(invoice.credit_notes.order_by("issue_date", "id"))
    is_draft = invoice.status == InvoiceStatus.DRAFT
    status_label = {"draft": "DRAFT", "void": "VOID"}.get(invoice.status, invoice.get_payment_status_display())
    period = f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d}" if invoice.period_start else ""
    return {
        "title": "Invoice" if not is_draft else "Draft invoice",
        "is_draft": is_draft,
        "number": invoice.number or f"Draft #{invoice.pk}",
        "invoice_date": f"{invoice.invoice_date:%Y-%m-%d}",
        "due_date": f"{invoice.due_date:%Y-%m-%d}",
        "period": period,
        "status_label": status_label,
        "description": invoice.description,
        **_branding(invoice.tenant),
        "bill_to": _bill_to(invoice.account),
        "lines": [
            {
                "position": line.position,
                "description": line.description,
                "quantity": quantity_text(line.quantity) if line.kind != LineKind.RECHARGE else 1,
                "unit_price": unit_price,
                "amount": fmt(line.amount),
            }
            for line, unit_price in zip(lines, unit_prices, strict=True)
        ],
        "taxes": [{"name": t.name, "rate": t.rate.normalize(), "amount": fmt(t.amount)} for t in invoice.taxes.all()],
        "subtotal": fmt(invoice.subtotal),
        "total": fmt(invoice.total),
        # Credit notes lower what is owed (SPEC §4): the credited total and the effective total, as stored.
        "credit_notes": [
            {
                "number": note.number,
                "date": f"{note.issue_date:%Y-%m-%d}",
                "reason": note.reason,
                "total": fmt(note.total),
            }
            for note in credit_notes
        ],
        "credited": fmt(invoice.credited_total),
        "effective_total": fmt(invoice.effective_total),
        # What each payment contributes to the invoice now: a credit note may have moved part of it to the user's
        # customer credit, so the rows add up to the balance due.
        "payments": [
            {
                "date": f"{p.payment_date:%Y-%m-%d}",
                "type": p.get_payment_type_display(),
                "reference": p.transaction_id or p.bank_reference,
                "amount": fmt(p.applied),
                "moved": fmt(p.moved_to_credit) if p.moved_to_credit else "",
            }
            for p in payments
        ],
        "balance_due": fmt(invoice.balance_due),
        "bank": bank if any([bank.bank_name, bank.account_number, bank.swift]) else None,
        "notes": invoice.customer_notes,
        "terms": invoice.terms,
        "annex": _annex(invoice, fmt),
        "footer": f"{settings.business_name or invoice.tenant.name} · {invoice.number or 'draft'}",
    }


def credit_note_document_context(note: CreditNote) -> dict:
    """Plain data for the credit note's PDF: the invoice's branding, the reference to the invoice, lines, taxes,
    totals and the reason; every amount formatted from the stored Decimal by money_format."""
    currency = note.currency

    def fmt(amount):
        return money_format(amount, currency)

    invoice = note.invoice
    business = _branding(note.tenant)
    return {
        "title": "Credit note",
        "number": note.number,
        "issue_date": f"{note.issue_date:%Y-%m-%d}",
        "invoice_number": invoice.number,
        "invoice_date": f"{invoice.invoice_date:%Y-%m-%d}",
        **business,
        "bill_to": _bill_to(note.account),
        "lines": [
            {"position": line.position, "description": line.description, "amount": fmt(line.amount)}
            for line in note.lines.order_by("position")
        ],
        "taxes": [{"name": t.name, "rate": t.rate.normalize(), "amount": fmt(t.amount)} for t in note.taxes.all()],
        "subtotal": fmt(note.subtotal),
        "tax_total": fmt(note.tax_total),
        "total": fmt(note.total),
        "to_customer_credit": fmt(note.to_customer_credit) if note.to_customer_credit else "",
        "reason": note.reason,
        "footer": f"{business['business']['name']} · {note.number}",
    }


def credit_note_pdf(note: CreditNote) -> bytes:
    """PDF bytes of a credit note, rendered now (a credit note never changes; its PDF is not stored). Callers look
    the note up through a tenant- or account-scoped selector first."""
    return render_credit_note_pdf(credit_note_document_context(note))


def _get(tenant, invoice_id) -> Invoice:
    try:
        return Invoice.objects.select_related("tenant", "account").get(tenant=tenant, pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


class PdfFailed(DomainError):
    """The invoice's PDF could not be rendered; the error event says why, and Retry on the invoice renders again."""

    code = "pdf_failed"
    status = 503


# A rendering made again by Retry for a state that already has a version (made without the logo) is stored under the
# state's key followed by this mark and its version: the state keeps one key per rendering, and the latest wins.
AGAIN_MARK = "|again"


def _state_versions(invoice: Invoice, key: str):
    """The stored renderings of one state of the invoice: its first, and those Retry made again."""
    return InvoiceDocument.objects.filter(
        Q(state_key=key) | Q(state_key__startswith=f"{key}{AGAIN_MARK}"), invoice=invoice
    ).order_by("-version")


def _render(invoice: Invoice, key: str) -> tuple[bytes, str]:
    """(PDF bytes, why the logo was left out or "") of the invoice now; PdfFailed with the reason in plain words when
    it cannot be rendered (recorded once per state as an error event)."""
    context = invoice_document_context(invoice)
    try:
        return render_invoice_pdf(context), context["logo_problem"]  # slow part, outside any transaction
    except Exception as exc:  # noqa: BLE001 - any failure of the renderer is reported, with its reason
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        log.exception("PDF of invoice %s could not be rendered", invoice.pk)
        latest = _pdf_events(invoice).first()
        if not (latest and latest.kind == events.PDF_FAILED and latest.data.get("state_key") == key):
            events.pdf_failed(invoice, state_key=key, reason=reason)
        raise PdfFailed(f"The PDF of {invoice} could not be made: {reason}. Retry it from the invoice page.")


def _store(invoice: Invoice, key: str, content: bytes, *, again: bool = False) -> InvoiceDocument:
    """Insert the next version of the invoice's PDF for state `key` (IntegrityError when it is stored already); a
    rendering made again by Retry is keyed by the state, AGAIN_MARK and its version."""
    with transaction.atomic():
        # The invoice row lock serialises version numbers between concurrent renderings (held briefly: the PDF is
        # already built).
        invoice_lock_briefly(invoice.pk)
        version = (InvoiceDocument.objects.filter(invoice=invoice).aggregate(v=Max("version"))["v"] or 0) + 1
        return InvoiceDocument.objects.create(
            tenant=invoice.tenant,
            invoice=invoice,
            version=version,
            state_key=f"{key}{AGAIN_MARK}{version}" if again else key,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            template_version=TEMPLATE_VERSION,
        )


def invoice_pdf_render(*, invoice_id: int) -> InvoiceDocument | None:
    """Store a version for the invoice's current state unless one exists. Drafts are never stored.

    A logo that cannot be read is left out rather than failing the PDF: the version is stored, and a warning event
    says so in plain words (the invoice page shows it, with Retry). A rendering that fails raises PdfFailed.
    """
    invoice = Invoice.objects.select_related("tenant", "account").get(pk=invoice_id)
    if invoice.status == InvoiceStatus.DRAFT:
        return None
    key = state_key(invoice)
    existing = _state_versions(invoice, key).first()
    if existing:
        return existing
    content, logo_problem = _render(invoice, key)
    for _ in range(3):
        try:
            document = _store(invoice, key, content)
        except IntegrityError:
            existing = _state_versions(invoice, key).first()
            if existing:
                return existing  # another worker stored this state first
            continue
        if logo_problem:
            events.pdf_made_without_logo(invoice, version=document.version, state_key=key, problem=logo_problem)
        return document
    raise RuntimeError(f"could not store a PDF version of invoice {invoice_id}")


def invoice_pdf_retry(*, tenant, invoice_id, actor_id) -> InvoiceDocument:
    """Retry of the invoice page: render the invoice's current state again after a failure, or after a version was
    made without the logo. A new version is stored only when it is better than what is stored: the first version of
    the state, or one with the logo; a logo still unreadable is refused (409 logo_unreadable) and stores nothing."""
    invoice = _get(tenant, invoice_id)
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict("Drafts are rendered on demand, not stored: download the draft's PDF instead.", code="draft")
    key = state_key(invoice)
    existing = _state_versions(invoice, key).first()
    if existing is None:
        failed_before = _pdf_problem(invoice, key, None) is not None
        document = invoice_pdf_render(invoice_id=invoice.pk)  # PdfFailed again if it still fails
        if failed_before and _pdf_problem(invoice, key, document) is None:
            events.pdf_made_again(invoice, version=document.version, actor_id=actor_id)
        return document
    problem = _pdf_problem(invoice, key, existing)
    if problem is None:
        raise Conflict(
            f"The PDF of {invoice} (version {existing.version}) is complete; nothing to retry.", code="pdf_ok"
        )
    content, logo_problem = _render(invoice, key)
    if logo_problem:
        raise Conflict(f"The PDF was not made again: {logo_problem}.", code="logo_unreadable", field="logo")
    try:
        document = _store(invoice, key, content, again=True)
    except IntegrityError:  # a concurrent Retry stored it first
        return _state_versions(invoice, key).first()
    events.pdf_made_again(invoice, version=document.version, actor_id=actor_id)
    return document


def _pdf_events(invoice: Invoice):
    return Event.objects.filter(
        tenant_id=invoice.tenant_id,
        subject_type="invoice",
        subject_id=invoice.pk,
        kind__in=[events.PDF_FAILED, events.PDF_WITHOUT_LOGO, events.PDF_MADE_AGAIN],
    ).order_by("-id")


@dataclass(frozen=True)
class DocumentProblem:
    """A failure of an invoice's documents that still stands, as the invoice page shows it."""

    what: str  # "pdf" or "email"
    message: str  # plain words: what failed and what to do
    event: Event | None = None
    email: EmailLog | None = None


def _pdf_problem(invoice: Invoice, key: str, current: InvoiceDocument | None) -> DocumentProblem | None:
    """The PDF problem of the invoice's current state: its rendering failed and no version was stored since, or its
    latest version is the one made without the logo. A later state (a payment) answers for itself."""
    latest = _pdf_events(invoice).first()
    if latest is None or latest.kind == events.PDF_MADE_AGAIN or latest.data.get("state_key") != key:
        return None
    if latest.kind == events.PDF_FAILED and current is None:
        return DocumentProblem(what="pdf", message=latest.message, event=latest)
    if latest.kind == events.PDF_WITHOUT_LOGO and current is not None and current.version == latest.data.get("version"):
        return DocumentProblem(what="pdf", message=latest.message, event=latest)
    return None


def invoice_pdf_problem(invoice: Invoice) -> DocumentProblem | None:
    """What the invoice page says of its PDF when the current state's PDF failed or was made without the logo."""
    if invoice.status == InvoiceStatus.DRAFT:
        return None
    key = state_key(invoice)
    return _pdf_problem(invoice, key, _state_versions(invoice, key).first())


def invoice_pdf(*, tenant, invoice_id) -> tuple[str, bytes]:
    """(file name, bytes) to download: the latest stored version, rendered now if the worker has not yet;
    drafts render on demand with a DRAFT watermark and are not stored."""
    invoice = _get(tenant, invoice_id)
    if invoice.status == InvoiceStatus.DRAFT:
        return f"draft-{invoice.pk}.pdf", render_invoice_pdf(invoice_document_context(invoice))
    document = invoice_pdf_render(invoice_id=invoice.pk)
    return f"{invoice.number}.pdf", bytes(document.content)


def invoice_pdf_version(*, tenant, invoice_id, version: int) -> tuple[str, bytes]:
    invoice = _get(tenant, invoice_id)
    document = InvoiceDocument.objects.filter(invoice=invoice, version=version).first()
    if document is None:
        raise NotFound("No such version.")
    return f"{invoice.number}-v{version}.pdf", bytes(document.content)


def invoice_pdf_versions(*, tenant, invoice_id) -> list[InvoiceDocument]:
    invoice = _get(tenant, invoice_id)
    return list(InvoiceDocument.objects.filter(invoice=invoice).defer("content").order_by("version"))


def schedule_pdf_render(invoice_id: int) -> None:
    """After the current transaction commits, render the new state's PDF in a worker (the fast path: the periodic
    sweep renders the state if this task is lost)."""
    task_send_after_commit(RENDER_INVOICE_PDF, invoice_id)


def pdf_due_for_render(*, limit: int = PDF_SWEEP_BATCH) -> list[int]:
    """Approved invoices whose current state has no stored version, oldest change first.

    The same question as `state_key`, asked in SQL for every invoice at once. An approved invoice's state is named by
    its counts of payments, of reversals and of credit notes: all only grow, so no two states of one invoice share
    them (and the amount paid follows from them). Its version, if stored, has the key
    "approved|<amount paid>|<payments>|<reversals>", followed by "|cn<credit notes>" when it has any.
    """
    now = timezone.now()
    payments = Payment.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice")
    credit_notes = CreditNote.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice")

    def counted(rows):
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    return list(
        Invoice.objects.filter(
            status=InvoiceStatus.APPROVED,
            updated_at__lte=now - PDF_SWEEP_GRACE,
            updated_at__gte=now - PDF_SWEEP_HORIZON,
        )
        .annotate(
            state_suffix=Concat(
                Value("|"),
                Cast(counted(payments), CharField()),
                Value("|"),
                Cast(counted(payments.filter(reversed_at__isnull=False)), CharField()),
                Case(
                    When(
                        Exists(credit_notes),
                        then=Concat(Value(CREDIT_NOTES_MARK), Cast(counted(credit_notes), CharField())),
                    ),
                    default=Value(""),
                    output_field=CharField(),
                ),
                output_field=CharField(),
            )
        )
        .filter(
            ~Exists(
                InvoiceDocument.objects.filter(
                    Q(invoice=OuterRef("pk"))
                    & Q(state_key__startswith=f"{InvoiceStatus.APPROVED}|")
                    & Q(state_key__endswith=OuterRef("state_suffix"))
                )
            )
        )
        .order_by("updated_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
