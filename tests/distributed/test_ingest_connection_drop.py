"""An ingestion batch whose database connection drops half-way: stored whole or not at all, then re-sent.

The fault is real: while `records_ingest` is half-way through its transaction (after the batch row and the bucket
upsert, before the records' COPY; or after the COPY, before the ledger), a second connection terminates the
ingesting connection's backend with pg_terminate_backend. PostgreSQL rolls the transaction back; the caller gets a
database error; a re-send of the same batch must then be counted as new (nothing of the first attempt survived) and
a third send as duplicates.
"""

from decimal import Decimal

import psycopg
import pytest
from django.db import Error as DatabaseError
from django.db import connection
from django.db.models import Sum

from msgplatform.accounts.models import Account, BalanceTransaction
from msgplatform.messaging.models import IngestBatch, MessageRecord, RecordCorrection, UsageRollup
from msgplatform.messaging.services import ingest
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, TenantFactory, record_row

N = 600
PRICES = ("0.0075", "0.012345", "0.0311", "0.0045")


def batch_rows(accounts) -> list[dict]:
    return [
        record_row(
            accounts[n % len(accounts)],
            f"drop-{n}",
            submitted_at=f"2026-03-{1 + n % 28:02d}T{n % 24:02d}:15:00Z",
            unit_price=PRICES[n % len(PRICES)],
            parts=1 + n % 3,
            status="DELIVRD" if n % 5 else "UNDELIV",
            country=("US", "GB", "DE", "FR")[n % 4],
        )
        for n in range(N)
    ]


def other_connection():
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s.get("PASSWORD") or None,
        host=s.get("HOST") or "127.0.0.1",
        port=s.get("PORT") or 5432,
        autocommit=True,
    )


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "fault_point",
    [
        "_records_insert",  # after the batch row and the bucket upsert, before the records' COPY
        "balances_change",  # after the records' COPY, before the ledger rows and balances
    ],
)
def test_batch_interrupted_by_a_dropped_connection_is_all_or_nothing_and_resend_counts_right(monkeypatch, fault_point):
    tenant = TenantFactory()
    accounts = [
        AccountFactory(tenant=tenant, billing_method="postpaid", overdraft_limit=Decimal("500")) for _ in range(3)
    ]
    rows = batch_rows(accounts)
    expected = {a.id: Decimal(0) for a in accounts}
    for row in rows:
        expected[row["user_id"]] += Decimal(row["unit_price"]) * row["parts"]

    original = getattr(ingest, fault_point)
    terminated = []

    def after_the_connection_dropped(*args, **kwargs):
        pid = connection.connection.info.backend_pid
        with other_connection() as other:
            # Part of the batch is written (uncommitted) by now, visible to no other connection.
            assert other.execute("SELECT count(*) FROM messaging_usagerollup").fetchone()[0] == 0
            assert other.execute("SELECT count(*) FROM messaging_ingestbatch").fetchone()[0] == 0
            terminated.append(other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(ingest, fault_point, after_the_connection_dropped)
    # The COPY runs on the raw psycopg cursor, outside Django's error wrapping: its error is psycopg's own; the
    # ORM's statements raise Django's wrapper of it.
    with pytest.raises((DatabaseError, psycopg.Error)) as failure:
        ingest.records_ingest(tenant=tenant, rows=rows)
    assert terminated == [True]
    assert "terminating connection due to administrator command" in str(failure.value)
    monkeypatch.setattr(ingest, fault_point, original)

    connection.close()  # the next query opens a new connection
    assert MessageRecord.objects.count() == 0
    assert UsageRollup.objects.count() == 0
    assert IngestBatch.objects.count() == 0
    assert BalanceTransaction.objects.count() == 0
    assert RecordCorrection.objects.count() == 0
    assert {a.id: a.balance for a in Account.objects.filter(tenant=tenant)} == dict.fromkeys(expected, Decimal(0))

    again = ingest.records_ingest(tenant=tenant, rows=rows)
    assert (again.created, again.duplicates, again.updated, again.rejected) == (N, 0, 0, 0)
    assert MessageRecord.objects.filter(tenant=tenant).count() == N
    assert IngestBatch.objects.filter(tenant=tenant).count() == 1
    for account in Account.objects.filter(tenant=tenant):
        assert account.balance == -expected[account.id]
        assert BalanceTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] == account.balance
    micros = UsageRollup.objects.filter(tenant=tenant).aggregate(m=Sum("charge_micros"), n=Sum("messages"))
    assert (micros["m"], micros["n"]) == (sum(expected.values()) * 1_000_000, N)

    third = ingest.records_ingest(tenant=tenant, rows=rows)
    assert (third.created, third.duplicates, third.updated, third.rejected) == (0, N, 0, 0)
    assert MessageRecord.objects.filter(tenant=tenant).count() == N
    assert {a.id: a.balance for a in Account.objects.filter(tenant=tenant)} == {k: -v for k, v in expected.items()}
    assert BalanceTransaction.objects.filter(tenant=tenant).count() == len(accounts)
