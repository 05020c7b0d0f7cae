"""Billing-run benchmark: the tick that drafts a month for every postpaid user, against one raw scan of the usage.

    .venv/bin/python bench/billing_run.py [--records 10000000] [--users 10000] [--runs 3] [--profile]
    .venv/bin/python bench/billing_run.py --records 20000000 --reuse     # keep the data when it already matches

Database: DATABASE_URL when set (a scratch database: the bench refuses one holding any other admin), otherwise
postgres://postgres@127.0.0.1:5432/bench_billing, dropped and created again unless `--reuse` finds data generated
with the same sizes and seed in it. The schema comes from `migrate`; `--drop` drops the bench's own database at the
end.

Data: one admin (Europe/Berlin, EUR, one 19 % tax, a postpaid licence), `--users` postpaid users with one monthly
schedule each (start 2026-01-01, nothing billed yet) and `--records` records of January 2026 (local days):
3 heavy users with 20 %, 15 % and 10 % of the records (2M, 1.5M and 1M at 10M), 50 medium users with 10 % between
them and everyone else a few hundred each (log-normal). Each user sends over its own routes (country, network,
channel, unit price): heavy users 30-50, users of 5,000 records or more 6-20, the others 1-4 in one or two
countries; prices of 4 to 6 decimals; 1-4 parts, 86 % delivered, 0.3 % rolled back, fewer messages at weekends
and at night. The records are generated in day order (as they would have arrived) and written by COPY with their
bucket id already set; the buckets are then built by one `INSERT ... SELECT ... GROUP BY` over the records, so
every bucket is exactly the sum of its records. Foreign-key triggers are off while loading
(session_replication_role = replica); the indexes are maintained as usual. VACUUM ANALYZE after loading.

Every run starts from the same state (drafts, lines, taxes, events and runs of the previous tick deleted, the
buckets restored from a pristine copy, schedules back at 2025-12-31, VACUUM ANALYZE, CHECKPOINT) and measures:

1. scan: the raw aggregate of the records, `SELECT account_id, day, country, network, channel, unit_price,
   sum(parts), sum(charge), count(*) FROM messaging_messagerecord GROUP BY ...`, its rows fetched by the client
   (the cost of merely reading the usage once); then the same aggregate summed up in the server (only a checksum
   travels), for reference;
2. tick: `billing_run_start(tenant=..., as_of=2026-02-01)` in process (every batch run here, no Celery), checked
   afterwards: one draft per user, no error, the drafts' raw usage equal to the records' charges;
3. the scan again: the machine is shared, so each tick is compared with the mean of the scans just before and
   just after it.

Then `--preview-calls` calls of `invoice_preview_postpaid` over January for each heavy user (open usage). It
prints each figure, the medians and the ratios. `--profile` adds one tick with every SQL statement timed (count
and time per kind of statement, database time against the rest); `--cprofile` runs that tick under cProfile too.
`--runs 0` only generates (or checks) the data and measures the previews.
"""

from __future__ import annotations

import cProfile
import datetime
import json
import math
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import (  # noqa: E402
    ENCODINGS,
    HEAVY_SHARES,
    HOURS,
    PARTS,
    ROUTES,
    SENDERS,
    STATUSES,
    argument_parser,
    cumulative,
    database_create,
    database_drop,
    database_exists,
    django_setup,
    local_database_url,
    machine_summary,
    postgres_show,
    profile_print,
    scratch_database_check,
    timed,
)

DB_NAME = "bench_billing"
SLUG = "bench-billing"
TZ_NAME = "Europe/Berlin"  # UTC+1 all of January: local day d runs from (d-1) 23:00 to d 23:00 UTC
YEAR, MONTH, DAYS = 2026, 1, 31
AS_OF = datetime.date(2026, 2, 1)
PRISTINE = "bench_rollup_pristine"
META = "bench_meta"

