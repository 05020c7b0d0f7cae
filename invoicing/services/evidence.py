"""The usage evidence file of a postpaid invoice: exactly the billed records, at full precision, streamed.

For each invoice line: its records (or, for correction lines, the record changes), then the line's raw total and
its rounded amount; at the end the closing total, equal to the invoice's usage subtotal.
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


def evidence_rows(invoice: Invoice) -> Iterator[list[str]]:
    if not invoice.is_postpaid:
        raise ValidationFailed("Only postpaid invoices have usage evidence.")
    yield HEADER
    closing = Decimal(0)
    source = usage_source()
    for line in invoice.lines.order_by("position"):
        raw = Decimal(0)
        usage_line = _usage_line(invoice, line)
        if line.kind == LineKind.CORRECTION:
            for c in source.line_corrections(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage_line):
                raw += c.charge
                yield _record_row(line, c.record, parts=c.parts, charge=c.charge, note=c.reason)
        else:
            for r in source.line_records(tenant_id=invoice.tenant_id, invoice_id=invoice.pk, line=usage_line):
                raw += r.charge
                note = "rolled back after billing" if r.rolled_back else ""
                yield _record_row(line, r, parts=r.parts, charge=r.charge, note=note)
        amount = money_round(line.amount, invoice.currency)
        closing += amount
        yield [
            str(line.position),
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            str(line.parts),
            "",
            "",
            f"{raw:.6f}",
            f"line {line.position} raw total; rounded line amount {amount}",
        ]
    yield [
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        f"{money_round(closing, invoice.currency)}",
        "closing total = invoice usage subtotal",
    ]


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
