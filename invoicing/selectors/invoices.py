"""Reads of invoices and payments: the invoice search with its tabs and filters, one invoice and its detail (what
its page and the API show, with the actions it offers), drafts to approve, a user's open invoices, the payments
list and one payment.

Every query filters by the tenant first; another tenant's invoice is NotFound, never "forbidden".

Tabs: *All* shows every invoice (drafts and void included); *Postpaid* and *Prepaid* are All restricted to one
billing method (drafts and void included); *Drafts* shows only drafts. `include_void=False` hides void invoices in
any tab. Payment status and due status belong to approved invoices only (rules.due_status): filtering on either
leaves drafts and void invoices out, whatever their stored `payment_status`.

Free text matches the invoice number or the user's name (case-insensitive contains). The names are matched first
in the small accounts table and the invoices then by account id; the number side is left out when no invoice
number of the tenant contains the text at all (on PostgreSQL a trigram index answers both quickly), so the usual
search is a single indexed condition rather than an OR that no index serves.

Pagination is OFFSET/LIMIT over an index-backed ordering with a unique tie-breaker (id): invoice date, due date,
total, balance due and number each have an index starting with the tenant; the user-name ordering is not
index-backed (it joins the accounts and sorts every match). The page's ids are found first in a subquery that
PostgreSQL answers from the index alone
(skipped rows never touch the table), then only the page's rows are read with their account. The page reads one
row more than it shows to know whether there is a next page; the total is never counted exactly: `count` counts
at most COUNT_CAP matching rows (a LIMITed subquery) and `count_capped` says there are more.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet

from msgplatform.accounts.models import Account
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotFound, ValidationFailed
from msgplatform.core.ids import ids_parse
from msgplatform.core.models import Event

from ..conf import usage_source
from ..models import (
    CreditNote,
    DueStatus,
    EmailLog,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    Payment,
    PaymentStatus,
)
from ..rules import Due, due_status, invoice_actions
from .activity import invoice_events
from .credits import customer_credit_balance

TABS = ("all", "postpaid", "prepaid", "drafts")
COUNT_CAP = 10_000
MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000
# Free text: up to this many matching account names are looked up first and matched by id (index-friendly);
# beyond it the name is matched through the join.
MAX_NAME_MATCHES = 500

# ordering key -> model field; "-key" sorts descending. The id tie-breaker follows the direction.
ORDERINGS = {
    "invoice_date": "invoice_date",
    "due_date": "due_date",
    "total": "total",
    "balance_due": "balance_due",
    "number": "sequence_number",
    "account": "account__name",
}


@dataclass(frozen=True)
class InvoiceFilters:
    tab: str = "all"
    account_id: int | None = None
    number: str = ""  # contains (so also prefix), case-insensitive
    due_status: str = ""  # DueStatus value
    payment_status: str = ""  # PaymentStatus value
    date_from: datetime.date | None = None  # invoice date, inclusive
    date_to: datetime.date | None = None  # invoice date, inclusive
    q: str = ""  # invoice number or the user's name, case-insensitive contains
    include_void: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> InvoiceFilters:
        """The filters of already-validated values keyed by these field names: a form's `cleaned_data`, an API
        query serializer's `validated_data` or a saved job's parameters. Other keys (ordering, page) are left out;
        a missing, None or empty value keeps the default."""
        given = {field.name: params.get(field.name) for field in fields(cls)}
        return cls(**{name: value for name, value in given.items() if value not in (None, "")})


@dataclass(frozen=True)
class InvoicePage:
    items: list[Invoice]
    page: int
    page_size: int
    has_next: bool
    has_previous: bool
    count: int  # matching invoices, at most COUNT_CAP
    count_capped: bool  # True: there are more than COUNT_CAP

    @property
    def count_display(self) -> str:
        return f"{self.count:,}+" if self.count_capped else f"{self.count:,}"


def _filtered(*, tenant, filters: InvoiceFilters) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(tenant=tenant)
    f = filters
    if f.tab not in TABS:
        raise ValidationFailed(f"Tab must be one of {', '.join(TABS)}.", field="tab")
    if f.tab in ("postpaid", "prepaid"):
        qs = qs.filter(billing_method=f.tab)
    elif f.tab == "drafts":
        qs = qs.filter(status=InvoiceStatus.DRAFT)
    if not f.include_void:
        qs = qs.exclude(status=InvoiceStatus.VOID)
    if f.account_id not in (None, ""):
        try:
            qs = qs.filter(account_id=int(f.account_id))
        except (TypeError, ValueError):
            raise ValidationFailed("No such user.", field="account_id")
    if f.number.strip():
        qs = qs.filter(number__icontains=f.number.strip())
    if f.payment_status:
        if f.payment_status not in PaymentStatus.values:
            raise ValidationFailed(
                f"Payment status must be one of {', '.join(PaymentStatus.values)}.", field="payment_status"
            )
        qs = qs.filter(status=InvoiceStatus.APPROVED, payment_status=f.payment_status)
    if f.due_status:
        if f.due_status not in DueStatus.values:
            raise ValidationFailed(f"Due status must be one of {', '.join(DueStatus.values)}.", field="due_status")
        today = tenant_today(tenant)
        # The predicate of the partial index inv_tenant_open_due, then the due date against the tenant's today.
        qs = qs.filter(status=InvoiceStatus.APPROVED, balance_due__gt=0)
        lookup = {DueStatus.NOT_DUE: "due_date__gt", DueStatus.DUE_TODAY: "due_date", DueStatus.OVERDUE: "due_date__lt"}
        qs = qs.filter(**{lookup[f.due_status]: today})
    if f.date_from:
        qs = qs.filter(invoice_date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(invoice_date__lte=f.date_to)
    text = f.q.strip()
    if text:
        qs = qs.filter(_text_condition(tenant=tenant, text=text))
    return qs


def _text_condition(*, tenant, text: str) -> Q:
    """Invoice number or user name contains `text`, as the cheapest condition that selects the same invoices."""
    by_number = Q(number__icontains=text)
    names = list(
        Account.objects.filter(tenant=tenant, name__icontains=text)
        .order_by()
        .values_list("id", flat=True)[: MAX_NAME_MATCHES + 1]
    )
    if not names:
        return by_number
    by_name = Q(account__name__icontains=text) if len(names) > MAX_NAME_MATCHES else Q(account_id__in=names)
    if Invoice.objects.filter(tenant=tenant).filter(by_number).exists():
        return by_number | by_name
    return by_name


def _order(ordering: str) -> list:
    key = ordering.removeprefix("-")
    if key not in ORDERINGS:
        raise ValidationFailed(
            f"Ordering must be one of {', '.join(ORDERINGS)}, optionally prefixed by '-'.", field="ordering"
        )
    descending = ordering.startswith("-")
    field = F(ORDERINGS[key])
    if key == "number":
        # Drafts have no number yet and sort after the highest number (they take the next ones), explicitly so on
        # every database; one ascending index then serves both directions.
        main = field.desc(nulls_first=True) if descending else field.asc(nulls_last=True)
    else:
        main = field.desc() if descending else field.asc()
    return [main, F("id").desc() if descending else F("id").asc()]


def invoice_queryset(*, tenant, filters: InvoiceFilters, ordering: str = "-invoice_date") -> QuerySet[Invoice]:
    """Every invoice matching `filters`, in `ordering`, with its account: for exports; pages use invoice_search."""
    return _filtered(tenant=tenant, filters=filters).select_related("account").order_by(*_order(ordering))


def invoice_search(
    *, tenant, filters: InvoiceFilters, ordering: str = "-invoice_date", page: int = 1, page_size: int = 50
) -> InvoicePage:
    """One page of the tenant's invoices matching `filters`, in `ordering` ("-invoice_date", "total", ...)."""
    try:
        page, page_size = max(1, int(page)), int(page_size)
    except (TypeError, ValueError):
        raise ValidationFailed("Page and page size are whole numbers.", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"Page size must be between 1 and {MAX_PAGE_SIZE}.", field="page_size")
    if page > MAX_PAGE:
        # The offset must stay a number the database takes (SQLite: 64 bits); nobody pages that far.
        raise ValidationFailed(f"Page must be between 1 and {MAX_PAGE:,}.", field="page")
    qs = _filtered(tenant=tenant, filters=filters)
    order = _order(ordering)
    offset = (page - 1) * page_size
    page_ids = qs.order_by(*order).values("id")[offset : offset + page_size + 1]
    rows = list(Invoice.objects.filter(tenant=tenant, id__in=page_ids).select_related("account").order_by(*order))
    has_next = len(rows) > page_size
    items = rows[:page_size]
    if not has_next and (items or page == 1):
        count = offset + len(items)  # the last page: the count is known without counting
    else:
        count = qs.order_by().values("id")[: COUNT_CAP + 1].count()
    if not items and page > 1:
        # A page past the end (a bookmark, rows voided or filtered away meanwhile): the last page instead. Past the
        # count cap the exact count is needed once to know which page that is (rare: nobody pages that far).
        total = count if count <= COUNT_CAP else qs.order_by().count()
        if total:
            last = -(-total // page_size)
            return invoice_search(tenant=tenant, filters=filters, ordering=ordering, page=last, page_size=page_size)
    return InvoicePage(
        items=items,
        page=page,
        page_size=page_size,
        has_next=has_next,
        has_previous=page > 1,
        count=min(count, COUNT_CAP),
        count_capped=count > COUNT_CAP,
    )


def invoice_get(*, tenant, invoice_id) -> Invoice:
    """The tenant's invoice with its account, or NotFound: another tenant's id looks like a missing one."""
    try:
        return Invoice.objects.select_related("account").get(tenant=tenant, pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


DETAIL_EVENTS = 200  # an invoice's events the detail shows (its history from the start)
DETAIL_EMAILS = 50  # its emails the detail shows (the latest)


@dataclass(frozen=True)
class InvoiceDetail:
    """One invoice with everything its page and the API show, read once: what is offered is decided here."""

    invoice: Invoice
    due: Due  # in the tenant's today
    actions: tuple[str, ...]  # rules.invoice_actions, knowing whether a payment still stands
    lines: tuple[InvoiceLine, ...]
    taxes: tuple[InvoiceTax, ...]
    payments: tuple[Payment, ...]  # reversed ones included, in payment order, with their user and who recorded them
    emails: tuple[EmailLog, ...]  # newest first, at most DETAIL_EMAILS
    events: tuple[Event, ...]  # oldest first, at most DETAIL_EVENTS
    late_usage: bool  # a postpaid draft whose period got usage after it was generated: regenerate to include it
    credit_notes: tuple[CreditNote, ...]  # in issue order
    available_credit: Decimal  # the user's customer credit, which "apply available credit" may use


def invoice_detail_get(*, tenant, invoice_id) -> InvoiceDetail:
    """The tenant's invoice with its lines, taxes, payments, emails, events and available actions, or NotFound."""
    invoice = invoice_get(tenant=tenant, invoice_id=invoice_id)
    # Read through the invoice's related managers: each row knows its invoice without another query.
    payments = tuple(
        invoice.payments.select_related("account", "recorded_by", "reversed_by").order_by("payment_date", "id")
    )
    has_active_payments = any(not p.is_reversed for p in payments)
    return InvoiceDetail(
        invoice=invoice,
        due=due_status(invoice, tenant_today(tenant)),
        actions=tuple(invoice_actions(invoice, has_active_payments=has_active_payments)),
        lines=tuple(invoice.lines.all()),
        taxes=tuple(invoice.taxes.all()),
        payments=payments,
        emails=tuple(invoice.emails.order_by("-id")[:DETAIL_EMAILS]),
        events=tuple(invoice_events(tenant=tenant, invoice_id=invoice.pk)[:DETAIL_EVENTS]),
        late_usage=invoice_has_late_usage(invoice),
        credit_notes=tuple(invoice.credit_notes.order_by("issue_date", "id")),
        available_credit=customer_credit_balance(invoice.account),
    )


def invoice_has_late_usage(invoice: Invoice) -> bool:
    """Unbilled usage for days of this open postpaid draft's own period arrived after it was generated (the draft
    billed all there was): the banner that says "regenerate to include it". Older usage released meanwhile (a void)
    goes on the next invoice and raises no banner."""
    if not invoice.is_draft or not invoice.is_postpaid or invoice.period_end is None:
        return False
    return usage_source().has_unbilled(
        tenant_id=invoice.tenant_id,
        account_id=invoice.account_id,
        before_or_on=invoice.period_end,
        since=invoice.period_start,
    )


def invoice_drafts(*, tenant, invoice_ids) -> list[Invoice]:
    """Those of `invoice_ids` that are the tenant's drafts, with their users, in id order (others are left out)."""
    return list(
        Invoice.objects.filter(tenant=tenant, pk__in=ids_parse(invoice_ids), status=InvoiceStatus.DRAFT)
        .select_related("account")
        .order_by("id")
    )


def open_invoices(*, tenant, account_id) -> QuerySet[Invoice]:
    """Approved invoices of one of the tenant's users that still owe something, oldest due first."""
    return Invoice.objects.filter(
        tenant=tenant, account_id=account_id, status=InvoiceStatus.APPROVED, balance_due__gt=0
    ).order_by("due_date", "id")


def payments_list(
    *,
    tenant,
    account_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    include_reversed: bool = True,
) -> QuerySet[Payment]:
    """The tenant's payments, newest first (payment date, then id), with their invoice and account."""
    qs = Payment.objects.filter(tenant=tenant)
    if account_id not in (None, ""):
        try:
            qs = qs.filter(account_id=int(account_id))
        except (TypeError, ValueError):
            raise ValidationFailed("No such user.", field="account_id")
    if date_from:
        qs = qs.filter(payment_date__gte=date_from)
    if date_to:
        qs = qs.filter(payment_date__lte=date_to)
    if not include_reversed:
        qs = qs.filter(reversed_at__isnull=True)
    return qs.select_related("invoice", "account").order_by("-payment_date", "-id")


def payment_get(*, tenant, payment_id) -> Payment:
    """The tenant's payment with its invoice and user, or NotFound."""
    try:
        return Payment.objects.select_related("invoice", "account").get(tenant=tenant, pk=int(payment_id))
    except (Payment.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such payment.")
