"""The SQL of ingestion on PostgreSQL: one statement per step whatever the size of the batch.

Many values travel as one bound JSON array (much cheaper to build and to read than thousands of placeholders or a
dozen typed arrays), the new records by binary COPY (no text to format here or to parse there).
"""

from __future__ import annotations

import datetime

import orjson
from django.db import connection

from ...models import MessageRecord, UsageRollup
from .apply import BucketKey
from .storage import BUCKET_COLUMNS, BUCKET_UPSERT, RECORD_COLUMNS


def _bound_cursor(cursor):
    """A psycopg cursor with server-side binding on the connection of Django's `cursor`.

    Django's cursors interpolate parameters on the client, which for arrays of thousands of values means quoting
    each one into the SQL text; bound, they travel in binary.
    """
    import psycopg

    return psycopg.Cursor(cursor.cursor.connection)


def column_types(model, columns) -> list[str]:
    """PostgreSQL type names of the model's `columns`, without lengths (varchar, not varchar(20))."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    return [fields[column].db_type(connection).split("(")[0] for column in columns]


def record_types() -> list[str]:
    """The types of RECORD_COLUMNS: a binary COPY needs the exact types."""
    return column_types(MessageRecord, RECORD_COLUMNS)


def known_rows(tenant_id: int, message_ids: list[str]):
    """The stored records among `message_ids`, as the tuples `apply.known_records` reads."""
    # The ids as one JSON array (the ORM's IN list of 10,000 placeholders, or a text array, costs far more to build),
    # looked up one by one in the unique index.
    with connection.cursor() as wrapper, _bound_cursor(wrapper) as cursor:
        cursor.execute(
            f"SELECT r.id, r.message_id, r.account_id, r.parts, r.unit_price, r.submitted_at, r.status, "  # noqa: S608
            f"r.rolled_back, r.rollup_id, u.billed_by, r.day, r.country, r.network, r.channel, r.billing_method "
            f"FROM jsonb_array_elements_text(%s::jsonb) AS ids(message_id) "
            f"JOIN {MessageRecord._meta.db_table} r ON r.tenant_id = %s AND r.message_id = ids.message_id "
            f"LEFT JOIN {UsageRollup._meta.db_table} u ON u.id = r.rollup_id",
            [orjson.dumps(message_ids).decode(), tenant_id],
            binary=True,
        )
        yield from cursor.fetchall()


def buckets_upsert(tenant_id: int, deltas: dict[BucketKey, list[int]]) -> dict[BucketKey, int]:
    """Add each delta to its open bucket (opening it), in one statement; the bucket ids by key."""
    # The columns after tenant_id, read from each element of the JSON array of (*key, *delta) rows.
    values = ", ".join(f"(e->>{i})::{t}" for i, t in enumerate(column_types(UsageRollup, BUCKET_COLUMNS[1:])))
    with connection.cursor() as wrapper, _bound_cursor(wrapper) as cursor:
        cursor.execute(
            f"INSERT INTO {UsageRollup._meta.db_table} ({', '.join(BUCKET_COLUMNS)}) "  # noqa: S608 - constant names
            f"SELECT %s, {values} FROM jsonb_array_elements(%s::jsonb) AS e " + BUCKET_UPSERT,
            [tenant_id, orjson.dumps([(*key, *delta) for key, delta in deltas.items()]).decode()],
            binary=True,
        )
        returned = cursor.fetchall()
    ids: dict[BucketKey, int] = {}
    days: dict[datetime.date, str] = {}
    for rid, account_id, day, country, network, channel, up, delivered, method, kind in returned:
        day_iso = days.get(day)
        if day_iso is None:
            day_iso = days[day] = str(day)
        ids[(account_id, day_iso, country, network, channel, up, delivered, method, kind)] = rid
    return ids


def records_insert(tenant_id: int, batch_id: int, records, bucket_ids: dict[BucketKey, int], now) -> None:
    """COPY the new records in, each pointing at the bucket it was counted in (`Parsed.key`).

    The unique index still refuses a duplicate id (the ingestion lock makes that moot).
    """
    table = MessageRecord._meta.db_table
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(RECORD_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(record_types())
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


def records_update(tenant_id: int, updates: list[tuple[int, str, bool, int | None]], now) -> None:
    """Store each (record id, status, rolled_back, bucket id) of `updates`, in one statement."""
    with connection.cursor() as wrapper, _bound_cursor(wrapper) as cursor:
        cursor.execute(
            f"UPDATE {MessageRecord._meta.db_table} r SET status = e->>1, "  # noqa: S608
            f"rolled_back = (e->>2)::boolean, rollup_id = (e->>3)::bigint, updated_at = %s "
            f"FROM jsonb_array_elements(%s::jsonb) AS e WHERE r.id = (e->>0)::bigint AND r.tenant_id = %s",
            [now, orjson.dumps(updates).decode(), tenant_id],
        )
