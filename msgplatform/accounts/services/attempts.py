"""Attempts per client in a time window, counted atomically: logins (accounts/throttle.py) and password resets.

An attempt is *claimed* before the work it guards (the password check, the reset e-mail) by one conditional
`UPDATE ... SET attempts = attempts + 1 WHERE attempts < limit`. On PostgreSQL a concurrent claim waits for the
row lock and then re-checks the condition; SQLite serialises writers. Either way at most `limit` claims succeed
in a window, however many requests arrive at once: a check-then-increment would let them all through.
"""

import datetime

from django.db.models import F
from django.utils import timezone

from ..models import AttemptCounter

# A row whose window ended this long ago belongs to a client that did not come back: the next claim deletes it.
FORGET_AFTER = datetime.timedelta(days=1)


def _client(kind: str, ip_address: str | None, subject: str) -> dict:
    return {"kind": kind, "ip_address": ip_address or "", "subject": subject[:254]}


def attempt_claim(
    *, kind: str, ip_address: str | None = "", subject: str = "", limit: int, window: datetime.timedelta
) -> bool:
    """Count one attempt of this client; False, counting nothing, when it already made `limit` in its window."""
    client = _client(kind, ip_address, subject)
    now = timezone.now()
    AttemptCounter.objects.filter(window_ends_at__lt=now - FORGET_AFTER).delete()
    # Twice at most: another request's clean-up above may delete our (long expired) row between our statements.
    for _ in range(2):
        # INSERT ... ON CONFLICT DO NOTHING: from here on the row exists, whichever request created it.
        AttemptCounter.objects.bulk_create(
            [AttemptCounter(**client, attempts=0, window_ends_at=now + window)], ignore_conflicts=True
        )
        # A window that has ended starts again. Of two concurrent requests only the first matches: the second
        # re-reads the row after the first's update and sees the new end.
        AttemptCounter.objects.filter(**client, window_ends_at__lte=now).update(attempts=0, window_ends_at=now + window)
        if AttemptCounter.objects.filter(**client, attempts__lt=limit).update(attempts=F("attempts") + 1):
            return True
        if AttemptCounter.objects.filter(**client).exists():
            return False
    return False


def attempt_give_back(*, kind: str, ip_address: str | None = "", subject: str = "") -> None:
    """Un-count one claimed attempt that turned out not to be a failure (a correct password)."""
    AttemptCounter.objects.filter(**_client(kind, ip_address, subject), attempts__gt=0).update(
        attempts=F("attempts") - 1
    )


def attempts_clear(*, kinds: list[str], ip_address: str | None = None, subject: str | None = None) -> int:
    """Forget the counted attempts of these kinds, of one address and/or one subject (all when both are None)."""
    counters = AttemptCounter.objects.filter(kind__in=kinds)
    if ip_address is not None:
        counters = counters.filter(ip_address=ip_address)
    if subject is not None:
        counters = counters.filter(subject=subject[:254])
    deleted, _ = counters.delete()
    return deleted
