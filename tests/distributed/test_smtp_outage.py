"""The mail server is down when a bulk reminder runs, then comes back: every reminder is delivered exactly once.

Real services: PostgreSQL, Redis as the broker, a `celery -A config worker` process with the production settings
and the SMTP backend pointed at a port where nothing listens yet, and a real SMTP server (aiosmtpd) started on that
port a few seconds after the first deliveries failed. Delivery is retried by the worker's own task retries
(countdown, INVOICING_EMAIL_BACKOFF_SECONDS=1) and by the periodic sweep, which the test sends every few seconds
as Celery beat would.

The last test pins down a bug this test once found: a duplicated delivery task must not spend a retry attempt
before its backoff.
"""

import time
from collections import Counter

import pytest
from django.db import transaction

from invoicing.models import EmailLog, Job, ReminderSlot
from invoicing.services import jobs
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.reminders import bulk_reminder_start
from tests.conftest import requires_postgres
from tests.distributed.helpers import wait_for
from tests.factories import AccountFactory, LicenseFactory, TenantFactory
from tests.smtp import SmtpServer, free_port

USERS = 20
OUTAGE_SECONDS = 5
SWEEP_EVERY = 3


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_reminders_queued_while_smtp_is_down_are_delivered_once_when_it_is_back(
    redis_broker, celery_client, workers, queue_name, monkeypatch
):
    tenant = TenantFactory()
    LicenseFactory(tenant=tenant)
    accounts = [AccountFactory(tenant=tenant) for _ in range(USERS)]
    for i, account in enumerate(accounts):
        # Approved at once; its PDF is rendered here (the test process runs tasks eagerly) and stored.
        invoice_create_prepaid(tenant=tenant, account_id=account.id, actor_id=None, recharge_amount=f"{50 + i}.00")
    recipients = {a.billing_email for a in accounts}
    assert len(recipients) == USERS

    port = free_port()
    queues = [queue_name, "celery"]  # the worker's own .delay() and retries use the default queue of its database
    workers.start(
        queues=queues,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_TIMEOUT=2,
        INVOICING_EMAIL_BACKOFF_SECONDS=1,
        CELERY_VISIBILITY_TIMEOUT=60,  # above every retry countdown here, as the production default is
    )

    # The job must run in the worker, not in this (eager) process: the product's dispatcher registers the same
    # on-commit send, through the client app to the worker's queue. (django_capture_on_commit_callbacks cannot hold
    # the callback back here: with transaction=True the service's own atomic block commits and runs it at once.)
    def job_dispatch(job_id: int) -> None:
        transaction.on_commit(
            lambda: celery_client.send_task("invoicing.tasks.run_job", args=[job_id], queue=queue_name)
        )

    monkeypatch.setattr(jobs, "job_dispatch", job_dispatch)
    server = SmtpServer(port)
    last_sweep = 0.0

    def sweep():
        nonlocal last_sweep
        if time.monotonic() - last_sweep >= SWEEP_EVERY:
            celery_client.send_task("invoicing.tasks.email_sweep", queue=queue_name)
            last_sweep = time.monotonic()

    try:
        job = bulk_reminder_start(tenant=tenant, actor_id=None)

        def all_failed_once():
            sweep()
            logs = list(EmailLog.objects.filter(tenant=tenant).values_list("attempts", "last_error"))
            return len(logs) == USERS and all(attempts >= 1 and error for attempts, error in logs)

        def first_failure():
            sweep()
            return EmailLog.objects.filter(tenant=tenant, attempts__gte=1).exclude(last_error="").exists()

        wait_for(first_failure, timeout=60, interval=0.05, what="a first delivery to fail")
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        wait_for(all_failed_once, timeout=60, interval=0.1, what="every reminder to fail a first time")
        assert "refused" in EmailLog.objects.filter(tenant=tenant).first().last_error.lower()
        assert not EmailLog.objects.filter(tenant=tenant, status="sent").exists()

        while time.monotonic() < outage_ends:
            sweep()
            time.sleep(0.1)
        attempts_before = dict(EmailLog.objects.filter(tenant=tenant).values_list("id", "attempts"))
        server.start()

        def all_settled():
            sweep()
            return not EmailLog.objects.filter(tenant=tenant).exclude(status__in=("sent", "failed")).exists()

        wait_for(all_settled, timeout=60, interval=0.1, what="every reminder to be sent")
        # Leave time for a duplicated task (retry, sweep) to send a second copy, if it could.
        settle_ends = time.monotonic() + SWEEP_EVERY + 2
        while time.monotonic() < settle_ends:
            sweep()
            time.sleep(0.1)
    finally:
        server.stop()

    logs = list(EmailLog.objects.filter(tenant=tenant).values("id", "status", "attempts", "recipient", "last_error"))
    print(
        f"\n[smtp outage] attempts before the server came back: {sorted(Counter(attempts_before.values()).items())}; "
        f"attempts in total: {sorted(Counter(entry['attempts'] for entry in logs).items())}"
    )
    assert [entry for entry in logs if entry["status"] != "sent"] == []
    assert len(logs) == USERS
    assert {entry["recipient"] for entry in logs} == recipients
    delivered = Counter(address for message in server.messages for address in message.get_all("To", []))
    assert delivered == dict.fromkeys(recipients, 1)
    assert len(server.messages) == USERS
    assert all(message["Subject"] == f"Payment reminder from {tenant.name}" for message in server.messages)
    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.done, job.total) == ("done", USERS, USERS)
    assert ReminderSlot.objects.filter(tenant=tenant).count() == USERS


@pytest.mark.django_db
def test_a_duplicated_delivery_task_does_not_spend_an_attempt_before_the_backoff(settings):
    from invoicing.services.emails import email_deliver, invoice_email_send

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1  # nothing listens
    tenant = TenantFactory()
    LicenseFactory(tenant=tenant)
    account = AccountFactory(tenant=tenant)
    invoice = invoice_create_prepaid(tenant=tenant, account_id=account.id, actor_id=None, recharge_amount="10.00")
    entry = invoice_email_send(tenant=tenant, invoice_id=invoice.id, actor_id=None)  # delivered after commit: never

    assert email_deliver(log_id=entry.id) == "retry"  # attempt 1 fails; the next one is due in 30 s
    # A second task for the same row arrives at once: it should leave the row to its retry, not try again now.
    outcome = email_deliver(log_id=entry.id)
    entry.refresh_from_db()
    assert (entry.attempts, outcome != "retry") == (1, True), f"attempt {entry.attempts} spent at once: {outcome}"
