"""bench/generate.py at a small size, run as a command against the test database: exact counts, consistent rows.

The sizes are small (50 users, 2,000 invoices, 20,000 records) but every rule of the full size applies: the skew,
the rollups as a GROUP BY of the records, invoices that add up, the ledger, the indexes restored, ANALYZE.
"""

import datetime
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Min, Sum

from invoicing.models import BillingSchedule, Invoice, InvoiceLine, InvoiceSequence, InvoiceTax, Payment
from msgplatform.accounts.models import Account, BalanceTransaction, Tenant
from msgplatform.messaging.models import MessageRecord, UsageRollup
from tests.conftest import requires_postgres
from tests.distributed.helpers import ROOT, database_url

USERS, INVOICES, RECORDS = 50, 2000, 20_000
TODAY = "2026-11-27"
TABLES = (
    "accounts_account",
    "accounts_balancetransaction",
    "invoicing_billingschedule",
    "invoicing_invoice",
    "invoicing_invoiceline",
    "invoicing_invoicetax",
    "invoicing_payment",
    "messaging_messagerecord",
    "messaging_usagerollup",
)


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def index_definitions() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [list(TABLES)])
        return set(cursor.fetchall())


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_generator_writes_the_exact_counts_and_rollups_equal_to_the_records():
    indexes_before = index_definitions()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["DATABASE_URL"] = database_url()
    run = subprocess.run(
        [sys.executable, "bench/generate.py", "--users", str(USERS), "--invoices", str(INVOICES)]
        + ["--records", str(RECORDS), "--seed", "7", "--today", TODAY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [summary] = [line for line in run.stdout.splitlines() if line.startswith("counts: ")]
    counts = json.loads(summary.removeprefix("counts: "))
    tenant = Tenant.objects.get(pk=counts["tenant_id"])

    # Exact row counts: as asked, and as reported.
    assert (counts["users"], counts["invoices"], counts["records"]) == (USERS, INVOICES, RECORDS)
    assert Account.objects.filter(tenant=tenant).count() == USERS
    assert Invoice.objects.filter(tenant=tenant).count() == INVOICES
    assert MessageRecord.objects.filter(tenant=tenant).count() == RECORDS
    assert InvoiceLine.objects.filter(invoice__tenant=tenant).count() == counts["lines"] >= INVOICES
    assert InvoiceTax.objects.filter(invoice__tenant=tenant).count() == counts["taxes"]
    assert Payment.objects.filter(tenant=tenant).count() == counts["payments"] > 0
    assert UsageRollup.objects.filter(tenant=tenant).count() == counts["rollups"] > 0
    assert BalanceTransaction.objects.filter(tenant=tenant).count() == counts["ledger"] > 0
    assert BillingSchedule.objects.filter(tenant=tenant).count() == counts["schedules"] > 0

    # The rollups equal a direct aggregate of the records that are not rolled back, bucket for bucket...
    aggregate = """
        SELECT account_id, day, country, network, channel, (unit_price * 1000000)::bigint, status = 'DELIVRD',
               billing_method, 'usage', count(*), sum(parts), sum((charge * 1000000)::bigint)
        FROM messaging_messagerecord WHERE tenant_id = %(t)s AND NOT rolled_back
        GROUP BY account_id, day, country, network, channel, unit_price, status = 'DELIVRD', billing_method
    """
    rollups = """
        SELECT account_id, day, country, network, channel, unit_price_micros, delivered, billing_method, kind,
               messages, parts, charge_micros
        FROM messaging_usagerollup WHERE tenant_id = %(t)s AND billed_by IS NULL
    """
    params = {"t": tenant.id}
    assert scalar(f"SELECT count(*) FROM ({aggregate} EXCEPT ALL {rollups}) x", params) == 0
    assert scalar(f"SELECT count(*) FROM ({rollups} EXCEPT ALL {aggregate}) x", params) == 0
    # ... and every record points at the bucket of its own key (rolled back ones at none).
    assert (
        scalar(
            """
            SELECT count(*) FROM messaging_messagerecord r LEFT JOIN messaging_usagerollup b ON b.id = r.rollup_id
            WHERE r.tenant_id = %s AND (
                (r.rolled_back AND r.rollup_id IS NOT NULL) OR (NOT r.rolled_back AND (
                    b.id IS NULL OR b.account_id <> r.account_id OR b.day <> r.day OR b.country <> r.country
                    OR b.network <> r.network OR b.channel <> r.channel
                    OR b.unit_price_micros <> (r.unit_price * 1000000)::bigint
                    OR b.delivered <> (r.status = 'DELIVRD') OR b.billing_method <> r.billing_method)))
            """,
            [tenant.id],
        )
        == 0
    )

    # A few users send most: three heavy users send 20, 15 and 10 % of the records.
    volumes = sorted(
        MessageRecord.objects.filter(tenant=tenant)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True),
        reverse=True,
    )
    assert {RECORDS * 20 // 100, RECORDS * 15 // 100, RECORDS * 10 // 100} <= set(volumes[:4])
    assert sum(volumes[:4]) == RECORDS * 70 // 100  # and the one medium user (1 in 100) a quarter
    assert volumes[len(volumes) // 2] < RECORDS // USERS  # the median user sends less than the mean
    days = MessageRecord.objects.filter(tenant=tenant).aggregate(n=Count("day", distinct=True), first=Min("day"))
    assert (days["n"], days["first"]) == (57, datetime.date(2026, 10, 1))  # 1 October to 26 November (local days)
    assert MessageRecord.objects.filter(tenant=tenant, rolled_back=True).exists()

    # Invoices add up: lines to the subtotal, taxes to the tax, payments (not reversed) to the amount paid.
    assert (
        scalar(
            """
            SELECT count(*) FROM invoicing_invoice i
            LEFT JOIN (SELECT invoice_id, sum(amount) s FROM invoicing_invoiceline GROUP BY 1) l ON l.invoice_id = i.id
            LEFT JOIN (SELECT invoice_id, sum(amount) s FROM invoicing_invoicetax GROUP BY 1) t ON t.invoice_id = i.id
            LEFT JOIN (SELECT invoice_id, sum(amount) s FROM invoicing_payment WHERE reversed_at IS NULL GROUP BY 1) p
                ON p.invoice_id = i.id
            WHERE i.tenant_id = %s AND (
                l.s IS DISTINCT FROM i.subtotal OR coalesce(t.s, 0) <> i.tax_total OR coalesce(p.s, 0) <> i.amount_paid
                OR i.total <> i.subtotal + i.tax_total OR i.balance_due <> i.total - i.amount_paid
                OR (i.payment_status = 'paid') <> (i.amount_paid = i.total AND i.status = 'approved')
                OR (i.payment_status = 'unpaid') <> (i.amount_paid = 0) OR i.total <= 0)
            """,
            [tenant.id],
        )
        == 0
    )
    by_status = dict(Invoice.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")))
    assert set(by_status) == {"draft", "approved", "void"}
    assert set(Invoice.objects.filter(tenant=tenant).values_list("payment_status", flat=True)) == {
        "paid",
        "partially_paid",
        "unpaid",
    }
    assert set(Invoice.objects.filter(tenant=tenant).values_list("source", flat=True)) == {"manual", "recurring"}
    assert Payment.objects.filter(tenant=tenant, reversed_at__isnull=False).exists()
    dates = Invoice.objects.filter(tenant=tenant).values_list("invoice_date", flat=True)
    assert (max(dates) - min(dates)).days > 2 * 365
    numbered = by_status["approved"] + by_status["void"]
    assert InvoiceSequence.objects.get(tenant=tenant).last_value == numbered
    assert sorted(
        Invoice.objects.filter(tenant=tenant, sequence_number__isnull=False).values_list("sequence_number", flat=True)
    ) == list(range(1, numbered + 1))
    # Recurring invoices: monthly, up to the end of the month before the records; the schedules' cursor there.
    assert set(BillingSchedule.objects.filter(tenant=tenant).values_list("covered_through", flat=True)) == {
        datetime.date(2026, 9, 30)
    }
    assert not Invoice.objects.filter(tenant=tenant, period_end__gt="2026-09-30").exists()

    # Balances equal the ledger; every usage debit sums to the records' charges.
    for account_id, balance in Account.objects.filter(tenant=tenant).values_list("id", "balance"):
        total = BalanceTransaction.objects.filter(account_id=account_id).aggregate(s=Sum("amount"))["s"]
        assert (total or Decimal(0)) == balance
    debits = BalanceTransaction.objects.filter(tenant=tenant, kind="usage").aggregate(s=Sum("amount"))["s"]
    charges = MessageRecord.objects.filter(tenant=tenant, rolled_back=False).aggregate(s=Sum("charge"))["s"]
    assert -debits == charges

    # The schema is as migrated (indexes dropped for the load are back) and the tables were analysed.
    assert index_definitions() == indexes_before
    assert scalar(
        "SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY(%s) AND last_analyze IS NOT NULL",
        [list(TABLES)],
    ) == len(TABLES)
