"""The rows written in a transaction are the outbox; the task sent after commit is only the fast path.

With the broker down every dispatch fails: approvals, payments and emails still commit, and the periodic sweeps
(`email_sweep`, `pdf_sweep`) deliver each email and render each missing PDF once when they run.
"""

import datetime

import pytest
import time_machine
from kombu.exceptions import OperationalError

from invoicing import dispatch
from invoicing.models import EmailLog, Invoice, InvoiceDocument
from invoicing.services.configuration import settings_update
from invoicing.services.documents import (
    PDF_SWEEP_GRACE,
    PDF_SWEEP_HORIZON,
    invoice_pdf,
    invoice_pdf_render,
    pdf_due_for_render,
    state_key,
)
from invoicing.services.emails import EMAIL_SWEEP_GRACE, email_due_for_retry, invoice_email_send
from invoicing.services.invoices import invoice_create_prepaid, invoice_void
from invoicing.services.payments import payment_record, payment_reverse
from invoicing.tasks import email_sweep, pdf_sweep
from tests.factories import AccountFactory

D = datetime.date
NOW = datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC)
AFTER_GRACE = max(EMAIL_SWEEP_GRACE, PDF_SWEEP_GRACE) + datetime.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def broker_down(monkeypatch):
    """Every dispatch fails as a publish to an unreachable broker does."""
    sent = []

    def unreachable(name, *args):
        sent.append(name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(dispatch, "task_send", unreachable)
    return sent


def prepaid(admin, account, amount="100.00", **kw):
    return invoice_create_prepaid(
        tenant=admin.tenant, account_id=account.id, actor_id=None, recharge_amount=amount, **kw
    )


def test_broker_outage_loses_no_email_and_no_pdf_the_sweeps_deliver_each_once(
    admin, smtp, broker_down, frozen, django_capture_on_commit_callbacks
):
    # Given a broker that refuses every dispatch, and invoice emails sent on approval
    settings_update(tenant=admin.tenant, actor_id=None, email_on_approval=True)
    first, second = AccountFactory(tenant=admin.tenant), AccountFactory(tenant=admin.tenant)
    with django_capture_on_commit_callbacks(execute=True):
        approved = prepaid(admin, first)
    with django_capture_on_commit_callbacks(execute=True):
        paid = prepaid(admin, second, amount="80.00")
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(
            tenant=admin.tenant,
            invoice_id=paid.id,
            actor_id=None,
            amount="30.00",
            payment_date=D(2026, 3, 20),
            payment_type="cash",
        )
    frozen.shift(datetime.timedelta(seconds=61))  # a deliberate second send (one per minute at most)
    with django_capture_on_commit_callbacks(execute=True):
        resent = invoice_email_send(tenant=admin.tenant, invoice_id=approved.id, actor_id=None)

    # Then everything committed, and nothing went out
    assert broker_down.count(dispatch.DELIVER_EMAIL) == 3 and broker_down.count(dispatch.RENDER_INVOICE_PDF) == 3
    assert list(Invoice.objects.order_by("id").values_list("status", "amount_paid")) == [
        ("approved", 0),
        ("approved", 30),
    ]
    assert list(EmailLog.objects.values_list("status", "attempts")) == [("queued", 0)] * 3
    assert InvoiceDocument.objects.count() == 0 and smtp.messages == []

    # When the sweeps run (the PDF sweep first, so that no email delivery renders a PDF on its way)
    frozen.shift(AFTER_GRACE)
    rendered = pdf_sweep()
    delivered = email_sweep()

    # Then each invoice has its current state rendered once and each email went out once, with that PDF
    assert (rendered, delivered) == (2, 3)
    for invoice in Invoice.objects.all():
        assert list(InvoiceDocument.objects.filter(invoice=invoice).values_list("version", "state_key")) == [
            (1, state_key(invoice))
        ]
    assert list(EmailLog.objects.values_list("status", "attempts")) == [("sent", 1)] * 3
    assert sorted(m["To"] for m in smtp.messages) == sorted([first.billing_email] * 2 + [second.billing_email])
    assert all([a.get_filename() for a in m.iter_attachments()] for m in smtp.messages)
    assert EmailLog.objects.get(pk=resent.id).sent_at is not None

    # And running the sweeps again does nothing more
    frozen.shift(datetime.timedelta(minutes=5))
    assert (pdf_sweep(), email_sweep()) == (0, 0)
    assert InvoiceDocument.objects.count() == 2 and len(smtp.messages) == 3


def test_email_sweep_leaves_a_fresh_email_to_its_task_for_the_grace_period(admin, user, frozen):
    invoice = prepaid(admin, user)
    entry = invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)  # dispatch never runs

    frozen.shift(EMAIL_SWEEP_GRACE - datetime.timedelta(seconds=1))
    assert email_due_for_retry() == []
    frozen.shift(datetime.timedelta(seconds=2))
    assert email_due_for_retry() == [entry.id]


