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
from ..money import ZERO, Totals, line_amount, totals_compute
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


def period_conflict_message(other: Invoice) -> str:
    return (
        f"The period overlaps invoice {other} ({other.period_start:%Y-%m-%d} to {other.period_end:%Y-%m-%d}) "
        "of this user."
    )
