"""Excel invoice report at 100,000 invoices (issue 5): time against raw XlsxWriter, peak memory, on PostgreSQL.

    .venv/bin/python bench/excel.py [--invoices 100000] [--accounts 3000] [--runs 5] [--reuse] [--keep]
        [--before REV]

Database: DATABASE_URL when set (a scratch PostgreSQL database: the bench refuses one holding admins it did not
create); otherwise it (re)creates its own database postgres://postgres@127.0.0.1:5432/bench_docs and drops it at
the end (`--keep` keeps it; `--reuse` keeps the rows of a previous run when they are there). The schema comes from
`manage.py migrate`.

Data, generated with a fixed seed and written by COPY: one admin (EUR, Europe/Berlin) with `--accounts` accounts
(35 % postpaid, Zipf-like volume; names in several scripts, a few starting with = + - @ as a spreadsheet would run
them) and `--invoices` invoices over the last three years: drafts mostly recent, 2 % void, approved ones paid,
partially paid or unpaid by age and billing method, postpaid ones with a billing period; about 1.15 payment per
invoice (some split in two, 3 % reversed with a reason, transaction ids and bank references, a few starting with
+ or -). Then VACUUM ANALYZE.

Measured, each in a fresh Python process (Django set up and a tiny workbook written first, outside the timing):

- `product`: the worker's path of a large report: a Job created as `invoice_report` creates it for the filter
  "all invoices" (every invoice of the admin, newest first, and every payment of them), then
  `invoicing.services.jobs.job_run(job_id=...)`: the claim, `invoice_report_run` (queries, rows, due status,
  `write_workbook` in XlsxWriter's constant-memory mode, progress updates every 1,000 rows, the bytes stored
  on the job) and the final update;
- `before` (with `--before REV`): the same job with invoicing/documents/xlsx.py and invoicing/services/reports.py
  as they were at git revision REV (their text at REV executed in place of the current modules);
- `raw`: XlsxWriter alone writing the same rows: the cell values are fetched and prepared before the timing (as
  tuples, by the bench's own queries), then one workbook in constant-memory mode into a temporary file with the
  same sheets, column widths, header, formats, typed write calls per cell and totals row, and its bytes read back.

Every run measures both, alternately, after a warm-up pair; the figures are medians of `--runs` runs and the ratio
is the median of the per-run ratios product / raw. The machine being shared, the CPU seconds of each path are
measured too (the child's own, plus its PostgreSQL backend's from /proc), and their ratio. Peak memory is the
child's own peak RSS right after the work (VmHWM: the whole process, interpreter, Django and the work; not
ru_maxrss, see _rss_mb). The warm-up pair checks that both workbooks hold the same parts byte for byte (every file
of the xlsx but docProps/core.xml, which carries the creation time), so the product writes exactly the rows of the
raw writer. Goal: product <= 1.3 x raw, peak RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import (  # noqa: E402
    INVOICE_COPY_COLUMNS,
    NOTES,
    PAY_MIX,
    PAYMENT_COPY_COLUMNS,
    PAYMENT_TYPES,
    ROOT,
    TERMS,
    CpuClock,
    accounts_fill,
    argument_parser,
    cents_text,
    cumulative,
    database_create,
    database_drop,
    django_setup,
    joined,
    load_average_change,
    local_database_url,
    machine_summary,
    median_and_runs,
    pick,
    postgres_show,
    ratios,
    rows_copy,
    scratch_database_check,
    vacuum_analyze,
)

DB_NAME = "bench_docs"
SLUG = "bench-docs-excel"
TZ_NAME = "Europe/Berlin"
CURRENCY = "EUR"
DAYS = 3 * 365
GOAL_RATIO = 1.3
GOAL_MB = 150

FIRST = (
    "Nimbus Orbit Acme Globex Initech Umbrella Stark Wayne Tyrell Cyberdyne Hooli Vandelay Soylent Wonka Aperture "
    "Oscorp Monarch Gringotts Zenith Polaris Vertex Quantum Sirius Müller Ελληνική Связь Łączność Çağrı Nørdisk"
).split()
SECOND = "Telecom Media Retail Logistics Health Finance Travel Foods Energy Labs Systems Networks Games".split()
SUFFIX = "Ltd GmbH Inc SA BV LLC Pty SRL".split()
FORMULA_LIKE = ("=SUM(A1:A9)", "+49 Mobile", "-Minus Ltd", "@Handle Media")


# --- set-up ----------------------------------------------------------------------------------------------------


def database_url(args) -> tuple[str, bool]:
    """(URL, whether the bench created the database and drops it at the end)."""
    url = os.environ.get("DATABASE_URL") or ""
    if url:
        if not url.startswith("postgres"):
            sys.exit("This benchmark needs PostgreSQL.")
        return url, False
    database_create(DB_NAME, reuse=args.reuse)
    return local_database_url(DB_NAME), not args.keep


def fixtures_create(n_accounts: int, seed: int):
    from msgplatform.accounts.models import Tenant

    scratch_database_check(SLUG)
    rng = random.Random(seed)
    tenant, _ = Tenant.objects.get_or_create(
        signup_slug=SLUG, defaults={"name": "Bench Docs Excel", "currency": CURRENCY, "timezone": TZ_NAME}
    )
    names = [f"{a} {b} {c}" for a in FIRST for b in SECOND for c in SUFFIX]
    return tenant, accounts_fill(tenant, n_accounts, names, rng, first=FORMULA_LIKE)


def rows_generate(tenant, accounts, n: int, seed: int, today: datetime.date):
    """Invoice and payment rows as COPY text lines, ids in date order."""
    rng = random.Random(seed)
    first_day = today - datetime.timedelta(days=DAYS - 1)
    days = sorted(int(DAYS * ((1 + 3 * rng.random()) ** 0.5 - 1)) for _ in range(n))
    cum = cumulative(1 / (rank + 1) ** 0.7 for rank in range(len(accounts)))
    seq = 0
    invoices, payments = [], []
    payment_id = 0
    now = datetime.datetime.now(datetime.UTC).isoformat()
    for invoice_id, day_index in enumerate(days, start=1):
        account = accounts[bisect.bisect_left(cum, rng.random() * cum[-1])]
        method = account.billing_method
        day = first_day + datetime.timedelta(days=day_index)
        age = (today - day).days
        subtotal = int(rng.lognormvariate(9.5, 1.2)) + 1  # cents, median ~130.00
        tax = (subtotal * 19 + 50) // 100 if account.apply_tax else 0
        total = subtotal + tax
        draft_p = 0.25 if age <= 14 else 0.02 if age <= 60 else 0.001
        status = "draft" if rng.random() < draft_p else "void" if rng.random() < 0.02 else "approved"
        pay_status, paid = "unpaid", 0
        if status == "approved":
            mix = next(m for limit, m in PAY_MIX[method] if limit is None or age <= limit)
            pay_status = pick(rng, mix)
            paid = total if pay_status == "paid" else total * rng.randint(2, 8) // 10
            if pay_status == "partially_paid" and not 0 < paid < total:
                pay_status, paid = "unpaid", 0
        number, seq_text = "\\N", "\\N"
        if status != "draft":
            seq += 1
            seq_text, number = str(seq), f"INV-{day.year}-{seq:06d}"
        source = "recurring" if rng.random() < (0.6 if method == "postpaid" else 0.1) else "manual"
        period, description = ("\\N", "\\N"), "Balance recharge"
        if method == "postpaid":
            start, end = day - datetime.timedelta(days=30), day - datetime.timedelta(days=1)
            period, description = (start.isoformat(), end.isoformat()), f"Messaging usage {start} to {end}"
        due = day + datetime.timedelta(days=30 if method == "postpaid" else 15)
        credited = subtotal if paid == total else (subtotal * paid * 2 + total) // (2 * total)
        stamp = f"{day.isoformat()} 10:00:00+00"
        invoices.append(
            "\t".join(
                (
                    *(str(invoice_id), str(tenant.id), str(account.id), number, seq_text),
                    *(method, source, status, pay_status, CURRENCY, day.isoformat(), due.isoformat(), *period),
                    *(description, cents_text(subtotal), cents_text(tax), cents_text(total), cents_text(paid)),
                    *(cents_text(total - paid), cents_text(subtotal), cents_text(credited)),
                    cents_text(subtotal if method == "postpaid" else 0),
                    *(NOTES, TERMS, "duplicate" if status == "void" else ""),
                    *(stamp if status != "draft" else "\\N", stamp if status == "void" else "\\N", stamp, now),
                )
            )
        )
        parts = []
        if paid:
            if paid >= 2 and rng.random() < 0.15:
                parts = [(paid // 2, None), (paid - paid // 2, None)]
            else:
                parts = [(paid, None)]
        if (status == "approved" and rng.random() < 0.03) or (status == "void" and rng.random() < 0.3):
            parts.append((max(1, total // 3), "reversed"))
        for amount, reversed_ in parts:
            payment_id += 1
            pay_day = min(today, day + datetime.timedelta(days=rng.randint(0, 40)))
            kind = rng.choice(PAYMENT_TYPES)
            txn = f"{'+' if payment_id % 997 == 0 else ''}TX{payment_id:08d}" if kind in ("online", "card") else ""
            ref = f"{'-' if payment_id % 991 == 0 else ''}REF {rng.randint(10**7, 10**8 - 1)}" if not txn else ""
            ok = reversed_ is None
            payments.append(
                "\t".join(
                    (
                        *(str(payment_id), str(tenant.id), str(invoice_id), str(account.id), cents_text(amount)),
                        *(pay_day.isoformat(), kind, txn, ref, "", cents_text(amount * subtotal // total)),
                        f"{pay_day.isoformat()} 12:00:00+00",
                        "\\N" if ok else f"{pay_day.isoformat()} 15:00:00+00",
                        "" if ok else "bounced",
                        "0.00" if ok else cents_text(-(amount * subtotal // total)),
                    )
                )
            )
    return invoices, payments, seq


def data_load(tenant, accounts, args, today) -> None:
    from django.db import connection

    from invoicing.models import InvoiceSequence

    started = time.perf_counter()
    invoices, payments, seq = rows_generate(tenant, accounts, args.invoices, args.seed, today)
    print(f"generated {len(invoices):,} invoices, {len(payments):,} payments in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE invoicing_job, invoicing_payment, invoicing_invoicetax, invoicing_invoiceline, "
            "invoicing_invoice, invoicing_invoicesequence CASCADE"
        )
        rows_copy(cursor, "invoicing_invoice", INVOICE_COPY_COLUMNS, invoices)
        rows_copy(cursor, "invoicing_payment", PAYMENT_COPY_COLUMNS, payments)
    InvoiceSequence.objects.create(tenant=tenant, last_value=seq)
    vacuum_analyze(("invoicing_invoice", "invoicing_payment", "accounts_account", "accounts_tenant"))
    print(f"COPY and VACUUM ANALYZE took {time.perf_counter() - started:.0f} s", flush=True)


# --- the two measured paths (each in a child process) ---------------------------------------------------------


def _tiny_workbook() -> None:
    """Import and exercise XlsxWriter once, outside the timing (both paths alike)."""
    import xlsxwriter

    with tempfile.TemporaryFile() as handle:
        workbook = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False})
        sheet = workbook.add_worksheet("x")
        sheet.write_string(0, 0, "x")
        sheet.write_number(1, 0, 1)
        workbook.close()


def _rss_mb() -> float:
    """Peak resident memory of this process since it started (VmHWM, MB). Not ru_maxrss: on Linux a child's
    ru_maxrss keeps the high-water mark of the parent it was forked from (here the generator's ~180 MB), across
    exec; VmHWM belongs to the memory of this program alone."""
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _elapsed(clock: CpuClock) -> dict:
    seconds = clock.stop()
    cpu, db_cpu = clock.last
    return {"seconds": seconds, "cpu": cpu, "db_cpu": db_cpu}


def raw_rows(tenant):
    """The cell values of both sheets, prepared as the report shows them, with the bench's own queries."""
    from decimal import ROUND_HALF_UP, Decimal

    from invoicing.models import Payment, PaymentType
    from invoicing.selectors.invoices import InvoiceFilters, invoice_queryset
    from msgplatform.core.clock import tenant_today

    today = tenant_today(tenant)
    cent = Decimal("0.01")
    invoices = invoice_queryset(tenant=tenant, filters=InvoiceFilters(tab="all"), ordering="-invoice_date")
    fields = (
        "pk number invoice_date account__name billing_method due_date period_start period_end status payment_status "
        "subtotal tax_total total amount_paid balance_due"
    ).split()
    rows = []
    for pk, number, date, name, method, due, start, end, status, pay, *amounts in invoices.values_list(*fields):
        owing = status == "approved" and amounts[4] > 0
        due_status = ("not_due" if due > today else "due_today" if due == today else "overdue") if owing else ""
        rows.append(
            (
                neutral(number or f"Draft #{pk}"),
                date,
                neutral(name),
                neutral(method),
                due,
                neutral(f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if start else ""),
                neutral(status),
                neutral("" if status == "draft" else pay),
                neutral(due_status),
                (today - due).days if due_status == "overdue" else None,
                *(a.quantize(cent, rounding=ROUND_HALF_UP) for a in amounts),
            )
        )
    labels = dict(PaymentType.choices)
    payments = []
    qs = Payment.objects.filter(tenant=tenant, invoice__in=invoices.values("pk")).order_by("payment_date", "id")
    for date, number, name, kind, txn, ref, amount, reversed_at, reason in qs.values_list(
        "payment_date",
        "invoice__number",
        "account__name",
        "payment_type",
        "transaction_id",
        "bank_reference",
        "amount",
        "reversed_at",
        "reversal_reason",
    ):
        payments.append(
            (
                date,
                neutral(number),
                neutral(name),
                neutral(labels.get(kind, kind)),
                neutral(txn),
                neutral(ref),
                amount.quantize(cent, rounding=ROUND_HALF_UP),
                "yes" if reversed_at else "",
                neutral(reason),
            )
        )
    return rows, payments


def neutral(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def raw_write(rows, payments) -> bytes:
    """XlsxWriter alone: the same workbook as the report, from prepared values, one typed call per cell."""
    from decimal import Decimal

    import xlsxwriter

    from invoicing.services import reports

    INV, PAY = reports.INVOICE_COLUMNS, reports.PAYMENT_COLUMNS

    with tempfile.TemporaryFile() as handle:
        workbook = xlsxwriter.Workbook(
            handle,
            {"constant_memory": True, "in_memory": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        money = workbook.add_format({"num_format": f'#,##0.00 "{CURRENCY}"'})
        bold_money = workbook.add_format({"num_format": f'#,##0.00 "{CURRENCY}"', "bold": True})
        date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        bold = workbook.add_format({"bold": True})
        for name, columns, data, money_cols in (
            ("Invoices", INV, rows, (10, 11, 12, 13, 14)),
            ("Payments", PAY, payments, (6,)),
        ):
            ws = workbook.add_worksheet(name)
            for col, column in enumerate(columns):
                ws.set_column(col, col, column.width)
                ws.write_string(0, col, column.title, bold)
            kinds = [column.kind for column in columns]
            write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
            sums = [Decimal(0)] * len(columns)
            r = 0
            for r, row in enumerate(data, start=1):
                for c, value in enumerate(row):
                    if value is None or value == "":
                        continue
                    kind = kinds[c]
                    if kind == "money":
                        sums[c] += value
                        write_number(r, c, value, money)
                    elif kind == "int":
                        write_number(r, c, value)
                    elif kind == "date":
                        write_datetime(r, c, value, date)
                    else:
                        write_string(r, c, value)
            ws.write_string(r + 1, 0, "Total", bold)
            for c in money_cols:
                ws.write_number(r + 1, c, sums[c], bold_money)
        workbook.close()
        handle.seek(0)
        return handle.read()


def parts_digest(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: hashlib.sha256(archive.read(name)).hexdigest()[:16]
            for name in sorted(archive.namelist())
            if name != "docProps/core.xml"
        }


def code_at(revision: str) -> None:
    """Replace, in this process, invoicing/documents/xlsx.py and invoicing/services/reports.py by their text at
    `revision` (read with `git show`): the report as it was, for a before/after comparison in the same runs."""
    import importlib

    for module_name, path in (
        ("invoicing.documents.xlsx", "invoicing/documents/xlsx.py"),
        ("invoicing.services.reports", "invoicing/services/reports.py"),
    ):
        source = subprocess.run(
            ["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        module = importlib.import_module(module_name)
        exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)  # noqa: S102


def child(path: str, job_id: int, check: bool, revision: str = "") -> None:
    """One measurement in this fresh process; prints a JSON line."""
    django_setup()
    from invoicing.models import Job
    from msgplatform.accounts.models import Tenant

    tenant = Tenant.objects.get(signup_slug=SLUG)
    _tiny_workbook()
    clock = CpuClock()
    clock.attach("postgresql")
    out = {"path": path}
    if path == "raw":
        rows, payments = raw_rows(tenant)
        out["rss_before_mb"] = _rss_mb()
        clock.start()
        content = raw_write(rows, payments)
        out.update(_elapsed(clock))
        out["peak_mb"] = _rss_mb()
        out["rows"] = [len(rows), len(payments)]
    else:
        from invoicing.services import reports  # noqa: F401 - imported outside the timing, as in a worker
        from invoicing.services.jobs import job_run

        if path == "before":
            code_at(revision)

        Job.objects.filter(pk=job_id).update(status=Job.Status.QUEUED, done=0, result=None, message="")
        out["rss_before_mb"] = _rss_mb()
        clock.start()
        job_run(job_id=job_id)
        out.update(_elapsed(clock))
        out["peak_mb"] = _rss_mb()  # before the bench reads the result back
        job = Job.objects.get(pk=job_id)
        assert job.status == Job.Status.DONE, f"job ended {job.status}: {job.message}"
        content = bytes(job.result)
        out["message"] = job.message
    out["bytes"] = len(content)
    if check:
        out["parts"] = parts_digest(content)
    print("RESULT " + json.dumps(out), flush=True)


def measure(path: str, job_id: int, check: bool = False, revision: str = "") -> dict:
    extra = [*(["--check"] if check else []), *(["--before", revision] if revision else [])]
    process = subprocess.run(
        [sys.executable, __file__, "--child", path, "--job", str(job_id), *extra],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    line = next((x for x in process.stdout.splitlines() if x.startswith("RESULT ")), None)
    if process.returncode or line is None:
        sys.exit(f"{path} failed ({process.returncode}):\n{process.stdout[-2000:]}\n{process.stderr[-4000:]}")
    return json.loads(line.removeprefix("RESULT "))


def machine() -> str:
    import xlsxwriter

    return machine_summary(f"XlsxWriter {xlsxwriter.__version__}", f"PostgreSQL {postgres_show('server_version')[0]}")


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the rows of a previous run when they match")
    parser.add_argument("--keep", action="store_true", help="do not drop the bench database at the end")
    parser.add_argument(
        "--before", default="", help="git revision: also measure the report as it was there (path `before`)"
    )
    parser.add_argument("--child", choices=("product", "raw", "before"), help=argparse.SUPPRESS)
    parser.add_argument("--job", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.job, args.check, args.before)
        return

    url, drop = database_url(args)
    os.environ["DATABASE_URL"] = url
    try:
        run(args)
    finally:
        if drop:
            database_drop(DB_NAME, force=True)
            print(f"dropped database {DB_NAME}")


def run(args) -> None:
    django_setup()
    from django.core.management import call_command

    from invoicing.models import Invoice, Job, Payment
    from invoicing.selectors.invoices import InvoiceFilters, invoice_queryset
    from invoicing.services.reports import _filters_to

    call_command("migrate", verbosity=0)
    tenant, accounts = fixtures_create(args.accounts, args.seed)
    today = datetime.datetime.now(zoneinfo.ZoneInfo(TZ_NAME)).date()
    if args.reuse and Invoice.objects.filter(tenant=tenant).count() == args.invoices:
        print(f"reusing the {args.invoices:,} invoices already loaded")
    else:
        data_load(tenant, accounts, args, today)
    print(f"machine: {machine()}", flush=True)

    filters = InvoiceFilters(tab="all")
    invoices = invoice_queryset(tenant=tenant, filters=filters, ordering="-invoice_date")
    n_payments = Payment.objects.filter(tenant=tenant, invoice__in=invoices.values("pk")).count()
    Job.objects.filter(tenant=tenant).delete()
    job = Job.objects.create(
        tenant=tenant,
        kind="invoice_report",
        params={"filters": _filters_to(filters), "ordering": "-invoice_date"},
        total=invoices.count(),
    )
    print(f"report: {job.total:,} invoices, {n_payments:,} payments (filter: all invoices, newest first)", flush=True)

    paths = ("raw", "product", "before") if args.before else ("raw", "product")
    warm = {path: measure(path, job.id, check=True, revision=args.before) for path in paths}
    same = warm["raw"]["parts"] == warm["product"]["parts"]
    verdict = "identical" if same else "DIFFERENT"
    print(
        f"warm-up: raw {warm['raw']['seconds']:.2f} s, product {warm['product']['seconds']:.2f} s; "
        f"workbooks {verdict} part for part ({len(warm['raw']['parts'])} parts)"
    )
    if not same:
        for name in sorted(set(warm["raw"]["parts"]) | set(warm["product"]["parts"])):
            if warm["raw"]["parts"].get(name) != warm["product"]["parts"].get(name):
                print(f"  differs: {name}")
    if args.before:
        same_before = warm["before"]["parts"] == warm["product"]["parts"]
        print(f"report at {args.before}: workbook {'identical' if same_before else 'DIFFERENT'} part for part")
    results: dict[str, list[dict]] = {path: [] for path in paths}
    load_before = os.getloadavg()
    for run_index in range(args.runs):
        order = paths if run_index % 2 == 0 else paths[::-1]
        for path in order:
            results[path].append(measure(path, job.id, revision=args.before))
        line = ", ".join(
            f"{path} {r['seconds']:.2f} s (CPU {r['cpu']:.2f} + {r['db_cpu']:.2f}, peak {r['peak_mb']:.0f} MB)"
            for path in paths
            for r in results[path][-1:]
        )
        print(f"run {run_index + 1}: {line}", flush=True)
    load_after = os.getloadavg()

    def med(path, key):
        return statistics.median(r[key] for r in results[path])

    def seconds(path):
        return [r["seconds"] for r in results[path]]

    def cpu_seconds(path):
        return [r["cpu"] + r["db_cpu"] for r in results[path]]

    by_run = ratios(seconds("product"), seconds("raw"))
    ratio = statistics.median(by_run)
    peak = max(r["peak_mb"] for r in results["product"])
    print(
        f"\n{job.total:,} invoices + {n_payments:,} payments, median of {args.runs} runs (fresh process each), "
        f"{load_average_change(load_before, load_after)}"
    )
    print(
        "| path | seconds (median) | runs (s) | CPU s: Python + PostgreSQL backend (median) | peak RSS MB (median) "
        "| RSS before the work MB | xlsx bytes |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for path in paths:
        print(
            f"| {path} | {median_and_runs(seconds(path), '.2f')} | "
            f"{med(path, 'cpu'):.2f} + {med(path, 'db_cpu'):.2f} | "
            f"{med(path, 'peak_mb'):.0f} | {med(path, 'rss_before_mb'):.0f} | {results[path][0]['bytes']:,} |"
        )
    cpu_ratios = ratios(cpu_seconds("product"), cpu_seconds("raw"))
    print(f"\nratio product / raw: {ratio:.2f} (per run: {joined(by_run, '.2f')}); "
          f"ratio of medians {med('product', 'seconds') / med('raw', 'seconds'):.2f}; "
          f"ratio of CPU seconds (Python + database) {statistics.median(cpu_ratios):.2f} "
          f"(per run: {joined(cpu_ratios, '.2f')})")  # fmt: skip
    if args.before:
        before = ratios(seconds("before"), seconds("raw"))
        before_cpu = ratios(cpu_seconds("before"), cpu_seconds("raw"))
        print(
            f"report at {args.before} / raw: {statistics.median(before):.2f} (per run: "
            f"{joined(before, '.2f')}); CPU {statistics.median(before_cpu):.2f}; "
            f"peak {max(r['peak_mb'] for r in results['before']):.0f} MB"
        )
    print(
        f"goal time <= {GOAL_RATIO} x raw: {'met' if ratio <= GOAL_RATIO else 'MISSED'}; "
        f"peak RSS < {GOAL_MB} MB (highest of the runs {peak:.0f} MB): {'met' if peak < GOAL_MB else 'MISSED'}; "
        f"output identical to raw: {'yes' if same else 'NO'}"
    )
    Job.objects.filter(pk=job.pk).delete()


if __name__ == "__main__":
    main()
