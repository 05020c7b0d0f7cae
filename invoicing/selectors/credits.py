"""Reads of corrections and credits: credit notes (the search list with its filters, one note with its lines and
taxes), a user's customer credit with its ledger, refunds and payments received for a user (receipts).

Every query filters by the tenant first; another tenant's row is NotFound, never "forbidden".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from msgplatform.accounts.models import Account
from msgplatform.core.errors import NotFound, ValidationFailed

from ..models import CreditEntry, CreditNote, CustomerCredit, Invoice, Receipt, Refund
from ..money import ZERO


def _id(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("Give a number.", field=field)


@dataclass(frozen=True)
class CreditNoteFilters:
    account_id: int | None = None
    invoice_id: int | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    text: str = ""  # credit-note number, invoice number or user name contains


def credit_notes_list(*, tenant, filters: CreditNoteFilters | None = None) -> QuerySet[CreditNote]:
    """The tenant's credit notes, newest first (issue date, then id), with their invoice and user."""
    f = filters or CreditNoteFilters()
    if f.date_from and f.date_to and f.date_to < f.date_from:
        raise ValidationFailed("The date range ends before it starts.", field="date_to")
    qs = CreditNote.objects.filter(tenant=tenant)
    if f.account_id is not None:
        qs = qs.filter(account_id=_id(f.account_id, "user"))
    if f.invoice_id is not None:
        qs = qs.filter(invoice_id=_id(f.invoice_id, "invoice"))
    if f.date_from:
        qs = qs.filter(issue_date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(issue_date__lte=f.date_to)
    text = (f.text or "").strip()
    if text:
        qs = qs.filter(_text_condition(tenant=tenant, text=text))
    return qs.select_related("invoice", "account").order_by("-issue_date", "-id")


# Up to this many matching invoices or users are looked up first and matched by id; beyond it, through the join.
MAX_TEXT_MATCHES = 500


def _text_condition(*, tenant, text: str) -> Q:
    """Credit-note number, invoice number or user name contains `text`, each side answered by its own index (the
    trigram indexes on the two numbers on PostgreSQL, the small accounts table) and matched by id, rather than an
    OR across a join that no index serves."""
    condition = Q(number__icontains=text)
    invoices = list(
        Invoice.objects.filter(tenant=tenant, number__icontains=text)
        .order_by()
        .values_list("id", flat=True)[: MAX_TEXT_MATCHES + 1]
    )
    if len(invoices) > MAX_TEXT_MATCHES:
        condition |= Q(invoice__number__icontains=text)
    elif invoices:
        condition |= Q(invoice_id__in=invoices)
    names = list(
        Account.objects.filter(tenant=tenant, name__icontains=text)
        .order_by()
        .values_list("id", flat=True)[: MAX_TEXT_MATCHES + 1]
    )
    if len(names) > MAX_TEXT_MATCHES:
        condition |= Q(account__name__icontains=text)
    elif names:
        condition |= Q(account_id__in=names)
    return condition


def credit_note_get(*, tenant, credit_note_id) -> CreditNote:
    """The tenant's credit note with its invoice and user (lines and taxes through its managers), or NotFound."""
    try:
        return CreditNote.objects.select_related("invoice", "account", "created_by").get(
            tenant=tenant, pk=int(credit_note_id)
        )
    except (CreditNote.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such credit note.")


def invoice_credit_notes(invoice: Invoice) -> list[CreditNote]:
    """The credit notes of one invoice, in issue order."""
    return list(invoice.credit_notes.order_by("issue_date", "id"))


def customer_credit_balance(account: Account) -> Decimal:
    """The user's customer credit now (zero when it never had any)."""
    row = CustomerCredit.objects.filter(account=account).values_list("balance", flat=True).first()
    return ZERO if row is None else row


@dataclass(frozen=True)
class CustomerCreditView:
    account: Account
    currency: str
    balance: Decimal
    entries: tuple[CreditEntry, ...]  # newest first
    refunds: tuple[Refund, ...]  # newest first
    receipts: tuple[Receipt, ...]  # newest first


LEDGER_ROWS = 200


def customer_credit_get(*, tenant, account_id) -> CustomerCreditView:
    """One of the tenant's users' customer credit, its latest ledger rows, refunds and payments received."""
    try:
        account = Account.objects.get(tenant=tenant, pk=int(account_id))
    except (Account.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such user.")
    return CustomerCreditView(
        account=account,
        currency=tenant.currency,
        balance=customer_credit_balance(account),
        entries=tuple(
            CreditEntry.objects.filter(account=account)
            .select_related("credit_note", "payment__invoice", "receipt", "refund")
            .order_by("-id")[:LEDGER_ROWS]
        ),
        refunds=tuple(
            Refund.objects.filter(tenant=tenant, account=account).order_by("-refund_date", "-id")[:LEDGER_ROWS]
        ),
        receipts=tuple(
            Receipt.objects.filter(tenant=tenant, account=account).order_by("-payment_date", "-id")[:LEDGER_ROWS]
        ),
    )


def _of_user_between(qs: QuerySet, day_field: str, *, account_id, date_from, date_to) -> QuerySet:
    """`qs` of one user (when given) and within the dates (inclusive), newest first, with the user."""
    if account_id not in (None, ""):
        qs = qs.filter(account_id=_id(account_id, "user"))
    if date_from:
        qs = qs.filter(**{f"{day_field}__gte": date_from})
    if date_to:
        qs = qs.filter(**{f"{day_field}__lte": date_to})
    return qs.select_related("account").order_by(f"-{day_field}", "-id")


def refunds_list(
    *, tenant, account_id=None, date_from: datetime.date | None = None, date_to: datetime.date | None = None
) -> QuerySet[Refund]:
    return _of_user_between(
        Refund.objects.filter(tenant=tenant), "refund_date", account_id=account_id, date_from=date_from, date_to=date_to
    )


def refund_get(*, tenant, refund_id) -> Refund:
    try:
        return Refund.objects.select_related("account").get(tenant=tenant, pk=int(refund_id))
    except (Refund.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such refund.")


def receipts_list(
    *, tenant, account_id=None, date_from: datetime.date | None = None, date_to: datetime.date | None = None
) -> QuerySet[Receipt]:
    return _of_user_between(
        Receipt.objects.filter(tenant=tenant),
        "payment_date",
        account_id=account_id,
        date_from=date_from,
        date_to=date_to,
    )


def receipt_get(*, tenant, receipt_id) -> Receipt:
    """The tenant's payment received for a user, with its allocations (payments and their invoices)."""
    try:
        return (
            Receipt.objects.select_related("account")
            .prefetch_related("allocations__invoice")
            .get(tenant=tenant, pk=int(receipt_id))
        )
    except (Receipt.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such payment.")
