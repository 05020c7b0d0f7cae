"""The one ingestion service for messaging records (HTTP endpoint and file import both call it).

A batch is validated record by record: bad records are reported (index, field, reason) and the good ones are
stored. `_parse` is the rule; rows of the usual shape take a fast path that builds the same result (`_parse_batch`),
anything else, and every error, goes through `_parse`. Within one transaction per batch it then

1. takes the tenant's ingestion lock (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions already
   serialise writers), so the look-up of known message ids below cannot race another batch of the same tenant;
2. splits records into new ones, exact re-sends (duplicates: counted, stored once) and changes of a known
   record's `status` or `rolled_back` (applied, see docs/architecture.md "Record changes");
3. adds every record's contribution to its open usage bucket with one upsert (on PostgreSQL one statement for the
   batch, its buckets passed as one JSON array; on SQLite one per chunk of buckets); records of an already billed
   bucket get correction buckets instead, never a change of the billed one;
4. inserts the new records (binary COPY on PostgreSQL, executemany on SQLite) pointing at their buckets;
5. debits each account once for the batch's net usage through the ledger service, accounts locked in id order.

Either the whole batch's accepted part is stored, with its rollups and ledger rows, or nothing is.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from msgplatform.accounts.models import Account, LedgerKind, Tenant
from msgplatform.accounts.services.balance import balances_change
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
MAX_AMOUNT = Decimal("1000000")  # a unit price or charge this large is a mistake, and overflows the columns
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
    day_iso: str = ""
    key: tuple | None = None  # its usage bucket key, set when a new record is counted


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
    if number >= MAX_AMOUNT:
        raise _Bad(name, f"must be below {MAX_AMOUNT}")
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
    day = submitted_at.astimezone(tz).date()
    return _Parsed(
        message_id=message_id,
        account_id=account_id,
        submitted_at=submitted_at,
        day=day,
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
        day_iso=str(day),
    )


# The fast path of validation: exact spellings of the common values. Anything else (another spelling, another type,
# a bad value) goes through `_parse`, which is the rule and the source of every error message.
_FAST_CHANNEL = {None: "sms", "": "sms"} | {c: c for c in CHANNELS} | {c.upper(): c for c in CHANNELS}
_FAST_ENCODING = {None: "gsm7", "": "gsm7"} | {e: e for e in ENCODINGS} | {e.upper(): e for e in ENCODINGS}
_FAST_STATUS = {s: s for s in STATUSES} | {s.lower(): s for s in STATUSES}
_FAST_PARTS = {str(n): n for n in range(1, MAX_PARTS + 1)}
_FAST_BOOL = {None: False, "": False, "0": False, "false": False, "False": False, "FALSE": False, "no": False}
_FAST_BOOL |= {"1": True, "true": True, "True": True, "TRUE": True, "yes": True}


def _parse_batch(rows: list, accounts: dict[int, Account], tz, errors: list[RecordError]) -> list[tuple[int, _Parsed]]:
    """`_parse` of every row, with the rows in the usual shape (exact strings, known spellings) taken on a fast path.

    The fast path accepts a subset of what `_parse` accepts and builds the same `_Parsed`; a row it does not take
    (or any exception in it) goes through `_parse`, so the outcome and the error reported are always `_parse`'s.
    Values that repeat across a batch (user ids, prices, local days) are converted once per batch.
    """
    users: dict = {}  # raw user_id -> (account id, billing method)
    numbers: dict = {}  # raw unit price or charge -> (6-decimal Decimal, micro-units)
    days: dict = {}  # local date -> its ISO string
    fromisoformat = datetime.datetime.fromisoformat
    utc = _UTC

    def number(row, name):
        # `_decimal` reads a str, an int or a float through the text of the number: that text is the cache key.
        raw = row.get(name)
        kind = type(raw)
        if kind is str:
            key = raw
        elif kind is float:
            key = repr(raw)
        elif kind is int:
            key = str(raw)
        else:
            value = _decimal(row, name)  # raises _Bad for anything not a valid number
            return value, int(value * MICROS)
        entry = numbers.get(key)
        if entry is None:
            value = _decimal(row, name)
            entry = numbers[key] = (value, int(value * MICROS))
        return entry

    def fast(row) -> _Parsed | None:
        get = row.get
        message_id = get("message_id")
        if type(message_id) is not str or not 0 < len(message_id) <= 64:
            return None
        raw = get("user_id")
        if type(raw) is not int and type(raw) is not str:
            return None
        user = users.get(raw)
        if user is None:
            account = accounts.get(int(raw))
            if account is None:
                return None
            user = users[raw] = (account.id, account.billing_method)
        raw = get("submitted_at")
        if type(raw) is not str or not raw:
            return None
        submitted_at = fromisoformat(raw)
        if submitted_at.tzinfo is None:
            return None
        submitted_at = submitted_at.astimezone(utc)
        destination = get("destination")
        if type(destination) is not str or not 0 < len(destination) <= 20:
            return None
        country = get("country")
        if type(country) is not str or len(country) != 2:
            return None
        country = country.upper()
        if len(country) != 2 or not country.isalpha():
            return None
        channel = _FAST_CHANNEL.get(get("channel"))
        encoding = _FAST_ENCODING.get(get("encoding"))
        status = _FAST_STATUS.get(get("status"))
        if channel is None or encoding is None or status is None:
            return None
        parts = get("parts", 1)
        if type(parts) is int:
            if not 1 <= parts <= MAX_PARTS:
                return None
        else:
            parts = _FAST_PARTS.get(parts)
            if parts is None:
                return None
        unit_price, unit_price_micros = number(row, "unit_price")
        charge = unit_price * parts
        raw = get("charge")
        if raw is not None and raw != "" and number(row, "charge")[0] != charge:
            return None
        # The optional texts: absent or null is "", anything but a short enough str goes the slow way.
        sender_id = get("sender_id")
        if sender_id is None:
            sender_id = ""
        mcc = get("mcc")
        if mcc is None:
            mcc = ""
        mnc = get("mnc")
        if mnc is None:
            mnc = ""
        network = get("network")
        if network is None:
            network = ""
        if (
            type(sender_id) is not str
            or type(mcc) is not str
            or type(mnc) is not str
            or type(network) is not str
            or len(sender_id) > 32
            or len(mcc) > 3
            or len(mnc) > 3
            or len(network) > 100
        ):
            return None
        rolled_back = get("rolled_back", False)
        if rolled_back is not True and rolled_back is not False:
            rolled_back = _FAST_BOOL.get(rolled_back) if rolled_back is None or type(rolled_back) is str else None
            if rolled_back is None:
                return None
        day = submitted_at.astimezone(tz).date()
        day_iso = days.get(day)
        if day_iso is None:
            day_iso = days[day] = str(day)
        return _Parsed(
            message_id,
            user[0],
            submitted_at,
            day,
            destination,
            sender_id,
            country,
            mcc,
            mnc,
            network,
            channel,
            encoding,
            parts,
            status,
            unit_price,
            charge,
            unit_price_micros,
            unit_price_micros * parts,
            rolled_back,
            user[1],
            day_iso,
        )

    parsed: list[tuple[int, _Parsed]] = []
    for index, row in enumerate(rows):
        p = None
        if type(row) is dict:
            try:
                p = fast(row)
            except (_Bad, TypeError, ValueError, ArithmeticError):
                p = None
        if p is None:
            try:
                p = _parse(row, accounts, tz)
            except _Bad as bad:
                message_id = row.get("message_id") if isinstance(row, dict) else None
                errors.append(RecordError(index, bad.field, bad.reason, str(message_id) if message_id else None))
                continue
        parsed.append((index, p))
    return parsed


# A bucket key: (account_id, day iso, country, network, channel, unit_price_micros, delivered, billing_method, kind)
BucketKey = tuple


_IMMUTABLE = ("account_id", "parts", "unit_price", "submitted_at")  # spelt out again in _apply's hot loop


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
    try:
        raw_ids = {row.get("user_id") for row in rows if isinstance(row, dict)}
    except TypeError:  # an unhashable user_id somewhere: convert them all
        raw_ids = [row.get("user_id") for row in rows if isinstance(row, dict)]
    user_ids = set()
    for raw in raw_ids:
        try:
            user_ids.add(int(raw))
        except (TypeError, ValueError):
            pass
    accounts = {a.id: a for a in Account.objects.filter(tenant=tenant, id__in=user_ids).only("id", "billing_method")}
    parsed = _parse_batch(rows, accounts, tz, result.errors)

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


def _bound_cursor(cursor):
    """A psycopg cursor with server-side binding on the connection of Django's `cursor` (PostgreSQL only).

    Django's cursors interpolate parameters on the client, which for arrays of thousands of values means quoting
    each one into the SQL text; bound, they travel in binary.
    """
    import psycopg

    return psycopg.Cursor(cursor.cursor.connection)


def _known_rows(tenant: Tenant, message_ids: list[str]):
    """The stored records among `message_ids`, as tuples in the order of `_load_known`'s fields."""
    if connection.vendor == "postgresql":
        # One statement, the ids passed as one JSON array (the ORM's IN list of 10,000 placeholders, or a text
        # array, costs far more to build) and looked up one by one in the unique index.
        with connection.cursor() as wrapper, _bound_cursor(wrapper) as cursor:
            cursor.execute(
                f"SELECT r.id, r.message_id, r.account_id, r.parts, r.unit_price, r.submitted_at, r.status, "  # noqa: S608
                f"r.rolled_back, r.rollup_id, u.billed_by, r.day, r.country, r.network, r.channel, r.billing_method "
                f"FROM jsonb_array_elements_text(%s::jsonb) AS ids(message_id) "
                f"JOIN {MessageRecord._meta.db_table} r ON r.tenant_id = %s AND r.message_id = ids.message_id "
                f"LEFT JOIN {UsageRollup._meta.db_table} u ON u.id = r.rollup_id",
                [orjson.dumps(message_ids).decode(), tenant.id],
                binary=True,
            )
            yield from cursor.fetchall()
        return
    step = 5000
    for start in range(0, len(message_ids), step):
        chunk = message_ids[start : start + step]
        yield from MessageRecord.objects.filter(tenant=tenant, message_id__in=chunk).values_list(
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


def _load_known(tenant: Tenant, message_ids: list[str]) -> dict[str, _Known]:
    known: dict[str, _Known] = {}
    micros: dict[Decimal, int] = {}  # unit price -> micro-units, and local day -> ISO string: few distinct values
    days: dict[datetime.date, str] = {}
    if message_ids:
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
        ) in _known_rows(tenant, message_ids):
            up_micros = micros.get(unit_price)
            if up_micros is None:
                up_micros = micros[unit_price] = int(unit_price * MICROS)
            day_iso = days.get(day)
            if day_iso is None:
                day_iso = days[day] = str(day)
            known[mid] = _Known(
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
        if (
            old.account_id != p.account_id
            or old.parts != p.parts
            or old.unit_price != p.unit_price
            or old.submitted_at != p.submitted_at
        ):  # the _IMMUTABLE fields, spelt out: this runs for every known record of the batch
            changed = [f for f in _IMMUTABLE if getattr(old, f) != getattr(p, f)]
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

    usage = UsageKind.USAGE
    for p in fresh.values():
        if not p.rolled_back:
            # its BucketKey (delivered or not, usage), kept for the insert that points the record at its bucket
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

    # One ledger row per account for the batch's net usage, in three statements whatever the number of accounts.
    balances_change(
        tenant_id=tenant.id,
        amounts={aid: Decimal(m) / MICROS for aid, m in balance_micros.items() if m},
        kind=LedgerKind.USAGE,
        reference=f"usage batch {batch.id}",
        actor_id=batch.actor_id,
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


# PostgreSQL types of the bucket columns after tenant_id: the one-statement upsert reads them from a JSON array.
_BUCKET_JSON_TYPES = (
    "bigint",
    "date",
    "text",
    "text",
    "text",
    "bigint",
    "boolean",
    "text",
    "text",
    "bigint",
    "bigint",
    "bigint",
)


def _buckets_upsert(tenant_id: int, deltas: dict[BucketKey, list[int]]) -> dict[BucketKey, int]:
    """Add each delta to its open bucket (creating it), returning bucket ids by key.

    One statement on PostgreSQL, the buckets passed as one JSON array of rows (much cheaper to build and to read
    than a dozen typed arrays or thousands of placeholders); one per chunk of 400 buckets on SQLite.
    """
    table = UsageRollup._meta.db_table
    key_list = ", ".join(_BUCKET_KEY_COLUMNS)
    ids: dict[BucketKey, int] = {}
    items = list(deltas.items())
    if not items:
        return ids
    upsert = (
        f"ON CONFLICT ({key_list}) WHERE billed_by IS NULL DO UPDATE SET "
        f"messages = {table}.messages + excluded.messages, parts = {table}.parts + excluded.parts, "
        f"charge_micros = {table}.charge_micros + excluded.charge_micros "
        f"RETURNING id, {key_list}"
    )
    chunk = 400
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(f"(e->>{i})::{t}" for i, t in enumerate(_BUCKET_JSON_TYPES))
            with _bound_cursor(cursor) as bound:
                bound.execute(
                    f"INSERT INTO {table} ({', '.join(_BUCKET_COLUMNS)}) "  # noqa: S608 - constant names
                    f"SELECT %s, {values} FROM jsonb_array_elements(%s::jsonb) AS e " + upsert,
                    [tenant_id, orjson.dumps([(*key, *delta) for key, delta in items]).decode()],
                    binary=True,
                )
                returned = bound.fetchall()
            days: dict[datetime.date, str] = {}
            for rid, account_id, day, country, network, channel, up, delivered, method, kind in returned:
                day_iso = days.get(day)
                if day_iso is None:
                    day_iso = days[day] = str(day)
                ids[(account_id, day_iso, country, network, channel, up, delivered, method, kind)] = rid
            return ids
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            values = ", ".join(["(" + ", ".join(["%s"] * len(_BUCKET_COLUMNS)) + ")"] * len(part))
            params: list = []
            for key, (messages, parts, micros) in part:
                params.extend((tenant_id, *key, messages, parts, micros))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(_BUCKET_COLUMNS)}) VALUES {values} " + upsert,  # noqa: S608
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


