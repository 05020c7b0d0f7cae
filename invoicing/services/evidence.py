"""The usage evidence file of a postpaid invoice: exactly the billed records, at full precision, streamed.

For each invoice line: its records (or, for correction lines, the record changes), then the line's raw total and
its rounded amount; at the end the closing total, equal to the invoice's usage subtotal.

Once credit notes credit the invoice (SPEC §4), the file gains a last column, "credited": on each line's total row
what credit notes credited of that line, one row per adjustment credit note line, and after the closing total the
credited amount and the net usage (closing total - credited). An invoice without credit notes keeps the file it had.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from msgplatform.core.errors import ValidationFailed

from ..conf import usage_source
from ..contracts import UsageLine
from ..documents.cells import cell_text
from ..models import Invoice, LineKind
from ..money import money_round

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


def _usage_line(invoice: Invoice, line) -> UsageLine:
    prior = line.kind in (LineKind.PRIOR_USAGE, LineKind.CORRECTION)
    return UsageLine(
        country=line.country,
        network=line.network,
        channel=line.channel,
        unit_price=line.unit_price,
        day=line.usage_day if prior else None,
        since=None if prior else invoice.period_start,
    )


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
    for line in invoice.lines.order_by("position"):
        raw = Decimal(0)
        usage_line = _usage_line(invoice, line)
        if line.kind == LineKind.CORRECTION:
            for c in source.line_corrections(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage_line):
                raw += c.charge
                yield _record_row(line, c.record, parts=c.parts, charge=c.charge, note=c.reason) + blank
        else:
            for r in source.line_records(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage_line):
                raw += r.charge
                note = "rolled back after billing" if r.rolled_back else ""
                yield _record_row(line, r, parts=r.parts, charge=r.charge, note=note) + blank
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
