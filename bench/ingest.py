"""Ingestion benchmark: records/s of the HTTP endpoint and of `import_records`, each against a raw baseline.

    .venv/bin/python bench/ingest.py [--records 200000] [--runs 3] [--batch-size 10000] [--gunicorn 2] [--profile]
    .venv/bin/python bench/ingest.py --sqlite /tmp/bench_ingest.sqlite3     # the embedded SQLite set-up

Database: DATABASE_URL when set (it must be a scratch database: the bench truncates the messaging and ledger tables
and refuses a database holding any other admin); otherwise it drops and recreates its own PostgreSQL database
postgres://postgres@127.0.0.1:5432/bench_ingest. `--sqlite PATH` uses the settings' embedded SQLite configuration
(WAL, IMMEDIATE transactions) on a fresh file. The schema comes from `manage.py migrate`.

One admin (time zone Europe/Berlin) with `--accounts` accounts (prepaid and postpaid, a few priced routes each:
country, network, unit price with 4 to 6 decimals) and `--records` generated records (1-4 parts, mostly delivered,
0.5% rolled back, a given charge, UUID message ids, Zipf-like volume per account) over three local days, in time
order as a platform pushes them. Every measurement of a new batch set starts from empty tables; on the same rows:

1. HTTP: POST of batches of `--batch-size` records as JSON to /api/v1/records/ with a staff API token, through
   Django's test Client in-process (the whole middleware, DRF authentication, permission, parser and view stack;
   no socket), one request after the other. The bodies are encoded with orjson before the clock starts: the time
   is the server's handling of the request.
2. HTTP re-send: the same batches again (all duplicates).
3. HTTP status change: the records first pushed (untimed) as ENROUTE and not rolled back, then the timed re-send
   with their final status (delivery reports): every record changes bucket, rollbacks refund.
4. With `--gunicorn W`: the same new batches, then the re-send, through a real gunicorn (W workers) on 127.0.0.1,
   W requests in flight.
5. Import: `manage.py import_records` (call_command) of a CSV file of the same rows (CSV reading included).
6. Import re-send: the same file again (all duplicates).
7. Raw baseline: the same rows, already in their stored form, written in the same batches (one transaction each)
   into a copy of the records table with the same indexes and no foreign keys: binary COPY on PostgreSQL
   (`CREATE TABLE ... (LIKE messaging_messagerecord INCLUDING ALL)`; text COPY shown too), executemany on SQLite.

After each new-records measurement it checks that every record is stored and that the rollups and the balances
equal the records. It prints records/s per run, the medians and the ratios to the baseline (of the medians, and
the median of the per-run ratios). It also prints the CPU time per record of this process and of its PostgreSQL
backend (read from /proc; the bench keeps one connection), the steadier figure when other work shares the machine.
`--profile` adds one more HTTP pass and one more import under cProfile and prints where the time goes.
"""

from __future__ import annotations

import contextlib
import cProfile
import csv
import datetime
import functools
import io
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
import zoneinfo
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import (  # noqa: E402
    ENCODINGS,
    PARTS,
    ROUTES,
    STATUSES,
    CpuClock,
    argument_parser,
    database_create,
    django_setup,
    free_port,
    gunicorn_start,
    load_average,
    local_database_url,
    machine_summary,
    median_and_runs,
    median_ratio,
    postgres_show,
    profile_print,
    scratch_database_check,
)

DB_NAME = "bench_ingest"
SLUG = "bench-ingest"
RAW_TABLE = "bench_raw_records"
TZ_NAME = "Europe/Berlin"
CHANNELS = (("sms", 85), ("whatsapp", 10), ("rcs", 4), ("viber", 1))
SENDERS = ("INFO", "VERIFY", "ACME", "Bank", "+15550100", "Shop", "Alerts", "OTP")
FIELDS = (
    "message_id",
    "user_id",
    "submitted_at",
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
)


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return lambda k: rng.choices(values, weights=weights, k=k)


# --- set-up ----------------------------------------------------------------------------------------------------


