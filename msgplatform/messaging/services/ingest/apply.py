"""What a batch changes, worked out in memory from its parsed records and the stored records it names (no SQL).

A record is new, an exact re-send (a duplicate: counted, stored once) or a change of a known record's `status` or
`rolled_back` (see docs/architecture.md "Record changes"). Every record's contribution goes to its open usage
bucket; a change of a record whose bucket is already billed goes to correction buckets instead, never to the billed
one. Each account's balance moves by its net usage.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ...models import DELIVERED_STATUS, UsageKind
from ...money import micros_from_amount
from .parse import Parsed, RecordError

# A bucket key: the values of ROLLUP_KEY_FIELDS (models.py), the day as ISO text:
# (account_id, day, country, network, channel, unit_price_micros, delivered, billing_method, kind)
BucketKey = tuple

_IMMUTABLE = ("account_id", "parts", "unit_price", "submitted_at")  # spelt out again in changes_apply's hot loop


def _bucket_key(key_usage: tuple, delivered: bool, kind: str) -> BucketKey:
    """The bucket key of a stored record's `key_usage` (its key without delivered and kind)."""
    return key_usage[:6] + (delivered,) + key_usage[6:] + (kind,)


@dataclass(slots=True)
class Known:
    """A record already stored, as read at the start of the batch (and as changed so far by it)."""

    id: int
    message_id: str
    account_id: int
    parts: int
    unit_price: Decimal
    submitted_at: datetime.datetime
    status: str
    rolled_back: bool
    rollup_id: int | None
    billed: bool
    charge_micros: int
    key_usage: tuple  # bucket key fields without delivered/kind
    dirty: bool = False


def known_records(rows: Iterable[tuple]) -> dict[str, Known]:
    """The stored records by message id, from rows of (id, message_id, account_id, parts, unit_price,
    submitted_at, status, rolled_back, rollup_id, billed_by, day, country, network, channel, billing_method)."""
    known: dict[str, Known] = {}
    micros: dict[Decimal, int] = {}  # unit price -> micro-units, and local day -> ISO string: few distinct values
    days: dict[datetime.date, str] = {}
    for (
        rid,
        mid,
        account_id,
        parts,
        unit_price,
        submitted_at,
        status,
        rolled_back,
        rollup_id,
        billed_by,
        day,
        country,
        network,
        channel,
        method,
    ) in rows:
        up_micros = micros.get(unit_price)
        if up_micros is None:
            up_micros = micros[unit_price] = micros_from_amount(unit_price)
        day_iso = days.get(day)
        if day_iso is None:
            day_iso = days[day] = str(day)
        known[mid] = Known(
            rid,
            mid,
            account_id,
            parts,
            unit_price,
            submitted_at,
            status,
            rolled_back,
            rollup_id,
            billed_by is not None,
            up_micros * parts,
            # the billing method is the one at ingestion, kept for every later bucket of this record
            (account_id, day_iso, country, network, channel, up_micros, method),
        )
    return known


