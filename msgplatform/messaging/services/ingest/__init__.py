"""The one ingestion service for messaging records (HTTP endpoint and file import both call it).

A batch is validated record by record (`parse`): bad records are reported (index, field, reason) and the good ones
are stored. Within one transaction per batch it then

1. takes the tenant's ingestion lock (`messaging.locks`), so the look-up of known message ids below cannot race
   another batch of the same tenant;
2. works out what the batch changes (`apply`): new records, exact re-sends (duplicates: counted, stored once) and
   changes of a known record's `status` or `rolled_back`, each record's contribution to its usage bucket, records
   of an already billed bucket getting correction buckets instead, never a change of the billed one;
3. adds the contributions to the open buckets with one upsert (on PostgreSQL one statement for the batch, its
   buckets passed as one JSON array; on SQLite one per chunk of buckets);
4. inserts the new records (binary COPY on PostgreSQL, executemany on SQLite) pointing at their buckets, and stores
   the changed ones;
5. debits each account once for the batch's net usage through the ledger service, accounts locked in id order.

Either the whole batch's accepted part is stored, with its rollups and ledger rows, or nothing is. The SQL of steps
3 and 4 is the database's own: `storage_postgres` and `storage_sqlite` have the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from msgplatform.accounts.models import Account, LedgerKind, Tenant
from msgplatform.accounts.services.balance import balances_change
from msgplatform.core.errors import DomainError
from msgplatform.core.ids import MAX_ID

from ...locks import INGEST_LOCK_CLASS, ingest_lock
from ...models import IngestBatch, RecordCorrection, UsageRollup
from ...money import amount_from_micros
from . import storage_postgres, storage_sqlite
from .apply import BucketKey, Changes, Known, changes_apply, known_records, record_updates
from .parse import CHANNELS, ENCODINGS, MAX_AMOUNT, MAX_PARTS, STATUSES, Parsed, RecordError, records_parse

# The public names of the module this package replaced, for its callers.
__all__ = [
    "CHANNELS",
    "ENCODINGS",
    "INGEST_LOCK_CLASS",
    "MAX_AMOUNT",
    "MAX_PARTS",
    "STATUSES",
    "BatchTooLarge",
    "BucketKey",
    "IngestResult",
    "RecordError",
    "records_ingest",
]


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    status = 413


@dataclass
class IngestResult:
    batch_id: int | None
    received: int = 0
    created: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)


def records_ingest(
    *, tenant: Tenant, rows: list, source: str = IngestBatch.Source.API, actor_id: int | None = None
) -> IngestResult:
    max_batch = settings.INGEST_MAX_BATCH
    if len(rows) > max_batch:
        raise BatchTooLarge(
            f"A batch holds at most {max_batch} records; this one has {len(rows)}. Split it and send again."
        )
    result = IngestResult(batch_id=None, received=len(rows))

    # Validation needs the accounts named by the batch (only this tenant's).
    try:
        raw_ids = {row.get("user_id") for row in rows if isinstance(row, dict)}
    except TypeError:  # an unhashable user_id somewhere: convert them all
        raw_ids = [row.get("user_id") for row in rows if isinstance(row, dict)]
    user_ids = set()
    for raw in raw_ids:
        try:
            user_id = int(raw)
        except (TypeError, ValueError, OverflowError):
            continue
        if 0 < user_id <= MAX_ID:  # the column's range: a bigger number is no account, and no query parameter
            user_ids.add(user_id)
    accounts = {a.id: a for a in Account.objects.filter(tenant=tenant, id__in=user_ids).only("id", "billing_method")}
    parsed = records_parse(rows, accounts=accounts, tz=tenant.tz, errors=result.errors)

    storage = _storage()
    with transaction.atomic():
        ingest_lock(tenant_id=tenant.id)
        batch = IngestBatch.objects.create(tenant=tenant, source=source, received=len(rows), actor_id=actor_id)
        result.batch_id = batch.id
        message_ids = list({p.message_id for _, p in parsed})
        known = known_records(storage.known_rows(tenant.id, message_ids)) if message_ids else {}
        changes = changes_apply(parsed, known, result.errors)
        result.created, result.duplicates, result.updated = len(changes.fresh), changes.duplicates, changes.updated
        _changes_store(storage, tenant, batch, changes)
        result.rejected = len(result.errors)
        IngestBatch.objects.filter(pk=batch.pk).update(
            created=result.created, duplicates=result.duplicates, updated=result.updated, rejected=result.rejected
        )
    result.errors.sort(key=lambda e: e.index)
    return result


def _storage():
    """The module with the SQL of the database in use."""
    return storage_postgres if connection.vendor == "postgresql" else storage_sqlite


def _changes_store(storage, tenant: Tenant, batch: IngestBatch, changes: Changes) -> None:
    bucket_ids = _buckets_upsert(storage, tenant.id, changes.deltas)
    _records_insert(storage, tenant.id, batch.id, changes.fresh, bucket_ids)
    _records_update(storage, tenant.id, changes.changed, bucket_ids)
    if changes.corrections:
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
            for old, key, sign, parts, micros, reason in changes.corrections
        )
    # Usage buckets emptied by moves have no records left: drop them so previews show no empty lines.
    emptied = [bucket_ids[k] for k in changes.emptied_keys()]
    if emptied:
        UsageRollup.objects.filter(id__in=emptied, billed_by__isnull=True, messages=0, charge_micros=0).delete()

    # One ledger row per account for the batch's net usage, in three statements whatever the number of accounts.
    balances_change(
        tenant_id=tenant.id,
        amounts={aid: amount_from_micros(m) for aid, m in changes.balance_micros.items() if m},
        kind=LedgerKind.USAGE,
        reference=f"usage batch {batch.id}",
        actor_id=batch.actor_id,
    )


def _buckets_upsert(storage, tenant_id: int, deltas: dict[BucketKey, list[int]]) -> dict[BucketKey, int]:
    """Add each delta to its open bucket (opening it); the bucket ids by key."""
    return storage.buckets_upsert(tenant_id, deltas) if deltas else {}


def _records_insert(storage, tenant_id: int, batch_id: int, records: list[Parsed], bucket_ids) -> None:
    """Insert the new records, each pointing at the bucket it was counted in (`Parsed.key`, set by `apply`)."""
    if records:
        storage.records_insert(tenant_id, batch_id, records, bucket_ids, timezone.now())


def _records_update(storage, tenant_id: int, changed: list[Known], bucket_ids) -> None:
    """Store the new status, rolled_back and bucket of the changed records (one statement on PostgreSQL)."""
    # Delivery reports re-send whole batches with a new status: one statement for the batch, not one per record.
    if changed:
        storage.records_update(tenant_id, record_updates(changed, bucket_ids), timezone.now())
