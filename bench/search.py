"""Invoicing read-side benchmark: dashboard figures and invoice search pages at a million invoices, on PostgreSQL.

    .venv/bin/python bench/search.py [--invoices 1000000] [--accounts 2000] [--runs 7] [--reuse] [--explain]

Database: DATABASE_URL when set (a scratch database: the bench empties the invoicing tables and refuses a database
holding admins it did not create); otherwise it (re)creates its own database
postgres://postgres@127.0.0.1:5432/bench_search. `--reuse` keeps the rows of a previous run when they are there
(same --invoices, --accounts and --seed), so only the measurements run. The schema comes from `manage.py migrate`.

Data, generated with a fixed seed and written by COPY: one admin (EUR, Europe/Berlin) with `--accounts` accounts
(35% postpaid, Zipf-like volume) and `--invoices` invoices over the last three years (volume growing over
time): drafts mostly in the last two weeks, 2% void, approved ones paid, partially paid or unpaid depending on
their age and billing method (postpaid ones pay later and worse), recurring ones among them, 19% tax for most
accounts; about 1.15 payments per invoice (some split in two, 3% reversed). Three other admins hold 10,000
invoices each, interleaved with the first one's ids. Then VACUUM ANALYZE (what autovacuum would have done).

Measured through the selectors, in rounds (every case once per round, so machine noise hits all cases alike),
after one warm-up round; the figure is the median of `--runs` rounds, in ms, and its ratio to a bare
`SELECT count(*) FROM invoicing_invoice` timed in the same rounds. Goal: every case under 50 ms. The dashboard is
checked against the generator's own tallies and the search pages against their expected sizes. `--explain`
prints EXPLAIN (ANALYZE, BUFFERS) of every SQL statement each case runs.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime
import io
import os
import random
import statistics
import sys
import time
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import (  # noqa: E402
    INVOICE_COPY_COLUMNS,
    NOTES,
    PAY_MIX,
    PAYMENT_COPY_COLUMNS,
    PAYMENT_TYPES,
    TERMS,
    accounts_fill,
    argument_parser,
    cents_text,
    cumulative,
    database_create,
    django_setup,
    local_database_url,
    machine_summary,
    median_and_runs,
    pick,
    postgres_show,
    rows_copy,
    scratch_database_check,
    timed,
    vacuum_analyze,
)

DB_NAME = "bench_search"
SLUG = "bench-search"
OTHERS = (("bench-search-usd", "USD", "America/New_York"), ("bench-search-gbp", "GBP", "Europe/London"))
OTHERS += (("bench-search-jpy", "JPY", "Asia/Tokyo"),)
OTHER_INVOICES = 10_000
OTHER_ACCOUNTS = 50
TZ_NAME = "Europe/Berlin"
DAYS = 3 * 365
GOAL_MS = 50.0

FIRST = (
    "Nimbus Orbit Acme Globex Initech Umbrella Stark Wayne Tyrell Cyberdyne Hooli Vandelay Soylent Wonka Aperture "
    "Oscorp Monarch Massive Dynamic Gringotts Zenith Polaris Vertex Quantum Sirius"
).split()
SECOND = "Telecom Media Retail Logistics Health Finance Travel Foods Energy Labs Systems Networks Games Motors".split()
SUFFIX = "Ltd GmbH Inc SA BV LLC Pty SRL".split()


# --- set-up ----------------------------------------------------------------------------------------------------


def database_setup(args) -> None:
    url = os.environ.get("DATABASE_URL") or ""
    if url and not url.startswith("postgres"):
        sys.exit("This benchmark needs PostgreSQL.")
    if not url:
        database_create(DB_NAME, reuse=args.reuse)
        os.environ["DATABASE_URL"] = local_database_url(DB_NAME)


@dataclass
class Tally:
    """What the generator wrote for the measured admin, to check the dashboard against."""

    invoices: int = 0
    approved: int = 0
    drafts: int = 0
    void: int = 0
    paid: int = 0
    unpaid: int = 0
    partially_paid: int = 0
    outstanding_cents: int = 0
    recurring: int = 0
    payments: int = 0
    unpaid_postpaid: int = 0
    by_status: dict = field(default_factory=dict)


def fixtures_create(n_accounts: int, seed: int):
    from msgplatform.accounts.models import Tenant

    slugs = {SLUG, *(s for s, _, _ in OTHERS)}
    scratch_database_check(*slugs)
    rng = random.Random(seed)
    names = [f"{a} {b} {c}" for a in FIRST for b in SECOND for c in SUFFIX]
    tenants = []
    for slug, currency, tz, count in ((SLUG, "EUR", TZ_NAME, n_accounts), *((*o, OTHER_ACCOUNTS) for o in OTHERS)):
        tenant, _ = Tenant.objects.get_or_create(
            signup_slug=slug, defaults={"name": slug.replace("-", " ").title(), "currency": currency, "timezone": tz}
        )
        tenants.append((tenant, accounts_fill(tenant, count, names, rng)))
    return tenants


def rows_generate(tenants, n: int, seed: int, today: datetime.date):
    """Invoice and payment rows (COPY text lines), ids in date order across admins, and the first admin's tally."""
    rng = random.Random(seed)
    first_day = today - datetime.timedelta(days=DAYS - 1)
    plan = []  # (day index, tenant index)
    for t_index, count in enumerate([n] + [OTHER_INVOICES] * (len(tenants) - 1)):
        # volume grows over the three years: density proportional to 1 + day / DAYS
        plan += [(int(DAYS * ((1 + 3 * rng.random()) ** 0.5 - 1)), t_index) for _ in range(count)]
    plan.sort()
    weights = [[1 / (rank + 1) ** 0.7 for rank in range(len(accounts))] for _, accounts in tenants]
    cum = [cumulative(w) for w in weights]
    seqs = [0] * len(tenants)
    tally = Tally()
    invoices, payments = [], []
    payment_id = 0
    now = datetime.datetime.now(datetime.UTC).isoformat()
    for invoice_id, (day_index, t_index) in enumerate(plan, start=1):
        tenant, accounts = tenants[t_index]
        account = accounts[bisect.bisect_left(cum[t_index], rng.random() * cum[t_index][-1])]
        method = account.billing_method
        day = first_day + datetime.timedelta(days=day_index)
        age = (today - day).days
        unit = 100 if tenant.currency == "JPY" else 1  # whole yen
        subtotal = int(rng.lognormvariate(9.5, 1.2)) // unit * unit + unit  # cents, median ~130.00
        tax = ((subtotal * 19 + 50) // 100) // unit * unit if account.apply_tax else 0
        total = subtotal + tax
        draft_p = 0.25 if age <= 14 else 0.02 if age <= 60 else 0.001
        if rng.random() < draft_p:
            status = "draft"
        elif rng.random() < 0.02:
            status = "void"
        else:
            status = "approved"
        pay_status, paid = "unpaid", 0
        if status == "approved":
            mix = next(m for limit, m in PAY_MIX[method] if limit is None or age <= limit)
            pay_status = pick(rng, mix)
            paid = total if pay_status == "paid" else (total * rng.randint(2, 8) // 10) // unit * unit
            if pay_status == "partially_paid" and not 0 < paid < total:
                pay_status, paid = "unpaid", 0
        number, seq = "\\N", "\\N"
        if status != "draft":
            seqs[t_index] += 1
            seq = str(seqs[t_index])
            number = f"INV-{day.year}-{seqs[t_index]:05d}"
        source = "recurring" if rng.random() < (0.6 if method == "postpaid" else 0.1) else "manual"
        period = ("\\N", "\\N")
        description = "Balance recharge"
        if method == "postpaid":
            start, end = day - datetime.timedelta(days=30), day - datetime.timedelta(days=1)
            period = (start.isoformat(), end.isoformat())
            description = f"Messaging usage {start} to {end}"
        due = day + datetime.timedelta(days=30 if method == "postpaid" else 15)
        credited = subtotal if paid == total else (subtotal * paid * 2 + total) // (2 * total)
        stamp = f"{day.isoformat()} 10:00:00+00"
        invoices.append(
            "\t".join(
                (
                    str(invoice_id),
                    str(tenant.id),
                    str(account.id),
                    number,
                    seq,
                    method,
                    source,
                    status,
                    pay_status,
                    tenant.currency,
                    day.isoformat(),
                    due.isoformat(),
                    *period,
                    description,
                    cents_text(subtotal),
                    cents_text(tax),
                    cents_text(total),
                    cents_text(paid),
                    cents_text(total - paid),
                    cents_text(subtotal),
                    cents_text(credited),
                    cents_text(subtotal if method == "postpaid" else 0),
                    NOTES,
                    TERMS,
                    "duplicate" if status == "void" else "",
                    stamp if status != "draft" else "\\N",
                    stamp if status == "void" else "\\N",
                    stamp,
                    now,
                )
            )
        )
        # payments: the amount paid in one or two parts, and now and then one that was reversed
        parts = []
        if paid:
            if paid >= 2 * unit and rng.random() < 0.15:
                first = paid // 2 // unit * unit
                parts = [(first, None), (paid - first, None)]
            else:
                parts = [(paid, None)]
        if (status == "approved" and rng.random() < 0.03) or (status == "void" and rng.random() < 0.3):
            parts.append((max(unit, total // 3 // unit * unit), "reversed"))
        for amount, reversed_ in parts:
            payment_id += 1
            pay_day = day + datetime.timedelta(days=rng.randint(0, min(age, 40)))
            invoices_ok = reversed_ is None
            payments.append(
                "\t".join(
                    (
                        str(payment_id),
                        str(tenant.id),
                        str(invoice_id),
                        str(account.id),
                        cents_text(amount),
                        pay_day.isoformat(),
                        rng.choice(PAYMENT_TYPES),
                        "",
                        "",
                        "",
                        cents_text(amount * subtotal // total),
                        f"{pay_day.isoformat()} 12:00:00+00",
                        "\\N" if invoices_ok else f"{pay_day.isoformat()} 15:00:00+00",
                        "" if invoices_ok else "bounced",
                        "0.00" if invoices_ok else cents_text(-(amount * subtotal // total)),
                    )
                )
            )
            if t_index == 0 and invoices_ok:
                tally.payments += 1
        if t_index == 0:
            tally.invoices += 1
            tally.by_status[status] = tally.by_status.get(status, 0) + 1
            if status == "approved":
                setattr(tally, pay_status, getattr(tally, pay_status) + 1)
                tally.outstanding_cents += total - paid
                tally.unpaid_postpaid += pay_status == "unpaid" and method == "postpaid"
            if source == "recurring" and status != "void":
                tally.recurring += 1
    tally.approved = tally.by_status.get("approved", 0)
    tally.drafts = tally.by_status.get("draft", 0)
    tally.void = tally.by_status.get("void", 0)
    return invoices, payments, tally, seqs


def data_load(tenants, args, today):
    """Empty the invoicing tables and COPY the generated rows in; VACUUM ANALYZE. Returns the tally."""
    from django.db import connection

    from invoicing.models import InvoiceSequence

    started = time.perf_counter()
    invoices, payments, tally, seqs = rows_generate(tenants, args.invoices, args.seed, today)
    print(
        f"generated {len(invoices):,} invoices and {len(payments):,} payments in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE invoicing_payment, invoicing_invoicetax, invoicing_invoiceline, invoicing_invoice, "
            "invoicing_invoicesequence CASCADE"
        )
        rows_copy(cursor, "invoicing_invoice", INVOICE_COPY_COLUMNS, invoices)
        rows_copy(cursor, "invoicing_payment", PAYMENT_COPY_COLUMNS, payments)
    InvoiceSequence.objects.bulk_create(
        InvoiceSequence(tenant_id=t.id, last_value=s) for (t, _), s in zip(tenants, seqs, strict=True)
    )
    print(f"COPY took {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    vacuum_analyze(("invoicing_invoice", "invoicing_payment", "accounts_account", "accounts_tenant"))
    print(f"VACUUM ANALYZE took {time.perf_counter() - started:.0f} s", flush=True)
    return tally


# --- measurements ----------------------------------------------------------------------------------------------


def count_star() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoicing_invoice")
        return cursor.fetchone()[0]


def cases_build(tenant, tally: Tally | None, strict: bool):
    """(name, function, check of its result, counts toward the goal); `strict`: pages must be full."""
    from invoicing.models import Invoice, InvoiceSequence
    from invoicing.selectors.dashboard import dashboard_figures
    from invoicing.selectors.invoices import InvoiceFilters, invoice_search

    def search(filters, page, ordering="-invoice_date"):
        return lambda: invoice_search(tenant=tenant, filters=filters, ordering=ordering, page=page)

    def full_page(result):
        if strict:
            assert len(result.items) == 50 and result.has_next, f"page {result.page} is not full"

    def dashboard_check(fig):
        if tally is None:
            return
        got = (fig.invoices, fig.approved, fig.drafts, fig.void, fig.paid, fig.unpaid, fig.partially_paid)
        want = (tally.invoices, tally.approved, tally.drafts, tally.void, tally.paid, tally.unpaid)
        assert got == (*want, tally.partially_paid), f"dashboard counts {got} != generated {want}"
        assert fig.outstanding_amount == Decimal(tally.outstanding_cents) / 100, "outstanding amount differs"
        assert (fig.recurring, fig.payments) == (tally.recurring, tally.payments), "recurring or payments differ"

    def one_match(result):
        assert len(result.items) == 1 and result.count == 1, "the number search should find one invoice"

    unpaid_postpaid = InvoiceFilters(tab="postpaid", payment_status="unpaid")
    broad = InvoiceFilters(q="logistics")
    middle = InvoiceSequence.objects.get(tenant=tenant).last_value // 2
    number = Invoice.objects.get(tenant=tenant, sequence_number=middle).number
    narrow = InvoiceFilters(q=number.lower())
    return [
        ("dashboard figures", lambda: dashboard_figures(tenant=tenant), dashboard_check, True),
        ("search postpaid+unpaid, page 1", search(unpaid_postpaid, 1), full_page, True),
        ("search postpaid+unpaid, page 500", search(unpaid_postpaid, 500), full_page, True),
        ('free text "logistics" (user name), page 1', search(broad, 1), full_page, True),
        ('free text "logistics" (user name), page 500', search(broad, 500), full_page, True),
        (f'free text "{narrow.q}" (one number), page 1', search(narrow, 1), one_match, True),
        ("all tab, page 1", search(InvoiceFilters(), 1), full_page, False),
        ("all tab, page 500", search(InvoiceFilters(), 500), full_page, False),
        ("all tab, unpaid, page 500", search(InvoiceFilters(payment_status="unpaid"), 500), full_page, False),
        ("overdue, page 1", search(InvoiceFilters(due_status="overdue"), 1), full_page, False),
        ("drafts tab, page 1", search(InvoiceFilters(tab="drafts"), 1), full_page, False),
        ("all tab by -due_date, page 1", search(InvoiceFilters(), 1, "-due_date"), full_page, False),
        ("all tab by -total, page 500", search(InvoiceFilters(), 500, "-total"), full_page, False),
        ("all tab by balance_due, page 1", search(InvoiceFilters(), 1, "balance_due"), full_page, False),
        ("all tab by -number, page 1", search(InvoiceFilters(), 1, "-number"), full_page, False),
        ("all tab by user name, page 1", search(InvoiceFilters(), 1, "account"), full_page, False),
    ]


def explain(name, fn) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    print(f"\n### {name}: {len(ctx.captured_queries)} queries")
    for query in ctx.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\n{query['sql'][:600]}\n{plan}")


def machine() -> str:
    names = ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "random_page_cost")
    version, *values = postgres_show("server_version", *names)
    settings = "".join(f", {name} {value}" for name, value in zip(names, values, strict=True))
    return machine_summary(f"PostgreSQL {version}{settings} (same machine)")


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep the rows of a previous run when they match")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of every statement")
    args = parser.parse_args()

    database_setup(args)
    django_setup()
    from django.core.management import call_command

    from invoicing.models import Invoice

    call_command("migrate", verbosity=0)
    tenants = fixtures_create(args.accounts, args.seed)
    tenant = tenants[0][0]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(TZ_NAME)).date()
    expected = args.invoices + OTHER_INVOICES * len(OTHERS)
    tally = None
    if args.reuse and Invoice.objects.filter(tenant=tenant).count() == args.invoices and count_star() == expected:
        print(f"reusing the {expected:,} invoices already loaded (dashboard not checked against a tally)")
    else:
        tally = data_load(tenants, args, today)
    # Rows loaded by COPY bypass the services: rebuild the dashboard counters they keep (as after any bulk import).
    from invoicing.services.stats import stats_rebuild

    started = time.perf_counter()
    for row in tenants:
        stats_rebuild(tenant=row[0])
    print(f"dashboard counters rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
    print(f"machine: {machine()}", flush=True)

    cases = cases_build(tenant, tally, strict=args.invoices >= 1_000_000)
    names = ["bare count(*) (baseline)"] + [c[0] for c in cases]
    fns = [count_star] + [c[1] for c in cases]
    times: dict[str, list[float]] = {name: [] for name in names}
    for _name, fn, check, _goal in cases:  # warm-up round, with the checks
        check(fn())
    count_star()
    for _ in range(args.runs):
        for name, fn in zip(names, fns, strict=True):
            seconds, _ = timed(fn)
            times[name].append(seconds * 1000)

    base = statistics.median(times[names[0]])
    goals = {c[0]: c[3] for c in cases}
    print(f"\n{args.invoices:,} invoices of one admin (+{OTHER_INVOICES * len(OTHERS):,} of others), "
          f"median of {args.runs} runs, goal < {GOAL_MS:.0f} ms")  # fmt: skip
    print("| case | ms (median) | runs (ms) | x count(*) | goal |")
    print("|---|---:|---|---:|---|")
    missed = []
    for name in names:
        med = statistics.median(times[name])
        if name in goals and goals[name]:
            verdict = "met" if med < GOAL_MS else "MISSED"
            if med >= GOAL_MS:
                missed.append(name)
        else:
            verdict = "(info)"
        print(f"| {name} | {median_and_runs(times[name], '.1f')} | {med / base:.2f} | {verdict} |")
    print(f"\ngoal: {'met by every case' if not missed else 'missed by ' + '; '.join(missed)}")

    if args.explain:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            for name, fn, _check, _goal in cases:
                explain(name, fn)
        print(out.getvalue())


if __name__ == "__main__":
    main()
