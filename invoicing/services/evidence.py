"""The usage evidence file of a postpaid invoice: exactly the billed records, at full precision, streamed.

For each invoice line: its records (or, for correction lines, the record changes; for the sub-cent line, both), then
the line's raw total and its rounded amount; at the end the closing total, equal to the invoice's usage subtotal. A
prior-period line sums its route's days on the invoice: here each of its records is listed with its local day.

Once credit notes credit the invoice (SPEC §4), the file gains a last column, "credited": on each line's total row
what credit notes credited of that line, one row per adjustment credit note line, and after the closing total the
credited amount and the net usage (closing total - credited). An invoice without credit notes keeps the file it had.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from msgplatform.core.errors import ValidationFailed

from ..conf import usage_source
from ..contracts import UsageLine
from ..documents.cells import cell_text
from ..models import Invoice, InvoiceLine, LineKind
from ..money import ZERO, money_round
from .builder import is_sub_cent

HEADER = [
    "line",
    "message_id",
    "submitted_at_utc",
    "local_day",
    "destination",
    "country",
    "network",
    "channel",
    "parts",
    "status",
    "unit_price",
    "charge",
    "note",
]


def line_usages(invoice: Invoice) -> list[tuple[InvoiceLine, UsageLine]]:
    """Each line of a postpaid invoice, in order, with what identifies the usage behind it (UsageLine).

    A prior-period or correction line sums every day of its route and unit price, so it reads them all (prior-period
    usage: the days before the period). An invoice made before lines were summed has one such line per day of a
    route and price: each reads its own day. The sub-cent line reads what none of the other lines reads.
    """
    lines = list(invoice.lines.order_by("position"))
    per_route = Counter((line.kind, line.country, line.network, line.channel, line.unit_price) for line in lines)
    the_day_before = invoice.period_start - datetime.timedelta(days=1) if invoice.period_start else None
    routed: list[tuple[InvoiceLine, UsageLine]] = []
    for line in lines:
        if is_sub_cent(line):
            continue
        usage = UsageLine(country=line.country, network=line.network, channel=line.channel, unit_price=line.unit_price)
        by_day = per_route[(line.kind, line.country, line.network, line.channel, line.unit_price)] > 1
        if line.kind == LineKind.CORRECTION:
            usage = replace(usage, kind="correction", day=line.usage_day if by_day else None)
        elif line.kind == LineKind.PRIOR_USAGE:
            usage = replace(usage, day=line.usage_day) if by_day else replace(usage, until=the_day_before)
        else:
            usage = replace(usage, since=invoice.period_start)
        routed.append((line, usage))
    besides = tuple(usage for _, usage in routed)
    remainder = UsageLine(country="", network="", channel="", unit_price=ZERO, remainder=True, besides=besides)
    usage_of = {line.pk: usage for line, usage in routed}
    return [(line, usage_of.get(line.pk, remainder)) for line in lines]


@dataclass(frozen=True)
class UsageDay:
    """The usage of one day behind a prior-period or correction line (the annex shows them by day)."""

    line: InvoiceLine
    day: datetime.date
    messages: int
    parts: int
    charge: Decimal


def prior_usage_days(invoice: Invoice) -> list[UsageDay]:
    """The day-by-day usage behind the invoice's prior-period and correction lines, read back from the records they
    billed: by line, then day. A record change counts as one message more or less, by the sign of its parts."""
    source = usage_source()
    days: list[UsageDay] = []
    for line, usage in line_usages(invoice):
        if line.kind not in (LineKind.PRIOR_USAGE, LineKind.CORRECTION):
            continue
        by_day: dict[datetime.date, list] = {}
        if line.kind == LineKind.CORRECTION:
            for c in source.line_corrections(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage):
                acc = by_day.setdefault(c.record.day, [0, 0, Decimal(0)])
                acc[0] += 1 if c.parts > 0 else -1
                acc[1] += c.parts
                acc[2] += c.charge
        else:
            for r in source.line_records(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage):
                acc = by_day.setdefault(r.day, [0, 0, Decimal(0)])
                acc[0] += 1
                acc[1] += r.parts
                acc[2] += r.charge
        days.extend(
            UsageDay(line=line, day=day, messages=m, parts=p, charge=c) for day, (m, p, c) in sorted(by_day.items())
        )
    return days


def _record_row(line, r, *, parts: int, charge: Decimal, note: str) -> list[str]:
    return [
        str(line.position),
        cell_text(r.message_id),
        r.submitted_at.isoformat(),
        str(r.day),
        cell_text(r.destination),
        r.country,
        cell_text(r.network),
        r.channel,
        str(parts),
        r.status,
        f"{r.unit_price}",
        f"{charge:.6f}",
        cell_text(note),
    ]


def _row(*, line="", parts="", charge="", note="") -> list[str]:
    """A row of totals: only the line, parts, charge and note columns filled."""
    return [line, "", "", "", "", "", "", "", parts, "", "", charge, note]


def evidence_rows(invoice: Invoice) -> Iterator[list[str]]:
    if not invoice.is_postpaid:
        raise ValidationFailed("Only postpaid invoices have usage evidence.")
    currency = invoice.currency
    credited = invoice.credited_subtotal > 0
    # The "credited" column of a credited invoice: blank on record rows, filled on the rows that carry a credit.
    blank = [""] if credited else []
    yield HEADER + (["credited"] if credited else [])
    closing = Decimal(0)
    source = usage_source()
    for line, usage_line in line_usages(invoice):
        raw = Decimal(0)
        if line.kind != LineKind.CORRECTION:
            for r in source.line_records(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage_line):
                raw += r.charge
                note = "rolled back after billing" if r.rolled_back else ""
                yield _record_row(line, r, parts=r.parts, charge=r.charge, note=note) + blank
        if line.kind == LineKind.CORRECTION or usage_line.remainder:
            for c in source.line_corrections(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage_line):
                raw += c.charge
                yield _record_row(line, c.record, parts=c.parts, charge=c.charge, note=c.reason) + blank
        amount = money_round(line.amount, currency)
        closing += amount
        line_credit = [f"{money_round(line.credited_amount, currency)}"] if credited else []
        yield (
            _row(
                line=str(line.position),
                parts=str(line.parts),
                charge=f"{raw:.6f}",
                note=f"line {line.position} raw total; rounded line amount {amount}",
            )
            + line_credit
        )
    yield _row(charge=f"{money_round(closing, currency)}", note="closing total = invoice usage subtotal") + blank
    if credited:
        yield from _credited_rows(invoice, closing)


def _credited_rows(invoice: Invoice, closing: Decimal) -> Iterator[list[str]]:
    """The adjustments (credit note lines that credit no invoice line), then the credited total and the net usage."""
    currency = invoice.currency
    notes = list(invoice.credit_notes.order_by("issue_date", "id").prefetch_related("lines"))
    for note in notes:
        for cn_line in note.lines.all():
            if cn_line.invoice_line_id is None:
                adjustment = money_round(cn_line.amount, currency)
                yield [*_row(note=cell_text(f"credit note {note.number}: {cn_line.description}")), f"{adjustment}"]
    credited = money_round(invoice.credited_subtotal, currency)
    numbers = ", ".join(note.number for note in notes)
    net = money_round(closing - credited, currency)
    yield [*_row(note=cell_text(f"credited by credit notes {numbers}")), f"{credited}"]
    yield [*_row(charge=f"{net}", note="net usage = closing total - credited"), ""]


def evidence_csv_chunks(invoice: Invoice) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in evidence_rows(invoice):
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