CHANNEL_FACTOR = {"sms": Decimal("1"), "whatsapp": Decimal("0.62"), "rcs": Decimal("0.9"), "viber": Decimal("0.48")}
ROLLBACK_RATE = 0.003
MEDIUM_USERS, MEDIUM_SHARE = 50, 0.10

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
ROLLUP_COLUMNS = (
    "id",
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
    "billed_by",
)
SCAN_SQL = """
    SELECT account_id, day, country, network, channel, unit_price, sum(parts) AS p, sum(charge) AS c, count(*) AS n
    FROM messaging_messagerecord
    GROUP BY account_id, day, country, network, channel, unit_price
"""


# --- set-up ----------------------------------------------------------------------------------------------------


def database_setup(args) -> tuple[str, bool]:
    """Point the settings at the bench database; (url, reuse): reuse when it already holds matching data."""
    import psycopg

    url = os.environ.get("DATABASE_URL") or ""
    if url:
        return url, True
    url = os.environ["DATABASE_URL"] = local_database_url(DB_NAME)
    wanted = {"users": args.users, "records": args.records, "seed": args.seed}
    if args.reuse and database_exists(DB_NAME):
        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            if conn.execute("SELECT to_regclass(%s)", [META]).fetchone()[0] is not None:
                row = conn.execute(f"SELECT data FROM {META}").fetchone()
                if row and all(row[0].get(k) == v for k, v in wanted.items()):
                    return url, True
    database_create(DB_NAME)
    return url, False


def meta_read() -> dict | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [META])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT data FROM {META}")
        row = cursor.fetchone()
    return None if row is None else (row[0] if isinstance(row[0], dict) else json.loads(row[0]))


def fixtures_create(n_users: int):
    """The admin, its licence, settings and tax, the postpaid users and their monthly schedules."""
    from invoicing.models import BillingSchedule
    from invoicing.services.configuration import settings_for, tax_rate_create
    from invoicing.services.licenses import license_grant
    from msgplatform.accounts.models import Account, Tenant

    scratch_database_check(SLUG)
    tenant = Tenant.objects.create(name="Bench Billing", currency="EUR", timezone=TZ_NAME, signup_slug=SLUG)
    license_grant(tenant=tenant, prepaid=False, postpaid=True, valid_until=datetime.date(2027, 12, 31), actor_id=None)
    settings_for(tenant)
    tax_rate_create(tenant=tenant, actor_id=None, name="VAT", rate="19")
    rng = random.Random(11)
    Account.objects.bulk_create(
        [
            Account(
                tenant=tenant,
                name=f"Customer {i:05d}",
                email=f"billing@customer{i:05d}.example",
                billing_name=f"Customer {i:05d} Ltd",
                billing_method="postpaid",
                overdraft_limit=Decimal("10000.00"),
                apply_tax=rng.random() > 0.1,  # a tenth abroad, reverse charge
            )
            for i in range(n_users)
        ],
        batch_size=2000,
    )
    accounts = list(Account.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True))
    start = datetime.date(YEAR, MONTH, 1)
    BillingSchedule.objects.bulk_create(
        [
            BillingSchedule(
                tenant=tenant,
                account_id=account_id,
                interval="monthly",
                due_in_days=15,
                start_date=start,
                covered_through=start - datetime.timedelta(days=1),
            )
            for account_id in accounts
        ],
        batch_size=2000,
    )
    return tenant, accounts


# --- generation ------------------------------------------------------------------------------------------------


def user_volumes(n_users: int, n_records: int, rng: random.Random) -> list[int]:
    """Records per user: 3 heavy, MEDIUM_USERS medium, the rest log-normal around a few hundred; sums to n."""
    heavy = [int(n_records * s) for s in HEAVY_SHARES]
    n_light = n_users - len(heavy) - MEDIUM_USERS
    medium_w = [rng.lognormvariate(0, 0.6) for _ in range(MEDIUM_USERS)]
    light_w = [rng.lognormvariate(0, 0.9) for _ in range(n_light)]
    medium_total = int(n_records * MEDIUM_SHARE)
    light_total = n_records - sum(heavy) - medium_total
    medium = [max(1, int(medium_total * w / sum(medium_w))) for w in medium_w]
    light = [max(1, int(light_total * w / sum(light_w))) for w in light_w]
    light[0] += n_records - sum(heavy) - sum(medium) - sum(light)
    volumes = heavy + medium + light
    # Heavy and medium users are spread among the accounts, not the first ids.
    order = list(range(n_users))
    rng.shuffle(order)
    placed = [0] * n_users
    for slot, volume in zip(order, volumes, strict=True):
        placed[slot] = volume
    return placed


