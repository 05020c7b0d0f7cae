"""Idempotency keys of the REST API: a POST that creates or moves money, retried with the same key, happens once.

The row is inserted first, inside the request's transaction: the unique (tenant, key) index decides which of two
concurrent requests runs; the other waits for it to commit and then replays the stored response
(see invoicing/rest/idempotency.py and docs/decisions.md).
"""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_TTL = datetime.timedelta(hours=24)  # how long a key is remembered (and replayed)


class IdempotencyKey(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.CharField(max_length=255)
    # sha256 of method, path, staff login and the canonical JSON body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The JSON body as it was sent, so that a replay is byte for byte the first response.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status})"
