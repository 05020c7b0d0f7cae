"""Invoicing read-side benchmark: dashboard figures, invoice search pages and the credit-note list at a million
invoices with 100,000 credit notes, on PostgreSQL.

    .venv/bin/python bench/search.py [--invoices 1000000] [--credit-notes 100000] [--accounts 2000] [--runs 7]
        [--reuse] [--explain]

Database: DATABASE_URL when set (a scratch database: the bench empties the invoicing tables and refuses a database
holding admins it did not create); otherwise it (re)creates its own database
postgres://postgres@127.0.0.1:5432/bench_search. `--reuse` keeps the rows of a previous run when they are there
(same --invoices, --accounts and --seed), so only the measurements run. The schema comes from `manage.py migrate`.

Data, generated with a fixed seed and written by COPY: one admin (EUR, Europe/Berlin) with `--accounts` accounts
(35% postpaid, Zipf-like volume) and `--invoices` invoices over the last three years (volume growing over
time): drafts mostly in the last two weeks, 2% void, approved ones paid, partially paid or unpaid depending on
their age and billing method (postpaid ones pay later and worse), recurring ones among them, 19% tax for most
accounts; about 1.15 payments per invoice (some split in two, 3% reversed). `--credit-notes` of the approved
invoices get a credit note each (a fifth in full, the others 5-50 % of the subtotal, issued up to 60 days after the
invoice), with the invoices, payments and customer credit moved as credit_note_issue moves them (credit_notes_add).
Three other admins hold 10,000 invoices each, interleaved with the first one's ids. Then VACUUM ANALYZE (what
autovacuum would have done).

Measured through the selectors, in rounds (every case once per round, so machine noise hits all cases alike),
after one warm-up round; the figure is the median of `--runs` rounds, in ms, and its ratio to a bare
`SELECT count(*) FROM invoicing_invoice` timed in the same rounds. Goal: every case under 50 ms. The dashboard is
checked against the generator's own tallies (credited invoices, credit notes and their amount too) and the search
pages against their expected sizes. A credit-note list page is what a page with Django's Paginator runs: the count,
then the first 50 rows with their invoice and user. `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every SQL
statement each case runs.
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
    load_average,
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
    credited: int = 0  # approved invoices settled entirely by their credit note (payment status "credited")
    credit_notes: int = 0
    credited_cents: int = 0  # the credit notes' totals
    customer_credit_cents: int = 0  # what they moved from paid invoices to the users' customer credit


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
    creditable = []  # the first admin's approved invoices: (invoice id, its payments' slice of `payments`)
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
                    "0.00",  # credited_subtotal and credited_total: credit_notes_add() sets them on credited invoices
                    "0.00",
                )
            )
        )
        first_payment = len(payments)
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
                        "0.00",  # moved_to_credit
                    )
                )
            )
            if t_index == 0 and invoices_ok:
                tally.payments += 1
        if t_index == 0 and status == "approved":
            creditable.append((invoice_id, first_payment, len(payments)))
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
    return invoices, payments, tally, seqs, creditable


def data_load(tenants, args, today):
    """Empty the invoicing tables and COPY the generated rows in; VACUUM ANALYZE. Returns the tally."""
    from django.db import connection

    from invoicing.models import CreditNoteSequence, InvoiceSequence

    started = time.perf_counter()
    invoices, payments, tally, seqs, creditable = rows_generate(tenants, args.invoices, args.seed, today)
    credit_notes, credit_lines, entries, credits = credit_notes_add(
        invoices, payments, creditable, tally, args.credit_notes, args.seed, today
    )
    print(
        f"generated {len(invoices):,} invoices, {len(payments):,} payments and {len(credit_notes):,} credit notes "
        f"({tally.credited:,} invoices credited in full; {len(entries):,} moved "
        f"{cents_text(tally.customer_credit_cents)} of paid money to customer credit) "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE invoicing_creditentry, invoicing_customercredit, invoicing_creditnotetax, "
            "invoicing_creditnoteline, invoicing_creditnote, invoicing_creditnotesequence, invoicing_refund, "
            "invoicing_receipt, invoicing_payment, invoicing_invoicetax, invoicing_invoiceline, invoicing_invoice, "
            "invoicing_invoicesequence CASCADE"
        )
        rows_copy(cursor, "invoicing_invoice", INVOICE_COLUMNS, invoices)
        rows_copy(cursor, "invoicing_payment", PAYMENT_COLUMNS, payments)
        rows_copy(cursor, "invoicing_creditnote", CREDIT_NOTE_COLUMNS, credit_notes)
        rows_copy(cursor, "invoicing_creditnoteline", CREDIT_NOTE_LINE_COLUMNS, credit_lines)
        rows_copy(cursor, "invoicing_customercredit", CUSTOMER_CREDIT_COLUMNS, credits)
        rows_copy(cursor, "invoicing_creditentry", CREDIT_ENTRY_COLUMNS, entries)
    InvoiceSequence.objects.bulk_create(
        InvoiceSequence(tenant_id=t.id, last_value=s) for (t, _), s in zip(tenants, seqs, strict=True)
    )
    CreditNoteSequence.objects.create(tenant_id=tenants[0][0].id, last_value=len(credit_notes))
    print(f"COPY took {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    vacuum_analyze(
        (
            "invoicing_invoice",
            "invoicing_payment",
            "invoicing_creditnote",
            "invoicing_creditnoteline",
            "invoicing_customercredit",
            "invoicing_creditentry",
            "accounts_account",
            "accounts_tenant",
        )
    )
    print(f"VACUUM ANALYZE took {time.perf_counter() - started:.0f} s", flush=True)
    return tally


# --- credit notes ----------------------------------------------------------------------------------------------

# The invoice and payment columns of common.py, with what credit notes change on them (SPEC §4).
INVOICE_COLUMNS = (*INVOICE_COPY_COLUMNS, "credited_subtotal", "credited_total")
PAYMENT_COLUMNS = (*PAYMENT_COPY_COLUMNS, "moved_to_credit")
CREDIT_NOTE_COLUMNS = (
    "id tenant_id invoice_id account_id number sequence_number currency issue_date reason subtotal tax_total total "
    "to_customer_credit balance_delta usage_credited created_at"
).split()
CREDIT_NOTE_LINE_COLUMNS = "id credit_note_id position description amount".split()
CREDIT_ENTRY_COLUMNS = (
    "id tenant_id account_id amount kind balance_before balance_after description credit_note_id created_at"
).split()
CUSTOMER_CREDIT_COLUMNS = "id tenant_id account_id currency balance updated_at".split()
CREDIT_REASONS = (
    "Wrong route price",
    "Duplicate charge",
    "Goodwill: delivery delays",
    "Promotional discount",
    "Disputed messages",
)
FULL_CREDIT_SHARE = 0.2  # of the credited invoices, credited in full (the rest by 5 to 50 % of the subtotal)
_INVOICE = {name: i for i, name in enumerate(INVOICE_COLUMNS)}
_PAYMENT = {name: i for i, name in enumerate(PAYMENT_COLUMNS)}


def cents_of(text: str) -> int:
    """A COPY amount ("123.45", at least 0) back to cents."""
    units, _, cents = text.partition(".")
    return int(units) * 100 + int(cents or 0)


def signed_cents_text(cents: int) -> str:
    return f"-{cents_text(-cents)}" if cents < 0 else cents_text(cents)


def half_up(numerator: int, denominator: int) -> int:
    """round_half_up(numerator / denominator) of non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def credit_notes_add(invoices, payments, creditable, tally: Tally, count: int, seed: int, today: datetime.date):
    """Issue `count` credit notes (one adjustment each) on as many of the first admin's approved invoices, and move
    the invoices, their payments and the users' customer credit the way credit_note_issue does (SPEC §4).

    Each invoice gets credited_subtotal/credited_total; its applied amount becomes min(paid, effective total), the
    rest moving to customer credit (taken off its newest payments first: moved_to_credit); balance due, payment
    status and credited-so-far (the cumulative rule on the effective figures, credit base = subtotal in this data)
    follow. The taxes are the invoice's 19 % on the note's subtotal, half-up (a full credit takes the invoice's tax).
    The bench writes no invoice tax or line rows, so the notes have neither tax rows nor line links. Numbers are
    CN-{YYYY}-{seq:05} in issue order. Its own random stream: the invoices and payments stay those of the seed.
    Returns the COPY lines of credit notes, their lines, customer-credit entries and customer credits.
    """
    rng = random.Random(seed + 1)
    notes = []
    for invoice_id, first_payment, end_payment in sorted(rng.sample(creditable, min(count, len(creditable)))):
        row = invoices[invoice_id - 1].split("\t")
        subtotal, tax, total, paid, credited_before = (
            cents_of(row[_INVOICE[name]]) for name in ("subtotal", "tax_total", "total", "amount_paid", "credited")
        )
        day = datetime.date.fromisoformat(row[_INVOICE["invoice_date"]])
        if subtotal < 2 or rng.random() < FULL_CREDIT_SHARE:
            note_subtotal, note_tax = subtotal, tax
        else:
            note_subtotal = max(1, subtotal * rng.randint(5, 50) // 100)
            note_tax = min(half_up(note_subtotal * 19, 100), tax)
        note_total = note_subtotal + note_tax
        effective = total - note_total
        applied = min(paid, effective)
        excess = paid - applied
        base = subtotal - note_subtotal
        credited = 0 if effective <= 0 else base if applied >= effective else half_up(base * applied, effective)
        if effective <= 0:
            status = "credited"
        else:
            status = "paid" if applied >= effective else "partially_paid" if applied else "unpaid"
        old_status = row[_INVOICE["payment_status"]]
        setattr(tally, old_status, getattr(tally, old_status) - 1)
        setattr(tally, status, getattr(tally, status) + 1)
        tally.outstanding_cents += (effective - applied) - (total - paid)
        tally.credit_notes += 1
        tally.credited_cents += note_total
        tally.customer_credit_cents += excess
        for name, value in (
            ("payment_status", status),
            ("amount_paid", cents_text(applied)),
            ("balance_due", cents_text(effective - applied)),
            ("credited", cents_text(credited)),
            ("credited_subtotal", cents_text(note_subtotal)),
            ("credited_total", cents_text(note_total)),
        ):
            row[_INVOICE[name]] = value
        invoices[invoice_id - 1] = "\t".join(row)
        left = excess
        for index in range(end_payment - 1, first_payment - 1, -1):  # newest payment first
            payment = payments[index].split("\t")
            if left and payment[_PAYMENT["reversed_at"]] == "\\N":
                take = min(left, cents_of(payment[_PAYMENT["amount"]]))
                payment[_PAYMENT["moved_to_credit"]] = cents_text(take)
                payments[index] = "\t".join(payment)
                left -= take
        assert left == 0, f"invoice {invoice_id}: paid amount not covered by its payments"
        issue = day + datetime.timedelta(days=rng.randint(0, min((today - day).days, 60)))
        usage = note_subtotal if row[_INVOICE["billing_method"]] == "postpaid" else 0
        notes.append((issue, invoice_id, row, note_subtotal, note_tax, excess, credited - credited_before, usage))

    credit_notes, lines, entries, balances, owners = [], [], [], {}, {}
    for seq, (issue, invoice_id, row, note_subtotal, note_tax, excess, delta, usage) in enumerate(sorted(notes), 1):
        tenant_id, account_id, currency = (
            row[_INVOICE["tenant_id"]],
            row[_INVOICE["account_id"]],
            row[_INVOICE["currency"]],
        )
        number = f"CN-{issue.year}-{seq:05d}"
        stamp = f"{issue.isoformat()} 11:00:00+00"
        credit_notes.append(
            "\t".join(
                (
                    str(seq),
                    tenant_id,
                    str(invoice_id),
                    account_id,
                    number,
                    str(seq),
                    currency,
                    issue.isoformat(),
                    CREDIT_REASONS[seq % len(CREDIT_REASONS)],
                    cents_text(note_subtotal),
                    cents_text(note_tax),
                    cents_text(note_subtotal + note_tax),
                    cents_text(excess),
                    signed_cents_text(delta),
                    cents_text(usage),
                    stamp,
                )
            )
        )
        lines.append(f"{seq}\t{seq}\t1\tAdjustment\t{cents_text(note_subtotal)}")
        if excess:
            owners[account_id] = (tenant_id, currency)
            before = balances.get(account_id, 0)
            balances[account_id] = before + excess
            entries.append(
                "\t".join(
                    (
                        str(len(entries) + 1),
                        tenant_id,
                        account_id,
                        cents_text(excess),
                        "credit_note",
                        cents_text(before),
                        cents_text(before + excess),
                        f"Credit note {number}: paid above invoice {row[_INVOICE['number']]}'s new total",
                        str(seq),
                        stamp,
                    )
                )
            )
    now = datetime.datetime.now(datetime.UTC).isoformat()
    customer_credits = [
        f"{i}\t{tenant_id}\t{account_id}\t{currency}\t{cents_text(balances[account_id])}\t{now}"
        for i, (account_id, (tenant_id, currency)) in enumerate(sorted(owners.items()), start=1)
    ]
    return credit_notes, lines, entries, customer_credits


# --- measurements ----------------------------------------------------------------------------------------------


def count_star() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoicing_invoice")
        return cursor.fetchone()[0]


def cases_build(tenant, tally: Tally | None, strict: bool):
    """(name, function, check of its result, counts toward the goal); `strict`: pages must be full."""
    from django.core.paginator import Paginator
    from django.db.models import Count

    from invoicing.models import CreditNote, Invoice, InvoiceSequence
    from invoicing.selectors.credits import CreditNoteFilters, credit_notes_list
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
        got = (fig.credited, fig.credit_notes, fig.credited_amount)
        want = (tally.credited, tally.credit_notes, Decimal(tally.credited_cents) / 100)
        assert got == want, f"credited invoices, credit notes and their amount {got} != generated {want}"

    def one_match(result):
        assert len(result.items) == 1 and result.count == 1, "the number search should find one invoice"

    unpaid_postpaid = InvoiceFilters(tab="postpaid", payment_status="unpaid")
    broad = InvoiceFilters(q="logistics")
    middle = InvoiceSequence.objects.get(tenant=tenant).last_value // 2
    number = Invoice.objects.get(tenant=tenant, sequence_number=middle).number
    narrow = InvoiceFilters(q=number.lower())

    # The credit-note list as a page shows it: Paginator's count, then the first 50 rows with invoice and user.
    def credit_page(filters):
        def run():
            page = Paginator(credit_notes_list(tenant=tenant, filters=filters), 50).get_page(1)
            rows = [(note.number, note.invoice.number, note.account.name, note.total) for note in page.object_list]
            return page.paginator.count, rows

        return run

    def credit_full_page(result):
        count, rows = result
        if strict:
            assert len(rows) == 50 and count > 50, f"credit-note page of {len(rows)} rows (count {count})"

    def credit_one_match(result):
        assert result[0] == 1 and len(result[1]) == 1, f"the number search found {result[0]} credit notes"

    notes = CreditNote.objects.filter(tenant=tenant)
    busiest = notes.values("account").annotate(n=Count("id")).order_by("-n", "account").first() or {"account": 0}
    middle_note = notes.filter(sequence_number=notes.count() // 2 or 1).select_related("invoice").first()
    note_number = middle_note.number.lower() if middle_note else ""
    credited_invoice = middle_note.invoice.number.lower() if middle_note else ""
    credit_cases = [
        ("credit notes, page 1", credit_page(CreditNoteFilters()), credit_full_page, True),
        (
            "credit notes of the user with most, page 1",
            credit_page(CreditNoteFilters(account_id=busiest["account"])),
            credit_full_page,
            True,
        ),
        ('credit notes, text "logistics" (user name), page 1', credit_page(CreditNoteFilters(text="logistics")),
         credit_full_page, True),
        (f'credit notes, text "{note_number}" (one number), page 1', credit_page(CreditNoteFilters(text=note_number)),
         credit_one_match, True),
        (f'credit notes, text "{credited_invoice}" (its invoice), page 1',
         credit_page(CreditNoteFilters(text=credited_invoice)), credit_one_match, True),
    ]  # fmt: skip
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
        ("search credited, page 1", search(InvoiceFilters(payment_status="credited"), 1), full_page, True),
        (
            "search postpaid+credited, page 1",
            search(InvoiceFilters(tab="postpaid", payment_status="credited"), 1),
            full_page,
            True,
        ),
        *(credit_cases if middle_note else []),
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
    parser.add_argument("--credit-notes", type=int, default=100_000, help="on as many of the admin's invoices")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep the rows of a previous run when they match")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of every statement")
    args = parser.parse_args()

    database_setup(args)
    django_setup()
    from django.core.management import call_command

    from invoicing.models import CreditNote, Invoice

    call_command("migrate", verbosity=0)
    tenants = fixtures_create(args.accounts, args.seed)
    tenant = tenants[0][0]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(TZ_NAME)).date()
    expected = args.invoices + OTHER_INVOICES * len(OTHERS)
    tally = None
    if (
        args.reuse
        and Invoice.objects.filter(tenant=tenant).count() == args.invoices
        and count_star() == expected
        and CreditNote.objects.filter(tenant=tenant).count() == args.credit_notes
    ):
        print(
            f"reusing the {expected:,} invoices and {args.credit_notes:,} credit notes already loaded "
            "(dashboard not checked against a tally)"
        )
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
    print(f"\n{args.invoices:,} invoices of one admin (+{OTHER_INVOICES * len(OTHERS):,} of others) with "
          f"{args.credit_notes:,} credit notes, median of {args.runs} runs, goal < {GOAL_MS:.0f} ms, "
          f"load average {load_average()}")  # fmt: skip
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