def test_email_sweep_takes_the_oldest_waiting_email_first(admin, user, frozen):
    first, second, third = prepaid(admin, user), prepaid(admin, user), prepaid(admin, user)
    older = invoice_email_send(tenant=admin.tenant, invoice_id=first.id, actor_id=None)
    frozen.shift(datetime.timedelta(seconds=10))
    newer = invoice_email_send(tenant=admin.tenant, invoice_id=second.id, actor_id=None)
    retried = invoice_email_send(tenant=admin.tenant, invoice_id=third.id, actor_id=None)
    EmailLog.objects.filter(pk=retried.id).update(attempts=1, next_attempt_at=NOW + datetime.timedelta(seconds=5))

    frozen.shift(AFTER_GRACE)
    assert email_due_for_retry() == [older.id, retried.id, newer.id]
    assert email_due_for_retry(limit=1) == [older.id]


def test_pdf_sweep_renders_only_approved_invoices_whose_current_state_has_no_version(admin, user, frozen):
    # Given invoices whose render after commit never ran (a non-transactional test fires no on-commit callback)
    rendered = prepaid(admin, user)
    invoice_pdf_render(invoice_id=rendered.id)
    unrendered = prepaid(admin, user)
    paid_after_render = prepaid(admin, user)
    invoice_pdf_render(invoice_id=paid_after_render.id)
    pay(admin, paid_after_render, "40.00")
    reversed_after_render = prepaid(admin, user)
    payment = pay(admin, reversed_after_render, "40.00")
    invoice_pdf_render(invoice_id=reversed_after_render.id)
    payment_reverse(tenant=admin.tenant, payment_id=payment.id, actor_id=None, reason="bounced")
    prepaid(admin, user, as_draft=True)
    void = prepaid(admin, user)
    invoice_void(tenant=admin.tenant, invoice_id=void.id, actor_id=None, reason="wrong amount")

    # When the sweep runs after the grace period
    frozen.shift(AFTER_GRACE)
    due = pdf_due_for_render()
    swept = pdf_sweep()

    # Then exactly the approved invoices whose current state has no version are rendered, once
    assert due == [unrendered.id, paid_after_render.id, reversed_after_render.id]
    assert swept == 3
    for invoice in Invoice.objects.filter(status="approved"):
        assert InvoiceDocument.objects.filter(invoice=invoice, state_key=state_key(invoice)).count() == 1
    assert list(InvoiceDocument.objects.order_by("invoice_id", "version").values_list("invoice_id", "version")) == [
        (rendered.id, 1),
        (unrendered.id, 1),
        (paid_after_render.id, 1),
        (paid_after_render.id, 2),
        (reversed_after_render.id, 1),
        (reversed_after_render.id, 2),
    ]
    assert pdf_due_for_render() == [] and pdf_sweep() == 0


def test_pdf_sweep_takes_a_bounded_batch_oldest_change_first_after_the_grace_period(admin, user, frozen):
    a = prepaid(admin, user)
    frozen.shift(datetime.timedelta(seconds=10))
    b = prepaid(admin, user)
    frozen.shift(datetime.timedelta(seconds=10))
    c = prepaid(admin, user)
    frozen.shift(datetime.timedelta(seconds=10))
    pay(admin, a, "10.00")  # its newest state is the youngest change

    assert pdf_due_for_render() == []  # every change is younger than the grace period: the task should win
    frozen.shift(PDF_SWEEP_GRACE - datetime.timedelta(seconds=5))
    assert pdf_due_for_render() == [b.id, c.id]
    frozen.shift(datetime.timedelta(seconds=10))
    assert pdf_due_for_render() == [b.id, c.id, a.id]
    assert pdf_due_for_render(limit=2) == [b.id, c.id]


def pay(admin, invoice, amount):
    return payment_record(
        tenant=admin.tenant,
        invoice_id=invoice.id,
        actor_id=None,
        amount=amount,
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )


def test_pdf_sweep_looks_back_over_its_horizon_and_a_download_renders_anything_older(admin, user, frozen):
    invoice = prepaid(admin, user)
    frozen.shift(PDF_SWEEP_HORIZON + datetime.timedelta(seconds=1))
    assert pdf_due_for_render() == []

    name, content = invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)
    assert (name, content[:4]) == ("INV-2026-00001.pdf", b"%PDF")
    assert InvoiceDocument.objects.filter(invoice=invoice).count() == 1


def test_beat_runs_both_sweeps_every_minute(settings):
    from celery import current_app

    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert (schedule["invoicing.tasks.email_sweep"], schedule["invoicing.tasks.pdf_sweep"]) == (60, 60)
    assert {"invoicing.tasks.email_sweep", "invoicing.tasks.pdf_sweep"} <= set(current_app.tasks)
