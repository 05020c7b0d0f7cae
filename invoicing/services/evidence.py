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
from msgplatform.messaging.models import MICROS, MessageRecord, RecordCorrection

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


def _neutral(value: str) -> str:
    """Spreadsheet programs run cells starting with = + - @ as formulas: prefix them with a quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _line_records(invoice: Invoice, line):
    qs = MessageRecord.objects.filter(
        tenant_id=invoice.tenant_id,
        rollup__billed_by=invoice.pk,
        rollup__kind="usage",
        country=line.country,
        network=line.network,
        channel=line.channel,
        unit_price=line.unit_price,
    )
    if line.kind == LineKind.PRIOR_USAGE:
        qs = qs.filter(day=line.usage_day)
    elif invoice.period_start:
        qs = qs.filter(day__gte=invoice.period_start)
    return qs.order_by("submitted_at", "id").iterator(chunk_size=2000)


def _line_corrections(invoice: Invoice, line):
    return (
        RecordCorrection.objects.filter(
            tenant_id=invoice.tenant_id,
            rollup__billed_by=invoice.pk,
            rollup__day=line.usage_day,
            rollup__country=line.country,
            rollup__network=line.network,
            rollup__channel=line.channel,
            rollup__unit_price_micros=int(line.unit_price * MICROS),
        )
        .select_related("record")
        .order_by("id")
        .iterator(chunk_size=2000)
    )


def _record_row(line, r, *, parts: int, charge: Decimal, note: str) -> list[str]:
    return [
        str(line.position),
        _neutral(r.message_id),
        r.submitted_at.isoformat(),
        str(r.day),
        _neutral(r.destination),
        r.country,
        _neutral(r.network),
        r.channel,
        str(parts),
        r.status,
        f"{r.unit_price}",
        f"{charge:.6f}",
        _neutral(note),
    ]


def evidence_rows(invoice: Invoice) -> Iterator[list[str]]:
    if not invoice.is_postpaid:
        raise ValidationFailed("Only postpaid invoices have usage evidence.")
    yield HEADER
    closing = Decimal(0)
    for line in invoice.lines.order_by("position"):
        raw = Decimal(0)
        if line.kind == LineKind.CORRECTION:
            for c in _line_corrections(invoice, line):
                charge = Decimal(c.charge_micros) / MICROS
                raw += charge
                yield _record_row(line, c.record, parts=c.parts, charge=charge, note=c.reason)
        else:
            for r in _line_records(invoice, line):
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
