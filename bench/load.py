"""Load bench (issue 8): open-loop fixed arrival rate against gunicorn on 127.0.0.1 over generated PostgreSQL data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load .venv/bin/python bench/load.py \
        [--duration 10] [--rates 5,10,20,25,50,100,150,200,300,400,600] [--workers 2] [--threads 4] [--out FILE]

With DEBUG=0 the manifest static storage needs `manage.py collectstatic` first (e.g. STATIC_ROOT=/tmp/bl/static,
passed on to gunicorn); without it every page answers 500. The database must hold one generated admin
(bench/generate.py, then `manage.py invoicing_stats_rebuild`, ANALYZE).
The bench adds one staff login (role owner) to that admin, a session for it and an API token, then starts
gunicorn (config.wsgi's application with DJANGO_SETTINGS_MODULE=bench.load_settings: the product's URLs plus a bare
view /bench/bare/ returning "ok") on a free loopback port, DEBUG=0.

Load: request i of a step is scheduled at t0 + i/rate whatever the previous answers did (open loop), each on its own
connection (Connection: close, the same for every target); latency runs from the scheduled time to the last byte,
so queueing in the client, the listen backlog and gunicorn shows. A request not answered within --timeout seconds
of its scheduled time counts as an error with that latency. A step lasts --duration seconds (plus at most
--timeout to drain). Per target: 50 req/s, then the rate search over --rates, stopping at the first rate whose p95
reaches 100 ms or that has an error. A separate run posts batches of --batch records to /api/v1/records/ at
--ingest-rates batches/s. Last, every page once more through Django's test client in this process: SQL queries and
time per request, and a cProfile of one request (where the time goes).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import io
import os
import pstats
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import ROOT, django_setup, free_port, gunicorn_start  # noqa: E402

GOAL_P95_MS = 100.0
GOAL_RATE = 50
GOAL_RATIO = 0.2


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


# --- the open-loop client ------------------------------------------------------------------------------------


async def _one(port, raw, sched, timeout, out):
    loop = asyncio.get_running_loop()
    delay = sched - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)
    started = loop.time()
    status = 0
    writer = None
    try:
        remaining = sched + timeout - loop.time()
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), max(remaining, 0.001))
        writer.write(raw)
        remaining = sched + timeout - loop.time()
        data = await asyncio.wait_for(reader.read(-1), max(remaining, 0.001))
        status = int(data[9:12]) if data.startswith(b"HTTP/") else 0
    except Exception:
        status = 0
    finally:
        if writer is not None:
            writer.close()
    end = loop.time()
    out.append((end - sched, status, started - sched))


async def _step(port, raws, rate, duration, timeout):
    loop = asyncio.get_running_loop()
    n = int(rate * duration)
    out: list = []
    t0 = loop.time() + 0.2
    tasks = [asyncio.ensure_future(_one(port, raws[i % len(raws)], t0 + i / rate, timeout, out)) for i in range(n)]
    await asyncio.wait(tasks, timeout=duration + timeout + 5)
    for t in tasks:
        t.cancel()
    wall = loop.time() - t0
    return out, wall


def run_step(port, raws, rate, duration, timeout, ok_status=(200,)):
    out, wall = asyncio.run(_step(port, raws, rate, duration, timeout))
    lat = [o[0] * 1000 for o in out]
    errors = sum(1 for o in out if o[1] not in ok_status)
    lag = [o[2] * 1000 for o in out]
    return {
        "rate": rate,
        "sent": len(out),
        "errors": errors,
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "max": max(lat) if lat else float("nan"),
        "client_lag_p95": pct(lag, 95),
        "achieved": len([o for o in out if o[1] in ok_status]) / max(wall, 1e-9),
        "statuses": sorted({o[1] for o in out}),
    }


def get_raw(path, cookie):
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    ).encode()


def post_raw(path, token, body: bytes):
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


# --- set-up --------------------------------------------------------------------------------------------------


def django_setup_as_served():
    """Django in this process with the settings gunicorn serves: bench.load_settings, DEBUG=0, loopback only."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"
    os.environ.setdefault("SECRET_KEY", "bench-load-" + uuid.uuid4().hex)
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    django_setup()


