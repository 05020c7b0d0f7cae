"""A Celery worker killed with SIGKILL in the middle of a billing run: every period billed once, every record once.

Real services: PostgreSQL (the test database, committed rows), Redis as the broker, `celery -A config worker`
processes running the production settings. The run is started by the product's own `billing_run_start` with a
dispatcher that sends each batch by name through a client app. The worker is killed while a batch is in flight
(its message unacknowledged: acks_late), a new worker is started once the visibility timeout has passed, and Redis
hands it the killed worker's message again. If redelivery alone does not finish the run, a second billing run is
started, as the next periodic tick would.
"""

import datetime
import time
from decimal import Decimal

import pytest
from django.db.models import Sum

from invoicing.models import BillingRun, BillingSchedule, Invoice, InvoiceLine
from invoicing.services.billing_runs import billing_run_start
from invoicing.services.recurring import schedule_create
from msgplatform.messaging.models import MICROS, MessageRecord, UsageRollup
from msgplatform.messaging.services.ingest import records_ingest
from tests.conftest import requires_postgres
from tests.distributed.helpers import wait_for
from tests.factories import AccountFactory, LicenseFactory, TenantFactory, record_row

D = datetime.date
USERS = 200
PERIODS = (D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1))
AS_OF = D(2026, 4, 1)
BATCH_SIZE = 5
VISIBILITY_TIMEOUT = 5
PRICES = ("0.0075", "0.012345", "0.0311", "0.0045", "0.07")


