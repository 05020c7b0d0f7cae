"""The broker is unreachable while invoices are approved, emailed and paid, then comes back: the periodic sweeps
deliver every email and render every missing PDF exactly once.

Real services: PostgreSQL, the product's own dispatch (`invoicing.dispatch.task_send`, Celery's publish with its
retry policy) against a broker URL whose port nothing listens on, then Redis as the broker of a
`celery -A config worker` process with the production settings and a real SMTP server (aiosmtpd). Every task sent
after commit during the outage is lost; the test sends the sweeps by name every few seconds, as Celery beat would.
"""

import datetime
import logging
import time
from collections import Counter

import pytest
from django.db.models import F
from django.utils import timezone

from config.celery import app
from invoicing.models import EmailLog, Invoice, InvoiceDocument
from invoicing.services.configuration import settings_update
from invoicing.services.documents import PDF_SWEEP_GRACE, state_key
from invoicing.services.emails import EMAIL_SWEEP_GRACE
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record
from tests.conftest import requires_postgres
from tests.distributed.helpers import wait_for
from tests.factories import AccountFactory, LicenseFactory, TenantFactory
from tests.smtp import SmtpServer, free_port

USERS = 4
SWEEP_EVERY = 2


@pytest.fixture(params=["redis", "amqp"])
def unreachable_broker(request, monkeypatch):
    """This process sends tasks to a broker (not eagerly) whose port is closed, for Redis and for RabbitMQ URLs."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0" if request.param == "redis" else f"amqp://guest:guest@127.0.0.1:{port}//"
    before = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url=url)
    # The app's connection pools are made on first use: fresh ones for the unreachable URL, dropped afterwards.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    try:
        yield url
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.update(before)


def backdate(seconds: float) -> None:
    """The outage lasted longer than the sweeps' grace periods (which leave fresh rows to their own tasks)."""
    EmailLog.objects.update(created_at=F("created_at") - datetime.timedelta(seconds=seconds))
    Invoice.objects.update(updated_at=F("updated_at") - datetime.timedelta(seconds=seconds))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_mail_and_pdfs_dispatched_while_the_broker_is_down_are_delivered_once_by_the_sweeps(
    unreachable_broker, redis_broker, celery_client, workers, queue_name, caplog
):
    # Given invoice emails on approval, and a broker nobody can reach
    tenant = TenantFactory()
    LicenseFactory(tenant=tenant)
    settings_update(tenant=tenant, actor_id=None, email_on_approval=True)
    accounts = [AccountFactory(tenant=tenant) for _ in range(USERS)]

    # When invoices are approved (each emailed on approval) and half of them paid in part
    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        invoices = [
            invoice_create_prepaid(tenant=tenant, account_id=a.id, actor_id=None, recharge_amount=f"{40 + i}.00")
            for i, a in enumerate(accounts)
        ]
        for invoice in invoices[::2]:
            payment_record(
                tenant=tenant,
                invoice_id=invoice.id,
                actor_id=None,
                amount="10.00",
                payment_date=timezone.localdate(),
                payment_type="cash",
            )

    # Then every change committed although every dispatch failed
    lost = [r for r in caplog.records if "in on_commit()" in r.getMessage()]
    assert len(lost) == 2 * USERS + USERS // 2, [r.getMessage() for r in caplog.records]
    assert all(r.exc_info and "OperationalError" in type(r.exc_info[1]).__name__ for r in lost)
    assert Invoice.objects.filter(tenant=tenant, status="approved").count() == USERS
    assert sorted(Invoice.objects.filter(tenant=tenant).values_list("amount_paid", flat=True)) == sorted(
        [10, 0] * (USERS // 2)
    )
    assert list(EmailLog.objects.values_list("status", "attempts")) == [("queued", 0)] * USERS
    assert not InvoiceDocument.objects.exists()

    # When the broker is back (a worker on Redis) and beat sends the sweeps
    backdate(max(EMAIL_SWEEP_GRACE, PDF_SWEEP_GRACE).total_seconds() + 5)
    server = SmtpServer().start()
    workers.start(queues=[queue_name, "celery"], EMAIL_HOST="127.0.0.1", EMAIL_PORT=server.port, EMAIL_TIMEOUT=5)
    last_sweep = 0.0

    def sweep():
        nonlocal last_sweep
        if time.monotonic() - last_sweep >= SWEEP_EVERY:
            celery_client.send_task("invoicing.tasks.pdf_sweep", queue=queue_name)
            celery_client.send_task("invoicing.tasks.email_sweep", queue=queue_name)
            last_sweep = time.monotonic()

    def all_done():
        sweep()
        current = all(
            InvoiceDocument.objects.filter(invoice=invoice, state_key=state_key(invoice)).exists()
            for invoice in Invoice.objects.filter(tenant=tenant)
        )
        return current and not EmailLog.objects.exclude(status="sent").exists()

    try:
        wait_for(all_done, timeout=90, interval=0.2, what="every email sent and every PDF rendered")
        # And running the sweeps again does nothing more (leave time for a second copy, if one could be made)
        settle_ends = time.monotonic() + 3 * SWEEP_EVERY
        while time.monotonic() < settle_ends:
            sweep()
            time.sleep(0.2)
    finally:
        server.stop()

    # Then each email went out once, with its invoice, and each invoice's current state has one stored version
    recipients = {a.billing_email for a in accounts}
    assert Counter(address for m in server.messages for address in m.get_all("To", [])) == dict.fromkeys(recipients, 1)
    assert all(len(list(m.iter_attachments())) == 1 for m in server.messages)
    assert list(EmailLog.objects.values_list("status", "attempts")) == [("sent", 1)] * USERS
    for invoice in Invoice.objects.filter(tenant=tenant):
        assert list(InvoiceDocument.objects.filter(invoice=invoice).values_list("version", "state_key")) == [
            (1, state_key(invoice))
        ]