def user_offers(volume: int, n_records: int, rng: random.Random):
    """A user's routes: (country, code, mcc, mnc, network, channel, price) with Zipf-like weights."""
    if volume >= n_records * 0.05:
        countries, n_routes, channels = rng.sample(ROUTES, rng.randint(10, 14)), rng.randint(30, 50), 4
    elif volume >= 5000:
        countries, n_routes, channels = rng.sample(ROUTES, rng.randint(3, 6)), rng.randint(6, 20), 2
    else:
        countries, n_routes, channels = rng.sample(ROUTES, rng.choice((1, 1, 1, 2))), rng.randint(1, 4), 1
    candidates = []
    for country, code, mcc, networks, base in countries:
        for mnc, network in networks:
            for channel in ("sms", "whatsapp", "rcs", "viber")[:channels]:
                candidates.append((country, code, mcc, mnc, network, channel, base))
    sms = [c for c in candidates if c[5] == "sms"]
    other = [c for c in candidates if c[5] != "sms"]
    rng.shuffle(sms)
    rng.shuffle(other)
    n_other = min(len(other), n_routes // 4)
    picked = sms[: max(1, n_routes - n_other)] + other[:n_other]
    offers = []
    for country, code, mcc, mnc, network, channel, base in picked:
        places = rng.choice((4, 4, 5, 6))
        price = (Decimal(base) * CHANNEL_FACTOR[channel] * Decimal(str(rng.uniform(0.7, 1.4)))).quantize(
            Decimal(1).scaleb(-places)
        )
        offers.append((country, code, mcc, mnc, network, channel, price))
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(offers))]
    return offers, cumulative(weights)


