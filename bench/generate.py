"""Fill a PostgreSQL database with one admin's realistic data, by COPY: users, messaging records, usage rollups,
invoices over three years with their lines, taxes and payments, and the balance ledger of the usage.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/generate.py \
        [--users 10000] [--invoices 1000000] [--records 10000000] [--seed 1] [--today YYYY-MM-DD]

The database is migrated first (`manage.py migrate`); the generator adds one new admin ("Generated admin N") next
to whatever the database already holds, ids continuing after the existing ones. Everything is written in one
transaction: a failure leaves the database as it was.

What it writes (the admin is in Europe/Berlin, bills in EUR, with one 19 % tax and a licence for both modes):

- users: 35 % postpaid (overdraft limit, monthly schedule), 65 % prepaid, one in ten without tax, joined over the
  three years before the records;
- records: from the first day of the previous month to yesterday (local days). Skewed as on a real platform: three
  users send 20 %, 15 % and 10 % of all records (millions at the default size), one user in a hundred shares a
  quarter, the others share the rest log-normally (at the default size: median 130, 90th percentile 800). Each user
  sends over its own routes (country, network, channel, price with 4 to 6 decimals, Zipf-weighted): the heavy ones
  over 30 to 50, medium ones over 6 to 20, the others over 1 to 4; 1 to 4 parts, 86 % delivered, 0.3 % rolled
  back, quieter weekends and nights.
  Records are generated day by day, so their ids follow time; each carries the id of its usage bucket;
- rollups: one `INSERT ... SELECT ... GROUP BY` over the records, so every bucket is exactly the sum of its records;
  all open (the schedules are covered up to the end of the month before the records: the next billing run drafts
  the previous month for every postpaid user);
- invoices: exactly --invoices, over the three years up to today. Postpaid users get one recurring invoice per
  month since they joined (usage lines by route, at most a third of all invoices: about 65,000 at the default
  size), up to that cursor; prepaid users get recharge invoices for the rest, more of them the more they send, more
  each year. Drafts are recent ones (and 30 % of the last month's recurring ones), 2 % are void, approved ones are
  paid, partially paid or unpaid depending on their age and billing method; numbers are consecutive in date order;
  about one payment per invoice (some split in two, a few reversed);
- the ledger: one usage debit per user and local day (as ingestion writes one per batch), an opening credit for
  prepaid users, balances equal to the ledger sums;
- the dashboard's summary counters, rebuilt from the invoices and payments (`invoicing.services.stats`).

Secondary indexes of the big tables are dropped before loading and created again afterwards (the definitions are
read from the catalogue, so the schema ends as migrated); ANALYZE at the end. Timings are printed per step, and a
last line `counts: {...}` (JSON) with the rows written per table.
"""

from __future__ import annotations

import bisect
import calendar
import datetime
import json
import math
import os
import random
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import (  # noqa: E402
    ENCODINGS,
    HEAVY_SHARES,
    HOURS,
    NOTES,
    PARTS,
    PAYMENT_TYPES,
    ROUTES,
    SENDERS,
    STATUSES,
    TERMS,
    argument_parser,
    cumulative,
    django_setup,
)

TZ_NAME = "Europe/Berlin"
CURRENCY = "EUR"
VAT_RATE = 19
YEARS = 3
POSTPAID_SHARE = 0.35
RECURRING_SHARE = 0.35  # of all invoices at most; prepaid recharges make up the rest
MEDIUM_SHARE = 0.25  # of all records, shared by one user in a hundred
ROLLBACK_PER_1024 = 3  # 0.3 %
DUE_DAYS = 15

CHANNELS = (("sms", 1.0, "SMS"), ("whatsapp", 0.62, "WhatsApp"), ("rcs", 0.9, "RCS"), ("viber", 0.48, "Viber"))
RECHARGES = (2000, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000)  # cents
# Payment status of an approved invoice by billing method and age in days: (up to age, (paid, partially paid)).
PAY_MIX = {
    "prepaid": ((7, (0.60, 0.05)), (45, (0.90, 0.03)), (None, (0.98, 0.005))),
    "postpaid": ((30, (0.35, 0.10)), (90, (0.75, 0.08)), (None, (0.85, 0.04))),
}