def database_setup(args) -> str:
    """Point the settings at the bench database (creating a fresh one when it is the bench's own); its vendor."""
    if args.sqlite:
        path = Path(args.sqlite)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = ""
        os.environ["SQLITE_PATH"] = str(path)
        return "sqlite"
    url = os.environ.get("DATABASE_URL") or ""
    if not url:
        database_create(DB_NAME)
        url = os.environ["DATABASE_URL"] = local_database_url(DB_NAME)
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def fixtures_create(n_accounts: int, seed: int):
    from msgplatform.accounts.models import Account, StaffRole, Tenant, User
    from msgplatform.accounts.services.tokens import token_create

    scratch_database_check(SLUG)
    tenant, _ = Tenant.objects.get_or_create(
        signup_slug=SLUG, defaults={"name": "Bench Ingest", "currency": "EUR", "timezone": TZ_NAME}
    )
    rng = random.Random(seed)
    existing = {a.name: a for a in Account.objects.filter(tenant=tenant)}
    new = []
    for i in range(n_accounts):
        name = f"Sender {i:04d}"
        if name not in existing:
            postpaid = rng.random() < 0.3
            new.append(
                Account(
                    tenant=tenant,
                    name=name,
                    email=f"billing{i}@sender{i}.example",
                    billing_method="postpaid" if postpaid else "prepaid",
                    overdraft_limit=Decimal("5000.00") if postpaid else Decimal("0"),
                )
            )
    Account.objects.bulk_create(new)
    accounts = list(Account.objects.filter(tenant=tenant).order_by("id")[:n_accounts])
    staff, _ = User.objects.get_or_create(username="bench-ingest-api", defaults={"tenant": tenant, "role": "billing"})
    if staff.role != StaffRole.BILLING:
        staff.role = StaffRole.BILLING
        staff.save()
    _, secret = token_create(user=staff, name=f"bench {uuid.uuid4().hex[:8]}")
    return tenant, accounts, secret


def records_generate(accounts, n: int, seed: int):
    """The rows as the platform pushes them (JSON-ready dicts) and as they are stored (tuples for the baseline)."""
    rng = random.Random(seed)
    tz = zoneinfo.ZoneInfo(TZ_NAME)
    # Each account sends over a few routes, each at its own price (2 to 6 decimals).
    plans = []
    for _account in accounts:
        routes = []
        for country, _code, mcc, networks, base in rng.sample(ROUTES, rng.randint(2, 6)):
            for mnc, network in rng.sample(networks, rng.randint(1, len(networks))):
                places = rng.choice((4, 4, 5, 6))
                price = (Decimal(base) * Decimal(rng.uniform(0.7, 1.4))).quantize(Decimal(1).scaleb(-places))
                routes.append((country, mcc, mnc, network, price))
        plans.append(routes)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(accounts))]
    who = rng.choices(range(len(accounts)), weights=weights, k=n)
    channels = _weighted(rng, CHANNELS)(n)
    encodings = _weighted(rng, ENCODINGS)(n)
    parts_list = _weighted(rng, PARTS)(n)
    statuses = _weighted(rng, STATUSES)(n)
    start = datetime.datetime(2026, 3, 9, 22, 0, tzinfo=datetime.UTC)  # three local days in Berlin
    span = 3 * 86400 - 7300
    now = datetime.datetime.now(datetime.UTC)
    rows, stored = [], []
    for i in range(n):
        account = accounts[who[i]]
        country, mcc, mnc, network, price = rng.choice(plans[who[i]])
        at = start + datetime.timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1000) * 1000)
        parts = parts_list[i]
        charge = price * parts
        rolled_back = rng.random() < 0.005
        row = {
            "message_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "user_id": account.id,
            "submitted_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "destination": f"+{rng.randrange(10**9, 10**12)}",
            "sender_id": rng.choice(SENDERS),
            "country": country,
            "mcc": mcc,
            "mnc": mnc,
            "network": network,
            "channel": channels[i],
            "encoding": encodings[i],
            "parts": parts,
            "status": statuses[i],
            "unit_price": str(price),
            "charge": str(charge),
            "rolled_back": rolled_back,
        }
        rows.append(row)
        stored.append(
            (
                account.tenant_id,
                account.id,
                row["message_id"],
                at,
                at.astimezone(tz).date(),
                row["destination"],
                row["sender_id"],
                country,
                mcc,
                mnc,
                network,
                row["channel"],
                row["encoding"],
                parts,
                row["status"],
                price.quantize(Decimal("0.000001")),
                charge.quantize(Decimal("0.000001")),
                rolled_back,
                account.billing_method,
                None,
                None,
                now,
                now,
            )
        )
    # The platform pushes its records as they happen: batches in time order.
    order = sorted(range(n), key=lambda i: rows[i]["submitted_at"])
    return [rows[i] for i in order], [stored[i] for i in order]


