"""The locks of messaging, each in one place with what it serialises.

They are PostgreSQL advisory locks held until the transaction ends. SQLite needs none: every writing transaction
there is IMMEDIATE (config/settings.py), so it holds the database's one write lock from BEGIN, which serialises
writers whole. Lock order: the tenant's ingestion lock comes first, before any row lock (ingestion then locks the
accounts it debits, in id order; a billing run locks its schedules and invoices, see invoicing.locks).
"""

from django.db import connection

# First key of pg_advisory_xact_lock(INGEST_LOCK_CLASS, tenant_id), the tenant's ingestion lock; the second is the
# tenant. A class of its own (no other advisory lock here uses 7401) keeps it apart from any other lock of a tenant
# id. Two holders:
# - ingestion (`ingest_lock`): a batch looks up which of its message ids are already stored and then writes the new
#   ones; two batches of a tenant doing that at once would both take a re-sent id as new;
# - the usage source (`usage.usage_lock`, before summaries, billing and releases): billing then sees buckets that no
#   batch is changing, and a billing run cannot deadlock with a batch, since both take this lock first.
INGEST_LOCK_CLASS = 74_01


def ingest_lock(*, tenant_id: int, synchronous_commit: bool = True) -> None:
    """Take the tenant's ingestion lock for the rest of the transaction (`synchronous_commit=False`: and turn off
    synchronous commit for it, in the same round trip; see `usage.usage_lock`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if synchronous_commit:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [INGEST_LOCK_CLASS, tenant_id])
            else:
                cursor.execute(
                    "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(%s, %s)",
                    [INGEST_LOCK_CLASS, tenant_id],
                )
