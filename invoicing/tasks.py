"""Celery tasks of the invoicing plugin: thin, load by id, call a service. Idempotent and acknowledged late."""

import datetime

from celery import shared_task

from .services.billing_runs import billing_batch_run, billing_run_start


def _dispatch(run_id: int, schedule_ids: list[int], as_of: datetime.date | None) -> None:
    run_billing_batch.delay(run_id, schedule_ids, as_of.isoformat() if as_of else None)


@shared_task(name="invoicing.tasks.billing_tick")
def billing_tick() -> int:
    """Periodic (Celery beat): one run over every tenant, one task per batch of schedules."""
    return billing_run_start(dispatch=_dispatch).id


@shared_task(name="invoicing.tasks.run_billing_batch", acks_late=True)
def run_billing_batch(run_id: int, schedule_ids: list[int], as_of: str | None) -> int:
    return billing_batch_run(
        run_id=run_id, schedule_ids=schedule_ids, as_of=datetime.date.fromisoformat(as_of) if as_of else None
    )
