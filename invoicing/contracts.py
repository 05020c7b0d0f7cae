"""Frozen dataclasses the invoicing plugin exchanges with the host platform through invoicing/api.py."""

import datetime
from dataclasses import dataclass


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