def records_copy(conn, tenant_id: int, accounts: list[int], n_records: int, seed: int) -> dict:
    """Generate the month day by day and COPY it; bucket ids assigned on the way. Returns counts."""
    from psycopg.copy import QueuedLibpqWriter

    rng = random.Random(seed)
    volumes = user_volumes(len(accounts), n_records, rng)
    plans = []
    for account_id, volume in zip(accounts, volumes, strict=True):
        offers, offer_cum = user_offers(volume, n_records, rng)
        static = []
        for country, code, mcc, mnc, network, channel, price in offers:
            mid = f"{country}\t{mcc}\t{mnc}\t{network}\t{channel}\t"
            charges = [f"{price}\t{(price * p).quantize(Decimal('0.000001'))}\t" for p in range(5)]
            static.append((code, mid, charges))
        senders = rng.sample(SENDERS, rng.randint(1, 3))
        plans.append((f"{tenant_id}\t{account_id}\t", static, offer_cum, senders))
    # Days: weekdays busier than weekends (1 January 2026 is a Thursday).
    day_w = [0.55 if datetime.date(YEAR, MONTH, d).weekday() >= 5 else 1.0 for d in range(1, DAYS + 1)]
    day_cum = cumulative(day_w)
    per_user_days = []
    for volume in volumes:
        counts = [0] * DAYS
        if volume > 50_000:
            # Multinomial by normal approximation: cheap for millions.
            total_w = day_cum[-1]
            for d in range(DAYS):
                counts[d] = max(0, round(rng.gauss(volume * day_w[d] / total_w, math.sqrt(volume * 0.03))))
            counts[DAYS - 1] += volume - sum(counts)
        else:
            for d in rng.choices(range(DAYS), cum_weights=day_cum, k=volume):
                counts[d] += 1
        per_user_days.append(counts)
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    hour_cum = cumulative(HOURS)
    parts_v, parts_cum = [p for p, _ in PARTS], cumulative(w for _, w in PARTS)
    enc_v, enc_cum = [e for e, _ in ENCODINGS], cumulative(w for _, w in ENCODINGS)
    stat_v, stat_cum = [s for s, _ in STATUSES], cumulative(w for _, w in STATUSES)
    rnd = rng.random
    bits = rng.getrandbits
    choices = rng.choices
    next_rollup = 1
    seq = 0
    rolled_back = 0
    columns = ", ".join(RECORD_COLUMNS)
    with conn.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers while loading
        cursor.execute("TRUNCATE messaging_messagerecord, messaging_recordcorrection")
        copy_sql = f"COPY messaging_messagerecord ({columns}) FROM STDIN WITH (FREEZE)"
        with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
            for d in range(DAYS):
                day = datetime.date(YEAR, MONTH, d + 1)
                prev = day - datetime.timedelta(days=1)
                day_s, prev_s, day_tab = f"{day} ", f"{prev} ", f"\t{day}\t"
                for u, (prefix, static, offer_cum, senders) in enumerate(plans):
                    n = per_user_days[u][d]
                    if not n:
                        continue
                    buckets: dict[int, int] = {}
                    offs = choices(range(len(static)), cum_weights=offer_cum, k=n)
                    parts = choices(parts_v, cum_weights=parts_cum, k=n)
                    encs = choices(enc_v, cum_weights=enc_cum, k=n)
                    stats = choices(stat_v, cum_weights=stat_cum, k=n)
                    hours = choices(range(24), cum_weights=hour_cum, k=n)
                    lines = []
                    for j in range(n):
                        o = offs[j]
                        code, mid, charges = static[o]
                        status = stats[j]
                        if rnd() < ROLLBACK_RATE:
                            rollup, rb = "\\N", "t"
                            rolled_back += 1
                        else:
                            key = o * 2 + (status == "DELIVRD")
                            rollup = buckets.get(key)
                            if rollup is None:
                                rollup = buckets[key] = next_rollup
                                next_rollup += 1
                            rb = "f"
                        local = hours[j] * 3600 + int(rnd() * 3600)
                        at = (prev_s + times[local + 82800]) if local < 3600 else (day_s + times[local - 3600])
                        at += "+00"
                        seq += 1
                        p = parts[j]
                        lines.append(
                            f"{prefix}{seq:012x}{bits(80):020x}\t{at}{day_tab}+{code}{bits(30) + 200000000}\t"
                            f"{senders[j % len(senders)]}\t{mid}{encs[j]}\t{p}\t{status}\t{charges[p]}{rb}\t"
                            f"postpaid\t{rollup}\t\\N\t{at}\t{at}\n"
                        )
                    copy.write("".join(lines))
        cursor.execute("SET session_replication_role = origin")
    conn.commit()
    return {"records": seq, "rolled_back": rolled_back, "buckets": next_rollup - 1}


def buckets_build(conn) -> None:
    """The rollups by one INSERT ... SELECT ... GROUP BY over the records (ids as assigned at generation)."""
    with conn.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            f"""
            INSERT INTO messaging_usagerollup ({", ".join(ROLLUP_COLUMNS)})
            SELECT rollup_id, tenant_id, account_id, day, country, network, channel,
                   (unit_price * 1000000)::bigint, status = 'DELIVRD', billing_method, 'usage',
                   count(*), sum(parts), sum((charge * 1000000)::bigint), NULL
            FROM messaging_messagerecord
            WHERE rollup_id IS NOT NULL
            GROUP BY rollup_id, tenant_id, account_id, day, country, network, channel, unit_price,
                     status = 'DELIVRD', billing_method
            ORDER BY rollup_id
            """
        )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('messaging_usagerollup', 'id'), "
            "(SELECT max(id) FROM messaging_usagerollup))"
        )
        cursor.execute(f"DROP TABLE IF EXISTS {PRISTINE}")
        cursor.execute(f"CREATE TABLE {PRISTINE} AS SELECT * FROM messaging_usagerollup ORDER BY id")
    conn.commit()


