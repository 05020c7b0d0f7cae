"""The usage source the invoicing plugin bills from: summaries of open usage buckets, claims and releases.

Invoicing never reads raw records to total a period: it reads and claims rollup buckets. A claim marks buckets
with an opaque claim id (the invoice id) in the caller's transaction; a release (void, deleted draft) puts them
back as open usage, merging with any open bucket of the same key that appeared meanwhile.
Callers take `usage_lock` first: it is the same per-tenant lock ingestion holds, so a claim sees a consistent
set of buckets and cannot deadlock with a batch. Under that lock the open buckets of a range cannot change, so a
caller that summarised a range can claim it without reading it again (`usage_summary` + `usage_claim(summary=)`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum

from .models import MICROS, MessageRecord, RecordCorrection, UsageKind, UsageRollup
from .services.ingest import INGEST_LOCK_CLASS


@dataclass(frozen=True)
class UsageGroup:
    """Usage of one (day, country, network, channel, unit price, kind); `day` is None for in-period groups."""

    day: datetime.date | None
    country: str
    network: str
    channel: str
    unit_price: Decimal
    kind: str
    messages: int
    parts: int
    charge: Decimal  # exact, 6 decimals

    @property
    def is_prior(self) -> bool:
        return self.day is not None


@dataclass(frozen=True)
class UsageSummary:
    """The grouped open usage of a range, the number of buckets it sums, and the range it was read for."""

    groups: list[UsageGroup]
    buckets: int
    scope: tuple


def usage_lock(*, tenant_id: int, synchronous_commit: bool = True) -> None:
    """Serialise with ingestion of this tenant for the rest of the transaction.

    `synchronous_commit=False` (PostgreSQL) also lets this transaction's commit return before its WAL reaches the
    disk: for work that is redone when lost, such as a billing period whose draft, claim and cursor move commit
    together. A crash can lose only the last such transactions, whole and in commit order; the next synchronous
    commit of the connection (the billing run's progress row) makes every earlier one durable.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if synchronous_commit:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [INGEST_LOCK_CLASS, tenant_id])
            else:
                cursor.execute(
                    "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(%s, %s)",
                    [INGEST_LOCK_CLASS, tenant_id],
                )


def _billable(
    *, tenant_id: int, account_id: int, start: datetime.date | None, end: datetime.date, delivered_only: bool
) -> QuerySet[UsageRollup]:
    qs = UsageRollup.objects.filter(
        tenant_id=tenant_id, account_id=account_id, billed_by__isnull=True, billing_method="postpaid", day__lte=end
    )
    if start is not None:
        qs = qs.filter(day__gte=start)
    if delivered_only:
        qs = qs.filter(delivered=True)
    return qs


def _group(qs: QuerySet[UsageRollup], period_start: datetime.date | None) -> tuple[list[UsageGroup], int]:
    """In-period usage grouped without the day; older usage and corrections grouped by day (prior-period lines).

    Also returns the number of buckets read (empty groups included)."""
    rows = (
        qs.values("day", "country", "network", "channel", "unit_price_micros", "kind")
        .annotate(m=Sum("messages"), p=Sum("parts"), c=Sum("charge_micros"), n=Count("id"))
        .order_by()
    )
    merged: dict[tuple, list[int]] = {}
    buckets = 0
    for row in rows:
        buckets += row["n"]
        prior = row["kind"] == UsageKind.CORRECTION or (period_start is not None and row["day"] < period_start)
        key = (
            row["day"] if prior else None,
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
    return groups, buckets


def usage_summary(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date,
    end: datetime.date,
    delivered_only: bool = False,
    include_prior: bool = False,
) -> UsageSummary:
    """Unbilled billable usage of a postpaid account in [start, end] (and before start when include_prior)."""
    qs = _billable(
        tenant_id=tenant_id,
        account_id=account_id,
        start=None if include_prior else start,
        end=end,
        delivered_only=delivered_only,
    )
    groups, buckets = _group(qs, start)
    return UsageSummary(
        groups=groups,
        buckets=buckets,
        scope=(tenant_id, account_id, start, end, delivered_only, include_prior),
    )


def usage_summarise(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date,
    end: datetime.date,
    delivered_only: bool = False,
    include_prior: bool = False,
) -> list[UsageGroup]:
    """The groups of `usage_summary`."""
    return usage_summary(
        tenant_id=tenant_id,
        account_id=account_id,
        start=start,
        end=end,
        delivered_only=delivered_only,
        include_prior=include_prior,
    ).groups


def usage_claim(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date,
    end: datetime.date,
    claim_id: int,
    delivered_only: bool = False,
    include_prior: bool = False,
    summary: UsageSummary | None = None,
) -> list[UsageGroup]:
    """Mark the unbilled usage of the range as billed by `claim_id`; returns what was claimed, grouped.

    `summary`: the `usage_summary` of the same range, read under the usage lock this transaction still holds.
    The buckets it summed are the ones claimed, so its groups are returned without reading the claim back; the
    claim is read back only when the number of buckets claimed differs (or the summary is of another range).
    """
    qs = _billable(
        tenant_id=tenant_id,
        account_id=account_id,
        start=None if include_prior else start,
        end=end,
        delivered_only=delivered_only,
    )
    claimed = qs.update(billed_by=claim_id)
    scope = (tenant_id, account_id, start, end, delivered_only, include_prior)
    if summary is not None and summary.scope == scope and summary.buckets == claimed:
        return summary.groups
    claimed_qs = UsageRollup.objects.filter(tenant_id=tenant_id, account_id=account_id, billed_by=claim_id)
    return _group(claimed_qs, start)[0]


def usage_release(*, tenant_id: int, claim_id: int) -> int:
    """Give the usage of a claim back as unbilled; returns the number of buckets released."""
    released = 0
    key_fields = (
        "account_id",
        "day",
        "country",
        "network",
        "channel",
        "unit_price_micros",
        "delivered",
        "billing_method",
        "kind",
    )
    for bucket in UsageRollup.objects.filter(tenant_id=tenant_id, billed_by=claim_id).order_by("id"):
        open_bucket = UsageRollup.objects.filter(
            billed_by__isnull=True, **{f: getattr(bucket, f) for f in key_fields}
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
    *, tenant_id: int, account_id: int, start: datetime.date, end: datetime.date, claim_id: int | None = None
) -> QuerySet[MessageRecord]:
    """The records behind a preview (unbilled, in range) or behind a claim (exactly the billed ones)."""
    qs = MessageRecord.objects.filter(tenant_id=tenant_id, account_id=account_id)
    if claim_id is None:
        qs = qs.filter(day__gte=start, day__lte=end, rollup__billed_by__isnull=True, billing_method="postpaid")
    else:
        qs = qs.filter(rollup__billed_by=claim_id)
    return qs.order_by("submitted_at", "id")


def usage_corrections_of_claim(*, tenant_id: int, claim_id: int) -> QuerySet[RecordCorrection]:
    return RecordCorrection.objects.filter(tenant_id=tenant_id, rollup__billed_by=claim_id).select_related("record")


def usage_has_unbilled(*, tenant_id: int, account_id: int, before_or_on: datetime.date) -> bool:
    return UsageRollup.objects.filter(
        Q(messages__gt=0) | ~Q(charge_micros=0),
        tenant_id=tenant_id,
        account_id=account_id,
        billed_by__isnull=True,
        billing_method="postpaid",
        day__lte=before_or_on,
    ).exists()