def _record_types() -> list[str]:
    """PostgreSQL type names of `_RECORD_COLUMNS`, from the model (a binary COPY needs the exact types)."""
    fields = {f.column: f for f in MessageRecord._meta.concrete_fields}
    return [fields[column].db_type(connection).split("(")[0] for column in _RECORD_COLUMNS]


def _records_insert(tenant_id: int, batch_id: int, records, bucket_ids: dict[BucketKey, int]) -> None:
    """Insert the new records, each pointing at the bucket it was counted in (`_Parsed.key`, set by `_apply`)."""
    records = list(records)
    if not records:
        return
    now = timezone.now()
    table = MessageRecord._meta.db_table
    columns = ", ".join(_RECORD_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is the fastest way in (binary: no text to format here or to parse there); the unique index still
            # refuses a duplicate id (the lock makes that moot).
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_record_types())
                write_row = copy.write_row
                for p in records:
                    write_row(
                        (
                            tenant_id,
                            p.account_id,
                            p.message_id,
                            p.submitted_at,
                            p.day,
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
                            p.unit_price,
                            p.charge,
                            p.rolled_back,
                            p.billing_method,
                            None if p.rolled_back else bucket_ids[p.key],
                            batch_id,
                            now,
                            now,
                        )
                    )
            return
        now_iso = now.isoformat()
        rows = [
            (
                tenant_id,
                p.account_id,
                p.message_id,
                p.submitted_at.isoformat(),
                p.day_iso,
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
                str(p.unit_price),
                str(p.charge),
                p.rolled_back,
                p.billing_method,
                None if p.rolled_back else bucket_ids[p.key],
                batch_id,
                now_iso,
                now_iso,
            )
            for p in records
        ]
        placeholders = ", ".join(["%s"] * len(_RECORD_COLUMNS))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)  # noqa: S608