def data_check(conn, counts: dict) -> dict:
    """Buckets equal the records (not rolled back), and every record not rolled back points at a bucket."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE rolled_back), "
            "sum((charge * 1000000)::bigint) FILTER (WHERE NOT rolled_back), "
            "count(*) FILTER (WHERE NOT rolled_back AND rollup_id IS NULL) FROM messaging_messagerecord"
        )
        records, rolled_back, charge_micros, orphans = cursor.fetchone()
        cursor.execute("SELECT count(*), sum(messages), sum(charge_micros) FROM messaging_usagerollup")
        buckets, messages, bucket_micros = cursor.fetchone()
    assert records == counts["records"] and rolled_back == counts["rolled_back"], "records missing"
    assert buckets == counts["buckets"], "buckets missing"
    assert messages == records - rolled_back and bucket_micros == charge_micros and orphans == 0, "buckets != records"
    return {"records": records, "rolled_back": rolled_back, "buckets": buckets, "charge_micros": int(charge_micros)}


def vacuum(conn, tables: list[str], full: bool = False) -> None:
    conn.autocommit = True
    try:
        for table in tables:
            conn.execute(f"VACUUM {'FULL ' if full else ''}ANALYZE {table}")
        conn.execute("CHECKPOINT")
    finally:
        conn.autocommit = False


def generate(args, url: str) -> dict:
    import psycopg

    started = time.perf_counter()
    tenant, accounts = fixtures_create(args.users)
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        counts = records_copy(conn, tenant.id, accounts, args.records, args.seed)
        copied = time.perf_counter()
        buckets_build(conn)
        built = time.perf_counter()
        vacuum(conn, ["messaging_messagerecord", "messaging_usagerollup", "accounts_account"])
        info = data_check(conn, counts)
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {META} (data jsonb)")
            meta = {
                "users": args.users,
                "records": args.records,
                "seed": args.seed,
                **info,
                "copy_s": round(copied - started, 1),
                "buckets_s": round(built - copied, 1),
                "total_s": round(time.perf_counter() - started, 1),
            }
            cursor.execute(f"INSERT INTO {META} VALUES (%s)", [json.dumps(meta)])
        conn.commit()
    return meta


# --- measurements ----------------------------------------------------------------------------------------------


def state_reset(url: str, event_mark: int) -> None:
    """Back to "nothing billed": no drafts or runs, buckets as generated, schedules at 2025-12-31."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        with conn.cursor() as cursor:
            cursor.execute("DELETE FROM invoicing_invoicetax")
            cursor.execute("DELETE FROM invoicing_invoiceline")
            cursor.execute("DELETE FROM invoicing_invoice")
            cursor.execute("DELETE FROM invoicing_billingrun")
            cursor.execute("DELETE FROM core_event WHERE id > %s", [event_mark])
            cursor.execute(
                "UPDATE invoicing_billingschedule SET covered_through = %s, status = 'active', last_run_at = NULL, "
                "last_error = '', resumed_on = NULL",
                [datetime.date(YEAR, MONTH, 1) - datetime.timedelta(days=1)],
            )
            # The records keep pointing at the same bucket ids: no FK work needed to put the buckets back.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("DELETE FROM messaging_usagerollup")
            cursor.execute("SET session_replication_role = origin")
        conn.commit()
        vacuum(conn, ["messaging_usagerollup"], full=True)
        with conn.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO messaging_usagerollup ({', '.join(ROLLUP_COLUMNS)}) "
                f"SELECT {', '.join(ROLLUP_COLUMNS)} FROM {PRISTINE} ORDER BY id"
            )
        conn.commit()
        vacuum(
            conn,
            [
                "messaging_usagerollup",
                "invoicing_invoice",
                "invoicing_invoiceline",
                "invoicing_invoicetax",
                "invoicing_billingschedule",
                "invoicing_billingrun",
                "core_event",
            ],
        )


def scan_run(fetch: bool) -> tuple[float, int]:
    """The raw aggregate: fetched to the client as it is, or summed up in the server (nothing to transfer)."""
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        if fetch:
            cursor.execute(SCAN_SQL)
            groups = len(cursor.fetchall())
        else:
            cursor.execute(f"SELECT count(*), sum(p), sum(c), sum(n) FROM ({SCAN_SQL}) g")
            groups = cursor.fetchone()[0]
        return time.perf_counter() - started, groups


def tick_run(tenant):
    from invoicing.services.billing_runs import billing_run_start

    return timed(billing_run_start, tenant=tenant, as_of=AS_OF)


