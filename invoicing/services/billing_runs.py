"""The billing tick: find due schedules, split them into batches, bill each batch (idempotently).

The same code runs from `manage.py invoicing_run_billing` (batches in process), from Celery beat in both set-ups
(one Celery task per batch) and from "run billing now". A batch bills its schedules together (see
`recurring.schedules_bill_due`); if that fails it bills them one by one, so a failing schedule is recorded and
skipped, the others go on, and the next tick retries it.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from msgplatform.accounts.models import Tenant
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import ValidationFailed

from ..dispatch import RUN_BILLING_BATCH, task_send
from ..models import BillingRun, BillingSchedule, ScheduleStatus
from .recurring import schedule_bill_due, schedule_is_due, schedule_record_failure, schedules_bill_due

log = logging.getLogger(__name__)
BATCH_SIZE = 200


def due_schedule_ids(*, tenant=None, as_of: datetime.date | None = None) -> list[int]:
    qs = BillingSchedule.objects.filter(status=ScheduleStatus.ACTIVE).select_related("tenant").order_by("id")
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    return [s.id for s in qs.iterator(chunk_size=2000) if schedule_is_due(s, as_of or tenant_today(s.tenant))]


def batch_dispatch(run_id: int, schedule_ids: list[int], as_of: datetime.date | None) -> None:
    """Send one batch to a worker (called after the run row commits)."""
    task_send(RUN_BILLING_BATCH, run_id, schedule_ids, as_of.isoformat() if as_of else None)


def billing_run_start(
    *,
    tenant=None,
    as_of: datetime.date | None = None,
    actor_id: int | None = None,
    dispatch: Callable[[int, list[int], datetime.date | None], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> BillingRun:
    """Create the run row and hand each batch to `dispatch` after commit (`batch_dispatch`: a Celery task), or,
    without one, run the batches here."""
    if as_of is not None and tenant is not None and as_of > tenant_today(tenant):
        raise ValidationFailed("A billing run cannot be dated after today.", field="as_of")
    ids = due_schedule_ids(tenant=tenant, as_of=as_of)
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    run = BillingRun.objects.create(
        tenant=tenant,
        as_of=as_of,
        status=BillingRun.Status.RUNNING if batches else BillingRun.Status.DONE,
        schedules_total=len(ids),
        batches_total=len(batches),
        requested_by_id=actor_id,
        finished_at=None if batches else timezone.now(),
    )
    for batch in batches:
        if dispatch is None:
            billing_batch_run(run_id=run.id, schedule_ids=batch, as_of=as_of)
        else:
            transaction.on_commit(lambda b=batch: dispatch(run.id, b, as_of))
    run.refresh_from_db()
    return run


def billing_batch_run(*, run_id: int | None, schedule_ids: list[int], as_of: datetime.date | None) -> int:
    """Bill every due period of these schedules; returns drafts created. Safe to run twice.

    The schedules of each admin are billed together (`schedules_bill_due`: one transaction per period for all of
    them). If that fails, they are billed again one by one, so that a failing schedule is recorded and skipped
    while the others go on.
    """
    created = errors = 0
    tenant_of = dict(BillingSchedule.objects.filter(pk__in=schedule_ids).values_list("id", "tenant_id"))
    tenants = Tenant.objects.in_bulk(set(tenant_of.values()))
    by_tenant: dict[int, list[int]] = {}
    one_by_one = [i for i in schedule_ids if i not in tenant_of]  # gone meanwhile: fails below as it did alone
    for schedule_id in schedule_ids:
        if schedule_id in tenant_of:
            by_tenant.setdefault(tenant_of[schedule_id], []).append(schedule_id)
    for tenant_id, ids in by_tenant.items():
        drafts: list = []
        try:
            schedules_bill_due(tenant=tenants[tenant_id], schedule_ids=ids, as_of=as_of, drafts=drafts)
        except Exception:  # noqa: BLE001 - retried one by one below
            log.warning("billing %s schedules of admin %s together failed; one by one now", len(ids), tenant_id)
            one_by_one += ids
        created += len(drafts)
    for schedule_id in one_by_one:
        try:
            created += len(schedule_bill_due(schedule_id=schedule_id, as_of=as_of))
        except Exception as exc:  # noqa: BLE001 - one schedule's failure must not stop the others
            log.exception("billing of schedule %s failed", schedule_id)
            errors += 1
            schedule_record_failure(schedule_id=schedule_id, error=exc)
    if run_id is not None:
        BillingRun.objects.filter(pk=run_id).update(
            schedules_done=F("schedules_done") + len(schedule_ids),
            drafts_created=F("drafts_created") + created,
            errors=F("errors") + errors,
            batches_done=F("batches_done") + 1,
        )
        BillingRun.objects.filter(pk=run_id, batches_done__gte=F("batches_total")).exclude(
            status=BillingRun.Status.DONE
        ).update(status=BillingRun.Status.DONE, finished_at=timezone.now())
    return created
