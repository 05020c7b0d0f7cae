"""The SQL of ingestion on SQLite (the embedded set-up): plain statements and executemany, values as text."""

from __future__ import annotations

from django.db import connection

from ...models import MessageRecord, UsageRollup
from .apply import BucketKey
from .storage import BUCKET_COLUMNS, BUCKET_UPSERT, RECORD_COLUMNS

_KNOWN_CHUNK = 5000  # ids per look-up of known records
_BUCKET_CHUNK = 400  # buckets per upsert statement


def known_rows(tenant_id: int, message_ids: list[str]):
    """The stored records among `message_ids`, as the tuples `apply.known_records` reads."""
    for start in range(0, len(message_ids), _KNOWN_CHUNK):
        chunk = message_ids[start : start + _KNOWN_CHUNK]
        yield from MessageRecord.objects.filter(tenant_id=tenant_id, message_id__in=chunk).values_list(
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


def buckets_upsert(tenant_id: int, deltas: dict[BucketKey, list[int]]) -> dict[BucketKey, int]:
    """Add each delta to its open bucket (opening it), one statement per chunk of buckets; the bucket ids by key."""
    table = UsageRollup._meta.db_table
    items = list(deltas.items())
    ids: dict[BucketKey, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(items), _BUCKET_CHUNK):
            part = items[start : start + _BUCKET_CHUNK]
            values = ", ".join(["(" + ", ".join(["%s"] * len(BUCKET_COLUMNS)) + ")"] * len(part))
            params: list = []
            for key, (messages, parts, micros) in part:
                params.extend((tenant_id, *key, messages, parts, micros))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(BUCKET_COLUMNS)}) VALUES {values} " + BUCKET_UPSERT,  # noqa: S608
                params,
            )
            for row in cursor.fetchall():
                rid, account_id, day, country, network, channel, up, delivered, method, kind = row
                ids[(account_id, str(day), country, network, channel, int(up), bool(delivered), method, kind)] = rid
    return ids


def records_insert(tenant_id: int, batch_id: int, records, bucket_ids: dict[BucketKey, int], now) -> None:
    """Insert the new records, each pointing at the bucket it was counted in (`Parsed.key`)."""
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
    placeholders = ", ".join(["%s"] * len(RECORD_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {MessageRecord._meta.db_table} ({', '.join(RECORD_COLUMNS)}) "  # noqa: S608
            f"VALUES ({placeholders})",
            rows,
        )


def records_update(tenant_id: int, updates: list[tuple[int, str, bool, int | None]], now) -> None:
    """Store each (record id, status, rolled_back, bucket id) of `updates`."""
    updated_at = connection.ops.adapt_datetimefield_value(now)  # as the ORM's update() would store it
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {MessageRecord._meta.db_table} SET status = %s, rolled_back = %s, rollup_id = %s, "  # noqa: S608
            f"updated_at = %s WHERE id = %s AND tenant_id = %s",
            [(status, rb, rollup_id, updated_at, rid, tenant_id) for rid, status, rb, rollup_id in updates],
        )
