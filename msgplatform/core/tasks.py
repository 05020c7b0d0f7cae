"""Periodic platform work run by Celery beat (embedded and distributed alike)."""

from celery import shared_task
from django.utils import timezone

from .models import Heartbeat


@shared_task(name="msgplatform.core.tasks.heartbeat")
def heartbeat() -> None:
    Heartbeat.objects.update_or_create(name="scheduler", defaults={"beat_at": timezone.now()})