# Record columns in the order of each COPY line: per user, per route and number of parts, then per record.
RECORD_COPY_ORDER = (
    "tenant_id account_id billing_method batch_id country mcc mnc network channel unit_price parts charge "
    "message_id submitted_at ingested_at updated_at day destination sender_id encoding status rolled_back rollup_id"
).split()
ACCOUNT_COLUMNS = (
    "id tenant_id name email account_type billing_method billing_name billing_address billing_email tax_id "
    "apply_tax overdraft_limit balance signed_up is_active created_at updated_at"
).split()
SCHEDULE_COLUMNS = (
    "id tenant_id account_id interval every_n_days due_in_days start_date end_date status covered_through "
    "resumed_on last_run_at last_error created_at updated_at"
).split()
INVOICE_COLUMNS = (
    "id tenant_id account_id number sequence_number billing_method source status payment_status currency "
    "invoice_date due_date period_start period_end description subtotal tax_total total amount_paid balance_due "
    "credit_base credited usage_raw customer_notes terms schedule_id anomaly_reason approved_at voided_at "
    "void_reason created_at updated_at"
).split()
LINE_COLUMNS = (
    "invoice_id position kind description quantity unit_price amount country network channel messages parts "
    "raw_charge usage_day"
).split()
TAX_COLUMNS = "invoice_id tax_rate_id name rate amount".split()
PAYMENT_COLUMNS = (
    "tenant_id invoice_id account_id amount payment_date payment_type transaction_id bank_reference notes "
    "credit_delta created_at reversed_at reversal_reason reversal_credit_delta"
).split()
LOADED_TABLES = (
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


def lookup_table(values, weights, size: int, cumulated: bool = False) -> list:
    """`size` entries, each value taking a share of them as near its weight's as rounding allows."""
    cum = list(weights) if cumulated else cumulative(weights)
    table: list = []
    for value, upto in zip(values, cum, strict=True):
        table += [value] * (round(upto / cum[-1] * size) - len(table))
    return table


def money_text(cents: int) -> str:
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def micros_text(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def half_up_div(numerator: int, denominator: int) -> int:
    """Round numerator / denominator half up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def add_months(day: datetime.date, months: int) -> datetime.date:
    years, index = divmod(day.month - 1 + months, 12)
    return datetime.date(day.year + years, index + 1, 1)


def month_end(first: datetime.date) -> datetime.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


class Timer:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str, detail: str = "") -> None:
        now = time.perf_counter()
        self.steps.append((name, now - self.last))
        print(f"  {name:<34} {now - self.last:8.1f} s  {detail}", flush=True)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start


# --- the plan: users, their volumes and routes ------------------------------------------------------------------


class Plan:
    """Everything decided before writing: dates, users, their volume, routes and schedules."""

    def __init__(self, args, rng: random.Random):
        self.today = args.today
        self.window_start = add_months(self.today.replace(day=1), -1)
        self.window_end = self.today - datetime.timedelta(days=1)  # last day with records
        self.days = [
            self.window_start + datetime.timedelta(days=i)
            for i in range((self.window_end - self.window_start).days + 1)
        ]
        self.cursor = self.window_start - datetime.timedelta(days=1)  # schedules covered through this day
        self.first_day = self.today - datetime.timedelta(days=round(365.25 * YEARS))  # invoices from here on
        n = args.users
        self.n_users = n
        methods = ["postpaid" if rng.random() < POSTPAID_SHARE else "prepaid" for _ in range(n)]
        if n >= 2:  # both kinds exist, whatever the draw
            methods[0], methods[1] = "postpaid", "prepaid"
        self.methods = methods
        self.apply_tax = [rng.random() >= 0.1 for _ in range(n)]
        span = (self.window_start - self.first_day).days
        # A third joined before the three years; the others spread over them, fewer at first.
        self.joined = [
            self.first_day - datetime.timedelta(days=rng.randint(1, 700))
            if rng.random() < 0.33
            else self.first_day + datetime.timedelta(days=int(span * math.sqrt(rng.random())))
            for _ in range(n)
        ]
        self.volumes = self._volumes(n, args.records, rng)
        self.routes = [self._routes(v, args.records, rng) for v in self.volumes]
        self.senders = [rng.sample(SENDERS, rng.randint(1, 3)) for _ in range(n)]

    @staticmethod
    def _volumes(n: int, total: int, rng: random.Random) -> list[int]:
        """Records per user, summing to `total`: 3 heavy, one in a hundred medium, the rest log-normal."""
        heavy = [int(total * s) for s in HEAVY_SHARES][: max(0, n - 1)]
        n_medium = min(max(1, n // 100), n - len(heavy) - 1) if n > len(heavy) + 1 else 0
        n_light = n - len(heavy) - n_medium
        medium_total = int(total * MEDIUM_SHARE) if n_medium else 0
        light_total = total - sum(heavy) - medium_total

        def spread(count: int, amount: int, sigma: float) -> list[int]:
            if count == 0:
                return []
            weights = [rng.lognormvariate(0, sigma) for _ in range(count)]
            scale = amount / sum(weights)
            shares = [int(w * scale) for w in weights]
            while sum(shares) > amount:  # float rounding, in theory
                shares[shares.index(max(shares))] -= 1
            for i in rng.sample(range(count), amount - sum(shares)):
                shares[i] += 1  # the remainder (less than one per user), one each
            return shares

        volumes = heavy + spread(n_medium, medium_total, 0.5) + spread(n_light, light_total, 1.3)
        assert sum(volumes) == total and len(volumes) == n
        rng.shuffle(volumes)  # heavy users anywhere among the ids
        return volumes

    @staticmethod
    def _routes(volume: int, total: int, rng: random.Random):
        """A user's routes with cumulative Zipf weights: [(country, code, mcc, mnc, network, channel, micros)]."""
        if total and volume >= total * 0.05:
            countries, n_routes, n_channels = rng.sample(ROUTES, 12), rng.randint(30, 50), 4
        elif total and volume >= total * 0.002:
            countries, n_routes, n_channels = rng.sample(ROUTES, rng.randint(3, 6)), rng.randint(6, 20), 2
        else:
            countries, n_routes, n_channels = rng.sample(ROUTES, rng.choice((1, 1, 2))), rng.randint(1, 4), 1
        candidates = [
            (country, code, mcc, mnc, network, channel, float(base) * factor)
            for country, code, mcc, networks, base in countries
            for mnc, network in networks
            for channel, factor, _ in CHANNELS[:n_channels]
        ]
        rng.shuffle(candidates)
        candidates.sort(key=lambda c: c[5] != "sms")  # mostly SMS
        routes = []
        for country, code, mcc, mnc, network, channel, base in candidates[:n_routes]:
            places = rng.choice((4, 4, 5, 6))
            micros = max(1, round(base * rng.uniform(0.7, 1.4), places) * 1_000_000)
            routes.append((country, code, mcc, mnc, network, channel, int(round(micros))))
        weights = cumulative(1 / (rank + 1) ** 1.1 for rank in range(len(routes)))
        return routes, weights


# --- records ------------------------------------------------------------------------------------------------------


def records_copy(cursor, plan: Plan, tenant_id: int, account_ids: list[int], rng: random.Random, first_rollup: int):
    """Generate the records day by day and COPY them, each with the id of its bucket. Returns (rows, buckets)."""
    from psycopg.copy import QueuedLibpqWriter

    tz = zoneinfo.ZoneInfo(TZ_NAME)
    utc = datetime.UTC
    n_days = len(plan.days)
    day_w = [0.6 if d.weekday() >= 5 else 1.0 for d in plan.days]
    day_cum = cumulative(day_w)
    per_user_days = []
    for volume in plan.volumes:
        counts = [0] * n_days
        if volume > 20_000:  # multinomial by its normal approximation: cheap for millions
            for d in range(n_days):
                mean = volume * day_w[d] / day_cum[-1]
                counts[d] = max(0, round(rng.gauss(mean, math.sqrt(mean))))
            excess = sum(counts) - volume
            while excess:
                d = rng.randrange(n_days)
                step = min(excess, counts[d]) if excess > 0 else excess
                counts[d] -= step
                excess -= step
        elif volume:
            for d in rng.choices(range(n_days), cum_weights=day_cum, k=volume):
                counts[d] += 1
        per_user_days.append(counts)

    # Every random choice of a record is a field of one 64-bit draw, looked up in a table of 2^k entries.
    hour_table = lookup_table(range(24), HOURS, 256)
    parts_table = lookup_table(*zip(*PARTS, strict=True), 128)
    status_table = lookup_table(*zip(*STATUSES, strict=True), 128)
    encoding_table = lookup_table(*zip(*ENCODINGS, strict=True), 128)
    minsec = [f"{i * 3600 // 4096 // 60:02d}:{i * 3600 // 4096 % 60:02d}+00" for i in range(4096)]
    bits = rng.getrandbits
    tables: dict[int, list[int]] = {}
    static = []  # per user: (constant columns, [(dest prefix, [route columns by parts])], route table, senders)
    for u, (routes, weights) in enumerate(plan.routes):
        entries = []
        for country, code, mcc, mnc, network, channel, micros in routes:
            route = f"{country}\t{mcc}\t{mnc}\t{network}\t{channel}\t{micros_text(micros)}\t"
            by_parts = [f"{route}{p}\t{micros_text(micros * p)}\t" for p in range(5)]
            entries.append((f"+{code}", by_parts))
        route_table = tables.get(len(routes))  # the weights depend on the number of routes only
        if route_table is None:
            route_table = tables[len(routes)] = lookup_table(range(len(routes)), weights, 1024, cumulated=True)
        prefix = f"{tenant_id}\t{account_ids[u]}\t{plan.methods[u]}\t\\N\t"
        static.append((prefix, entries, route_table, plan.senders[u]))

    next_rollup = first_rollup
    seq = 0
    stamp = f"g{tenant_id}-"
    copy_sql = f"COPY messaging_messagerecord ({', '.join(RECORD_COPY_ORDER)}) FROM STDIN"
    lines: list[str] = []
    append = lines.append
    with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
        for d, day in enumerate(plan.days):
            # UTC "YYYY-MM-DD HH:" of each local hour of the day (whole-hour offsets, daylight saving included).
            hour_prefix = [
                datetime.datetime(day.year, day.month, day.day, h, tzinfo=tz).astimezone(utc).strftime("%Y-%m-%d %H:")
                for h in range(24)
            ]
            hour_of = [hour_prefix[h] for h in hour_table]
            day_tab = f"\t{day.isoformat()}\t"
            for u, (prefix, entries, route_table, senders) in enumerate(static):
                n = per_user_days[u][d]
                if not n:
                    continue
                buckets: dict[int, int] = {}
                n_senders = len(senders)
                for j in range(n):
                    r = bits(64)
                    o = route_table[r & 1023]
                    dest, by_parts = entries[o]
                    status = status_table[(r >> 17) & 127]
                    at = hour_of[(r >> 24) & 255] + minsec[(r >> 32) & 4095]
                    if (r >> 44) & 1023 < ROLLBACK_PER_1024:
                        rollup, rolled_back = "\\N", "t"
                    else:
                        key = 2 * o + (status == "DELIVRD")
                        rollup = buckets.get(key)
                        if rollup is None:
                            rollup = buckets[key] = next_rollup
                            next_rollup += 1
                        rolled_back = "f"
                    seq += 1
                    v = bits(46)
                    append(
                        f"{prefix}{by_parts[parts_table[(r >> 10) & 127]]}{stamp}{seq:010x}{v >> 30:04x}\t{at}\t{at}\t"
                        f"{at}{day_tab}{dest}{(v & 0x3FFFFFFF) % 1_000_000_000:09d}\t{senders[j % n_senders]}\t"
                        f"{encoding_table[(r >> 54) & 127]}\t{status}\t{rolled_back}\t{rollup}\n"
                    )
                if len(lines) >= 20_000:
                    copy.write("".join(lines))
                    lines.clear()
        if lines:
            copy.write("".join(lines))
    return seq, next_rollup - first_rollup


def rollups_build(cursor, tenant_id: int) -> int:
    """The buckets, by one INSERT ... SELECT ... GROUP BY over the records (ids as assigned at generation)."""
    cursor.execute(
        """
        INSERT INTO messaging_usagerollup (id, tenant_id, account_id, day, country, network, channel,
            unit_price_micros, delivered, billing_method, kind, messages, parts, charge_micros, billed_by)
        SELECT rollup_id, tenant_id, account_id, day, country, network, channel, (unit_price * 1000000)::bigint,
            status = 'DELIVRD', billing_method, 'usage', count(*), sum(parts), sum((charge * 1000000)::bigint), NULL
        FROM messaging_messagerecord
        WHERE tenant_id = %s AND rollup_id IS NOT NULL
        GROUP BY rollup_id, tenant_id, account_id, day, country, network, channel, unit_price,
            status = 'DELIVRD', billing_method
        """,
        [tenant_id],
    )
    return cursor.rowcount


def ledger_build(cursor, tenant_id: int) -> int:
    """One usage debit per user and local day (from the buckets: the records not rolled back), an opening credit
    for prepaid users; balances = ledger sums."""
    cursor.execute(
        """
        INSERT INTO accounts_balancetransaction (tenant_id, account_id, amount, kind, reference, actor_id,
            balance_before, balance_after, created_at)
        SELECT tenant_id, account_id, amount, kind, reference, NULL,
            sum(amount) OVER w - amount, sum(amount) OVER w, at
        FROM (
            SELECT b.tenant_id, b.account_id, -sum(b.charge_micros) / 1000000.0 AS amount, 'usage' AS kind,
                'usage of ' || b.day AS reference, (b.day + time '23:30') AT TIME ZONE %s AS at
            FROM messaging_usagerollup b
            WHERE b.tenant_id = %s
            GROUP BY b.tenant_id, b.account_id, b.day
            UNION ALL
            SELECT a.tenant_id, a.id, ceil(coalesce(u.used, 0) / 100.0) * 100 + 50 + a.id %% 7 * 100, 'adjustment',
                'opening balance', a.created_at
            FROM accounts_account a
            LEFT JOIN (
                SELECT account_id, sum(charge_micros) / 1000000.0 AS used FROM messaging_usagerollup
                WHERE tenant_id = %s GROUP BY account_id
            ) u ON u.account_id = a.id
            WHERE a.tenant_id = %s AND a.billing_method = 'prepaid'
        ) rows
        WINDOW w AS (PARTITION BY account_id ORDER BY at, kind ROWS UNBOUNDED PRECEDING)
        ORDER BY at, account_id
        """,
        [TZ_NAME, tenant_id, tenant_id, tenant_id],
    )
    written = cursor.rowcount
    cursor.execute(
        """
        UPDATE accounts_account a SET balance = s.balance
        FROM (SELECT account_id, sum(amount) AS balance FROM accounts_balancetransaction
              WHERE tenant_id = %s GROUP BY account_id) s
        WHERE a.id = s.account_id
        """,
        [tenant_id],
    )
    return written


# --- invoices -----------------------------------------------------------------------------------------------------


def invoices_plan(plan: Plan, n_invoices: int, rng: random.Random):
    """(date ordinal, user index, period start or None for a recharge) of every invoice, in date order; and the
    start date of each postpaid user's schedule."""
    postpaid = [u for u in range(plan.n_users) if plan.methods[u] == "postpaid"]
    prepaid = [u for u in range(plan.n_users) if plan.methods[u] == "prepaid"]
    last_period = add_months(plan.window_start, -1)  # the month the cursor ends
    first_month = add_months(plan.first_day.replace(day=1), 1)

    def months_of(u: int, cap: int) -> int:
        start = max(first_month, add_months(plan.joined[u].replace(day=1), 1))
        available = (last_period.year - start.year) * 12 + last_period.month - start.month + 1
        return max(0, min(cap, available))

    budget = int(n_invoices * RECURRING_SHARE) if prepaid else n_invoices
    cap = YEARS * 12
    while cap > 0 and sum(months_of(u, cap) for u in postpaid) > budget:
        cap -= 1
    starts = {}
    planned = []
    for u in postpaid:
        months = months_of(u, cap)
        # A schedule starts on the 1st of its first billed month (or, with nothing billed yet, at the cursor).
        starts[u] = add_months(last_period, 1 - months) if months else plan.window_start
        for k in range(months):
            period = add_months(last_period, -k)
            planned.append((add_months(period, 1).toordinal(), u, period))
    remaining = n_invoices - len(planned)
    if remaining and not prepaid:
        sys.exit("Not enough postpaid months for the invoices asked for, and no prepaid user to fill in.")
    if remaining:
        # Recharges: more for users who send more; more each year (density growing with time).
        weights = cumulative(1 + math.sqrt(plan.volumes[u]) for u in prepaid)
        spans = [(plan.today - max(plan.first_day, plan.joined[u])).days for u in prepaid]
        today = plan.today.toordinal()
        random_, sqrt, where, total = rng.random, math.sqrt, bisect.bisect_left, weights[-1]
        for _ in range(remaining):
            i = where(weights, random_() * total)
            planned.append((today - int(spans[i] * (1 - sqrt(random_()))), prepaid[i], None))
    n = plan.n_users
    planned.sort(key=lambda p: p[0] * n + p[1])  # date, then user: one int compares fastest
    return planned, starts


def invoices_copy(
    cursor,
    plan: Plan,
    planned,
    tenant_id: int,
    account_ids: list[int],
    schedule_ids: dict[int, int],
    tax_rate_id: int,
    first_invoice_id: int,
    rng: random.Random,
) -> dict:
    """COPY the invoices (streamed while they are generated), then their lines, taxes and payments (spooled to
    temporary files meanwhile). Returns the counts and the last invoice number used."""
    from psycopg.copy import QueuedLibpqWriter

    today = plan.today
    now = datetime.datetime.now(datetime.UTC).isoformat()
    monthly_parts = [max(30.0, v / max(1, len(plan.days)) * 30 * 1.4) for v in plan.volumes]
    label = {name: text for name, _, text in CHANNELS}
    recharge_menu = [4 + min(5, int(math.log10(1 + v))) for v in plan.volumes]  # bigger senders, bigger recharges
    day_cache: dict[int, tuple] = {}
    today_ordinal = today.toordinal()
    spool = {name: tempfile.TemporaryFile("w+", encoding="utf-8") for name in ("lines", "taxes", "payments")}
    lines: list[str] = []
    taxes: list[str] = []
    payments: list[str] = []
    rows: list[str] = []
    seq = tx_seq = n_lines = n_payments = n_taxes = 0
    last_period = add_months(plan.window_start, -1)
    statuses = {"draft": 0, "approved": 0, "void": 0}
    random_ = rng.random
    cache: dict[int, str] = {}

    def money(cents: int) -> str:  # the same amounts come back again and again (recharges, their taxes...)
        text = cache.get(cents)
        if text is None:
            text = cache[cents] = money_text(cents)
        return text

    def below(n: int) -> int:
        return int(random_() * n)

    copy_sql = f"COPY invoicing_invoice ({', '.join(INVOICE_COLUMNS)}) FROM STDIN"
    with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
        for offset, (ordinal, u, period) in enumerate(planned):
            invoice_id = first_invoice_id + offset
            method = plan.methods[u]
            dates = day_cache.get(ordinal)
            if dates is None:
                day = datetime.date.fromordinal(ordinal)
                dates = day_cache[ordinal] = (
                    day,
                    day.isoformat(),
                    (day + datetime.timedelta(days=DUE_DAYS)).isoformat(),
                    f"{day.isoformat()} 09:00:00+00",
                )
            day, day_iso, due_iso, stamp = dates
            age = today_ordinal - ordinal
            # -- lines: usage by route for a recurring invoice, one recharge line otherwise
            if period is not None:
                routes, _ = plan.routes[u]
                growth = 0.6 + 0.4 * (1 - age / (YEARS * 365 + 60))  # smaller in earlier years
                parts_total = monthly_parts[u] * growth * (0.7 + 0.6 * random_())
                chosen = sorted(rng.sample(range(len(routes)), min(len(routes), 1 + below(6))))
                share_total = sum(1 / (c + 1) for c in chosen)
                subtotal = usage_raw = 0
                for position, c in enumerate(chosen, start=1):
                    country, _, _, _, network, channel, micros = routes[c]
                    parts = max(10, int(parts_total / (c + 1) / share_total))
                    raw = parts * micros
                    cents = (raw + 5_000) // 10_000
                    subtotal += cents
                    usage_raw += raw
                    messages = max(1, round(parts / 1.4))
                    lines.append(
                        f"{invoice_id}\t{position}\tusage\t{label[channel]} {country} {network} ({messages} messages)\t"
                        f"{parts}\t{micros_text(micros)}\t{money(cents)}\t{country}\t{network}\t{channel}\t"
                        f"{messages}\t{parts}\t{micros_text(raw)}\t\\N\n"
                    )
                n_lines += len(chosen)
                period_iso = f"{period.isoformat()}\t{month_end(period).isoformat()}"
                description = f"Messaging usage {period} to {month_end(period)}"
                source = "recurring"
                schedule = str(schedule_ids[u])
                draft_p = 0.3 if period == last_period else 0.003
            else:
                subtotal = RECHARGES[below(recharge_menu[u])]
                usage_raw = 0
                text = money(subtotal)
                lines.append(f"{invoice_id}\t1\trecharge\tBalance recharge\t1\t{text}\t{text}\t\t\t\t0\t0\t0\t\\N\n")
                n_lines += 1
                period_iso = "\\N\t\\N"
                description = "Balance recharge"
                source = "manual"
                schedule = "\\N"
                draft_p = 0.2 if age <= 14 else 0.02 if age <= 60 else 0.001
            tax = (subtotal * VAT_RATE + 50) // 100 if plan.apply_tax[u] else 0
            total = subtotal + tax
            if tax:
                taxes.append(f"{invoice_id}\t{tax_rate_id}\tVAT\t{VAT_RATE}\t{money(tax)}\n")
                n_taxes += 1
            # -- status, payments
            if random_() < draft_p:
                status = "draft"
            elif random_() < 0.02:
                status = "void"
            else:
                status = "approved"
            statuses[status] += 1
            paid = 0
            pay_status = "unpaid"
            if status == "approved":
                (young, young_mix), (middle, middle_mix), (_, old_mix) = PAY_MIX[method]
                paid_p, partial_p = young_mix if age <= young else middle_mix if age <= middle else old_mix
                r = random_()
                if r < paid_p:
                    pay_status, paid = "paid", total
                elif r < paid_p + partial_p and total >= 2:
                    pay_status, paid = "partially_paid", max(1, min(total - 1, total * (2 + below(7)) // 10))
            credited = subtotal if paid == total else half_up_div(subtotal * paid, total)
            approved_at = voided = "\\N"
            void_reason = ""
            if status == "draft":
                number = "\\N\t\\N"
            else:
                seq += 1
                number = f"INV-{day.year}-{seq:05d}\t{seq}"
                approved_at = stamp
                if status == "void":
                    voided = f"{(day + datetime.timedelta(days=1 + below(20))).isoformat()} 16:00:00+00"
                    void_reason = "Issued in error"
            total_text = money(total)
            subtotal_text = money(subtotal)
            rows.append(
                f"{invoice_id}\t{tenant_id}\t{account_ids[u]}\t{number}\t{method}\t{source}\t{status}\t{pay_status}\t"
                f"{CURRENCY}\t{day_iso}\t{due_iso}\t{period_iso}\t{description}\t{subtotal_text}\t{money(tax)}\t"
                f"{total_text}\t{money(paid)}\t{total_text if not paid else money(total - paid)}\t{subtotal_text}\t"
                f"{money(credited)}\t{micros_text(usage_raw)}\t{NOTES}\t{TERMS}\t{schedule}\t\t{approved_at}\t"
                f"{voided}\t{void_reason}\t{stamp}\t{now}\n"
            )
            # Payments: what was paid, in one or two parts; now and then one more that bounced (reversed).
            bounced_one = status != "draft" and random_() < (0.03 if status == "approved" else 0.3)
            if paid or bounced_one:
                amounts = []
                if paid:
                    amounts = [paid // 2, paid - paid // 2] if paid >= 2 and random_() < 0.15 else [paid]
                paid_so_far = credited_so_far = 0
                for k, amount in enumerate(amounts + [max(1, total // 3)] if bounced_one else amounts):
                    pay_iso = min(today, day + datetime.timedelta(days=below(41))).isoformat()
                    ptype = PAYMENT_TYPES[below(len(PAYMENT_TYPES))]
                    transaction_id = ""
                    if ptype in ("online", "card"):
                        tx_seq += 1
                        transaction_id = f"TX{tenant_id}-{tx_seq:09d}"
                    head = (
                        f"{tenant_id}\t{invoice_id}\t{account_ids[u]}\t{money(amount)}\t{pay_iso}\t{ptype}\t"
                        f"{transaction_id}\t\t\t"
                    )
                    if k < len(amounts):
                        paid_so_far += amount
                        now_credited = subtotal if paid_so_far == total else half_up_div(subtotal * paid_so_far, total)
                        delta, credited_so_far = now_credited - credited_so_far, now_credited
                        payments.append(f"{head}{money(delta)}\t{pay_iso} 12:00:00+00\t\\N\t\t0.00\n")
                    else:
                        delta = half_up_div(subtotal * amount, total)
                        payments.append(
                            f"{head}{money(delta)}\t{pay_iso} 12:00:00+00\t{pay_iso} 15:00:00+00\t"
                            f"Payment bounced\t{money(-delta)}\n"
                        )
                    n_payments += 1
            if len(rows) >= 5_000:
                copy.write("".join(rows))
                rows.clear()
                for name, pending in (("lines", lines), ("taxes", taxes), ("payments", payments)):
                    spool[name].write("".join(pending))
                    pending.clear()
        if rows:
            copy.write("".join(rows))
    for name, pending in (("lines", lines), ("taxes", taxes), ("payments", payments)):
        spool[name].write("".join(pending))
    for name, table, columns in (
        ("lines", "invoicing_invoiceline", LINE_COLUMNS),
        ("taxes", "invoicing_invoicetax", TAX_COLUMNS),
        ("payments", "invoicing_payment", PAYMENT_COLUMNS),
    ):
        handle = spool[name]
        handle.seek(0)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN", writer=QueuedLibpqWriter(cursor)) as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        handle.close()
    return {"lines": n_lines, "taxes": n_taxes, "payments": n_payments, "numbered": seq, "statuses": statuses}


# --- set-up -------------------------------------------------------------------------------------------------------


def django_setup_on_postgres() -> None:
    """Django with the product's settings (whatever the shell says) on the PostgreSQL database of DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (postgres://user@host:port/name).")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django_setup()


def next_ids(cursor, tables) -> dict[str, int]:
    ids = {}
    for table in tables:
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
        ids[table] = cursor.fetchone()[0]
    return ids


def sequences_reset(cursor, tables) -> None:
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), "
            f"false)"
        )


def foreign_key_checks_off(cursor) -> bool:
    """Skip the foreign-key triggers while loading (rows are consistent by construction; Django's constraints are
    deferred, and 10M deferred checks at commit cost minutes and memory). Needs a superuser; else they stay on."""
    cursor.execute("SAVEPOINT replica")
    try:
        cursor.execute("SET LOCAL session_replication_role = replica")
    except Exception:  # noqa: BLE001 - insufficient privilege: keep the checks
        cursor.execute("ROLLBACK TO SAVEPOINT replica")
        return False
    cursor.execute("RELEASE SAVEPOINT replica")
    return True


def indexes_drop(cursor, tables) -> list[tuple[str, str]]:
    """Drop the indexes of `tables` that back no constraint; returns (name, definition) to create them again."""
    cursor.execute(
        """
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE t.relname = ANY(%s) AND n.nspname = current_schema()
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY t.relname, c.relname
        """,
        [list(tables)],
    )
    saved = cursor.fetchall()
    for name, _ in saved:
        cursor.execute(f"DROP INDEX {name}")
    return saved


def fixtures_create(plan: Plan):
    """The admin, its licence, settings, tax rate and (after the invoices) its invoice counter, via the ORM."""
    from invoicing.models import InvoicingLicense, TaxRate
    from invoicing.services.configuration import settings_for
    from msgplatform.accounts.models import Tenant

    n = Tenant.objects.filter(signup_slug__startswith="generated-").count() + 1
    while Tenant.objects.filter(signup_slug=f"generated-{n}").exists():
        n += 1
    tenant = Tenant.objects.create(
        name=f"Generated admin {n}", currency=CURRENCY, timezone=TZ_NAME, signup_slug=f"generated-{n}"
    )
    InvoicingLicense.objects.create(
        tenant=tenant, prepaid=True, postpaid=True, valid_until=plan.today + datetime.timedelta(days=365)
    )
    settings_row = settings_for(tenant)
    settings_row.business_email = f"billing@generated-{n}.example"
    settings_row.business_address = "Friedrichstrasse 1\n10117 Berlin"
    settings_row.save()
    tax = TaxRate.objects.create(tenant=tenant, name="VAT", rate=VAT_RATE, description="Standard rate")
    return tenant, tax


def accounts_copy(cursor, plan: Plan, tenant_id: int, first_id: int, rng: random.Random) -> list[int]:
    ids = [first_id + u for u in range(plan.n_users)]
    rows = []
    for u, account_id in enumerate(ids):
        name = f"Customer {u + 1:05d}"
        email = f"billing@customer{u + 1:05d}.example"
        joined = f"{plan.joined[u].isoformat()} 10:00:00+00"
        postpaid = plan.methods[u] == "postpaid"
        tax_id = f"DE{100_000_000 + u:09d}" if rng.random() < 0.4 else ""
        rows.append(
            f"{account_id}\t{tenant_id}\t{name}\t{email}\tuser\t{plan.methods[u]}\t{name} Ltd\t"
            f"{u + 1} Market Street\\nSpringfield\t{email}\t{tax_id}\t{'t' if plan.apply_tax[u] else 'f'}\t"
            f"{'5000.00' if postpaid else '0.00'}\t0\tf\tt\t{joined}\t{joined}"
        )
    with cursor.copy(f"COPY accounts_account ({', '.join(ACCOUNT_COLUMNS)}) FROM STDIN") as copy:
        copy.write("\n".join(rows) + "\n")
    return ids


def schedules_copy(cursor, plan: Plan, tenant_id, account_ids, starts: dict[int, datetime.date], first_id: int):
    ids, rows = {}, []
    for k, (u, start) in enumerate(sorted(starts.items())):
        ids[u] = first_id + k
        created = f"{min(start, plan.window_start).isoformat()} 08:00:00+00"
        covered = start - datetime.timedelta(days=1) if start >= plan.window_start else plan.cursor
        last_run = f"{plan.window_start.isoformat()} 00:05:00+00" if start < plan.window_start else "\\N"
        rows.append(
            f"{ids[u]}\t{tenant_id}\t{account_ids[u]}\tmonthly\t\\N\t{DUE_DAYS}\t{start.isoformat()}\t\\N\tactive\t"
            f"{covered.isoformat()}\t\\N\t{last_run}\t\t{created}\t{created}"
        )
    if rows:
        with cursor.copy(f"COPY invoicing_billingschedule ({', '.join(SCHEDULE_COLUMNS)}) FROM STDIN") as copy:
            copy.write("\n".join(rows) + "\n")
    return ids


def stats_rebuild(tenant) -> str:
    """The dashboard's summary counters, when the installed invoicing keeps them (services.stats)."""
    from django.db import transaction

    try:
        from invoicing.services.stats import stats_rebuild as rebuild
    except ImportError:
        return "none in this version"
    try:
        with transaction.atomic():
            rebuild(tenant=tenant)
    except Exception as exc:  # noqa: BLE001 - keep the data; say loudly what is missing
        return f"NOT rebuilt ({exc.__class__.__name__}: {exc}); rebuild them before measuring the dashboard"
    return "rebuilt from the invoices and payments"


def main(argv=None) -> dict:
    parser = argument_parser(__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.datetime.now(datetime.UTC).date())
    args = parser.parse_args(argv)
    if args.users < 2 or args.invoices < 0 or args.records < 0:
        parser.error("--users must be at least 2; --invoices and --records cannot be negative")
    timer = Timer()
    print(f"generate: {args.users:,} users, {args.invoices:,} invoices, {args.records:,} records (seed {args.seed})")
    django_setup_on_postgres()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    timer.step("migrate")
    rng = random.Random(args.seed)
    plan = Plan(args, rng)
    timer.step("plan", f"records {plan.days[0]} to {plan.days[-1]}, invoices from {plan.first_day}")

    counts: dict[str, int] = {}
    with transaction.atomic():
        tenant, tax = fixtures_create(plan)
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own: COPY
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")  # index builds
            cursor.execute("SET LOCAL work_mem = '1GB'")  # the GROUP BY of the rollups in memory
            cursor.execute("SET LOCAL synchronous_commit = off")
            ids = next_ids(
                cursor, ("accounts_account", "invoicing_billingschedule", "invoicing_invoice", "messaging_usagerollup")
            )
            saved = indexes_drop(cursor, LOADED_TABLES)
            triggers_off = foreign_key_checks_off(cursor)
            timer.step(
                "fixtures, indexes dropped",
                f"{len(saved)} indexes; foreign-key triggers {'off' if triggers_off else 'on (not a superuser)'}",
            )

            account_ids = accounts_copy(cursor, plan, tenant.id, ids["accounts_account"], rng)
            planned, starts = invoices_plan(plan, args.invoices, rng)
            schedule_ids = schedules_copy(
                cursor, plan, tenant.id, account_ids, starts, ids["invoicing_billingschedule"]
            )
            counts["users"], counts["schedules"] = len(account_ids), len(schedule_ids)
            timer.step("users and schedules", f"{len(account_ids):,} users, {len(schedule_ids):,} schedules")

            started = time.perf_counter()
            n_records, n_buckets = records_copy(
                cursor, plan, tenant.id, account_ids, random.Random(args.seed + 1), ids["messaging_usagerollup"]
            )
            counts["records"] = n_records
            rate = n_records / max(time.perf_counter() - started, 1e-9)
            timer.step("records (COPY)", f"{n_records:,} rows, {rate:,.0f} rows/s")
            counts["rollups"] = rollups_build(cursor, tenant.id)
            assert counts["rollups"] == n_buckets, (counts["rollups"], n_buckets)
            timer.step("rollups (INSERT ... SELECT)", f"{counts['rollups']:,} buckets")
            counts["ledger"] = ledger_build(cursor, tenant.id)
            timer.step("ledger and balances", f"{counts['ledger']:,} rows")

            result = invoices_copy(
                cursor,
                plan,
                planned,
                tenant.id,
                account_ids,
                schedule_ids,
                tax.id,
                ids["invoicing_invoice"],
                random.Random(args.seed + 2),
            )
            counts["invoices"] = len(planned)
            counts["lines"], counts["payments"] = result["lines"], result["payments"]
            counts["taxes"] = result["taxes"]
            timer.step(
                "invoices, lines, taxes, payments",
                f"{counts['invoices']:,} invoices ({', '.join(f'{k} {v:,}' for k, v in result['statuses'].items())}), "
                f"{counts['lines']:,} lines, {counts['payments']:,} payments",
            )
            if triggers_off:
                cursor.execute("SET LOCAL session_replication_role = origin")
            from invoicing.models import InvoiceSequence

            InvoiceSequence.objects.create(tenant=tenant, last_value=result["numbered"])
            sequences_reset(cursor, LOADED_TABLES)

            for _, definition in saved:
                cursor.execute(definition)
            timer.step("indexes created again", f"{len(saved)} indexes")
        message = stats_rebuild(tenant)
        timer.step("summary counters", message)
    timer.step("commit")
    with connection.cursor() as cursor:
        for table in LOADED_TABLES:
            cursor.execute(f"ANALYZE {table}")
    timer.step("analyze")
    print(f"done in {timer.total():.1f} s: admin {tenant.name!r} (id {tenant.id})")
    print("counts: " + json.dumps(counts | {"tenant_id": tenant.id}), flush=True)
    return counts


if __name__ == "__main__":
    main()