def csv_write(rows, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([("true" if row[f] else "false") if f == "rolled_back" else row[f] for f in FIELDS])


# --- measurements ----------------------------------------------------------------------------------------------


def tables_reset(vendor: str) -> None:
    """Empty the ingestion tables (records, buckets, corrections, batches, ledger) and zero the balances."""
    from django.db import connection

    from msgplatform.accounts.models import Account

    tables = [
        "messaging_recordcorrection",
        "messaging_messagerecord",
        "messaging_usagerollup",
        "messaging_ingestbatch",
        "accounts_balancetransaction",
    ]
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
    Account.objects.update(balance=Decimal("0"))
    settle(vendor)


CLOCK = CpuClock()


def settle(vendor: str) -> None:
    """Flush dirty pages before a measurement so a checkpoint does not land in the middle of it."""
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def raw_table_create(vendor: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        if vendor == "postgresql":
            # LIKE copies columns, defaults, identity and every index (unique ones included), never foreign keys.
            cursor.execute(f"CREATE TABLE {RAW_TABLE} (LIKE messaging_messagerecord INCLUDING ALL)")
            return
        cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'messaging_messagerecord'")
        for kind, name, sql in cursor.fetchall():
            if not sql:
                continue
            sql = sql.replace('"messaging_messagerecord"', f'"{RAW_TABLE}"')
            if kind == "table":
                sql = re.sub(r" REFERENCES \"\w+\" \(\"\w+\"\)( DEFERRABLE INITIALLY DEFERRED)?", "", sql)
            else:
                sql = sql.replace(f'"{name}"', f'"bench_raw_{name}"', 1)
            cursor.execute(sql)


def raw_run(vendor: str, stored, batch_size: int, binary: bool = True) -> float:
    from django.db import connection, transaction

    from msgplatform.messaging.services.ingest.storage import RECORD_COLUMNS as _RECORD_COLUMNS
    from msgplatform.messaging.services.ingest.storage_postgres import record_types as _record_types

    columns = ", ".join(_RECORD_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {RAW_TABLE}" if vendor == "sqlite" else f"TRUNCATE {RAW_TABLE}")
    settle(vendor)
    if vendor == "sqlite":
        # Stored as the ingestion stores them on SQLite: text for dates and decimals.
        stored = [
            (
                *r[:3],
                r[3].isoformat(),
                str(r[4]),
                *r[5:15],
                str(r[15]),
                str(r[16]),
                *r[17:21],
                *(t.isoformat() for t in r[21:]),
            )
            for r in stored
        ]
        sql = f"INSERT INTO {RAW_TABLE} ({columns}) VALUES ({', '.join(['%s'] * len(_RECORD_COLUMNS))})"
    CLOCK.start()
    for start in range(0, len(stored), batch_size):
        chunk = stored[start : start + batch_size]
        with transaction.atomic(), connection.cursor() as cursor:
            if vendor == "postgresql":
                options = " (FORMAT BINARY)" if binary else ""
                with cursor.cursor.copy(f"COPY {RAW_TABLE} ({columns}) FROM STDIN{options}") as copy:
                    if binary:
                        copy.set_types(_record_types())
                    for row in chunk:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, chunk)
    return CLOCK.stop()


def http_run(client, bodies, token: str, expect: str, sizes) -> float:
    """POST every body in turn; `expect` names the counts (joined by +) that must add up to each batch's size."""
    CLOCK.start()
    responses = [
        client.post("/api/v1/records/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        for body in bodies
    ]
    elapsed = CLOCK.stop()
    for response, size in zip(responses, sizes, strict=True):
        data = response.json() if response.status_code == 200 else None
        if data is None or sum(data[f] for f in expect.split("+")) != size or data["rejected"]:
            sys.exit(f"HTTP path: unexpected answer {response.status_code} {str(response.content[:300])}")
    return elapsed


class Gunicorn:
    """A real gunicorn serving config.wsgi on 127.0.0.1 (the bench's own process, stopped by its pid)."""

    def __init__(self, workers: int):
        self.port = free_port()
        self.workers = workers
        options = ["--workers", str(workers), "--timeout", "600", "--log-level", "warning"]
        self.proc, state = gunicorn_start("config.wsgi", self.port, options, env=os.environ.copy())
        if state != "ready":
            self.stop()
            sys.exit("gunicorn did not start")

    def run(self, bodies, token: str, expect: str, sizes) -> float:
        """POST every body, `workers` requests in flight at a time (one client thread per worker)."""
        import http.client
        import threading

        pending = list(enumerate(bodies))
        answers: dict[int, tuple[int, bytes]] = {}
        lock = threading.Lock()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            while True:
                with lock:
                    if not pending:
                        break
                    index, body = pending.pop(0)
                conn.request("POST", "/api/v1/records/", body=body, headers=headers)
                response = conn.getresponse()
                answers[index] = (response.status, response.read())
            conn.close()

        threads = [threading.Thread(target=client) for _ in range(self.workers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        for index, size in enumerate(sizes):
            status, content = answers[index]
            data = orjson_loads(content) if status == 200 else None
            if data is None or sum(data[f] for f in expect.split("+")) != size or data["rejected"]:
                sys.exit(f"gunicorn HTTP path: unexpected answer {status} {content[:300]!r}")
        return elapsed

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def orjson_loads(content: bytes):
    import orjson

    return orjson.loads(content)


def import_run(csv_path: Path, batch_size: int, expect: str, n: int) -> float:
    from django.core.management import call_command

    out = io.StringIO()
    CLOCK.start()
    with contextlib.redirect_stderr(io.StringIO()):
        call_command("import_records", str(csv_path), admin=SLUG, batch_size=batch_size, stdout=out)
    elapsed = CLOCK.stop()
    if f"{expect}={n}" not in out.getvalue() or "rejected=0" not in out.getvalue():
        sys.exit(f"Import path: unexpected outcome {out.getvalue()!r}")
    return elapsed


def state_check(rows) -> None:
    """The measured paths did all their work: every record stored, rollups and ledger equal to the records."""
    from django.db.models import Sum

    from msgplatform.accounts.models import Account
    from msgplatform.messaging.models import MICROS, MessageRecord, UsageRollup

    live = [r for r in rows if not r["rolled_back"]]
    expected_micros = sum(int(Decimal(r["charge"]) * MICROS) for r in live)
    assert MessageRecord.objects.count() == len(rows), "records missing"
    totals = UsageRollup.objects.aggregate(m=Sum("messages"), c=Sum("charge_micros"))
    assert (totals["m"], totals["c"]) == (len(live), expected_micros), f"rollups {totals} != records"
    balance = Account.objects.aggregate(b=Sum("balance"))["b"]
    assert int(-balance * MICROS) == expected_micros, f"ledger {balance} != records"


def profile(label: str, fn) -> None:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(fn)
    elapsed = time.perf_counter() - started
    print(f"\n--- cProfile of one {label} pass ({elapsed:.2f} s under the profiler) ---")
    profile_print(profiler, 28)


def machine(vendor: str) -> str:
    from django.db import connection

    if vendor == "postgresql":
        version, buffers, synchronous = postgres_show("server_version", "shared_buffers", "synchronous_commit")
        db = f"PostgreSQL {version} (shared_buffers {buffers}, synchronous_commit {synchronous}, same machine)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sqlite_version()")
            db = f"SQLite {cursor.fetchone()[0]} (WAL, synchronous=NORMAL)"
    return machine_summary(db)


def _take(times: dict, cpus: dict, name: str, elapsed: float, cpu_time: bool = True) -> None:
    """Keep a measurement: its wall time and, unless told not to, the CPU times the clock read with it."""
    times[name] = elapsed
    cpus[name] = CLOCK.last if cpu_time else None


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite", metavar="PATH", help="use the embedded SQLite settings on a fresh file at PATH")
    parser.add_argument("--profile", action="store_true", help="add a cProfile'd HTTP pass and import pass")
    parser.add_argument(
        "--gunicorn",
        type=int,
        metavar="WORKERS",
        help="also measure the HTTP path through a real gunicorn with WORKERS workers and as many concurrent clients",
    )
    args = parser.parse_args()

    vendor = database_setup(args)
    os.environ.setdefault("INGEST_MAX_BATCH", str(max(10_000, args.batch_size)))
    django_setup()
    import orjson
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from django.db import connection

    # One connection for the whole bench (the settings close it after 60 s), so its backend's CPU can be read.
    connection.settings_dict["CONN_MAX_AGE"] = None
    tenant, accounts, token = fixtures_create(args.accounts, args.seed)
    print(f"machine: {machine(vendor)}")
    print(f"generating {args.records:,} records for {len(accounts)} accounts ...", flush=True)
    rows, stored = records_generate(accounts, args.records, args.seed)
    stored = [(tenant.id, *r[1:]) for r in stored]
    batches = [rows[i : i + args.batch_size] for i in range(0, len(rows), args.batch_size)]
    sizes = [len(b) for b in batches]
    bodies = [orjson.dumps({"records": b}) for b in batches]
    # The same records as first pushed at submission, before their delivery reports: status ENROUTE, not rolled back.
    submitted = [orjson.dumps({"records": [dict(r, status="ENROUTE", rolled_back=False) for r in b]}) for b in batches]
    tmp = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    csv_path = tmp / "records.csv"
    csv_write(rows, csv_path)
    raw_table_create(vendor)
    client = Client()
    print(
        f"{args.records:,} records, batches of {args.batch_size:,}, JSON body {sum(map(len, bodies)) / 1e6:.1f} MB, "
        f"CSV {csv_path.stat().st_size / 1e6:.1f} MB",
        flush=True,
    )

    baseline = "raw COPY binary (baseline)" if vendor == "postgresql" else "raw executemany (baseline)"
    names = ["HTTP", "HTTP re-send", "HTTP status change", "import", "import re-send", baseline]
    if vendor == "postgresql":
        names.append("raw COPY text")
    server = None
    if args.gunicorn:
        server = Gunicorn(args.gunicorn)
        names[3:3] = [f"HTTP gunicorn x{args.gunicorn}", f"HTTP gunicorn x{args.gunicorn} re-send"]
    runs: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[tuple[float, float | None]]] = {name: [] for name in names}
    CLOCK.attach(vendor)
    print(f"load average before: {load_average()}", flush=True)
    for run in range(1, args.runs + 1):
        times: dict[str, float] = {}
        cpus: dict[str, tuple[float, float | None] | None] = {}
        take = functools.partial(_take, times, cpus)
        tables_reset(vendor)
        take("HTTP", http_run(client, bodies, token, "created", sizes))
        state_check(rows)
        settle(vendor)
        take("HTTP re-send", http_run(client, bodies, token, "duplicates", sizes))
        tables_reset(vendor)
        http_run(client, submitted, token, "created", sizes)  # not timed: the records as first submitted
        settle(vendor)
        take("HTTP status change", http_run(client, bodies, token, "updated+duplicates", sizes))
        state_check(rows)
        if server:  # the workers' CPU time is not counted
            tables_reset(vendor)
            take(names[3], server.run(bodies, token, "created", sizes), cpu_time=False)
            state_check(rows)
            settle(vendor)
            take(names[4], server.run(bodies, token, "duplicates", sizes), cpu_time=False)
        tables_reset(vendor)
        take("import", import_run(csv_path, args.batch_size, "created", args.records))
        state_check(rows)
        settle(vendor)
        take("import re-send", import_run(csv_path, args.batch_size, "duplicates", args.records))
        take(baseline, raw_run(vendor, stored, args.batch_size))
        if vendor == "postgresql":
            take("raw COPY text", raw_run(vendor, stored, args.batch_size, binary=False))
        for name in names:
            runs[name].append(args.records / times[name])
            cpu[name].append(cpus[name])
        print(f"run {run}: " + ", ".join(f"{name} {args.records / times[name]:,.0f}/s" for name in names), flush=True)

    if server:
        server.stop()
    print(f"load average after: {load_average()}")
    raw = statistics.median(runs[baseline])
    print(f"\nmedian of {args.runs} runs, {args.records:,} records, batches of {args.batch_size:,}")
    print(f"machine: {machine(vendor)}")
    print("| path | records/s (median) | each run | x baseline (medians) | x baseline (median per-run ratio) |")
    print("|---|---:|---|---:|---:|")
    for name in names:
        med = statistics.median(runs[name])
        per_run = median_ratio(runs[name], runs[baseline])
        print(f"| {name} | {median_and_runs(runs[name], ',.0f')} | {med / raw:.2f} | {per_run:.2f} |")

    # CPU time per record: this process (client, Django, the service; SQLite too) and its PostgreSQL backend.
    print(f"\nCPU time per record, median of {args.runs} runs (records per CPU-second: what one core each would do)")
    print("| path | Python us/record | PostgreSQL us/record | total us/record | records per CPU-second | x baseline |")
    print("|---|---:|---:|---:|---:|---:|")

    def per_record(name):
        py = statistics.median(c[0] for c in cpu[name]) * 1e6 / args.records
        pgs = [c[1] for c in cpu[name]]
        pg = None if None in pgs else statistics.median(pgs) * 1e6 / args.records
        return py, pg, py + (pg or 0)

    base_total = per_record(baseline)[2]
    for name in names:
        if None in cpu[name]:
            continue
        py, pg, total = per_record(name)
        pg_text = "n/a" if pg is None else f"{pg:.1f}"
        print(f"| {name} | {py:.1f} | {pg_text} | {total:.1f} | {1e6 / total:,.0f} | {base_total / total:.2f} |")

    if args.profile:
        tables_reset(vendor)
        profile("HTTP (new records)", lambda: http_run(client, bodies, token, "created", sizes))
        tables_reset(vendor)
        profile("import (new records)", lambda: import_run(csv_path, args.batch_size, "created", args.records))
    csv_path.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