def postpaid_users_with_usage(n_users: int):
    """`n_users` postpaid users with a monthly schedule from 1 January and 2 to 4 records a month, Jan-Mar."""
    tenant = TenantFactory(timezone="UTC")
    LicenseFactory(tenant=tenant)
    accounts = [
        AccountFactory(tenant=tenant, billing_method="postpaid", overdraft_limit=Decimal("1000"))
        for _ in range(n_users)
    ]
    schedules = [
        schedule_create(
            tenant=tenant,
            account_id=a.id,
            actor_id=None,
            interval="monthly",
            start_date=PERIODS[0],
            confirm_past=True,  # the periods to catch up are the point of the test
        ).id
        for a in accounts
    ]
    rows, n = [], 0
    for i, account in enumerate(accounts):
        for month in (1, 2, 3):
            for k in range(2 + (i + month) % 3):
                n += 1
                rows.append(
                    record_row(
                        account,
                        n,
                        submitted_at=f"2026-{month:02d}-{3 + 8 * k:02d}T{8 + k:02d}:30:00Z",
                        unit_price=PRICES[(i + k) % len(PRICES)],
                        parts=1 + (i + k + month) % 3,
                        status="DELIVRD" if (i + k) % 7 else "UNDELIV",
                        country=("US", "GB", "DE")[(i + month) % 3],
                    )
                )
    result = records_ingest(tenant=tenant, rows=rows)
    assert (result.created, result.rejected) == (len(rows), 0)
    return tenant, schedules, len(rows)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_run_bills_each_period_and_each_record_exactly_once(
    redis_broker, celery_client, workers, queue_name
):
    tenant, schedule_ids, n_records = postpaid_users_with_usage(USERS)
    expected_periods = {(s, p) for s in schedule_ids for p in PERIODS}
    records_total = MessageRecord.objects.filter(tenant=tenant, rolled_back=False).aggregate(t=Sum("charge"))["t"]
    queues = [queue_name, "celery"]  # the worker's own .delay() calls use the default queue of its Redis database

    def dispatch(run_id, ids, as_of):
        celery_client.send_task(
            "invoicing.tasks.run_billing_batch", args=[run_id, ids, as_of.isoformat()], queue=queue_name
        )

    def drafts() -> int:
        return Invoice.objects.filter(tenant=tenant).count()

    def queued() -> int:
        return sum(redis_broker.llen(q) for q in queues)

    def unacked() -> int:  # delivered to a worker, not acknowledged (Kombu's Redis layout)
        return redis_broker.hlen("unacked")

    first = workers.start(queues=queues, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
    run = billing_run_start(as_of=AS_OF, dispatch=dispatch, batch_size=BATCH_SIZE)
    assert (run.schedules_total, run.batches_total) == (USERS, USERS // BATCH_SIZE)

    # Kill in the middle of a batch: each batch drafts 15 periods (5 schedules x 3 months), one transaction each,
    # so a count that is not a multiple of 15 means a batch is half done (and its message unacknowledged).
    wait_for(
        lambda: (n := drafts()) >= 20 and 1 <= n % (BATCH_SIZE * len(PERIODS)) <= 10,
        timeout=60,
        interval=0.01,
        what="a batch half done",
    )
    first.kill()
    killed_at = time.monotonic()
    at_kill = drafts()
    unacked_at_kill = unacked()
    assert at_kill < len(expected_periods), "the run finished before the kill; nothing was interrupted"
    assert unacked_at_kill == 1, "the killed worker held no unacknowledged batch"

    # A restart takes a while; once the visibility timeout has passed, the new worker restores the killed
    # worker's unacknowledged batch when it connects.
    time.sleep(max(0.0, VISIBILITY_TIMEOUT + 1 - (time.monotonic() - killed_at)))
    workers.start(queues=queues, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)

    recovery = "redelivery"
    deadline = time.monotonic() + 90
    last, progress_at = drafts(), time.monotonic()
    while (n := drafts()) < len(expected_periods):
        assert time.monotonic() < deadline, f"stuck at {n} drafts (recovery: {recovery})"
        if n != last:
            last, progress_at = n, time.monotonic()
        elif recovery == "redelivery" and queued() == 0 and time.monotonic() - progress_at > 15:
            # Nothing left in the queues and no progress: bill what is left as the next periodic tick would.
            recovery = "second run"
            billing_run_start(as_of=AS_OF, dispatch=dispatch, batch_size=BATCH_SIZE)
        time.sleep(0.2)
    wait_for(lambda: queued() == 0, timeout=30, what="the queues to drain")
    if recovery == "redelivery":
        wait_for(lambda: unacked() == 0, timeout=30, what="every batch to be acknowledged")
    time.sleep(1)  # a late duplicate would have to show up now

    invoices = list(
        Invoice.objects.filter(tenant=tenant).values("id", "account_id", "schedule_id", "period_start", "period_end")
    )
    # Exactly one draft per (schedule, period): 600, none missing, none twice.
    assert len(invoices) == len(expected_periods) == USERS * len(PERIODS)
    assert {(i["schedule_id"], i["period_start"]) for i in invoices} == expected_periods
    assert set(Invoice.objects.filter(tenant=tenant).values_list("status", flat=True)) == {"draft"}
    assert set(BillingSchedule.objects.filter(tenant=tenant).values_list("covered_through", flat=True)) == {
        D(2026, 3, 31)
    }

    # Every record billed once: the drafts' raw charges add up to the records' charges, and every bucket of
    # January to March is claimed by the draft of its own user and period.
    assert InvoiceLine.objects.filter(invoice__tenant=tenant).aggregate(t=Sum("raw_charge"))["t"] == records_total
    assert Invoice.objects.filter(tenant=tenant).aggregate(t=Sum("usage_raw"))["t"] == records_total
    buckets = UsageRollup.objects.filter(tenant=tenant, day__range=(PERIODS[0], D(2026, 3, 31)))
    assert not buckets.filter(billed_by__isnull=True).exists()
    assert not UsageRollup.objects.filter(tenant=tenant, billed_by__isnull=True).exists()
    by_id = {i["id"]: i for i in invoices}
    for bucket in buckets.values("account_id", "day", "billed_by"):
        invoice = by_id[bucket["billed_by"]]
        assert invoice["account_id"] == bucket["account_id"]
        assert invoice["period_start"] <= bucket["day"] <= invoice["period_end"]
    claimed = dict(buckets.values_list("billed_by").annotate(m=Sum("charge_micros")))
    for invoice_id, usage_raw in Invoice.objects.filter(tenant=tenant).values_list("id", "usage_raw"):
        assert claimed[invoice_id] == usage_raw * MICROS
    assert MessageRecord.objects.filter(tenant=tenant).count() == n_records
    assert not MessageRecord.objects.filter(tenant=tenant, rollup__billed_by__isnull=True).exists()

    # The run itself completes: every batch counted once (the killed attempt never reached its counter update).
    first_run = BillingRun.objects.get(pk=run.pk)
    print(
        f"\n[billing kill] drafts at kill: {at_kill} ({at_kill % 15} of the killed batch's 15), recovery: {recovery}, "
        f"run: batches {first_run.batches_done}/{first_run.batches_total}, drafts_created "
        f"{first_run.drafts_created}, status {first_run.status}"
    )
    if recovery == "redelivery":
        assert first_run.status == BillingRun.Status.DONE
        assert first_run.batches_done == first_run.batches_total
        assert first_run.schedules_done == USERS
