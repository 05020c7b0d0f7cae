"""Background jobs with progress (bulk reminders, large reports): created in a request, run by a worker."""

from __future__ import annotations

import logging

from django.utils import timezone
from django.utils.module_loading import import_string

from msgplatform.core.errors import Conflict, NotFound

from .. import events
from ..dispatch import RUN_JOB, task_send_after_commit
from ..models import Job

log = logging.getLogger(__name__)

# What runs each kind of job, by name: the services that create jobs (reminders, reports) dispatch them through
# this module, so it names them rather than importing them.
JOB_RUNNERS = {
    "bulk_reminder": "invoicing.services.reminders.bulk_reminder_run",
    "invoice_report": "invoicing.services.reports.invoice_report_run",
}


def job_dispatch(job_id: int) -> None:
    task_send_after_commit(RUN_JOB, job_id)


def job_run(*, job_id: int) -> None:
    """Run a queued job once: the conditional UPDATE makes a duplicated task a no-op."""
    if not Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING):
        return
    job = Job.objects.select_related("tenant").get(pk=job_id)
    try:
        runner = JOB_RUNNERS.get(job.kind)
        if runner is None:
            raise ValueError(f"unknown job kind {job.kind}")
        message = import_string(runner)(job)
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


def job_result(*, tenant, job_id) -> tuple[str, bytes]:
    """(file name, bytes) of a job that wrote a file (a large invoice report); Conflict while it has none."""
    job = job_get(tenant=tenant, job_id=job_id)
    if job.result is None or not job.result_name:
        raise Conflict(f"Job {job.pk} has no file (status {job.status}).", code="no_result")
    return job.result_name, bytes(job.result)
