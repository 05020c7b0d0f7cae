"""Celery tasks of the invoicing plugin: thin, load by id, call a service. Idempotent and acknowledged late."""

import datetime
import logging

from celery import shared_task

from msgplatform.accounts.models import Tenant

from .services.billing_runs import batch_dispatch, billing_batch_run, billing_run_start
from .services.documents import PdfFailed, invoice_pdf_render, pdf_due_for_render
from .services.emails import email_deliver, email_due_for_retry, email_retry_backoff
from .services.idempotency import idempotency_keys_expire
from .services.jobs import job_run
from .services.reminders import auto_reminders_run

log = logging.getLogger(__name__)


@shared_task(name="invoicing.tasks.billing_tick")
def billing_tick() -> int:
    """Periodic (Celery beat): one run over every tenant, one task per batch of schedules; then reminders."""
    run_id = billing_run_start(dispatch=batch_dispatch).id
    for tenant_id in Tenant.objects.filter(is_active=True).values_list("id", flat=True):
        reminder_tick.delay(tenant_id)
    return run_id


@shared_task(name="invoicing.tasks.run_billing_batch", acks_late=True)
def run_billing_batch(run_id: int, schedule_ids: list[int], as_of: str | None) -> int:
    return billing_batch_run(
        run_id=run_id, schedule_ids=schedule_ids, as_of=datetime.date.fromisoformat(as_of) if as_of else None
    )


@shared_task(name="invoicing.tasks.reminder_tick", acks_late=True)
def reminder_tick(tenant_id: int) -> int:
    return auto_reminders_run(tenant=Tenant.objects.get(pk=tenant_id))


@shared_task(name="invoicing.tasks.render_invoice_pdf", acks_late=True)
def render_invoice_pdf(invoice_id: int) -> None:
    try:
        invoice_pdf_render(invoice_id=invoice_id)
    except PdfFailed as failure:
        # Already an error event on the invoice (its page offers Retry); the PDF sweep tries the state again.
        log.warning("%s", failure.message)


@shared_task(name="invoicing.tasks.deliver_email", bind=True, acks_late=True, max_retries=None)
def deliver_email(self, log_id: int) -> str:
    outcome = email_deliver(log_id=log_id)
    if outcome == "retry" and not self.request.is_eager:
        from .models import EmailLog

        attempts = EmailLog.objects.filter(pk=log_id).values_list("attempts", flat=True).first() or 1
        raise self.retry(countdown=email_retry_backoff(attempts))
    return outcome


@shared_task(name="invoicing.tasks.run_job", acks_late=True)
def run_job(job_id: int) -> None:
    job_run(job_id=job_id)


@shared_task(name="invoicing.tasks.email_sweep")
def email_sweep() -> int:
    """Periodic: deliver queued emails whose retry time has come, or whose first task never ran."""
    ids = email_due_for_retry()
    for log_id in ids:
        deliver_email.delay(log_id)
    return len(ids)


@shared_task(name="invoicing.tasks.pdf_sweep")
def pdf_sweep() -> int:
    """Periodic: render approved invoices whose current state has no stored PDF (its render task was lost)."""
    ids = pdf_due_for_render()
    for invoice_id in ids:
        render_invoice_pdf.delay(invoice_id)
    return len(ids)


@shared_task(name="invoicing.tasks.housekeeping")
def housekeeping() -> int:
    """Periodic: forget idempotency keys older than their 24 h window."""
    return idempotency_keys_expire()