def fixtures():
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from invoicing.models import Invoice
    from msgplatform.accounts.models import Account, StaffRole, Tenant, User
    from msgplatform.accounts.services.tokens import token_create

    tenant = Tenant.objects.filter(name__startswith="Generated admin").order_by("-id").first()
    if tenant is None:
        sys.exit("no generated admin in this database: run bench/generate.py first")
    user, _ = User.objects.get_or_create(
        username="bench-load", defaults={"tenant": tenant, "role": StaffRole.OWNER, "email": "bench@localhost"}
    )
    user.set_password("bench-load-" + uuid.uuid4().hex[:12])
    user.save()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    _, secret = token_create(user=user, name="bench-load")
    rng = random.Random(8)
    ids = list(Invoice.objects.filter(tenant=tenant).values_list("id", flat=True)[:200000])
    invoice_ids = rng.sample(ids, min(300, len(ids)))
    account_ids = list(Account.objects.filter(tenant=tenant).values_list("id", flat=True))
    from django.db import connection

    connection.close()
    return {
        "tenant": tenant,
        "user": user,
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        "token": secret,
        "invoice_ids": invoice_ids,
        "account_ids": account_ids,
        "invoices": len(ids),
    }


def bare_view_answers(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /bench/bare/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_gunicorn(port, workers, threads, env):
    options = ["--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread"]
    options += ["--backlog", "2048", "--log-level", "warning", "--timeout", "60"]
    proc, state = gunicorn_start(
        "config.wsgi:application",
        port,
        options,
        env=env,
        ready=bare_view_answers,
        wait=40,
        poll=0.5,
        start_new_session=True,  # stopped with its workers as one process group
        stdout=subprocess.DEVNULL,
    )
    if state == "exited":
        sys.exit("gunicorn exited")
    if state == "timeout":
        stop(proc)
        sys.exit("gunicorn did not answer within 40 s")
    return proc


def stop(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def drain(port, limit=90):
    """Wait (at most `limit` s) until the server answers the bare view within 50 ms: no backlog left over."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        t = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /bench/bare/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                s.settimeout(5)
                s.recv(64)
            if time.monotonic() - t < 0.05:
                time.sleep(0.5)
                return
        except OSError:
            pass
        time.sleep(1)


def check_once(port, raw):
    out = run_step(port, [raw], 1, 1, 10)
    return out["statuses"]


# --- where the time goes (in-process, test client) -----------------------------------------------------------


def profile_pages(fx, paths):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(fx["user"])
    rows = []
    for name, path in paths:
        client.get(path)  # warm
        times, nq = [], 0
        for _ in range(5):
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
            nq = len(ctx.captured_queries)
            sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        prof = cProfile.Profile()
        prof.enable()
        client.get(path)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
        slow = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:2]
        rows.append(
            {
                "name": name,
                "status": r.status_code,
                "ms": sorted(times)[2],
                "queries": nq,
                "sql_ms": sql_ms,
                "profile": buf.getvalue(),
                "slow": [(float(q["time"]) * 1000, q["sql"][:300]) for q in slow],
            }
        )
    connection.close()
    return rows


# --- main ----------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--rates", default="5,10,20,25,50,100,150,200,300,400,600")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--ingest-rates", default="1,2,4")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated substrings of the target names to run")
    ap.add_argument("--out", default=str(ROOT / "bench/RESULTS.load.md"))
    args = ap.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to the generated PostgreSQL database")
    django_setup_as_served()
    fx = fixtures()
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.load_settings", "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("CACHE_URL", None)
    rates = [float(r) for r in args.rates.split(",")]
    cookie = fx["cookie"]
    targets = [
        ("bare view /bench/bare/", [get_raw("/bench/bare/", cookie)]),
        ("dashboard /invoicing/", [get_raw("/invoicing/", cookie)]),
        (
            "grid /invoicing/invoices/?tab=postpaid&payment_status=unpaid&page=20",
            [get_raw("/invoicing/invoices/?tab=postpaid&payment_status=unpaid&page=20", cookie)],
        ),
        (
            "grid /invoicing/invoices/?tab=all&ordering=-invoice_date&page=N (N random 2..200)",
            [get_raw(f"/invoicing/invoices/?tab=all&ordering=-invoice_date&page={n}", cookie) for n in range(2, 201)],
        ),
        (
            f"detail /invoicing/invoices/<id>/ ({len(fx['invoice_ids'])} random ids)",
            [get_raw(f"/invoicing/invoices/{i}/", cookie) for i in fx["invoice_ids"]],
        ),
    ]
    for _, raws in targets:
        random.Random(1).shuffle(raws)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results = {}
    ingest = []
    proc = None
    started = time.time()
    try:
        proc = start_gunicorn(port, args.workers, args.threads, env)
        for name, raws in targets:
            statuses = check_once(port, raws[0])
            print(f"check {name}: {statuses}", flush=True)
            run_step(port, raws, 10, 2, args.timeout)  # warm the workers
        for name, raws in targets:
            if args.only and not any(o in name for o in args.only.split(",")):
                continue
            steps = []
            for rate in rates:
                drain(port)
                s = run_step(port, raws, rate, args.duration, args.timeout)
                steps.append(s)
                print(f"  {name} @{rate:g}: {fmt(s)}", flush=True)
                if s["p95"] >= GOAL_P95_MS or s["errors"]:
                    break
            at50 = next((s for s in steps if s["rate"] == GOAL_RATE), None)
            if at50 is None:
                drain(port)
                at50 = run_step(port, raws, GOAL_RATE, args.duration, args.timeout)
            print(f"{name} @50: {fmt(at50)}", flush=True)
            ok = [s["rate"] for s in steps if s["p95"] < GOAL_P95_MS and not s["errors"]]
            results[name] = {
                "at50": at50,
                "steps": steps,
                "sustainable": max(ok) if ok else 0.0,
                "capped": len(ok) == len(rates),
            }
            drain(port)
        if not args.skip_ingest:
            ingest = ingest_run(port, fx, args)
    finally:
        stop(proc)
    elapsed = time.time() - started
    prof = profile_pages(
        fx,
        [
            ("dashboard", "/invoicing/"),
            ("grid filtered p20", "/invoicing/invoices/?tab=postpaid&payment_status=unpaid&page=20"),
            ("grid all p100", "/invoicing/invoices/?tab=all&ordering=-invoice_date&page=100"),
            ("detail", f"/invoicing/invoices/{fx['invoice_ids'][0]}/"),
            ("bare", "/bench/bare/"),
        ],
    )
    write_report(args, fx, uptime, results, ingest, prof, elapsed)


def fmt(s):
    return (
        f"sent {s['sent']} err {s['errors']} p50 {s['p50']:.1f} p95 {s['p95']:.1f} p99 {s['p99']:.1f} "
        f"max {s['max']:.0f} ms, client lag p95 {s['client_lag_p95']:.1f} ms, ok/s {s['achieved']:.1f} {s['statuses']}"
    )


def ingest_run(port, fx, args):
    import orjson

    rng = random.Random(3)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    out = []
    for rate in [float(r) for r in args.ingest_rates.split(",")]:
        n = int(rate * args.duration)
        raws = []
        for _ in range(n):
            rows = []
            for _ in range(args.batch):
                price = rng.choice(("0.0795", "0.0352", "0.00235", "0.0126"))
                parts = rng.randint(1, 3)
                rows.append(
                    {
                        "message_id": str(uuid.uuid4()),
                        "user_id": rng.choice(fx["account_ids"]),
                        "submitted_at": (now - datetime.timedelta(seconds=rng.randrange(3600))).isoformat(),
                        "destination": f"+49{rng.randrange(10**9, 10**10)}",
                        "country": "DE",
                        "mcc": "262",
                        "mnc": "01",
                        "network": "Telekom.de",
                        "parts": parts,
                        "status": "DELIVRD",
                        "unit_price": price,
                    }
                )
            raws.append(post_raw("/api/v1/records/", fx["token"], orjson.dumps({"records": rows})))
        s = run_step(port, raws, rate, args.duration, max(args.timeout, 20))
        s["records_per_s"] = s["achieved"] * args.batch
        print(f"ingest {rate:g} batches/s x {args.batch}: {fmt(s)}", flush=True)
        out.append(s)
        if s["errors"]:
            break
        time.sleep(1)
    return out


def write_report(args, fx, uptime, results, ingest, prof, elapsed):
    bare = next((r for n, r in results.items() if n.startswith("bare")), None)
    bare_rate = bare["sustainable"] if bare else 0
    L = []
    L.append("# Load bench (issue 8): open-loop fixed arrival rate, gunicorn on 127.0.0.1, PostgreSQL\n")
    L.append("Command:\n")
    L.append("```")
    L.append(
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load .venv/bin/python bench/generate.py "
        "--users 2000 --invoices 200000 --records 1000000"
    )
    L.append(
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load .venv/bin/python manage.py invoicing_stats_rebuild"
    )
    L.append("psql -h 127.0.0.1 -U postgres bench_load -c ANALYZE")
    L.append(
        "STATIC_ROOT=/tmp/bl/static .venv/bin/python manage.py collectstatic --noinput  # DEBUG=0 needs the manifest"
    )
    L.append(
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load STATIC_ROOT=/tmp/bl/static "
        ".venv/bin/python bench/load.py " + " ".join(a for a in sys.argv[1:])
    )
    L.append("```\n")
    L.append(
        f"- Machine: 2 cores, shared and noisy; `uptime` before the run: `{uptime}`. The load generator "
        "(one Python asyncio process), gunicorn and PostgreSQL share the 2 cores."
    )
    L.append(
        f"- Data: one generated admin, {len(fx['account_ids']):,} users, {fx['invoices']:,} invoices, "
        "1,000,000 messaging records (bench/generate.py), then invoicing_stats_rebuild and ANALYZE."
    )
    L.append(
        f"- Server: gunicorn config.wsgi, {args.workers} workers x {args.threads} threads (gthread), DEBUG=0, "
        "DJANGO_SETTINGS_MODULE=bench.load_settings (product settings + /bench/bare/), no CACHE_URL, "
        "session cookie of a staff login (role owner) of the admin."
    )
    L.append(
        f"- Load: each request scheduled at t0 + i/rate (open loop), its own connection; latency from the "
        f"scheduled time to the last byte; {args.duration:g} s per step; a request unanswered after "
        f"{args.timeout:g} s is an error. Rate search: {args.rates} req/s, stopping at the first step with "
        f"p95 >= 100 ms or an error. Goal: p95 < 100 ms at 50 req/s and sustainable rate >= 0.2 x bare view's."
    )
    L.append(f"- Wall time of the load part: {elapsed:.0f} s.\n")
    L.append("## Results\n")
    L.append(
        "| target | p50 @50/s | p95 @50/s | p99 @50/s | errors @50/s | sustainable rate (p95 < 100 ms) | "
        "ratio to bare | p95 goal | ratio goal |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        a = r["at50"]
        sus = f"{r['sustainable']:g} req/s" + (" (highest rate tried)" if r["capped"] else "")
        ratio = r["sustainable"] / bare_rate if bare_rate else float("nan")
        g1 = "met" if a["p95"] < GOAL_P95_MS and not a["errors"] else "MISSED"
        g2 = "—" if name.startswith("bare") else ("met" if ratio >= GOAL_RATIO else "MISSED")
        L.append(
            f"| {name} | {a['p50']:.1f} ms | {a['p95']:.1f} ms | {a['p99']:.1f} ms | {a['errors']} | {sus} | "
            f"{ratio:.2f} | {g1} | {g2} |"
        )
    L.append("\nEvery step (ms; client lag = how late the generator itself sent, p95):\n")
    L.append("| target | rate | sent | errors | p50 | p95 | p99 | max | client lag p95 | answered/s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        for s in r["steps"]:
            L.append(
                f"| {name.split(' ')[0]} {name.split(' ')[1][:40] if ' ' in name else ''} | {s['rate']:g} | "
                f"{s['sent']} | {s['errors']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | "
                f"{s['max']:.0f} | {s['client_lag_p95']:.1f} | {s['achieved']:.1f} |"
            )
    if ingest:
        L.append(
            f"\n## Ingestion (separate run): POST /api/v1/records/, batches of {args.batch} new records, API token\n"
        )
        L.append("| batches/s | records/s offered | records/s answered | errors | p50 | p95 | p99 | max (ms) |")
        L.append("|---|---|---|---|---|---|---|---|")
        for s in ingest:
            L.append(
                f"| {s['rate']:g} | {s['rate'] * args.batch:,.0f} | {s['records_per_s']:,.0f} | {s['errors']} | "
                f"{s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['max']:.0f} |"
            )
    L.append("\n## Where the time goes (one request through Django's test client in-process, same database)\n")
    L.append("| page | status | median ms (5 runs) | SQL queries | SQL ms |")
    L.append("|---|---|---|---|---|")
    for p in prof:
        L.append(f"| {p['name']} | {p['status']} | {p['ms']:.1f} | {p['queries']} | {p['sql_ms']:.1f} |")
    for p in prof:
        if p["name"] == "bare":
            continue
        L.append(f"\n<details><summary>{p['name']}: slowest queries and cProfile (cumulative)</summary>\n")
        L.append("```")
        for ms, sql in p["slow"]:
            L.append(f"{ms:.1f} ms  {sql}")
        L.append("")
        L.append("\n".join(line for line in p["profile"].splitlines() if line.strip())[:4000])
        L.append("```\n</details>")
    Path(args.out).write_text("\n".join(L) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
