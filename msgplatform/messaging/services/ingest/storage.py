"""What the PostgreSQL and the SQLite storage of ingestion share: the columns they write and the bucket upsert."""

from ...models import ROLLUP_KEY_FIELDS, UsageRollup

BUCKET_COLUMNS = ("tenant_id", *ROLLUP_KEY_FIELDS, "messages", "parts", "charge_micros")

# The columns of a new record, in the order of the rows both `records_insert` build.
RECORD_COLUMNS = (
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

# Follows an INSERT of BUCKET_COLUMNS rows: each row's delta is added to the open bucket of its key (the partial
# unique index allows one) or opens it; every bucket comes back as (id, *ROLLUP_KEY_FIELDS).
_TABLE = UsageRollup._meta.db_table
_KEYS = ", ".join(ROLLUP_KEY_FIELDS)
BUCKET_UPSERT = (
    f"ON CONFLICT ({_KEYS}) WHERE billed_by IS NULL DO UPDATE SET "
    f"messages = {_TABLE}.messages + excluded.messages, parts = {_TABLE}.parts + excluded.parts, "
    f"charge_micros = {_TABLE}.charge_micros + excluded.charge_micros "
    f"RETURNING id, {_KEYS}"
)
