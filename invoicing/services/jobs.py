"""Background jobs with progress (bulk reminders, large reports): created in a request, run by a worker."""

from __future__ import annotations

import logging

from django.utils import timezone

from msgplatform.core.errors import NotFound

from .. import events
from ..dispatch import RUN_JOB, task_send_after_commit
from ..models import Job

log = logging.getLogger(__name__)


def job_dispatch(job_id: int) -> None:
    task_send_after_commit(RUN_JOB, job_id)


def job_run(*, job_id: int) -> None:
    """Run a queued job once: the conditional UPDATE makes a duplicated task a no-op."""
    if not Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING):
        return
    job = Job.objects.select_related("tenant").get(pk=job_id)
    try:
        if job.kind == "bulk_reminder":
            from .reminders import bulk_reminder_run

            message = bulk_reminder_run(job)
        elif job.kind == "invoice_report":
            from .reports import invoice_report_run

            message = invoice_report_run(job)
        else:
            raise ValueError(f"unknown job kind {job.kind}")
    except Exception as exc:  # noqa: BLE001 - the job row shows the failure
        log.exception("job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
        events.job_failed(job, error=exc)
        return
    Job.objects.filter(pk=job_id).update(status=Job.Status.DONE, message=message, finished_at=timezone.now())


def job_get(*, tenant, job_id) -> Job:
    job = Job.objects.filter(tenant=tenant, pk=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    return job
