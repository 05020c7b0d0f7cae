"""The usage source the invoicing plugin bills from: summaries of open usage buckets, billing and releases.

Invoicing never reads raw records to total a period: it reads and bills rollup buckets. Billing marks buckets
with the invoice id (`billed_by`) in the caller's transaction; a release (void, deleted draft) puts them
back as open usage, merging with any open bucket of the same key that appeared meanwhile.
It implements invoicing.contracts.UsageSource (`MessagingUsageSource` at the end); the plugin reaches it only
through that protocol. Callers take `usage_lock` first: it is the same per-tenant lock ingestion holds, so a
bill sees a consistent set of buckets and cannot deadlock with a batch. Under that lock the open buckets of a
range cannot change, so a caller that summarised ranges can bill them without reading them again
(`usage_summaries` + `usage_bill_many`).
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import BigIntegerField, Case, Count, DateField, F, Q, QuerySet, Sum, When
from django.db.models.expressions import RawSQL

from invoicing.contracts import UsageGroup, UsageLine, UsageSummary

from .locks import ingest_lock
from .models import MICROS, ROLLUP_KEY_FIELDS, MessageRecord, RecordCorrection, UsageKind, UsageRollup


def usage_lock(*, tenant_id: int, synchronous_commit: bool = True) -> None:
    """Serialise with ingestion of this tenant for the rest of the transaction.

    `synchronous_commit=False` (PostgreSQL) also lets this transaction's commit return before its WAL reaches the
    disk: for work that is redone when lost, such as a billing period whose draft, billed usage and cursor move commit
    together. A crash can lose only the last such transactions, whole and in commit order; the next synchronous
    commit of the connection (the billing run's progress row) makes every earlier one durable.
    """
    ingest_lock(tenant_id=tenant_id, synchronous_commit=synchronous_commit)


def _scope(*, account_ids, start: datetime.date | None, end: datetime.date, delivered_only: bool) -> Q:
    """Open billable buckets of these accounts up to `end` (from `start` when given)."""
    scope = Q(account_id__in=list(account_ids), day__lte=end)
    if start is not None:
        scope &= Q(day__gte=start)
    if delivered_only:
        scope &= Q(delivered=True)
    return scope


def _open(tenant_id: int, scope: Q) -> QuerySet[UsageRollup]:
    return UsageRollup.objects.filter(scope, tenant_id=tenant_id, billed_by__isnull=True, billing_method="postpaid")


def _billable(
    *, tenant_id: int, account_id: int, start: datetime.date | None, end: datetime.date, delivered_only: bool
) -> QuerySet[UsageRollup]:
    return _open(tenant_id, _scope(account_ids=[account_id], start=start, end=end, delivered_only=delivered_only))


def _grouped(qs: QuerySet[UsageRollup], period_start: datetime.date | None, *by: str):
    """Sums per (by..., prior day, country, network, channel, unit price, kind) and the number of buckets summed.

    The prior day is the day of usage before `period_start` and of corrections (prior-period lines), else None:
    in-period usage is summed over its days here, in the database.
    """
    prior = Q(kind=UsageKind.CORRECTION)
    if period_start is not None:
        prior |= Q(day__lt=period_start)
    return (
        qs.annotate(prior_day=Case(When(prior, then=F("day")), default=None, output_field=DateField()))
        .values(*by, "prior_day", "country", "network", "channel", "unit_price_micros", "kind")
        .annotate(m=Sum("messages"), p=Sum("parts"), c=Sum("charge_micros"), n=Count("id"))
        .order_by()
    )


def _merge(rows) -> list[UsageGroup]:
    """In-period usage grouped without the day; older usage and corrections grouped by day (prior-period lines)."""
    merged: dict[tuple, list[int]] = {}
    for row in rows:
        key = (
            row["prior_day"],
            row["country"],
            row["network"],
            row["channel"],
            row["unit_price_micros"],
            row["kind"],
        )
        acc = merged.setdefault(key, [0, 0, 0])
        acc[0] += row["m"]
        acc[1] += row["p"]
        acc[2] += row["c"]
    groups = [
        UsageGroup(
            day=day,
            country=country,
            network=network,
            channel=channel,
            unit_price=Decimal(price) / MICROS,
            kind=kind,
            messages=m,
            parts=p,
            charge=Decimal(c) / MICROS,
        )
        for (day, country, network, channel, price, kind), (m, p, c) in merged.items()
        if m or p or c
    ]
    groups.sort(
        key=lambda g: (
            g.day is not None,
            g.day or datetime.date.min,
            g.country,
            g.network,
            g.channel,
            g.unit_price,
            g.kind,
        )
    )
    return groups


def _group(qs: QuerySet[UsageRollup], period_start: datetime.date | None) -> list[UsageGroup]:
    return _merge(_grouped(qs, period_start))


def usage_summarise(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date,
    end: datetime.date,
    delivered_only: bool = False,
    include_prior: bool = False,
) -> list[UsageGroup]:
    """Unbilled billable usage of a postpaid account in [start, end] (and before start when include_prior)."""
    qs = _billable(
        tenant_id=tenant_id,
        account_id=account_id,
        start=None if include_prior else start,
        end=end,
        delivered_only=delivered_only,
    )
    return _group(qs, start)


def usage_bill(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date,
    end: datetime.date,
    invoice_id: int,
    delivered_only: bool = False,
    include_prior: bool = False,
) -> list[UsageGroup]:
    """Mark the unbilled usage of the range as billed by `invoice_id`; returns what was billed, grouped."""
    qs = _billable(
        tenant_id=tenant_id,
        account_id=account_id,
        start=None if include_prior else start,
        end=end,
        delivered_only=delivered_only,
    )
    qs.update(billed_by=invoice_id)
    return _group(UsageRollup.objects.filter(tenant_id=tenant_id, account_id=account_id, billed_by=invoice_id), start)


def _scopes(ranges: dict[int, tuple[datetime.date, datetime.date]], *, delivered_only: bool, include_prior: bool) -> Q:
    """The OR of the scopes of several accounts' ranges, one term per distinct range."""
    by_range: dict[tuple, list[int]] = {}
    for account_id, (start, end) in ranges.items():
        by_range.setdefault((start, end), []).append(account_id)
    scope = Q()
    for (start, end), account_ids in by_range.items():
        scope |= _scope(
            account_ids=account_ids, start=None if include_prior else start, end=end, delivered_only=delivered_only
        )
    return scope


def usage_summaries(
    *,
    tenant_id: int,
    ranges: dict[int, tuple[datetime.date, datetime.date]],
    delivered_only: bool = False,
    include_prior: bool = False,
) -> dict[int, UsageSummary]:
    """`usage_summarise` of several accounts at once ({account id: (start, end)}), in one query.

    Each summary also counts its buckets, so that `usage_bill_many` can check it billed exactly those.
    """
    if not ranges:
        return {}
    by_start: dict[datetime.date, dict] = {}
    for account_id, (start, end) in ranges.items():
        by_start.setdefault(start, {})[account_id] = (start, end)
    rows: dict[int, list[dict]] = {account_id: [] for account_id in ranges}
    for start, some in by_start.items():  # one query per distinct period start (usually one)
        scope = _scopes(some, delivered_only=delivered_only, include_prior=include_prior)
        for row in _grouped(_open(tenant_id, scope), start, "account_id"):
            rows[row["account_id"]].append(row)
    return {
        account_id: UsageSummary(
            groups=_merge(rows[account_id]),
            buckets=sum(row["n"] for row in rows[account_id]),
            scope=(tenant_id, account_id, start, end, delivered_only, include_prior),
        )
        for account_id, (start, end) in ranges.items()
    }


def usage_bill_many(*, tenant_id: int, bills: dict[int, UsageSummary]) -> dict[int, list[UsageGroup]]:
    """Bill the usage of several summaries at once ({invoice id: summary of one account}, all of this tenant, all
    read by `usage_summaries` in this transaction under the usage lock); returns what each invoice took, grouped.

    One UPDATE sets each account's invoice id. Under the usage lock the buckets summarised are the ones billed, so
    the summaries' groups are returned as they are; if the number of buckets billed differs, what each invoice
    took is read back and its own groups returned.
    """
    if not bills:
        return {}
    summaries = list(bills.values())
    delivered_only, include_prior = summaries[0].scope[4:]
    if any(s.scope[0] != tenant_id or s.scope[4:] != summaries[0].scope[4:] for s in summaries):
        raise ValueError("usage_bill_many takes summaries of one tenant read with the same options")
    ranges = {s.scope[1]: (s.scope[2], s.scope[3]) for s in summaries}
    if len(ranges) != len(summaries):
        raise ValueError("usage_bill_many takes one summary per account")
    invoice_of = RawSQL(
        f"CASE account_id {' '.join(['WHEN %s THEN %s'] * len(bills))} END",
        [value for invoice_id, s in bills.items() for value in (s.scope[1], invoice_id)],
        output_field=BigIntegerField(),
    )
    scope = _scopes(ranges, delivered_only=delivered_only, include_prior=include_prior)
    billed = _open(tenant_id, scope).update(billed_by=invoice_of)
    if billed == sum(s.buckets for s in summaries):
        return {invoice_id: s.groups for invoice_id, s in bills.items()}
    return {
        invoice_id: _group(UsageRollup.objects.filter(tenant_id=tenant_id, billed_by=invoice_id), s.scope[2])
        for invoice_id, s in bills.items()
    }


def usage_release(*, tenant_id: int, invoice_id: int) -> int:
    """Give the usage an invoice billed back as unbilled; returns the number of buckets released."""
    released = 0
    for bucket in UsageRollup.objects.filter(tenant_id=tenant_id, billed_by=invoice_id).order_by("id"):
        open_bucket = UsageRollup.objects.filter(
            billed_by__isnull=True, **{f: getattr(bucket, f) for f in ROLLUP_KEY_FIELDS}
        ).first()
        if open_bucket is None:
            UsageRollup.objects.filter(pk=bucket.pk).update(billed_by=None)
        else:
            # Late usage opened a bucket with the same key meanwhile: merge into it (one open bucket per key).
            UsageRollup.objects.filter(pk=open_bucket.pk).update(
                messages=F("messages") + bucket.messages,
                parts=F("parts") + bucket.parts,
                charge_micros=F("charge_micros") + bucket.charge_micros,
            )
            MessageRecord.objects.filter(rollup=bucket).update(rollup=open_bucket)
            RecordCorrection.objects.filter(rollup=bucket).update(rollup=open_bucket)
            bucket.delete()
        released += 1
    return released


def usage_records(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date | None,
    end: datetime.date | None,
    invoice_id: int | None = None,
    include_prior: bool = False,
) -> QuerySet[MessageRecord]:
    """The records behind a preview (unbilled, in range, and before it when `include_prior`) or behind an invoice
    (exactly the billed ones)."""
    qs = MessageRecord.objects.filter(tenant_id=tenant_id, account_id=account_id)
    if invoice_id is None:
        qs = qs.filter(day__lte=end, rollup__billed_by__isnull=True, billing_method="postpaid")
        if not include_prior:
            qs = qs.filter(day__gte=start)
    else:
        qs = qs.filter(rollup__billed_by=invoice_id)
    return qs.order_by("submitted_at", "id")


def _days(line: UsageLine, field: str) -> Q:
    """The days of a line: its one day, or from `since` and up to `until` (each when given)."""
    if line.day is not None:
        return Q(**{field: line.day})
    days = Q()
    if line.since is not None:
        days &= Q(**{f"{field}__gte": line.since})
    if line.until is not None:
        days &= Q(**{f"{field}__lte": line.until})
    return days


def _record_route(line: UsageLine) -> Q:
    """The records of a line of one route and unit price, within its days."""
    route = Q(country=line.country, network=line.network, channel=line.channel, unit_price=line.unit_price)
    return route & _days(line, "day")


def _correction_route(line: UsageLine) -> Q:
    """The record changes of a correction line of one route and unit price, within its days."""
    route = Q(
        rollup__country=line.country,
        rollup__network=line.network,
        rollup__channel=line.channel,
        rollup__unit_price_micros=int(line.unit_price * MICROS),
    )
    return route & _days(line, "rollup__day")


def _behind(qs: QuerySet, line: UsageLine, *, kind: str, route) -> QuerySet:
    """What of `qs` (an invoice's billed usage of one kind) is behind the line: its route and days, or for a
    remainder line what no line of that kind in `besides` reads."""
    if not line.remainder:
        return qs.filter(route(line))
    routed = [route(other) for other in line.besides if other.kind == kind]
    return qs.exclude(functools.reduce(operator.or_, routed)) if routed else qs


def usage_line_records(*, tenant_id: int, invoice_id: int, line: UsageLine) -> Iterator[MessageRecord]:
    """The records an invoice billed behind one of its usage lines (see UsageLine), streamed."""
    qs = MessageRecord.objects.filter(tenant_id=tenant_id, rollup__billed_by=invoice_id, rollup__kind=UsageKind.USAGE)
    qs = _behind(qs, line, kind=UsageKind.USAGE, route=_record_route)
    return qs.order_by("submitted_at", "id").iterator(chunk_size=2000)


@dataclass(frozen=True)
class Correction:
    """A change of a billed record, as invoicing.contracts.UsageCorrection."""

    record: MessageRecord
    parts: int
    charge: Decimal
    reason: str


def usage_line_corrections(*, tenant_id: int, invoice_id: int, line: UsageLine) -> Iterator[Correction]:
    """The record changes an invoice billed behind one of its correction lines (see UsageLine), streamed."""
    qs = RecordCorrection.objects.filter(tenant_id=tenant_id, rollup__billed_by=invoice_id)
    qs = _behind(qs, line, kind=UsageKind.CORRECTION, route=_correction_route)
    for c in qs.select_related("record").order_by("id").iterator(chunk_size=2000):
        yield Correction(record=c.record, parts=c.parts, charge=Decimal(c.charge_micros) / MICROS, reason=c.reason)


def usage_has_unbilled(
    *, tenant_id: int, account_id: int, before_or_on: datetime.date, since: datetime.date | None = None
) -> bool:
    """Whether the account has unbilled billable postpaid usage up to `before_or_on` (and from `since`)."""
    days = Q(day__lte=before_or_on) if since is None else Q(day__lte=before_or_on, day__gte=since)
    return UsageRollup.objects.filter(
        days,
        Q(messages__gt=0) | ~Q(charge_micros=0),
        tenant_id=tenant_id,
        account_id=account_id,
        billed_by__isnull=True,
        billing_method="postpaid",
    ).exists()


class MessagingUsageSource:
    """The messaging app's implementation of invoicing.contracts.UsageSource (named by INVOICING_USAGE_SOURCE)."""

    lock = staticmethod(usage_lock)
    summarise = staticmethod(usage_summarise)
    bill = staticmethod(usage_bill)
    summaries = staticmethod(usage_summaries)
    bill_many = staticmethod(usage_bill_many)
    release = staticmethod(usage_release)
    has_unbilled = staticmethod(usage_has_unbilled)
    records = staticmethod(usage_records)
    line_records = staticmethod(usage_line_records)
    line_corrections = staticmethod(usage_line_corrections)
