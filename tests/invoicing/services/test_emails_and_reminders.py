import datetime

import pytest
import time_machine

from invoicing.models import EmailLog, Job
from invoicing.services.configuration import settings_update
from invoicing.services.emails import (
    email_deliver,
    email_due_for_retry,
    invoice_email_send,
    template_preview,
    template_update,
)
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record
from invoicing.services.reminders import auto_reminders_run, bulk_reminder_preview, bulk_reminder_start
from msgplatform.core.errors import Conflict, ValidationFailed
from msgplatform.core.models import Event
from tests.factories import AccountFactory
from tests.smtp import SmtpServer

D = datetime.date
NOW = datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def prepaid(admin, account, amount="100.00", **kw):
    return invoice_create_prepaid(
        tenant=admin.tenant, account_id=account.id, actor_id=None, recharge_amount=amount, **kw
    )


def test_invoice_email_is_logged_then_delivered_with_its_pdf(admin, user, smtp, django_capture_on_commit_callbacks):
    invoice = prepaid(admin, user)
    with django_capture_on_commit_callbacks(execute=True):
        entry = invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=admin.login.id)

    entry.refresh_from_db()
    assert (entry.status, entry.attempts, entry.recipient) == ("sent", 1, user.billing_email)
    [message] = smtp.messages
    assert message["Subject"] == f"Invoice INV-2026-00001 from {admin.tenant.name}"
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["INV-2026-00001.pdf"]
    assert attachments[0].get_content().startswith(b"%PDF")
    assert "$100.00" in message.get_body(("plain",)).get_content()
    assert Event.objects.filter(kind="email.sent", subject_id=entry.id).exists()


def test_smtp_down_then_back_delivers_once(admin, user, settings, frozen):
    server = SmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 2
    invoice = prepaid(admin, user)
    entry = invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)

    assert email_deliver(log_id=entry.id) == "retry"
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("queued", 1) and "Connection refused" in entry.last_error
    assert email_due_for_retry() == []  # not before its backoff

    server.start()
    try:
        frozen.shift(datetime.timedelta(minutes=2))
        due = email_due_for_retry()
        assert due == [entry.id]
        assert [email_deliver(log_id=i) for i in due] == ["sent"]
        assert email_deliver(log_id=entry.id) == "skipped"  # a duplicated task sends nothing
    finally:
        server.stop()
    assert len(server.messages) == 1


