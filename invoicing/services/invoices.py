"""Invoices: create (prepaid recharge, postpaid from usage), edit drafts, approve, void, delete drafts.

Order inside every service: guards with clear errors -> locks -> writes -> event row -> side effects on commit.
Lock order, the same everywhere: the tenant's usage lock (postpaid claims), then the invoice, then the account.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from msgplatform.accounts.models import Account, AccountType, BillingMethod, LedgerKind
from msgplatform.accounts.services.balance import balance_change
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from msgplatform.core.events import event_record

from .. import api as invoicing_api
from ..conf import usage_source
from ..contracts import UsageGroup
from ..models import Invoice, InvoiceLine, InvoiceSource, InvoiceStatus, InvoiceTax, LineKind, PaymentStatus
from ..money import ZERO, Totals, line_amount, quantum, totals_compute
from .configuration import settings_for, taxes_applicable
from .numbering import number_render, sequence_next
from .stats import invoice_counted, state_of

CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "rcs": "RCS", "viber": "Viber"}


class Immutable(Conflict):
    code = "immutable"


@dataclass(frozen=True)
class ClaimInput:
    """Payment details of "Create & Claim"; amount None means the whole total."""

    payment_date: datetime.date
    payment_type: str
    amount: Decimal | None = None
    transaction_id: str = ""
    bank_reference: str = ""
    notes: str = ""


@dataclass(frozen=True)
class LineSpec:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    country: str = ""
    network: str = ""
    channel: str = ""
    messages: int = 0
    parts: int = 0
    raw_charge: Decimal = ZERO
    usage_day: datetime.date | None = None


@dataclass(frozen=True)
class Preview:
    lines: list[LineSpec]
    totals: Totals
    usage_raw: Decimal
    messages: int
    conflict: str | None = field(default=None)


# --- helpers ------------------------------------------------------------------------------------------------


def money_parse(value, *, currency: str, field_name: str, allow_zero: bool = False) -> Decimal:
    """A user-entered amount: a Decimal with no more decimals than the currency has."""
    if isinstance(value, float):
        raise ValidationFailed("Amounts are decimal strings, not floats.", field=field_name)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError, AttributeError):
        raise ValidationFailed("Enter an amount, for example 100.00.", field=field_name)
    if not amount.is_finite():
        raise ValidationFailed("Enter an amount, for example 100.00.", field=field_name)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed("The amount must be greater than zero.", field=field_name)
    if amount != amount.quantize(quantum(currency)):
        raise ValidationFailed(
            f"{currency} amounts have at most {-quantum(currency).as_tuple().exponent} decimals.", field=field_name
        )
    if amount >= Decimal("1e14"):
        raise ValidationFailed("The amount is too large.", field=field_name)
    return amount.quantize(quantum(currency))


def _account(tenant, account_id) -> Account:
    try:
        account = Account.objects.get(tenant=tenant, pk=int(account_id))
    except (Account.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such user.", field="account")
    if account.account_type != AccountType.USER:
        raise ValidationFailed("Resellers are not invoiced by this module.", field="account")
    return account


def _licensed_for(tenant, method: str) -> None:
    info = invoicing_api.license_for(tenant)
    if not info.active or method not in info.modes:
        raise NotAllowed(f"The invoicing licence does not cover {method} billing.", code="not_licensed")


def _dates(tenant, invoice_date, due_date) -> tuple[datetime.date, datetime.date]:
    invoice_date = invoice_date or tenant_today(tenant)
    due_date = due_date or invoice_date + datetime.timedelta(days=settings_for(tenant).default_due_days)
    if due_date < invoice_date:
        raise ValidationFailed("The due date cannot be before the invoice date.", field="due_date")
    return invoice_date, due_date


def invoice_lock(*, tenant, invoice_id) -> Invoice:
    """The tenant's invoice, row-locked until the transaction ends; another tenant's id is a 404."""
    try:
        return Invoice.objects.select_for_update().get(tenant=tenant, pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


def _event(invoice: Invoice, kind: str, actor_id, message: str, **data) -> None:
    event_record(
        area="invoicing",
        kind=kind,
        tenant_id=invoice.tenant_id,
        actor_id=actor_id,
        subject_type="invoice",
        subject_id=invoice.pk,
        message=message,
        data=data,
    )


def _write_lines(
    invoice: Invoice, lines: list[LineSpec], taxes: list[tuple[int, str, Decimal]], *, rows: tuple | None = None
) -> Totals:
    """Set the invoice's totals from these lines and taxes, and write the lines and tax lines.

    An invoice not saved yet is inserted here, with its totals, before its lines (it has none to replace); an
    existing one loses its old lines and tax lines, and the caller saves its new totals. `rows`: two lists that
    collect the new lines and tax lines instead, for a caller that inserts the invoices first and then the rows
    of many invoices at once.
    """
    totals = totals_compute(line_amounts=[line.amount for line in lines], tax_rates=taxes, currency=invoice.currency)
    invoice.subtotal = totals.subtotal
    invoice.tax_total = totals.tax_total
    invoice.total = totals.total
    invoice.balance_due = totals.total - invoice.amount_paid
    invoice.credit_base = totals.subtotal
    invoice.usage_raw = sum((s.raw_charge for s in lines), ZERO)
    line_rows = [
        InvoiceLine(
            invoice=invoice,
            position=i,
            kind=s.kind,
            description=s.description[:300],
            quantity=s.quantity,
            unit_price=s.unit_price,
            amount=s.amount,
            country=s.country,
            network=s.network,
            channel=s.channel,
            messages=s.messages,
            parts=s.parts,
            raw_charge=s.raw_charge,
            usage_day=s.usage_day,
        )
        for i, s in enumerate(lines, start=1)
    ]
    tax_rows = [
        InvoiceTax(invoice=invoice, tax_rate_id=t.tax_rate_id, name=t.name, rate=t.rate, amount=t.amount)
        for t in totals.taxes
    ]
    if rows is not None:
        rows[0].extend(line_rows)
        rows[1].extend(tax_rows)
        return totals
    if invoice.pk is None:
        invoice.save()
    else:
        invoice.lines.all().delete()
        invoice.taxes.all().delete()
    InvoiceLine.objects.bulk_create(line_rows)
    InvoiceTax.objects.bulk_create(tax_rows)
    return totals


def usage_lines(groups: list[UsageGroup], currency: str) -> list[LineSpec]:
    """Invoice lines from usage groups: by country, network, channel and unit price; prior-period ones by day."""
    lines = []
    for g in groups:
        channel = CHANNEL_NAMES.get(g.channel, g.channel)
        what = f"{channel} {g.country} {g.network}".strip()
        if g.kind == "correction":
            kind, description = LineKind.CORRECTION, f"Correction for {g.day:%Y-%m-%d}: {what}"
        elif g.is_prior:
            kind, description = LineKind.PRIOR_USAGE, f"Prior-period usage {g.day:%Y-%m-%d}: {what}"
        else:
            kind, description = LineKind.USAGE, what
        description += f" ({g.messages} messages)"
        lines.append(
            LineSpec(
                kind=kind,
                description=description,
                quantity=Decimal(g.parts),
                unit_price=g.unit_price,
                amount=line_amount(Decimal(g.parts), g.unit_price, currency),
                country=g.country,
                network=g.network,
                channel=g.channel,
                messages=g.messages,
                parts=g.parts,
                raw_charge=g.charge,
                usage_day=g.day,
            )
        )
    return lines


def period_conflict(
    *, tenant, account_id: int, start: datetime.date, end: datetime.date, exclude_id: int | None = None
) -> Invoice | None:
    """A non-void invoice of the account whose billing period overlaps [start, end] (SPEC §3)."""
    qs = Invoice.objects.filter(
        tenant=tenant, account_id=account_id, period_start__lte=end, period_end__gte=start
    ).exclude(status=InvoiceStatus.VOID)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by("period_start").first()


def _conflict_message(other: Invoice) -> str:
    return (
        f"The period overlaps invoice {other} ({other.period_start:%Y-%m-%d} to {other.period_end:%Y-%m-%d}) "
        "of this user."
    )


# --- create ---------------------------------------------------------------------------------------------------


def _finish_create(invoice: Invoice, *, actor_id, as_draft: bool, claim: ClaimInput | None) -> Invoice:
    _event(
        invoice,
        "invoice.created",
        actor_id,
        f"{invoice.get_source_display()} {invoice.billing_method} invoice created, total {invoice.total}",
    )
    if claim is not None and as_draft:
        raise ValidationFailed("A draft cannot be claimed; create it approved to record the payment.", field="claim")
    if not as_draft:
        invoice = _approve_locked(invoice, actor_id=actor_id)
    if claim is not None:
        from .payments import payment_record

        payment_record(
            tenant=invoice.tenant,
            invoice_id=invoice.pk,
            actor_id=actor_id,
            amount=invoice.balance_due if claim.amount is None else claim.amount,
            payment_date=claim.payment_date,
            payment_type=claim.payment_type,
            transaction_id=claim.transaction_id,
            bank_reference=claim.bank_reference,
            notes=claim.notes,
        )
        invoice.refresh_from_db()
    return invoice


@transaction.atomic
def invoice_create_prepaid(
    *,
    tenant,
    account_id,
    actor_id,
    recharge_amount,
    invoice_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    description: str = "",
    terms: str | None = None,
    notes: str | None = None,
    as_draft: bool = False,
    claim: ClaimInput | None = None,
) -> Invoice:
    _licensed_for(tenant, BillingMethod.PREPAID)
    account = _account(tenant, account_id)
    if account.billing_method != BillingMethod.PREPAID:
        raise ValidationFailed(f"{account.name} is a postpaid user; bill it from its usage.", field="account")
    amount = money_parse(recharge_amount, currency=tenant.currency, field_name="recharge_amount")
    invoice_date, due_date = _dates(tenant, invoice_date, due_date)
    defaults = settings_for(tenant)
    invoice = Invoice.objects.create(
        tenant=tenant,
        account=account,
        billing_method=BillingMethod.PREPAID,
        source=InvoiceSource.MANUAL,
        currency=tenant.currency,
        invoice_date=invoice_date,
        due_date=due_date,
        description=description or "Balance recharge",
        terms=defaults.default_terms if terms is None else terms,
        customer_notes=defaults.default_notes if notes is None else notes,
        created_by_id=actor_id,
    )
    line = LineSpec(
        kind=LineKind.RECHARGE, description=invoice.description, quantity=Decimal(1), unit_price=amount, amount=amount
    )
    _write_lines(invoice, [line], taxes_applicable(tenant=tenant, account=account))
    invoice.save()
    invoice_counted(tenant_id=tenant.id, before=None, after=state_of(invoice))
    return _finish_create(invoice, actor_id=actor_id, as_draft=as_draft, claim=claim)


def _postpaid_guards(tenant, account_id, period_start, period_end) -> Account:
    _licensed_for(tenant, BillingMethod.POSTPAID)
    account = _account(tenant, account_id)
    if account.billing_method != BillingMethod.POSTPAID:
        raise ValidationFailed(
            f"{account.name} is a prepaid user; its usage is paid from its balance.", field="account"
        )
    if period_start is None or period_end is None:
        raise ValidationFailed("Choose the period's first and last day.", field="period_start")
    if period_end < period_start:
        raise ValidationFailed("The period ends before it starts.", field="period_end")
    if period_end > tenant_today(tenant):
        raise ValidationFailed("The period cannot end after today.", field="period_end")
    return account


def invoice_preview_postpaid(*, tenant, account_id, period_start, period_end) -> Preview:
    """What "Create" would bill for the range, without writing anything."""
    account = _postpaid_guards(tenant, account_id, period_start, period_end)
    groups = usage_source().summarise(
        tenant_id=tenant.id,
        account_id=account.id,
        start=period_start,
        end=period_end,
        delivered_only=settings_for(tenant).bill_delivered_only,
    )
    lines = usage_lines(groups, tenant.currency)
    totals = totals_compute(
        line_amounts=[line.amount for line in lines],
        tax_rates=taxes_applicable(tenant=tenant, account=account),
        currency=tenant.currency,
    )
    other = period_conflict(tenant=tenant, account_id=account.id, start=period_start, end=period_end)
    return Preview(
        lines=lines,
        totals=totals,
        usage_raw=sum((g.charge for g in groups), ZERO),
        messages=sum(g.messages for g in groups),
        conflict=_conflict_message(other) if other else None,
    )


@transaction.atomic
def invoice_create_postpaid(
    *,
    tenant,
    account_id,
    actor_id,
    period_start: datetime.date,
    period_end: datetime.date,
    invoice_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    description: str = "",
    terms: str | None = None,
    notes: str | None = None,
    as_draft: bool = False,
    claim: ClaimInput | None = None,
) -> Invoice:
    account = _postpaid_guards(tenant, account_id, period_start, period_end)
    invoice_date, due_date = _dates(tenant, invoice_date, due_date)
    usage_source().lock(tenant_id=tenant.id)
    other = period_conflict(tenant=tenant, account_id=account.id, start=period_start, end=period_end)
    if other is not None:
        raise Conflict(_conflict_message(other), code="period_overlap", field="period_start")
    defaults = settings_for(tenant)
    invoice = Invoice.objects.create(
        tenant=tenant,
        account=account,
        billing_method=BillingMethod.POSTPAID,
        source=InvoiceSource.MANUAL,
        currency=tenant.currency,
        invoice_date=invoice_date,
        due_date=due_date,
        period_start=period_start,
        period_end=period_end,
        description=description or f"Messaging usage {period_start:%Y-%m-%d} to {period_end:%Y-%m-%d}",
        terms=defaults.default_terms if terms is None else terms,
        customer_notes=defaults.default_notes if notes is None else notes,
        created_by_id=actor_id,
    )
    groups = usage_source().claim(
        tenant_id=tenant.id,
        account_id=account.id,
        start=period_start,
        end=period_end,
        claim_id=invoice.pk,
        delivered_only=defaults.bill_delivered_only,
    )
    if not groups:
        raise ValidationFailed(
            "There is no unbilled usage of this user in the period.", field="period_start", code="no_usage"
        )
    totals = _write_lines(
        invoice, usage_lines(groups, tenant.currency), taxes_applicable(tenant=tenant, account=account)
    )
    if totals.total < 0:
        raise ValidationFailed(
            "The usage of the period nets to a credit; it stays for the next invoice.",
            field="period_start",
            code="negative_total",
        )
    invoice.save()
    invoice_counted(tenant_id=tenant.id, before=None, after=state_of(invoice))
    return _finish_create(invoice, actor_id=actor_id, as_draft=as_draft, claim=claim)


# --- drafts ---------------------------------------------------------------------------------------------------

DRAFT_FIELDS = {
    "description",
    "customer_notes",
    "terms",
    "invoice_date",
    "due_date",
    "recharge_amount",
    "line_descriptions",
}


@transaction.atomic
def invoice_update_draft(*, tenant, invoice_id, actor_id, **changes) -> Invoice:
    unknown = set(changes) - DRAFT_FIELDS
    if unknown:
        raise ValidationFailed(f"These cannot be edited: {', '.join(sorted(unknown))}.")
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    if not invoice.is_editable:
        raise Immutable(f"Invoice {invoice} is {invoice.status}; only drafts can be edited.")
    before = {k: str(getattr(invoice, k, "")) for k in changes if k in {"description", "invoice_date", "due_date"}}
    for key in ("description", "customer_notes", "terms"):
        if key in changes:
            setattr(invoice, key, changes[key] or "")
    invoice.invoice_date, invoice.due_date = _dates(
        tenant, changes.get("invoice_date", invoice.invoice_date), changes.get("due_date", invoice.due_date)
    )
    if "recharge_amount" in changes:
        if invoice.is_postpaid:
            raise ValidationFailed(
                "Postpaid amounts come from usage; regenerate the draft instead.", field="recharge_amount"
            )
        amount = money_parse(changes["recharge_amount"], currency=invoice.currency, field_name="recharge_amount")
        line = LineSpec(
            kind=LineKind.RECHARGE,
            description=invoice.description,
            quantity=Decimal(1),
            unit_price=amount,
            amount=amount,
        )
        _write_lines(invoice, [line], taxes_applicable(tenant=tenant, account=invoice.account))
    for position, text in (changes.get("line_descriptions") or {}).items():
        text = (text or "").strip()
        if not text:
            raise ValidationFailed("A line description cannot be empty.", field="line_descriptions")
        if not invoice.lines.filter(position=int(position)).update(description=text[:300]):
            raise ValidationFailed(f"The invoice has no line {position}.", field="line_descriptions")
    invoice.save()
    _event(invoice, "invoice.updated", actor_id, "Draft edited", before=before, fields=sorted(changes))
    return invoice


@transaction.atomic
def invoice_delete_draft(*, tenant, invoice_id, actor_id) -> None:
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    if not invoice.is_draft:
        raise Immutable(f"Invoice {invoice} is {invoice.status}; approved invoices are voided, never deleted.")
    if invoice.is_postpaid:
        usage_source().lock(tenant_id=tenant.id)
        usage_source().release(tenant_id=tenant.id, claim_id=invoice.pk)
    _event(
        invoice,
        "invoice.deleted",
        actor_id,
        f"Draft #{invoice.pk} of {invoice.account.name} deleted",
        total=str(invoice.total),
    )
    invoice_counted(tenant_id=tenant.id, before=state_of(invoice), after=None)
    invoice.delete()


# --- approve / void -------------------------------------------------------------------------------------------


def _approve_locked(invoice: Invoice, *, actor_id) -> Invoice:
    """Approve a draft the caller holds locked: number from the locked counter, usage rounding, zero = paid."""
    before = state_of(invoice)
    seq = sequence_next(tenant_id=invoice.tenant_id)
    invoice.sequence_number = seq
    invoice.number = number_render(settings_for(invoice.tenant).number_format, seq, invoice.invoice_date)
    invoice.status = InvoiceStatus.APPROVED
    invoice.approved_by_id = actor_id
    invoice.approved_at = timezone.now()
    if invoice.total == 0:
        # SPEC §3: a zero-total invoice is paid on approval and writes no ledger row.
        invoice.payment_status = PaymentStatus.PAID
    invoice.save()
    if invoice.is_postpaid and invoice.total != 0:
        # Usage was debited at full precision; paying the rounded subtotal must restore the balance exactly.
        rounding = invoice.usage_raw - invoice.subtotal
        if rounding:
            balance_change(
                account=invoice.account,
                amount=rounding,
                kind=LedgerKind.ROUNDING,
                reference=f"invoice {invoice.number} rounding",
                actor_id=actor_id,
            )
    invoice_counted(tenant_id=invoice.tenant_id, before=before, after=state_of(invoice))
    _event(invoice, "invoice.approved", actor_id, f"Invoice {invoice.number} approved, total {invoice.total}")
    _after_approval(invoice, actor_id=actor_id)
    return invoice


def _after_approval(invoice: Invoice, *, actor_id) -> None:
    """Side effects, after commit: render the PDF in a worker; email it when the admin wants that."""
    from .documents import schedule_pdf_render
    from .emails import invoice_email_send

    schedule_pdf_render(invoice.pk)
    account = invoice.account
    if settings_for(invoice.tenant).email_on_approval and (account.billing_email or account.email):
        invoice_email_send(tenant=invoice.tenant, invoice_id=invoice.pk, actor_id=actor_id, trigger="approval")


@transaction.atomic
def invoice_approve(*, tenant, invoice_id, actor_id) -> Invoice:
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict(f"Invoice {invoice} is already {invoice.status}.", code="not_draft")
    return _approve_locked(invoice, actor_id=actor_id)


def invoice_approve_bulk(*, tenant, invoice_ids, actor_id, confirm_flagged: bool = False) -> list[Invoice]:
    """Approve several drafts, each in its own transaction, in id order (numbers follow that order).

    Every id must be a draft of this admin, and drafts flagged as anomalies are approved only with
    `confirm_flagged`; otherwise nothing is approved.
    """
    try:
        ids = sorted({int(i) for i in invoice_ids})
    except (TypeError, ValueError):
        raise ValidationFailed("Invoice ids are integers.", field="invoice_ids")
    if not ids:
        raise ValidationFailed("Select at least one draft.", field="invoice_ids")
    drafts = dict(
        Invoice.objects.filter(tenant=tenant, pk__in=ids, status=InvoiceStatus.DRAFT).values_list(
            "pk", "anomaly_reason"
        )
    )
    missing = [i for i in ids if i not in drafts]
    if missing:
        known = set(Invoice.objects.filter(tenant=tenant, pk__in=missing).values_list("pk", flat=True))
        if set(missing) - known:
            raise NotFound("No such invoice.", field="invoice_ids")
        raise Conflict(
            f"{len(missing)} selected invoice(s) are not drafts any more; nothing was approved.", code="not_draft"
        )
    flagged = [pk for pk, reason in drafts.items() if reason]
    if flagged and not confirm_flagged:
        raise Conflict(
            f"{len(flagged)} selected draft(s) are flagged as anomalies; confirm them explicitly to approve.",
            code="flagged_need_confirmation",
        )
    approved = []
    for invoice_id in ids:
        approved.append(invoice_approve(tenant=tenant, invoice_id=invoice_id, actor_id=actor_id))
    return approved


@transaction.atomic
def invoice_void(*, tenant, invoice_id, actor_id, reason: str) -> Invoice:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the invoice is voided.", field="reason")
    if Invoice.objects.filter(tenant=tenant, pk=invoice_id, billing_method=BillingMethod.POSTPAID).exists():
        usage_source().lock(tenant_id=tenant.id)
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict("Drafts are deleted, not voided.", code="not_approved")
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice} is already void.", code="already_void")
    if invoice.payments.filter(reversed_at__isnull=True).exists():
        raise Conflict(f"Invoice {invoice} has payments; reverse them before voiding.", code="has_payments")
    before = state_of(invoice)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:300]
    invoice.save()
    if invoice.is_postpaid:
        usage_source().release(tenant_id=tenant.id, claim_id=invoice.pk)
        rounding = invoice.usage_raw - invoice.subtotal
        if rounding and invoice.total != 0:
            balance_change(
                account=invoice.account,
                amount=-rounding,
                kind=LedgerKind.ROUNDING,
                reference=f"invoice {invoice.number} voided",
                actor_id=actor_id,
            )
    invoice_counted(tenant_id=tenant.id, before=before, after=state_of(invoice))
    _event(invoice, "invoice.voided", actor_id, f"Invoice {invoice.number} voided: {reason}")
    return invoice
