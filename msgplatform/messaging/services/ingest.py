"""The one ingestion service for messaging records (HTTP endpoint and file import both call it).

A batch is validated record by record: bad records are reported (index, field, reason) and the good ones are
stored. Within one transaction per batch it then

1. takes the tenant's ingestion lock (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions already
   serialise writers), so the look-up of known message ids below cannot race another batch of the same tenant;
2. splits records into new ones, exact re-sends (duplicates: counted, stored once) and changes of a known
   record's `status` or `rolled_back` (applied, see docs/architecture.md "Record changes");
3. adds every record's contribution to its open usage bucket with one upsert per chunk of buckets (records of an
   already billed bucket get correction buckets instead, never a change of the billed one);
4. inserts the new records (COPY on PostgreSQL, executemany on SQLite) pointing at their buckets;
5. debits each account once for the batch's net usage through the ledger service, accounts locked in id order.

Either the whole batch's accepted part is stored, with its rollups and ledger rows, or nothing is.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from msgplatform.accounts.models import Account, LedgerKind, Tenant
from msgplatform.accounts.services.balance import accounts_lock, balance_change
from msgplatform.core.errors import DomainError

from ..models import (
    CHANNEL_CHOICES,
    DELIVERED_STATUS,
    ENCODING_CHOICES,
    MICROS,
    STATUS_CHOICES,
    IngestBatch,
    MessageRecord,
    RecordCorrection,
    UsageKind,
    UsageRollup,
)

CHANNELS = frozenset(c for c, _ in CHANNEL_CHOICES)
ENCODINGS = frozenset(e for e, _ in ENCODING_CHOICES)
STATUSES = frozenset(s for s, _ in STATUS_CHOICES)
MAX_PARTS = 255
INGEST_LOCK_CLASS = 74_01  # first key of pg_advisory_xact_lock(class, tenant_id)
_UTC = datetime.UTC


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    status = 413


@dataclass(frozen=True)
class RecordError:
    index: int
    field: str | None
    reason: str
    message_id: str | None = None


@dataclass
class IngestResult:
    batch_id: int | None
    received: int = 0
    created: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)


class _Bad(Exception):
    def __init__(self, field: str | None, reason: str):
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class _Parsed:
    message_id: str
    account_id: int
    submitted_at: datetime.datetime
    day: datetime.date
    destination: str
    sender_id: str
    country: str
    mcc: str
    mnc: str
    network: str
    channel: str
    encoding: str
    parts: int
    status: str
    unit_price: Decimal
    charge: Decimal
    unit_price_micros: int
    charge_micros: int
    rolled_back: bool
    billing_method: str


def _text(row, name, max_len, required=True, default=""):
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise _Bad(name, "is required")
        return default
    if not isinstance(value, str):
        value = str(value)
    if len(value) > max_len:
        raise _Bad(name, f"is longer than {max_len} characters")
    return value


def _decimal(row, name, required=True):
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise _Bad(name, "is required")
        return None
    if isinstance(value, bool):
        raise _Bad(name, "must be a decimal number")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError):
        raise _Bad(name, "must be a decimal number")
    if not number.is_finite() or number < 0:
        raise _Bad(name, "must be a non-negative decimal number")
    if number.as_tuple().exponent < -6 and number != number.quantize(Decimal("0.000001")):
        raise _Bad(name, "has more than 6 decimal places")
    return number.quantize(Decimal("0.000001"))


def _bool(row, name):
    value = row.get(name, False)
    if isinstance(value, bool):
        return value
    if value in (None, "", 0, "0", "false", "False", "FALSE", "no"):
        return False
    if value in (1, "1", "true", "True", "TRUE", "yes"):
        return True
    raise _Bad(name, "must be true or false")


def _parse(row, accounts: dict[int, Account], tz) -> _Parsed:
    if not isinstance(row, dict):
        raise _Bad(None, "a record must be a JSON object")
    message_id = _text(row, "message_id", 64)
    raw_user = row.get("user_id")
    try:
        account_id = int(raw_user)
    except (TypeError, ValueError):
        raise _Bad("user_id", "is required and must be an integer")
    account = accounts.get(account_id)
    if account is None:
        raise _Bad("user_id", "is not a user of this admin")
    raw_time = row.get("submitted_at")
    if not isinstance(raw_time, str) or not raw_time:
        raise _Bad("submitted_at", "is required (ISO 8601 with a time zone)")
    try:
        submitted_at = datetime.datetime.fromisoformat(raw_time)
    except ValueError:
        raise _Bad("submitted_at", "is not an ISO 8601 date-time")
    if submitted_at.tzinfo is None:
        raise _Bad("submitted_at", "needs a time zone offset (for example Z)")
    submitted_at = submitted_at.astimezone(_UTC)
    destination = _text(row, "destination", 20)
    country = _text(row, "country", 2).upper()
    if len(country) != 2 or not country.isalpha():
        raise _Bad("country", "must be an ISO 3166 alpha-2 code")
    channel = _text(row, "channel", 20, required=False, default="sms").lower()
    if channel not in CHANNELS:
        raise _Bad("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
    encoding = _text(row, "encoding", 10, required=False, default="gsm7").lower()
    if encoding not in ENCODINGS:
        raise _Bad("encoding", f"must be one of {', '.join(sorted(ENCODINGS))}")
    parts = row.get("parts", 1)
    if isinstance(parts, bool) or not isinstance(parts, int | str):
        raise _Bad("parts", "must be an integer from 1 to 255")
    try:
        parts = int(parts)
    except ValueError:
        raise _Bad("parts", "must be an integer from 1 to 255")
    if not 1 <= parts <= MAX_PARTS:
        raise _Bad("parts", "must be an integer from 1 to 255")
    status = _text(row, "status", 10).upper()
    if status not in STATUSES:
        raise _Bad("status", f"must be one of {', '.join(sorted(STATUSES))}")
    unit_price = _decimal(row, "unit_price")
    charge = unit_price * parts
    given_charge = _decimal(row, "charge", required=False)
    if given_charge is not None and given_charge != charge:
        raise _Bad("charge", f"must equal unit_price x parts ({charge})")
    unit_price_micros = int(unit_price * MICROS)
    return _Parsed(
        message_id=message_id,
        account_id=account_id,
        submitted_at=submitted_at,
        day=submitted_at.astimezone(tz).date(),
        destination=destination,
        sender_id=_text(row, "sender_id", 32, required=False),
        country=country,
        mcc=_text(row, "mcc", 3, required=False),
        mnc=_text(row, "mnc", 3, required=False),
        network=_text(row, "network", 100, required=False),
        channel=channel,
        encoding=encoding,
        parts=parts,
        status=status,
        unit_price=unit_price,
        charge=charge,
        unit_price_micros=unit_price_micros,
        charge_micros=unit_price_micros * parts,
        rolled_back=_bool(row, "rolled_back"),
        billing_method=account.billing_method,
    )


# A bucket key: (account_id, day iso, country, network, channel, unit_price_micros, delivered, billing_method, kind)
BucketKey = tuple


def _key(p, delivered: bool, kind: str = UsageKind.USAGE) -> BucketKey:
    return (
        p.account_id,
        str(p.day),
        p.country,
        p.network,
        p.channel,
        p.unit_price_micros,
        delivered,
        p.billing_method,
        kind,
    )


_IMMUTABLE = ("account_id", "parts", "unit_price", "submitted_at")


@dataclass(slots=True)
class _Known:
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


def records_ingest(
    *, tenant: Tenant, rows: list, source: str = IngestBatch.Source.API, actor_id: int | None = None
) -> IngestResult:
    max_batch = settings.INGEST_MAX_BATCH
    if len(rows) > max_batch:
        raise BatchTooLarge(
            f"A batch holds at most {max_batch} records; this one has {len(rows)}. Split it and send again."
        )
    result = IngestResult(batch_id=None, received=len(rows))
    tz = tenant.tz

    # Validation needs the accounts named by the batch (only this tenant's).
    user_ids = set()
    for row in rows:
        if isinstance(row, dict):
            try:
                user_ids.add(int(row.get("user_id")))
            except (TypeError, ValueError):
                pass
    accounts = {a.id: a for a in Account.objects.filter(tenant=tenant, id__in=user_ids).only("id", "billing_method")}
    parsed: list[tuple[int, _Parsed]] = []
    for index, row in enumerate(rows):
        try:
            parsed.append((index, _parse(row, accounts, tz)))
        except _Bad as bad:
            message_id = row.get("message_id") if isinstance(row, dict) else None
            result.errors.append(RecordError(index, bad.field, bad.reason, str(message_id) if message_id else None))

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [INGEST_LOCK_CLASS, tenant.id])
        batch = IngestBatch.objects.create(tenant=tenant, source=source, received=len(rows), actor_id=actor_id)
        result.batch_id = batch.id
        _apply(tenant, batch, parsed, result)
        result.rejected = len(result.errors)
        IngestBatch.objects.filter(pk=batch.pk).update(
            created=result.created, duplicates=result.duplicates, updated=result.updated, rejected=result.rejected
        )
    result.errors.sort(key=lambda e: e.index)
    return result


def _load_known(tenant: Tenant, message_ids: list[str]) -> dict[str, _Known]:
    known: dict[str, _Known] = {}
    step = 5000
    for start in range(0, len(message_ids), step):
        chunk = message_ids[start : start + step]
        qs = MessageRecord.objects.filter(tenant=tenant, message_id__in=chunk).values_list(
            "id",
            "message_id",
            "account_id",
            "parts",
            "unit_price",
            "submitted_at",
            "status",
            "rolled_back",
            "rollup_id",
            "rollup__billed_by",
            "day",
            "country",
            "network",
            "channel",
            "billing_method",
        )
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
        ) in qs:
            up_micros = int(unit_price * MICROS)
            known[mid] = _Known(
                id=rid,
                message_id=mid,
                account_id=account_id,
                parts=parts,
                unit_price=unit_price,
                submitted_at=submitted_at,
                status=status,
                rolled_back=rolled_back,
                rollup_id=rollup_id,
                billed=billed_by is not None,
                charge_micros=up_micros * parts,
                # the billing method is the one at ingestion, kept for every later bucket of this record
                key_usage=(account_id, str(day), country, network, channel, up_micros, method),
            )
    return known


def _apply(tenant: Tenant, batch: IngestBatch, parsed: list[tuple[int, _Parsed]], result: IngestResult) -> None:
    known = _load_known(tenant, list({p.message_id for _, p in parsed}))
    fresh: dict[str, _Parsed] = {}
    # bucket key -> [messages, parts, charge_micros]
    deltas: dict[BucketKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    corrections: list[tuple[_Known, BucketKey, int, int, int, str]] = []
    balance_micros: dict[int, int] = defaultdict(int)  # account -> signed change of balance

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
                result.errors.append(
                    RecordError(index, None, "repeats a message_id with different details", p.message_id)
                )
            elif (pending.status, pending.rolled_back) == (p.status, p.rolled_back):
                result.duplicates += 1
            else:
                pending.status, pending.rolled_back = p.status, p.rolled_back
                result.updated += 1
            continue
        old = known.get(p.message_id)
        if old is None:
            fresh[p.message_id] = p
            continue
        changed = [f for f in _IMMUTABLE if getattr(old, f) != getattr(p, f)]
        if changed:
            result.errors.append(
                RecordError(
                    index,
                    changed[0],
                    "differs from the stored record; only status and rolled_back may change",
                    p.message_id,
                )
            )
            continue
        if (old.status, old.rolled_back) == (p.status, p.rolled_back):
            result.duplicates += 1
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
                        ckey = old.key_usage[:6] + (state,) + old.key_usage[6:] + (UsageKind.CORRECTION,)
                        contribute(ckey, sign, old.parts, old.charge_micros)
                        corrections.append((old, ckey, sign, sign * old.parts, sign * old.charge_micros, reason))
            else:
                if was is not None:
                    contribute(
                        old.key_usage[:6] + (was,) + old.key_usage[6:] + (UsageKind.USAGE,),
                        -1,
                        old.parts,
                        old.charge_micros,
                    )
                if now is not None:
                    contribute(
                        old.key_usage[:6] + (now,) + old.key_usage[6:] + (UsageKind.USAGE,),
                        1,
                        old.parts,
                        old.charge_micros,
                    )
                old.dirty = True
        if old.rolled_back != p.rolled_back:
            balance_micros[old.account_id] += old.charge_micros if p.rolled_back else -old.charge_micros
        old.status, old.rolled_back = p.status, p.rolled_back
        old.dirty = True
        result.updated += 1

    for p in fresh.values():
        if not p.rolled_back:
            contribute(_key(p, p.status == DELIVERED_STATUS), 1, p.parts, p.charge_micros)
            balance_micros[p.account_id] -= p.charge_micros
    result.created = len(fresh)

    bucket_ids = _buckets_upsert(tenant.id, deltas)
    _records_insert(tenant.id, batch.id, fresh.values(), bucket_ids)
    _records_update(tenant.id, [k for k in known.values() if k.dirty], bucket_ids)
    if corrections:
        RecordCorrection.objects.bulk_create(
            RecordCorrection(
                tenant_id=tenant.id,
                record_id=old.id,
                rollup_id=bucket_ids[key],
                messages=sign,
                parts=parts,
                charge_micros=micros,
                reason=reason,
            )
            for old, key, sign, parts, micros, reason in corrections
        )
    # Usage buckets emptied by moves have no records left: drop them so previews show no empty lines.
    emptied = [bucket_ids[k] for k, d in deltas.items() if k[-1] == UsageKind.USAGE and d[0] < 0]
    if emptied:
        UsageRollup.objects.filter(id__in=emptied, billed_by__isnull=True, messages=0, charge_micros=0).delete()

    changes = {aid: m for aid, m in balance_micros.items() if m}
    if changes:
        locked = accounts_lock(tenant_id=tenant.id, account_ids=changes)
        for account_id in sorted(changes):
            balance_change(
                account=locked[account_id],
                amount=Decimal(changes[account_id]) / MICROS,
                kind=LedgerKind.USAGE,
                reference=f"usage batch {batch.id}",
                actor_id=batch.actor_id,
                locked=True,
            )


_BUCKET_COLUMNS = (
    "tenant_id",
    "account_id",
    "day",
    "country",
    "network",
    "channel",
    "unit_price_micros",
    "delivered",
    "billing_method",
    "kind",
    "messages",
    "parts",
    "charge_micros",
)
_BUCKET_KEY_COLUMNS = (
    "account_id",
    "day",
    "country",
    "network",
    "channel",
    "unit_price_micros",
    "delivered",
    "billing_method",
    "kind",
)


def _buckets_upsert(tenant_id: int, deltas: dict[BucketKey, list[int]]) -> dict[BucketKey, int]:
    """Add each delta to its open bucket (creating it), returning bucket ids by key. One statement per chunk."""
    table = UsageRollup._meta.db_table
    key_list = ", ".join(_BUCKET_KEY_COLUMNS)
    ids: dict[BucketKey, int] = {}
    items = list(deltas.items())
    chunk = 400
    with connection.cursor() as cursor:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            values = ", ".join(["(" + ", ".join(["%s"] * len(_BUCKET_COLUMNS)) + ")"] * len(part))
            params: list = []
            for key, (messages, parts, micros) in part:
                params.extend((tenant_id, *key, messages, parts, micros))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(_BUCKET_COLUMNS)}) VALUES {values} "  # noqa: S608 - constant names
                f"ON CONFLICT ({key_list}) WHERE billed_by IS NULL DO UPDATE SET "
                f"messages = {table}.messages + excluded.messages, parts = {table}.parts + excluded.parts, "
                f"charge_micros = {table}.charge_micros + excluded.charge_micros "
                f"RETURNING id, {key_list}",
                params,
            )
            for row in cursor.fetchall():
                rid, account_id, day, country, network, channel, up, delivered, method, kind = row
                ids[(account_id, str(day), country, network, channel, int(up), bool(delivered), method, kind)] = rid
    return ids


_RECORD_COLUMNS = (
    "tenant_id",
    "account_id",
    "message_id",
    "submitted_at",
    "day",
    "destination",
    "sender_id",
    "country",
    "mcc",
    "mnc",
    "network",
    "channel",
    "encoding",
    "parts",
    "status",
    "unit_price",
    "charge",
    "rolled_back",
    "billing_method",
    "rollup_id",
    "batch_id",
    "ingested_at",
    "updated_at",
)


def _records_insert(tenant_id: int, batch_id: int, records, bucket_ids: dict[BucketKey, int]) -> None:
    now = timezone.now()
    table = MessageRecord._meta.db_table
    sqlite = connection.vendor == "sqlite"
    rows = []
    for p in records:
        rollup_id = None if p.rolled_back else bucket_ids[_key(p, p.status == DELIVERED_STATUS)]
        rows.append(
            (
                tenant_id,
                p.account_id,
                p.message_id,
                p.submitted_at.isoformat() if sqlite else p.submitted_at,
                str(p.day) if sqlite else p.day,
                p.destination,
                p.sender_id,
                p.country,
                p.mcc,
                p.mnc,
                p.network,
                p.channel,
                p.encoding,
                p.parts,
                p.status,
                str(p.unit_price) if sqlite else p.unit_price,
                str(p.charge) if sqlite else p.charge,
                p.rolled_back,
                p.billing_method,
                rollup_id,
                batch_id,
                now.isoformat() if sqlite else now,
                now.isoformat() if sqlite else now,
            )
        )
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is the fastest way in; the unique index still refuses a duplicate id (the lock makes that moot).
            with cursor.cursor.copy(f"COPY {table} ({', '.join(_RECORD_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(_RECORD_COLUMNS))
            sql = f"INSERT INTO {table} ({', '.join(_RECORD_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, rows)


def _records_update(tenant_id: int, changed: list[_Known], bucket_ids: dict[BucketKey, int]) -> None:
    now = timezone.now()
    for k in changed:
        if k.billed:
            rollup_id = k.rollup_id  # stays on the billed bucket; its deltas went to correction buckets
        elif k.rolled_back:
            rollup_id = None
        else:
            rollup_id = bucket_ids[
                k.key_usage[:6] + (k.status == DELIVERED_STATUS,) + k.key_usage[6:] + (UsageKind.USAGE,)
            ]
        MessageRecord.objects.filter(pk=k.id, tenant_id=tenant_id).update(
            status=k.status, rolled_back=k.rolled_back, rollup_id=rollup_id, updated_at=now
        )
