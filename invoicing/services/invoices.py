"""Invoices: create (prepaid recharge, postpaid from usage), edit drafts, approve, void, delete drafts.

Order inside every service: guards with clear errors -> locks -> writes -> event row -> side effects on commit.
Lock order, the same everywhere: the tenant's usage lock (postpaid billing), then the invoice, then the account.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from msgplatform.accounts.models import Account, BillingMethod, LedgerKind
from msgplatform.accounts.services.balance import balance_change
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed

from .. import events
from ..conf import usage_source
from ..locks import invoice_lock
from ..models import Invoice, InvoiceSource, InvoiceStatus, LineKind, PaymentStatus
from ..money import ZERO, money_format, money_parse, totals_compute
from .builder import (
    LineSpec,
    Preview,
    billing_account,
    invoice_dates,
    license_require,
    lines_write,
    period_conflict,
    period_conflict_message,
    usage_lines,
)
from .configuration import settings_for, taxes_applicable
from .numbering import number_render, sequence_next
from .stats import invoice_counted, state_of


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


# --- helpers ------------------------------------------------------------------------------------------------


# --- create ---------------------------------------------------------------------------------------------------


def _claim_check(invoice: Invoice, claim: ClaimInput) -> None:
    """The payment of "Create & Claim", checked before the invoice takes its number: a refusal then names no number
    that the rolled-back transaction gives back (the next invoice takes it)."""
    from .payments import payment_guards, transaction_id_free

    payment_guards(invoice.tenant, claim.payment_date, claim.payment_type)
    if claim.amount is not None:
        amount = money_parse(claim.amount, currency=invoice.currency, field_name="amount")
        if amount > invoice.total:
            raise ValidationFailed(
                f"The payment {money_format(amount, invoice.currency)} is more than the balance due "
                f"{money_format(invoice.total, invoice.currency)} of the new invoice.",
                field="amount",
                code="overpayment",
            )
    transaction_id_free(invoice.tenant, (claim.transaction_id or "").strip())


def _finish_create(invoice: Invoice, *, actor_id, as_draft: bool, claim: ClaimInput | None) -> Invoice:
    events.invoice_created(invoice, actor_id=actor_id)
    if claim is not None and as_draft:
        raise ValidationFailed("A draft cannot be claimed; create it approved to record the payment.", field="claim")
    if claim is not None:
        _claim_check(invoice, claim)
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
    license_require(tenant, BillingMethod.PREPAID)
    account = billing_account(tenant, account_id)
    if account.billing_method != BillingMethod.PREPAID:
        raise ValidationFailed(f"{account.name} is a postpaid user; bill it from its usage.", field="account")
    amount = money_parse(recharge_amount, currency=tenant.currency, field_name="recharge_amount")
    invoice_date, due_date = invoice_dates(tenant, invoice_date, due_date)
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
    lines_write(invoice, [line], taxes_applicable(tenant=tenant, account=account))
    invoice.save()
    invoice_counted(tenant_id=tenant.id, before=None, after=state_of(invoice))
    return _finish_create(invoice, actor_id=actor_id, as_draft=as_draft, claim=claim)


def _postpaid_guards(tenant, account_id, period_start, period_end) -> Account:
    license_require(tenant, BillingMethod.POSTPAID)
    account = billing_account(tenant, account_id)
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
    """What "Create" would bill for the range, without writing anything: the range's usage and, as prior-period
    lines by day, every older unbilled usage of the user (late records, usage a void or a deleted draft released;
    SPEC §3), as a recurring draft does."""
    account = _postpaid_guards(tenant, account_id, period_start, period_end)
    groups = usage_source().summarise(
        tenant_id=tenant.id,
        account_id=account.id,
        start=period_start,
        end=period_end,
        delivered_only=settings_for(tenant).bill_delivered_only,
        include_prior=True,
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
        conflict=period_conflict_message(other) if other else None,
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
    invoice_date, due_date = invoice_dates(tenant, invoice_date, due_date)
    usage_source().lock(tenant_id=tenant.id)
    other = period_conflict(tenant=tenant, account_id=account.id, start=period_start, end=period_end)
    if other is not None:
        raise Conflict(period_conflict_message(other), code="period_overlap", field="period_start")
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
    groups = usage_source().bill(
        tenant_id=tenant.id,
        account_id=account.id,
        start=period_start,
        end=period_end,
        invoice_id=invoice.pk,
        delivered_only=defaults.bill_delivered_only,
        include_prior=True,
    )
    if not groups:
        raise ValidationFailed(
            "There is no unbilled usage of this user in the period.", field="period_start", code="no_usage"
        )
    totals = lines_write(
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
    invoice.invoice_date, invoice.due_date = invoice_dates(
        tenant, changes.get("invoice_date", invoice.invoice_date), changes.get("due_date", invoice.due_date)
    )
    if "recharge_amount" in changes:
        if invoice.is_postpaid:
            raise ValidationFailed(
                "Postpaid amounts come from usage; regenerate the draft instead.", field="recharge_amount"
            )
        amount = money_parse(changes["recharge_amount"], currency=invoice.currency, field_name="recharge_amount")
        if amount == invoice.subtotal:
            del changes["recharge_amount"]  # unchanged: the lines and their taxes stay as they are
        else:
            line = LineSpec(
                kind=LineKind.RECHARGE,
                description=invoice.description,
                quantity=Decimal(1),
                unit_price=amount,
                amount=amount,
            )
            lines_write(invoice, [line], taxes_applicable(tenant=tenant, account=invoice.account))
    for position, text in (changes.get("line_descriptions") or {}).items():
        text = (text or "").strip()
        if not text:
            raise ValidationFailed("A line description cannot be empty.", field="line_descriptions")
        if not invoice.lines.filter(position=int(position)).update(description=text[:300]):
            raise ValidationFailed(f"The invoice has no line {position}.", field="line_descriptions")
    invoice.save()
    events.invoice_updated(invoice, actor_id=actor_id, before=before, fields=sorted(changes))
    return invoice


@transaction.atomic
def invoice_delete_draft(*, tenant, invoice_id, actor_id) -> None:
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)
    if not invoice.is_draft:
        raise Immutable(f"Invoice {invoice} is {invoice.status}; approved invoices are voided, never deleted.")
    if invoice.is_postpaid:
        usage_source().lock(tenant_id=tenant.id)
        usage_source().release(tenant_id=tenant.id, invoice_id=invoice.pk)
    events.invoice_deleted(invoice, actor_id=actor_id)
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
    events.invoice_approved(invoice, actor_id=actor_id)
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
    if invoice.credit_notes.exists():
        raise Conflict(
            f"Invoice {invoice} has credit notes; it is corrected by them and cannot be voided.",
            code="has_credit_notes",
        )
    before = state_of(invoice)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:300]
    invoice.save()
    if invoice.is_postpaid:
        usage_source().release(tenant_id=tenant.id, invoice_id=invoice.pk)
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
    events.invoice_voided(invoice, actor_id=actor_id, reason=reason)
    return invoice
