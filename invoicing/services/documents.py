"""Invoice PDFs: the data they show, immutable stored versions (one per payment state), on-demand rendering.

Rendering never happens while holding row locks: the PDF is built first, then inserted; a unique constraint on
(invoice, state) makes a concurrent second rendering of the same state a no-op.

The render task sent after commit is only the fast path: `pdf_due_for_render` finds approved invoices whose current
state has no stored version (the task was lost with the broker or a worker) and the periodic sweep renders them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from msgplatform.core.errors import NotFound

from ..dispatch import RENDER_INVOICE_PDF, task_send_after_commit
from ..documents.pdf import TEMPLATE_VERSION, render_invoice_pdf
from ..locks import invoice_lock_briefly
from ..models import Invoice, InvoiceDocument, InvoiceStatus, LineKind, Payment
from ..money import money_format
from .configuration import bank_details_for, settings_for

CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "rcs": "RCS", "viber": "Viber"}
# The sweep leaves a change this long to its own render task, takes at most a batch per run, and looks back this far
# (an older state without a version is rendered when someone downloads the PDF).
PDF_SWEEP_GRACE = timedelta(seconds=60)
PDF_SWEEP_BATCH = 100
PDF_SWEEP_HORIZON = timedelta(days=30)


def state_key(invoice: Invoice) -> str:
    """What a rendering shows: status and payments. A payment or reversal makes a new key, hence a new version."""
    payments = list(invoice.payments.order_by("id").values_list("id", "reversed_at"))
    reversed_count = sum(1 for _, reversed_at in payments if reversed_at)
    return f"{invoice.status}|{invoice.amount_paid}|{len(payments)}|{reversed_count}"


def _annex(invoice: Invoice, fmt) -> dict | None:
    if not invoice.is_postpaid:
        return None
    rows: OrderedDict[tuple, dict] = OrderedDict()
    for line in invoice.lines.all():
        key = (line.country, line.network, line.channel, line.unit_price)
        row = rows.setdefault(
            key,
            {
                "country": line.country,
                "network": line.network,
                "channel": CHANNELS.get(line.channel, line.channel),
                "messages": 0,
                "parts": 0,
                "unit_price": line.unit_price.normalize(),
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
    }


def invoice_document_context(invoice: Invoice) -> dict:
    """Plain data for the PDF template; every amount is formatted from the stored Decimal by money_format."""
    currency = invoice.currency

    def fmt(amount):
        return money_format(amount, currency)

    settings = settings_for(invoice.tenant)
    bank = bank_details_for(invoice.tenant)
    account = invoice.account
    payments = invoice.payments.filter(reversed_at__isnull=True).order_by("payment_date", "id")
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
        "business": {
            "name": settings.business_name or invoice.tenant.name,
            "address": settings.business_address,
            "tax_id": settings.business_tax_id,
            "email": settings.business_email,
        },
        "logo_uri": Path(settings.logo.path).as_uri() if settings.logo else "",
        "bill_to": {
            "name": account.billing_name or account.name,
            "address": account.billing_address,
            "email": account.billing_email or account.email,
            "tax_id": account.tax_id,
        },
        "lines": [
            {
                "position": line.position,
                "description": line.description,
                "quantity": line.quantity.normalize() if line.kind != LineKind.RECHARGE else 1,
                "unit_price": (
                    fmt(line.unit_price) if line.kind == LineKind.RECHARGE else f"{line.unit_price.normalize()}"
                ),
                "amount": fmt(line.amount),
            }
            for line in invoice.lines.all()
        ],
        "taxes": [{"name": t.name, "rate": t.rate.normalize(), "amount": fmt(t.amount)} for t in invoice.taxes.all()],
        "subtotal": fmt(invoice.subtotal),
        "total": fmt(invoice.total),
        "payments": [
            {
                "date": f"{p.payment_date:%Y-%m-%d}",
                "type": p.get_payment_type_display(),
                "reference": p.transaction_id or p.bank_reference,
                "amount": fmt(p.amount),
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


def _get(tenant, invoice_id) -> Invoice:
    try:
        return Invoice.objects.select_related("tenant", "account").get(tenant=tenant, pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


def invoice_pdf_render(*, invoice_id: int) -> InvoiceDocument | None:
    """Store a version for the invoice's current state unless one exists. Drafts are never stored."""
    invoice = Invoice.objects.select_related("tenant", "account").get(pk=invoice_id)
    if invoice.status == InvoiceStatus.DRAFT:
        return None
    key = state_key(invoice)
    existing = InvoiceDocument.objects.filter(invoice=invoice, state_key=key).first()
    if existing:
        return existing
    content = render_invoice_pdf(invoice_document_context(invoice))  # slow part, outside any transaction
    for _ in range(3):
        try:
            with transaction.atomic():
                # The invoice row lock serialises version numbers between concurrent renderings (held briefly:
                # the PDF is already built).
                invoice_lock_briefly(invoice.pk)
                version = (InvoiceDocument.objects.filter(invoice=invoice).aggregate(v=Max("version"))["v"] or 0) + 1
                return InvoiceDocument.objects.create(
                    tenant=invoice.tenant,
                    invoice=invoice,
                    version=version,
                    state_key=key,
                    content=content,
                    sha256=hashlib.sha256(content).hexdigest(),
                    size=len(content),
                    template_version=TEMPLATE_VERSION,
                )
        except IntegrityError:
            existing = InvoiceDocument.objects.filter(invoice=invoice, state_key=key).first()
            if existing:
                return existing  # another worker stored this state first
    raise RuntimeError(f"could not store a PDF version of invoice {invoice_id}")


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
    its counts of payments and of reversals: both only grow, so no two states of one invoice share them (and the
    amount paid follows from them). Its version, if stored, has the key "approved|<amount paid>|<payments>|<reversals>".
    """
    now = timezone.now()
    payments = Payment.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice")

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