def test_final_failure_is_visible_in_the_event_log(admin, user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", SmtpServer().port, 1
    entry = invoice_email_send(tenant=admin.tenant, invoice_id=prepaid(admin, user).id, actor_id=None)

    outcomes = []
    for _ in range(5):
        EmailLog.objects.filter(pk=entry.id, status="queued").update(next_attempt_at=None)
        outcomes.append(email_deliver(log_id=entry.id))

    assert outcomes == ["retry", "retry", "retry", "retry", "failed"]
    assert EmailLog.objects.get(pk=entry.id).status == "failed"
    assert Event.objects.get(kind="email.failed").level == "error"


def test_email_on_approval_queues_the_invoice_email(admin, user):
    settings_update(tenant=admin.tenant, actor_id=None, email_on_approval=True)
    invoice = prepaid(admin, user)
    assert list(EmailLog.objects.values_list("trigger", "status")) == [("approval", "queued")]
    assert list(EmailLog.objects.get().invoices.all()) == [invoice]


def test_drafts_are_not_emailed_and_users_without_email_are_refused(admin, user):
    draft = prepaid(admin, user, as_draft=True)
    with pytest.raises(ValidationFailed):
        invoice_email_send(tenant=admin.tenant, invoice_id=draft.id, actor_id=None)
    nomail = AccountFactory(tenant=admin.tenant, email="", billing_email="")
    with pytest.raises(ValidationFailed) as error:
        invoice_email_send(tenant=admin.tenant, invoice_id=prepaid(admin, nomail).id, actor_id=None)
    assert error.value.code == "no_recipient"
    assert EmailLog.objects.count() == 0


def test_templates_validate_placeholders_and_preview(admin):
    with pytest.raises(ValidationFailed) as error:
        template_update(tenant=admin.tenant, kind="invoice", subject="Bill {nope}", body="x", actor_id=None)
    assert error.value.field == "subject"
    template_update(
        tenant=admin.tenant,
        kind="invoice",
        subject="Your bill {invoice_number}",
        body="Pay {balance_due} by {due_date}",
        actor_id=None,
    )
    subject, body = template_preview(tenant=admin.tenant, kind="invoice")
    assert (subject, body) == ("Your bill INV-2026-00042", "Pay $575.00 by 2026-03-16")


def test_bulk_reminder_pressed_twice_sends_one_email_per_user(admin, user, smtp, django_capture_on_commit_callbacks):
    second_user = AccountFactory(tenant=admin.tenant)
    paid_user = AccountFactory(tenant=admin.tenant)
    prepaid(admin, user)
    prepaid(admin, user, amount="50.00")
    prepaid(admin, second_user)
    paid = prepaid(admin, paid_user)
    payment_record(
        tenant=admin.tenant,
        invoice_id=paid.id,
        actor_id=None,
        amount="100.00",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )

    preview = bulk_reminder_preview(tenant=admin.tenant)
    assert [(r.account.id, len(r.invoices), r.total_due) for r in preview] == sorted(
        [(user.id, 2, 150), (second_user.id, 1, 100)],
        key=lambda t: [a.name for a in (user, second_user) if a.id == t[0]][0],
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = bulk_reminder_start(tenant=admin.tenant, actor_id=None)
    with django_capture_on_commit_callbacks(execute=True):
        second = bulk_reminder_start(tenant=admin.tenant, actor_id=None)

    assert len(smtp.messages) == 2
    assert sorted(m["To"] for m in smtp.messages) == sorted([user.billing_email, second_user.billing_email])
    to_user = next(m for m in smtp.messages if m["To"] == user.billing_email)
    assert len(list(to_user.iter_attachments())) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.done, first.total) == ("done", 2, 2)
    assert "0 reminder(s) sent, 2 skipped" in second.message
    assert Job.objects.count() == 2


def test_overdue_only_reminder_selects_overdue_invoices(admin, user):
    prepaid(admin, user, invoice_date=D(2026, 2, 1), due_date=D(2026, 2, 15))
    other = AccountFactory(tenant=admin.tenant)
    prepaid(admin, other)
    assert [r.account for r in bulk_reminder_preview(tenant=admin.tenant, overdue_only=True)] == [user]


def test_no_recipients_is_refused(admin):
    with pytest.raises(ValidationFailed):
        bulk_reminder_start(tenant=admin.tenant, actor_id=None)


def test_automatic_reminders_follow_the_policy_once_a_day_up_to_the_maximum(admin, user):
    settings_update(
        tenant=admin.tenant,
        actor_id=None,
        reminders_enabled=True,
        remind_days_before_due=3,
        remind_every_days_overdue=7,
        remind_max=2,
    )
    prepaid(admin, user, invoice_date=D(2026, 3, 1), due_date=D(2026, 3, 23))

    assert auto_reminders_run(tenant=admin.tenant, as_of=D(2026, 3, 20)) == 1  # 3 days before due
    assert auto_reminders_run(tenant=admin.tenant, as_of=D(2026, 3, 20)) == 0  # same day again
    assert auto_reminders_run(tenant=admin.tenant, as_of=D(2026, 3, 22)) == 0  # nothing due that day
    assert auto_reminders_run(tenant=admin.tenant, as_of=D(2026, 3, 23)) == 1  # due date
    assert auto_reminders_run(tenant=admin.tenant, as_of=D(2026, 3, 30)) == 0  # max reached
    assert list(EmailLog.objects.values_list("kind", "trigger").distinct()) == [("reminder", "automatic")]


def test_email_invoice_pressed_twice_within_a_minute_sends_once(admin, user, frozen):
    invoice = prepaid(admin, user)
    first = invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)

    with pytest.raises(Conflict) as again:
        invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)

    assert again.value.code == "email_recent" and user.billing_email in again.value.message
    assert list(EmailLog.objects.values_list("id", flat=True)) == [first.id]
    frozen.shift(datetime.timedelta(seconds=61))
    assert invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None).id != first.id
