"""Building an invoice's content, shared by manual invoices (services/invoices.py) and recurring drafts
(services/recurring.py): who may be billed, the dates, the lines from usage, the totals, and the period rule.

Nothing here commits or locks; callers hold the locks (invoicing/locks.py) and write the events (invoicing/events.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from msgplatform.accounts.models import Account, AccountType
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotAllowed, NotFound, ValidationFailed

from ..contracts import UsageGroup
from ..models import Invoice, InvoiceLine, InvoiceStatus, InvoiceTax, LineKind
from ..money import (
    ZERO,
    Totals,
    line_amount,
    money_exact_format,
    money_round,
    totals_compute,
    unit_price_format,
    unit_price_places,
)
from ..selectors.licenses import license_info
from .configuration import settings_for

CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "rcs": "RCS", "viber": "Viber"}


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


def billing_account(tenant, account_id) -> Account:
    try:
        account = Account.objects.get(tenant=tenant, pk=int(account_id))
    except (Account.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such user.", field="account")
    if account.account_type != AccountType.USER:
        raise ValidationFailed("Resellers are not invoiced by this module.", field="account")
    return account


def license_require(tenant, method: str) -> None:
    info = license_info(tenant)
    if not info.active or method not in info.modes:
        raise NotAllowed(f"The invoicing licence does not cover {method} billing.", code="not_licensed")


def invoice_dates(tenant, invoice_date, due_date) -> tuple[datetime.date, datetime.date]:
    invoice_date = invoice_date or tenant_today(tenant)
    due_date = due_date or invoice_date + datetime.timedelta(days=settings_for(tenant).default_due_days)
    if due_date < invoice_date:
        raise ValidationFailed("The due date cannot be before the invoice date.", field="due_date")
    return invoice_date, due_date


def lines_write(
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


def count_text(count: int, singular: str, plural: str = "") -> str:
    """ "1 message", "2 messages", "1,234 parts", "-1 message": a count with its noun."""
    return f"{count:,} {singular if abs(count) == 1 else plural or singular + 's'}"


def days_text(since: datetime.date, until: datetime.date) -> str:
    """ "30 Sep", "30 Sep – 31 Oct", "30 Dec 2025 – 2 Jan 2026" (the year only when the days span two)."""

    def day(d: datetime.date, year: bool) -> str:
        return f"{d.day} {d:%b}" + (f" {d.year}" if year else "")

    if since == until:
        return day(since, False)
    years = since.year != until.year
    return f"{day(since, years)} – {day(until, years)}"


SUB_CENT = "Sub-cent usage"


def is_sub_cent(line) -> bool:
    """The line that sums the usage rounding to nothing line by line: a usage line of no single route."""
    return line.kind == LineKind.USAGE and not line.channel


def quantity_text(quantity: Decimal) -> str:
    """A line's quantity as documents show it: "3", "1,500", "2.5" (never "1.5E+3")."""
    return f"{quantity.normalize():,f}"


def line_unit_prices(lines, currency: str) -> list[str]:
    """The unit prices of an invoice's lines (or a preview's) as the page, the preview and the PDF show them: in the
    currency, every one with the same decimals (enough for the most precise, at least the currency's); a dash for
    the sub-cent line, which sums several prices."""
    lines = list(lines)
    places = unit_price_places([line.unit_price for line in lines if not is_sub_cent(line)], currency)
    return ["—" if is_sub_cent(line) else unit_price_format(line.unit_price, currency, places) for line in lines]


@dataclass
class _Route:
    """The usage of one route and unit price, of one kind of line, while lines are summed from groups."""

    kind: str
    group: UsageGroup
    messages: int = 0
    parts: int = 0
    charge: Decimal = ZERO
    since: datetime.date | None = None
    until: datetime.date | None = None

    def add(self, g: UsageGroup) -> None:
        self.messages += g.messages
        self.parts += g.parts
        self.charge += g.charge
        if g.day is not None:
            self.since = g.day if self.since is None else min(self.since, g.day)
            self.until = g.day if self.until is None else max(self.until, g.day)

    def line(self, currency: str) -> LineSpec:
        g = self.group
        what = f"{CHANNEL_NAMES.get(g.channel, g.channel)} {g.country} {g.network}".strip()
        if self.kind == LineKind.CORRECTION:
            what = f"Correction, {days_text(self.since, self.until)}: {what}"
        elif self.kind == LineKind.PRIOR_USAGE:
            what = f"Prior-period usage, {days_text(self.since, self.until)}: {what}"
        return LineSpec(
            kind=self.kind,
            description=f"{what} ({count_text(self.messages, 'message')})",
            quantity=Decimal(self.parts),
            unit_price=g.unit_price,
            amount=line_amount(Decimal(self.parts), g.unit_price, currency),
            country=g.country,
            network=g.network,
            channel=g.channel,
            messages=self.messages,
            parts=self.parts,
            raw_charge=self.charge,
            usage_day=self.since,
        )


# The order of an invoice's usage lines: the period's, then prior-period usage, then corrections.
_KIND_ORDER = {LineKind.USAGE: 0, LineKind.PRIOR_USAGE: 1, LineKind.CORRECTION: 2}


def usage_lines(groups: list[UsageGroup], currency: str) -> list[LineSpec]:
    """Invoice lines from usage groups: one line per route (country, network, channel) and unit price for the
    period's usage, one for all its prior-period usage (its days stated once; the detail by day is in the annex and
    the evidence file) and one for its corrections; then every line whose amount rounds to nothing folded into one
    sub-cent line that states its messages, parts and exact amount.

    Each line's amount is its billed usage rounded half-up once (docs/decisions.md: prior-period usage is rounded
    per summarised line, not per day).
    """
    routes: dict[tuple, _Route] = {}
    for g in groups:
        if g.kind == "correction":
            kind = LineKind.CORRECTION
        else:
            kind = LineKind.PRIOR_USAGE if g.is_prior else LineKind.USAGE
        key = (kind, g.country, g.network, g.channel, g.unit_price)
        routes.setdefault(key, _Route(kind=kind, group=g)).add(g)
    lines = [routes[key].line(currency) for key in sorted(routes, key=lambda k: (_KIND_ORDER[k[0]], *k[1:]))]
    nothing = [line for line in lines if line.amount == 0]
    if not nothing:
        return lines
    return [line for line in lines if line.amount != 0] + [sub_cent_line(nothing, currency)]


def sub_cent_line(lines: list[LineSpec], currency: str) -> LineSpec:
    """One line for usage lines that each round to nothing: their raw charges summed, then rounded once."""
    messages = sum(line.messages for line in lines)
    parts = sum(line.parts for line in lines)
    raw = sum((line.raw_charge for line in lines), ZERO)
    return LineSpec(
        kind=LineKind.USAGE,
        description=(
            f"{SUB_CENT}: {count_text(messages, 'message')}, {count_text(parts, 'part')}, "
            f"exactly {money_exact_format(raw, currency)}"
        ),
        quantity=Decimal(parts),
        unit_price=ZERO,
        amount=money_round(raw, currency),
        messages=messages,
        parts=parts,
        raw_charge=raw,
    )


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


def period_conflict_message(other: Invoice) -> str:
    return (
        f"The period overlaps invoice {other} ({other.period_start:%Y-%m-%d} to {other.period_end:%Y-%m-%d}) "
        "of this user."
    )
