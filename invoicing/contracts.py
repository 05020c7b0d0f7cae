"""Frozen dataclasses and protocols the invoicing plugin exchanges with the host platform.

The host reaches the plugin through `invoicing/api.py`; the plugin reaches the host's usage through the
`UsageSource` protocol below, implemented by the host and named by the `INVOICING_USAGE_SOURCE` setting
(`invoicing/conf.py`). Nothing here imports Django models: these are the shapes both sides agree on.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class LicenseInfo:
    active: bool
    prepaid: bool
    postpaid: bool
    valid_until: datetime.date | None

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(m for m, on in (("prepaid", self.prepaid), ("postpaid", self.postpaid)) if on)


NO_LICENSE = LicenseInfo(active=False, prepaid=False, postpaid=False, valid_until=None)


# --- Usage: what invoicing bills from ---------------------------------------------------------------------


@dataclass(frozen=True)
class UsageGroup:
    """Usage of one (day, country, network, channel, unit price, kind); `day` is None for in-period groups."""

    day: datetime.date | None
    country: str
    network: str
    channel: str
    unit_price: Decimal
    kind: str  # "usage" or "correction"
    messages: int
    parts: int
    charge: Decimal  # exact, 6 decimals

    @property
    def is_prior(self) -> bool:
        return self.day is not None


@dataclass(frozen=True)
class UsageSummary:
    """The grouped open usage of one account's range, the number of buckets it sums, and what was read:
    (tenant id, account id, start, end, delivered only, include prior)."""

    groups: list[UsageGroup]
    buckets: int
    scope: tuple


class UsageRecord(Protocol):
    """One billed or billable messaging record, as the plugin reads it (preview list, annex, evidence)."""

    message_id: str
    submitted_at: datetime.datetime
    day: datetime.date
    destination: str
    country: str
    network: str
    channel: str
    parts: int
    status: str
    unit_price: Decimal
    charge: Decimal
    rolled_back: bool


class UsageCorrection(Protocol):
    """A change of a billed record (status or rollback) that became open correction usage."""

    record: UsageRecord
    parts: int
    charge: Decimal  # signed, 6 decimals
    reason: str


@dataclass(frozen=True)
class UsageLine:
    """What identifies the usage behind one invoice line, for reading its records back.

    A line of one route and unit price reads what the invoice billed of that route and price (usage records or,
    for `kind` "correction", record changes), on `day` when given, else from `since` and up to `until` (each
    inclusive when given). A line of several routes (`remainder`: the usage that rounds to nothing line by line,
    summed on one line) reads everything of its kind the invoice billed that none of the lines in `besides` reads.
    """

    country: str
    network: str
    channel: str
    unit_price: Decimal
    day: datetime.date | None = None  # a line of one day (prior-period lines of invoices made before summaries)
    since: datetime.date | None = None  # in-period lines: the invoice's period start
    until: datetime.date | None = None  # prior-period lines: the day before the invoice's period
    kind: str = "usage"  # "usage" or "correction", as UsageGroup.kind
    remainder: bool = False
    besides: tuple[UsageLine, ...] = ()


class UsageSource(Protocol):
    """The host's usage, summarised in buckets that an invoice bills (marked with its id).

    Callers take `lock` first, in the transaction that bills or releases: it serialises with the host's
    ingestion of the tenant, so a summary read under it is exactly what billing in the same transaction takes.
    """

    def lock(self, *, tenant_id: int, synchronous_commit: bool = True) -> None: ...

    def summarise(
        self,
        *,
        tenant_id: int,
        account_id: int,
        start: datetime.date,
        end: datetime.date,
        delivered_only: bool = False,
        include_prior: bool = False,
    ) -> list[UsageGroup]: ...

    def bill(
        self,
        *,
        tenant_id: int,
        account_id: int,
        start: datetime.date,
        end: datetime.date,
        invoice_id: int,
        delivered_only: bool = False,
        include_prior: bool = False,
    ) -> list[UsageGroup]: ...

    def summaries(
        self,
        *,
        tenant_id: int,
        ranges: dict[int, tuple[datetime.date, datetime.date]],
        delivered_only: bool = False,
        include_prior: bool = False,
    ) -> dict[int, UsageSummary]: ...

    def bill_many(self, *, tenant_id: int, bills: dict[int, UsageSummary]) -> dict[int, list[UsageGroup]]: ...

    def release(self, *, tenant_id: int, invoice_id: int) -> int: ...

    def has_unbilled(
        self, *, tenant_id: int, account_id: int, before_or_on: datetime.date, since: datetime.date | None = None
    ) -> bool: ...

    def records(
        self,
        *,
        tenant_id: int,
        account_id: int,
        start: datetime.date | None,
        end: datetime.date | None,
        invoice_id: int | None = None,
        include_prior: bool = False,
    ) -> Sequence[UsageRecord]: ...

    def line_records(self, *, tenant_id: int, invoice_id: int, line: UsageLine) -> Sequence[UsageRecord]: ...

    def line_corrections(self, *, tenant_id: int, invoice_id: int, line: UsageLine) -> Sequence[UsageCorrection]: ...


# --- Links the plugin puts on host pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class NavEntry:
    """A link of the plugin on a host page: an entry of the navigation bar, or a button of an account's page.

    `active` marks the entry of the page being shown. `group` says where the host places a bar entry: "main"
    entries come with the daily work, before the host's own; "setup" entries (settings, logs) after them.
    `unavailable` marks a link to a feature the admin has no licence for (the page it leads to says so).
    """

    label: str
    url: str
    active: bool = False
    group: str = "main"
    unavailable: bool = False