def _records_update(tenant_id: int, changed: list[_Known], bucket_ids: dict[BucketKey, int]) -> None:
    """Store the new status, rolled_back and bucket of the changed records (one statement on PostgreSQL)."""
    if not changed:
        return
    now = timezone.now()
    updates = []  # (record id, status, rolled_back, rollup id)
    for k in changed:
        if k.billed:
            rollup_id = k.rollup_id  # stays on the billed bucket; its deltas went to correction buckets
        elif k.rolled_back:
            rollup_id = None
        else:
            # A change that keeps its contribution (say UNKNOWN -> UNDELIV) leaves it in its open bucket, which the
            # upsert may not have touched: the one open bucket of its key is the one it is in.
            rollup_id = bucket_ids.get(
                k.key_usage[:6] + (k.status == DELIVERED_STATUS,) + k.key_usage[6:] + (UsageKind.USAGE,), k.rollup_id
            )
        updates.append((k.id, k.status, k.rolled_back, rollup_id))
    # Delivery reports re-send whole batches with a new status: one statement for the batch, not one per record.
    table = MessageRecord._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with _bound_cursor(cursor) as bound:
                bound.execute(
                    f"UPDATE {table} r SET status = e->>1, rolled_back = (e->>2)::boolean, "  # noqa: S608
                    f"rollup_id = (e->>3)::bigint, updated_at = %s FROM jsonb_array_elements(%s::jsonb) AS e "
                    f"WHERE r.id = (e->>0)::bigint AND r.tenant_id = %s",
                    [now, orjson.dumps(updates).decode(), tenant_id],
                )
            return
        updated_at = connection.ops.adapt_datetimefield_value(now)  # as the ORM's update() would store it
        cursor.executemany(
            f"UPDATE {table} SET status = %s, rolled_back = %s, rollup_id = %s, updated_at = %s "  # noqa: S608
            f"WHERE id = %s AND tenant_id = %s",
            [(status, rb, rollup_id, updated_at, rid, tenant_id) for rid, status, rb, rollup_id in updates],
        )