def tick_check(run, n_users: int, charge_micros: int) -> None:
    from django.db.models import Sum

    from invoicing.models import Invoice
    from msgplatform.messaging.models import MICROS, UsageRollup

    assert (run.schedules_total, run.drafts_created, run.errors, run.status) == (n_users, n_users, 0, "done"), (
        f"run {run.schedules_total} schedules, {run.drafts_created} drafts, {run.errors} errors, {run.status}"
    )
    raw = Invoice.objects.aggregate(s=Sum("usage_raw"))["s"]
    assert raw * MICROS == charge_micros, f"drafts bill {raw}, records charge {Decimal(charge_micros) / MICROS}"
    assert not UsageRollup.objects.filter(billed_by__isnull=True).exists(), "open buckets left"


def preview_run(tenant, account_id: int, calls: int) -> tuple[list[float], int]:
    from invoicing.services.invoices import invoice_preview_postpaid

    timings, messages = [], 0
    for _ in range(calls):
        seconds, preview = timed(
            invoice_preview_postpaid,
            tenant=tenant,
            account_id=account_id,
            period_start=datetime.date(YEAR, MONTH, 1),
            period_end=datetime.date(YEAR, MONTH, DAYS),
        )
        timings.append(seconds)
        messages = preview.messages
    return timings, messages


