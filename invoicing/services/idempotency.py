"""Idempotency keys outlive their window only until the periodic sweep forgets them."""

from __future__ import annotations

from django.utils import timezone

from ..models import IdempotencyKey
from ..models.idempotency import KEY_TTL


def idempotency_keys_expire() -> int:
    """Forget the keys older than their window (KEY_TTL); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEY_TTL).delete()
    return deleted
