"""The usage source the invoicing plugin bills from: summaries of open usage buckets, claims and releases.

Invoicing never reads raw records to total a period: it reads and claims rollup buckets. A claim marks buckets
with an opaque claim id (the invoice id) in the caller's transaction; a release (void, deleted draft) puts them
back as open usage, merging with any open bucket of the same key that appeared meanwhile.
Callers take `usage_lock` first: it is the same per-tenant lock ingestion holds, so a claim sees a consistent
set of buckets and cannot deadlock with a batch.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum

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


def usage_lock(*, tenant_id: int) -> None:
    """Serialise with ingestion of this tenant for the rest of the transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [INGEST_LOCK_CLASS, tenant_id])


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


def _group(qs: QuerySet[UsageRollup], period_start: datetime.date | None) -> list[UsageGroup]:
    """In-period usage grouped without the day; older usage and corrections grouped by day (prior-period lines)."""
    rows = (
        qs.values("day", "country", "network", "channel", "unit_price_micros", "kind")
        .annotate(m=Sum("messages"), p=Sum("parts"), c=Sum("charge_micros"))
        .order_by()
    )
    merged: dict[tuple, list[int]] = {}
    for row in rows:
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
    return groups


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


def usage_claim(
    *,
    tenant_id: int,
    account_id: int,
    start: datetime.date,
    end: datetime.date,
    claim_id: int,
    delivered_only: bool = False,
    include_prior: bool = False,
) -> list[UsageGroup]:
    """Mark the unbilled usage of the range as billed by `claim_id`; returns what was claimed, grouped."""
    qs = _billable(
        tenant_id=tenant_id,
        account_id=account_id,
        start=None if include_prior else start,
        end=end,
        delivered_only=delivered_only,
    )
    qs.update(billed_by=claim_id)
    return _group(UsageRollup.objects.filter(tenant_id=tenant_id, account_id=account_id, billed_by=claim_id), start)


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
