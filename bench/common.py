"""What the benchmarks share: their command line, Django and the bench databases on 127.0.0.1, gunicorn on a
loopback port, the clocks (wall and CPU time), the machine they ran on, the figures they print, and the traffic
and invoice mixes their generators draw from.

A script runs as `.venv/bin/python bench/<name>.py`: it puts the project root on sys.path, then imports this
module as `bench.common`. Nothing here imports Django at import time; the scripts set it up first.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import pstats
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The bench databases are made and dropped through the maintenance database of the local server.
MAINTENANCE_URL = f"postgresql://postgres@{HOST}:5432/postgres"


# --- command line and Django -------------------------------------------------------------------------------------


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A script's parser, described by the first paragraph of its docstring (the top of its --help)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0])


def django_setup(settings_module: str = "config.settings") -> None:
    """Set Django up with `settings_module`, unless DJANGO_SETTINGS_MODULE already names another."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()


# --- the bench databases -----------------------------------------------------------------------------------------


def local_database_url(name: str) -> str:
    return f"postgres://postgres@{HOST}:5432/{name}"


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(MAINTENANCE_URL, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_create(name: str, *, reuse: bool = False) -> None:
    """Create the database `name` afresh (dropping the one of that name), or keep it as it is when `reuse`."""
    if reuse and database_exists(name):
        return
    import psycopg

    with psycopg.connect(MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")


def database_drop(name: str, *, force: bool = False) -> None:
    """Drop the database `name` after closing Django's connections (`force`: other sessions' too)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}{' WITH (FORCE)' if force else ''}")


def scratch_database_check(*slugs: str) -> None:
    """Stop unless every admin in the database is one of the bench's own (`slugs`): the bench empties tables."""
    from msgplatform.accounts.models import Tenant

    others = Tenant.objects.exclude(signup_slug__in=slugs)
    if others.exists():
        sys.exit(f"Refusing to run: the database holds other admins ({others.count()}); give it a scratch database.")


def accounts_fill(tenant, count: int, names: Sequence[str], rng, *, first: Sequence[str] = ()) -> list:
    """The tenant's `count` accounts, by id. Unless it holds exactly that many, they are made anew: named from
    `names` shuffled (the `first` names first, then "Customer 00042" when they run out), 35 % postpaid, 70 % taxed."""
    from msgplatform.accounts.models import Account

    if Account.objects.filter(tenant=tenant).count() != count:
        Account.objects.filter(tenant=tenant).delete()
        names = list(names)
        rng.shuffle(names)
        names[: len(first)] = first
        Account.objects.bulk_create(
            Account(
                tenant=tenant,
                name=names[i] if i < len(names) else f"Customer {i:05d}",
                email=f"billing{i}@customer{i}.example",
                billing_method="postpaid" if rng.random() < 0.35 else "prepaid",
                apply_tax=rng.random() < 0.7,
            )
            for i in range(count)
        )
    return list(Account.objects.filter(tenant=tenant).order_by("id"))


def rows_copy(cursor, table: str, columns: Sequence[str], lines: Sequence[str]) -> None:
    """COPY tab-separated text `lines` (ids included) into `table` through a Django cursor, then move the id
    sequence past them. Columns that later migrations added (NOT NULL, no default) get a neutral value."""
    extra, values = _required_columns(cursor, table, columns)
    suffix = "".join(f"\t{v}" for v in values)
    with cursor.cursor.copy(f"COPY {table} ({', '.join([*columns, *extra])}) FROM STDIN") as copy:
        for start in range(0, len(lines), 50_000):
            copy.write("".join(f"{line}{suffix}\n" for line in lines[start : start + 50_000]))
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def _required_columns(cursor, table: str, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """NOT NULL columns without a database default that the generator does not know, with a neutral value each:
    an empty string, zero or false."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'",
        [table],
    )
    extra = [(name, kind) for name, kind in cursor.fetchall() if name not in columns]
    neutral = {"boolean": "f", "integer": "0", "bigint": "0", "smallint": "0", "numeric": "0"}
    return [name for name, _ in extra], [neutral.get(kind, "") for _, kind in extra]


def vacuum_analyze(tables: Iterable[str]) -> None:
    """What autovacuum would have done after a bulk load (visibility map, statistics)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- gunicorn on a loopback port ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def gunicorn_start(
    app: str,
    port: int,
    options: Sequence[str],
    *,
    env: dict,
    ready: Callable[[int], bool] = port_open,
    wait: float = 60,
    poll: float = 0.2,
    **popen,
) -> tuple[subprocess.Popen, str]:
    """Start the project's gunicorn serving `app` on 127.0.0.1:`port` and wait until `ready(port)`.

    Returns the process and "ready", or "exited" (it died) or "timeout" (not ready after `wait` seconds): the caller
    stops it the way it started it and says so.
    """
    command = [str(ROOT / ".venv/bin/gunicorn"), app, "--bind", f"{HOST}:{port}", *options]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, **popen)  # noqa: S603 - the project's own gunicorn
    deadline = time.monotonic() + wait
    while not ready(port):
        if proc.poll() is not None:
            return proc, "exited"
        if time.monotonic() > deadline:
            return proc, "timeout"
        time.sleep(poll)
    return proc, "ready"


# --- clocks -------------------------------------------------------------------------------------------------------


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    """(wall seconds, result) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def cpu_seconds_of(pid: int) -> float:
    """CPU seconds (user + system) a process of this machine has used so far, read from /proc; OSError if gone."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuClock:
    """Wall time of a measurement, and the CPU time this process and its PostgreSQL backend spent in it.

    On a shared machine the CPU time is the steadier figure: other sessions' load stretches the wall time, hardly the
    CPU seconds the work needs. The backend's CPU is read from /proc (the server runs on this machine); it is None
    when that is not possible (SQLite: the database work is in this process's CPU time already).
    """

    def __init__(self):
        self.backend_pid = None
        self.last: tuple[float, float | None] | None = None

    def attach(self, vendor: str) -> None:
        """Find the backend of Django's connection (which must stay open for the clock's lifetime)."""
        from django.db import connection

        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]
            if self._backend_cpu() is None:
                self.backend_pid = None

    def _backend_cpu(self) -> float | None:
        if self.backend_pid is None:
            return None
        try:
            return cpu_seconds_of(self.backend_pid)
        except OSError:
            return None

    def start(self) -> None:
        self._start = (time.perf_counter(), time.process_time(), self._backend_cpu())

    def stop(self) -> float:
        """The wall seconds since start(); `last` becomes (this process's CPU seconds, the backend's or None)."""
        wall, cpu, backend = time.perf_counter(), time.process_time(), self._backend_cpu()
        wall0, cpu0, backend0 = self._start
        self.last = (cpu - cpu0, None if backend is None or backend0 is None else backend - backend0)
        return wall - wall0


# --- the machine --------------------------------------------------------------------------------------------------


def cpu_model() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    return cpu


def machine_summary(*details: str) -> str:
    """Cores, CPU model and Python version ("2 cores (AMD EPYC), Python 3.11.7"), then `details`, comma-separated."""
    return ", ".join((f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}", *details))


def postgres_show(*names: str) -> list[str]:
    """The values of PostgreSQL settings (SHOW), on Django's connection."""
    from django.db import connection

    values = []
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SHOW {name}")
            values.append(cursor.fetchone()[0])
    return values


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: "1.52 1.20 0.98"."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def load_average_change(before: Sequence[float], after: Sequence[float]) -> str:
    """The 1 minute load average around the runs, from two os.getloadavg() readings."""
    return f"load average {before[0]:.1f} before, {after[0]:.1f} after"


# --- figures ------------------------------------------------------------------------------------------------------


def joined(values: Iterable[float], spec: str) -> str:
    """Each run's figure in `spec` format: "1.20, 1.31, 1.18"."""
    return ", ".join(format(v, spec) for v in values)


def median_and_runs(values: Sequence[float], spec: str) -> str:
    """Two table cells: the median, then every run ("1.20 | 1.20, 1.31, 1.18")."""
    return f"{format(statistics.median(values), spec)} | {joined(values, spec)}"


def ratios(values: Iterable[float], baselines: Iterable[float]) -> list[float]:
    """Each run's figure divided by the baseline's of the same run."""
    return [v / b for v, b in zip(values, baselines, strict=True)]


def median_ratio(values: Iterable[float], baselines: Iterable[float]) -> float:
    """The median of the per-run ratios: steadier than the ratio of medians when the machine's load drifts."""
    return statistics.median(ratios(values, baselines))


def profile_print(profiler, top: int) -> None:
    """The `top` functions of a cProfile run by own time, then by cumulative time, from the column headings on."""
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(order).print_stats(top)
        text = buffer.getvalue()
        print(text[text.index("   ncalls") :] if "   ncalls" in text else text)


# --- generated data -----------------------------------------------------------------------------------------------


def cumulative(weights: Iterable[float]) -> list[float]:
    """Running totals of `weights`, for random.choices(cum_weights=...) and bisect."""
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def pick(rng, table):
    """A value of `table` ((value, weight), ... with weights summing to 1), drawn with one rng.random()."""
    r = rng.random()
    for value, weight in table:
        r -= weight
        if r < 0:
            return value
    return table[-1][0]


def cents_text(cents: int) -> str:
    """Cents as a decimal amount for COPY: 12345 -> "123.45". Meant for amounts >= 0 (floor division: -5 gives
    "-1.95"; the reversal rows of excel.py and search.py have always been written that way)."""
    return f"{cents // 100}.{cents % 100:02d}"


# The messaging traffic: (country, calling code, mcc, ((mnc, network), ...), typical price of one SMS part).
ROUTES = (
    ("US", "1", "310", (("260", "T-Mobile US"), ("410", "AT&T"), ("480", "Verizon")), "0.0079"),
    ("CA", "1", "302", (("220", "Telus"), ("610", "Bell"), ("720", "Rogers")), "0.0085"),
    ("GB", "44", "234", (("10", "O2 UK"), ("15", "Vodafone UK"), ("30", "EE"), ("20", "Three UK")), "0.0352"),
    ("DE", "49", "262", (("01", "Telekom.de"), ("02", "Vodafone.de"), ("03", "O2 DE")), "0.0795"),
    ("FR", "33", "208", (("01", "Orange F"), ("10", "SFR"), ("20", "Bouygues Telecom")), "0.0705"),
    ("ES", "34", "214", (("01", "Vodafone ES"), ("03", "Orange ES"), ("07", "Movistar")), "0.0698"),
    ("IT", "39", "222", (("01", "TIM"), ("10", "Vodafone IT"), ("88", "WindTre")), "0.0781"),
    ("NL", "31", "204", (("04", "Vodafone NL"), ("08", "KPN"), ("16", "Odido")), "0.0912"),
    ("IN", "91", "404", (("10", "Airtel"), ("20", "Vi India"), ("45", "Jio")), "0.00235"),
    ("BR", "55", "724", (("05", "Claro BR"), ("06", "Vivo"), ("04", "TIM Brasil")), "0.0126"),
    ("MX", "52", "334", (("020", "Telcel"), ("030", "Movistar MX"), ("050", "AT&T MX")), "0.0189"),
    ("NG", "234", "621", (("20", "Airtel NG"), ("30", "MTN NG"), ("50", "Glo")), "0.0311"),
    ("ZA", "27", "655", (("01", "Vodacom"), ("10", "MTN ZA"), ("07", "Cell C")), "0.0197"),
    ("ID", "62", "510", (("10", "Telkomsel"), ("11", "XL Axiata"), ("21", "Indosat")), "0.0283"),
    ("PH", "63", "515", (("02", "Globe"), ("03", "Smart")), "0.0154"),
    ("AE", "971", "424", (("02", "Etisalat"), ("03", "du")), "0.0297"),
)
PARTS = ((1, 70), (2, 20), (3, 7), (4, 3))  # (parts of a message, weight)
ENCODINGS = (("gsm7", 80), ("ucs2", 19), ("utf8", 1))
STATUSES = (("DELIVRD", 86), ("UNDELIV", 6), ("EXPIRED", 3), ("REJECTD", 2), ("UNKNOWN", 2), ("ENROUTE", 1))
HOURS = (1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 10, 10, 10, 10, 9, 9, 8, 7, 6, 4, 3, 2)  # local hour weights
SENDERS = ("INFO", "VERIFY", "ACME", "Bank", "Shop", "Alerts", "OTP", "Delivery", "Promo", "Notify")
HEAVY_SHARES = (0.20, 0.15, 0.10)  # of all records, sent by the three heaviest users

# Invoices and payments.
PAYMENT_TYPES = ("bank_transfer", "bank_transfer", "bank_transfer", "online", "card", "direct_debit", "cheque")
NOTES = "Thank you for your business."
TERMS = "Payment due within the stated due date."
# Payment status of an approved invoice by billing method and age in days: ((up to age, ((status, share), ...)), ...).
PAY_MIX = {
    "prepaid": ((7, (("paid", 0.60), ("partially_paid", 0.05), ("unpaid", 0.35))),
                (45, (("paid", 0.90), ("partially_paid", 0.03), ("unpaid", 0.07))),
                (None, (("paid", 0.98), ("partially_paid", 0.005), ("unpaid", 0.015)))),
    "postpaid": ((30, (("paid", 0.35), ("partially_paid", 0.10), ("unpaid", 0.55))),
                 (90, (("paid", 0.75), ("partially_paid", 0.08), ("unpaid", 0.17))),
                 (None, (("paid", 0.85), ("partially_paid", 0.04), ("unpaid", 0.11)))),
}  # fmt: skip
# The columns of the invoice and payment COPY lines of excel.py and search.py, in their order.
INVOICE_COPY_COLUMNS = (
    "id tenant_id account_id number sequence_number billing_method source status payment_status currency "
    "invoice_date due_date period_start period_end description subtotal tax_total total amount_paid balance_due "
    "credit_base credited usage_raw customer_notes terms void_reason approved_at voided_at created_at updated_at"
).split()
PAYMENT_COPY_COLUMNS = (
    "id tenant_id invoice_id account_id amount payment_date payment_type transaction_id bank_reference notes "
    "credit_delta created_at reversed_at reversal_reason reversal_credit_delta"
).split()