@dataclass
class Changes:
    """A batch's changes, ready to store."""

    fresh: list[Parsed] = field(default_factory=list)  # new records; `key` is their bucket unless rolled back
    changed: list[Known] = field(default_factory=list)  # stored records whose status or rolled_back changed
    # bucket key -> [messages, parts, charge_micros] to add to its open bucket
    deltas: dict[BucketKey, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    # (record, correction bucket key, messages, parts, charge_micros, reason) of changes of billed records
    corrections: list[tuple[Known, BucketKey, int, int, int, str]] = field(default_factory=list)
    balance_micros: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # account -> signed change
    duplicates: int = 0
    updated: int = 0

    def emptied_keys(self) -> list[BucketKey]:
        """Usage buckets that records moved out of: the ones left with no records are dropped."""
        return [k for k, d in self.deltas.items() if k[-1] == UsageKind.USAGE and d[0] < 0]


def changes_apply(parsed: list[tuple[int, Parsed]], known: dict[str, Known], errors: list[RecordError]) -> Changes:
    """The changes of a batch's `parsed` records given the `known` ones; a record that may not change is an error."""
    changes = Changes()
    fresh: dict[str, Parsed] = {}
    deltas = changes.deltas
    corrections = changes.corrections
    balance_micros = changes.balance_micros

    def contribute(key, sign, parts, charge_micros):
        d = deltas[key]
        d[0] += sign
        d[1] += sign * parts
        d[2] += sign * charge_micros

    for index, p in parsed:
        pending = fresh.get(p.message_id)
        if pending is not None:
            # The same id twice in one batch: the later one's status wins, like a later re-send would.
            if any(getattr(pending, f) != getattr(p, f) for f in _IMMUTABLE):
                errors.append(RecordError(index, None, "repeats a message_id with different details", p.message_id))
            elif (pending.status, pending.rolled_back) == (p.status, p.rolled_back):
                changes.duplicates += 1
            else:
                pending.status, pending.rolled_back = p.status, p.rolled_back
                changes.updated += 1
            continue
        old = known.get(p.message_id)
        if old is None:
            fresh[p.message_id] = p
            continue
        if (
            old.account_id != p.account_id
            or old.parts != p.parts
            or old.unit_price != p.unit_price
            or old.submitted_at != p.submitted_at
        ):  # the _IMMUTABLE fields, spelt out: this runs for every known record of the batch
            changed = [f for f in _IMMUTABLE if getattr(old, f) != getattr(p, f)]
            errors.append(
                RecordError(
                    index,
                    changed[0],
                    "differs from the stored record; only status and rolled_back may change",
                    p.message_id,
                )
            )
            continue
        if (old.status, old.rolled_back) == (p.status, p.rolled_back):
            changes.duplicates += 1
            continue
        # A change of a known record: take its old contribution out and put its new one in.
        was = None if old.rolled_back else old.status == DELIVERED_STATUS
        now = None if p.rolled_back else p.status == DELIVERED_STATUS
        if was != now:
            if old.billed:
                # Its bucket is on an invoice and never changes: the delta goes to correction buckets, billed on
                # the next invoice as prior-period lines.
                reason = "rolled back" if p.rolled_back else ("restored" if was is None else "status changed")
                for state, sign in ((was, -1), (now, 1)):
                    if state is not None:
                        ckey = _bucket_key(old.key_usage, state, UsageKind.CORRECTION)
                        contribute(ckey, sign, old.parts, old.charge_micros)
                        corrections.append((old, ckey, sign, sign * old.parts, sign * old.charge_micros, reason))
            else:
                if was is not None:
                    contribute(_bucket_key(old.key_usage, was, UsageKind.USAGE), -1, old.parts, old.charge_micros)
                if now is not None:
                    contribute(_bucket_key(old.key_usage, now, UsageKind.USAGE), 1, old.parts, old.charge_micros)
        if old.rolled_back != p.rolled_back:
            balance_micros[old.account_id] += old.charge_micros if p.rolled_back else -old.charge_micros
        old.status, old.rolled_back = p.status, p.rolled_back
        old.dirty = True
        changes.updated += 1

    usage = UsageKind.USAGE
    for p in fresh.values():
        if not p.rolled_back:
            # its bucket key (delivered or not, usage), kept for the insert that points the record at its bucket
            p.key = key = (
                p.account_id,
                p.day_iso,
                p.country,
                p.network,
                p.channel,
                p.unit_price_micros,
                p.status == DELIVERED_STATUS,
                p.billing_method,
                usage,
            )
            d = deltas[key]
            d[0] += 1
            d[1] += p.parts
            d[2] += p.charge_micros
            balance_micros[p.account_id] -= p.charge_micros
    changes.fresh = list(fresh.values())
    changes.changed = [k for k in known.values() if k.dirty]
    return changes


def record_updates(changed: list[Known], bucket_ids: dict[BucketKey, int]) -> list[tuple[int, str, bool, int | None]]:
    """(record id, status, rolled_back, bucket id) of each changed record, once the buckets have their ids."""
    updates = []
    for k in changed:
        if k.billed:
            rollup_id = k.rollup_id  # stays on the billed bucket; its deltas went to correction buckets
        elif k.rolled_back:
            rollup_id = None
        else:
            # A change that keeps its contribution (say UNKNOWN -> UNDELIV) leaves it in its open bucket, which the
            # upsert may not have touched: the one open bucket of its key is the one it is in.
            rollup_id = bucket_ids.get(
                _bucket_key(k.key_usage, k.status == DELIVERED_STATUS, UsageKind.USAGE), k.rollup_id
            )
        updates.append((k.id, k.status, k.rolled_back, rollup_id))
    return updates
