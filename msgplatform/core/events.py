"""The one way to write an event row."""

from typing import Any

from .models import Event


def event_record(
    *,
    area: str,
    kind: str,
    tenant_id: int | None,
    actor_id: int | None = None,
    subject_type: str = "",
    subject_id: int | None = None,
    message: str = "",
    level: str = Event.Level.INFO,
    data: dict[str, Any] | None = None,
) -> Event:
    return Event.objects.create(
        area=area,
        kind=kind,
        tenant_id=tenant_id,
        actor_id=actor_id,
        subject_type=subject_type,
        subject_id=subject_id,
        message=message,
        level=level,
        data=data or {},
    )