class QueryClock:
    """Counts the SQL statements and the time spent waiting for them (Django's execute wrapper)."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self.kinds: dict[str, list] = {}

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.count += 1
            words = sql.replace('"', "").split()
            table = next((w for w in words if "_" in w and w.islower() and "(" not in w), "")
            entry = self.kinds.setdefault(f"{words[0]} {table}", [0, 0.0])
            entry[0] += 1
            entry[1] += elapsed

    def report(self, n_users: int) -> str:
        rows = sorted(self.kinds.items(), key=lambda kv: -kv[1][1])
        return "\n".join(
            f"  {count:7d} ({count / n_users:4.1f}/user) {seconds:7.2f} s  {kind}" for kind, (count, seconds) in rows
        )


def tick_profile(tenant, n_users: int, top: int, with_cprofile: bool) -> dict:
    from django.db import connection

    clock = QueryClock()
    profiler = cProfile.Profile() if with_cprofile else None
    started = time.perf_counter()
    with connection.execute_wrapper(clock):
        if profiler is None:
            tick_run(tenant)
        else:
            profiler.runcall(tick_run, tenant)
    elapsed = time.perf_counter() - started
    print(f"\n--- one tick with its SQL statements timed{' and cProfile' if profiler else ''}: {elapsed:.2f} s ---")
    print(
        f"SQL statements: {clock.count} ({clock.count / n_users:.1f} per user), waiting for the database "
        f"{clock.seconds:.2f} s, the rest (Python) {elapsed - clock.seconds:.2f} s"
    )
    print(clock.report(n_users))
    if profiler is not None:
        profile_print(profiler, top)
    kinds = {kind: {"count": c, "seconds": round(t, 3)} for kind, (c, t) in clock.kinds.items()}
    return {"seconds": elapsed, "statements": clock.count, "db_wait_s": clock.seconds, "kinds": kinds}


def machine() -> str:
    names = ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "synchronous_commit")
    version, *values = postgres_show("server_version", *names)
    settings = ", ".join(f"{name} {value}" for name, value in zip(names, values, strict=True))
    return machine_summary(f"PostgreSQL {version} ({settings}, same machine)")


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="ticks (each after a reset, next to a scan)")
    parser.add_argument("--preview-calls", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database when its data matches")
    parser.add_argument("--drop", action="store_true", help="drop the bench's own database at the end")
    parser.add_argument("--profile", action="store_true", help="add one tick with its SQL statements timed")
    parser.add_argument("--cprofile", action="store_true", help="the same tick also under cProfile")
    parser.add_argument("--top", type=int, default=30, help="rows of each cProfile listing")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()

    url, reuse = database_setup(args)
    django_setup()
    from django.core.management import call_command

    from msgplatform.accounts.models import Tenant
    from msgplatform.core.models import Event

    call_command("migrate", verbosity=0)
    meta = meta_read() if reuse else None
    wanted = {"users": args.users, "records": args.records, "seed": args.seed}
    if meta is not None and any(meta.get(k) != v for k, v in wanted.items()):
        sys.exit(f"The database holds other bench data ({meta}); drop it or give another DATABASE_URL.")
    if meta is None:
        print(f"generating {args.users} users and {args.records:,} records ...", flush=True)
        meta = generate(args, url)
        print(
            f"generated in {meta['total_s']} s (COPY {meta['copy_s']} s, buckets {meta['buckets_s']} s): "
            f"{meta['records']:,} records ({meta['rolled_back']:,} rolled back), {meta['buckets']:,} buckets",
            flush=True,
        )
    else:
        print(f"reusing the data: {meta}", flush=True)
    tenant = Tenant.objects.get(signup_slug=SLUG)
    event_mark = Event.objects.filter(tenant=tenant, kind="tax.created").values_list("id", flat=True).get()

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, count(*) FROM messaging_messagerecord GROUP BY account_id ORDER BY 2 DESC LIMIT 3"
        )
        heavy = cursor.fetchall()
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('messaging_messagerecord')), "
            "pg_size_pretty(pg_total_relation_size('messaging_usagerollup'))"
        )
        sizes = cursor.fetchone()
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM "
            "(SELECT count(*) AS n FROM messaging_messagerecord GROUP BY account_id) c"
        )
        median_user = cursor.fetchone()[0]
    print(f"machine: {machine()}")
    print(
        f"records {meta['records']:,} ({sizes[0]} with indexes), buckets {meta['buckets']:,} ({sizes[1]}), "
        f"users {args.users}, median user {median_user:.0f} records, heaviest {[n for _, n in heavy]}",
        flush=True,
    )

    scans, fetched, ticks, ratios = [], [], [], []
    if args.runs:
        state_reset(url, event_mark)
        scan_run(fetch=False)  # warm the cache once; not counted
    for i in range(args.runs):
        if i:
            state_reset(url, event_mark)
        before, groups = scan_run(fetch=True)
        scan, _ = scan_run(fetch=False)
        tick, run = tick_run(tenant)
        after, _ = scan_run(fetch=True)
        tick_check(run, args.users, meta["charge_micros"])
        fetched += [before, after]
        scans.append(scan)
        ticks.append(tick)
        ratios.append(tick / ((before + after) / 2))
        print(
            f"run {i + 1}: scan {before:.2f} s before the tick and {after:.2f} s after ({groups:,} groups fetched), "
            f"in the server only {scan:.2f} s; tick {tick:.2f} s = {ratios[-1]:.2f} x the scans around it",
            flush=True,
        )
    state_reset(url, event_mark)
    previews = {}
    for account_id, n in sorted(heavy, key=lambda r: r[1]):
        timings, messages = preview_run(tenant, account_id, args.preview_calls)
        previews[n] = timings
        print(
            f"preview of a user with {n:,} records ({messages:,} billable): median "
            f"{statistics.median(timings) * 1000:.1f} ms, min {min(timings) * 1000:.1f}, max {max(timings) * 1000:.1f}",
            flush=True,
        )
    if args.runs:
        fetched_m, scan_m, tick_m = statistics.median(fetched), statistics.median(scans), statistics.median(ticks)
        print(
            f"\nmedians: scan {fetched_m:.2f} s (in the server only {scan_m:.2f} s), tick {tick_m:.2f} s "
            f"({tick_m / args.users * 1000:.2f} ms per user); tick / scan: median of the runs "
            f"{statistics.median(ratios):.2f}, of the medians {tick_m / fetched_m:.2f} (goal <= 3); "
            f"tick / scan in the server only {tick_m / scan_m:.2f}"
        )
    result = {
        "machine": machine(),
        "meta": meta,
        "sizes": sizes,
        "median_user": median_user,
        "scans_fetched": fetched,
        "scans_server": scans,
        "ticks": ticks,
        "ratios": ratios,
        "previews": previews,
    }
    if args.profile or args.cprofile:
        state_reset(url, event_mark)
        result["profile"] = tick_profile(tenant, args.users, args.top, args.cprofile)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    if args.drop:
        database_drop(url.rsplit("/", 1)[1])


if __name__ == "__main__":
    main()
