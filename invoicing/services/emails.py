"""Invoice, credit-note and reminder emails: per-admin templates, the send log, delivery with retries.

Mail never leaves inside a database transaction: services write an EmailLog row (queued) and hand its id to a
Celery task after commit. The row is the outbox and the task only the fast path: the periodic sweep delivers every
queued row whose task did not (broker down, worker lost). Delivery takes the row with a conditional UPDATE
(queued -> sending), so a duplicated task, or the task racing the sweep, cannot send twice; a failure puts it back to
queued with the error, and the task retries with backoff; after the last attempt the row is failed and an error
event shows it in the Event Viewer.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings as django_settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from msgplatform.core.errors import Conflict, DomainError, ValidationFailed
from msgplatform.core.http import safe_filename

from .. import events
from ..conf import setting
from ..dispatch import DELIVER_EMAIL, task_send_after_commit
from ..locks import invoice_lock
from ..models import CreditNote, EmailKind, EmailLog, EmailStatus, EmailTemplate, Invoice
from ..money import money_format
from ..rules import due_status
from ..selectors.activity import email_log_get
from ..selectors.credits import credit_note_get
from .configuration import settings_for

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
# A queued email's own task normally delivers it within seconds; the sweep takes it after this (the task was lost).
EMAIL_SWEEP_GRACE = timedelta(seconds=60)

DEFAULT_TEMPLATES = {
    EmailKind.INVOICE: (
        "Invoice {invoice_number} from {business_name}",
        "Hello {user_name},\n\nPlease find attached invoice {invoice_number} dated {invoice_date} for {total}, "
        "due on {due_date}.\nBalance due: {balance_due}.\n\nThank you,\n{business_name}",
    ),
    EmailKind.REMINDER: (
        "Payment reminder from {business_name}",
        "Hello {user_name},\n\nThe following invoices are open:\n\n{invoices_table}\n\nTotal due: {total_due}.\n"
        "The invoices are attached.\n\nThank you,\n{business_name}",
    ),
    EmailKind.CREDIT_NOTE: (
        "Credit note {credit_note_number} for invoice {invoice_number}",
        "Hello {user_name},\n\nPlease find attached credit note {credit_note_number} dated {credit_note_date} for "
        "{total}, for invoice {invoice_number} of {invoice_date}.\nReason: {reason}\n"
        "Balance due on the invoice: {balance_due}.\n\nThank you,\n{business_name}",
    ),
}
PLACEHOLDERS = {
    EmailKind.INVOICE: [
        "business_name",
        "user_name",
        "invoice_number",
        "invoice_date",
        "due_date",
        "total",
        "balance_due",
        "period",
    ],
    EmailKind.REMINDER: ["business_name", "user_name", "invoices_table", "total_due", "invoice_count"],
    EmailKind.CREDIT_NOTE: [
        "business_name",
        "user_name",
        "credit_note_number",
        "credit_note_date",
        "invoice_number",
        "invoice_date",
        "total",
        "reason",
        "balance_due",
    ],
}


# Template syntax: `{name}` is a placeholder, `{{` and `}}` are literal braces, nothing else is interpreted (no format
# spec, conversion, index or attribute: `str.format` would run those on admin input). Rendering and checking read
# the same tokens, so what the check accepts renders exactly as `str.format` rendered it.
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BRACED = re.compile(r"\{\{|\}\}|\{[^{}]*\}|[{}]")
_QUOTED_AT_MOST = 40


def _quoted(text: str, start: int) -> str:
    """The braced text starting at `start`, up to its closing brace (nested ones counted), shortened for a message."""
    depth, end = 0, len(text)
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth <= 0:
            end = i + 1
            break
    snippet = text[start:end]
    return snippet if len(snippet) <= _QUOTED_AT_MOST else snippet[:_QUOTED_AT_MOST] + "…"


def template_problem(kind: str, text: str) -> str | None:
    """Why `text` is not a valid template of this kind, naming the first bad placeholder; None when it is valid."""
    allowed = PLACEHOLDERS[kind]
    for match in _BRACED.finditer(text):
        token = match.group()
        if token in ("{{", "}}"):
            continue
        if _TOKEN.fullmatch(token):
            if token[1:-1] in allowed:
                continue
            return (
                f"Unknown placeholder {_quoted(text, match.start())}. "
                f"Use: {', '.join('{' + name + '}' for name in allowed)}."
            )
        return (
            f"{_quoted(text, match.start())} is not a placeholder: write a placeholder as {{name}}, with nothing else "
            "between the braces (no format, conversion, index or attribute), and a literal brace as {{ or }}."
        )
    return None


def template_validate(kind: str, subject: str, body: str) -> None:
    for text, field in ((subject, "subject"), (body, "body")):
        problem = template_problem(kind, text)
        if problem:
            raise ValidationFailed(problem, field=field)


def template_render(text: str, values: dict) -> str:
    """`{name}` replaced by its value (as it is: a value is never read as a template), `{{` and `}}` by one brace."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return match.group()[0]
        return str(values[name]) if name in values else match.group()

    return _TOKEN.sub(substitute, text)


def template_for(tenant, kind: str) -> tuple[str, str]:
    row = EmailTemplate.objects.filter(tenant=tenant, kind=kind).first()
    return (row.subject, row.body) if row else DEFAULT_TEMPLATES[kind]


@transaction.atomic
def template_update(*, tenant, kind: str, subject: str, body: str, actor_id) -> EmailTemplate:
    if kind not in EmailKind.values:
        raise ValidationFailed("Unknown template.", field="kind")
    if not subject.strip():
        raise ValidationFailed("The subject cannot be empty.", field="subject")
    template_validate(kind, subject, body)
    row, _ = EmailTemplate.objects.update_or_create(
        tenant=tenant, kind=kind, defaults={"subject": subject.strip(), "body": body}
    )
    events.template_updated(row, actor_id=actor_id)
    return row


def invoice_email_values(invoice: Invoice) -> dict:
    fmt = lambda amount: money_format(amount, invoice.currency)  # noqa: E731
    settings = settings_for(invoice.tenant)
    return {
        "business_name": settings.business_name or invoice.tenant.name,
        "user_name": invoice.account.billing_name or invoice.account.name,
        "invoice_number": invoice.number or f"draft #{invoice.pk}",
        "invoice_date": f"{invoice.invoice_date:%Y-%m-%d}",
        "due_date": f"{invoice.due_date:%Y-%m-%d}",
        "total": fmt(invoice.total),
        "balance_due": fmt(invoice.balance_due),
        "period": (f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d}" if invoice.period_start else ""),
    }


def credit_note_email_values(note: CreditNote) -> dict:
    """The placeholders of a credit-note email: the note's own figures and its invoice's balance due now."""
    invoice = note.invoice
    settings = settings_for(note.tenant)
    return {
        "business_name": settings.business_name or note.tenant.name,
        "user_name": note.account.billing_name or note.account.name,
        "credit_note_number": note.number,
        "credit_note_date": f"{note.issue_date:%Y-%m-%d}",
        "invoice_number": invoice.number,
        "invoice_date": f"{invoice.invoice_date:%Y-%m-%d}",
        "total": money_format(note.total, note.currency),
        "reason": note.reason,
        "balance_due": money_format(invoice.balance_due, invoice.currency),
    }


def reminder_email_values(tenant, account, invoices: list[Invoice], today) -> dict:
    settings = settings_for(tenant)
    rows = []
    for inv in invoices:
        due = due_status(inv, today)
        late = f", overdue by {due.days_overdue} day(s)" if due.status == "overdue" else ""
        rows.append(f"- {inv.number}: {money_format(inv.balance_due, inv.currency)} due {inv.due_date:%Y-%m-%d}{late}")
    total = sum((inv.balance_due for inv in invoices), start=0)
    return {
        "business_name": settings.business_name or tenant.name,
        "user_name": account.billing_name or account.name,
        "invoices_table": "\n".join(rows),
        "total_due": money_format(total, tenant.currency),
        "invoice_count": str(len(invoices)),
    }


def template_preview(*, tenant, kind: str, subject: str | None = None, body: str | None = None) -> tuple[str, str]:
    """The template filled with sample values (unsaved edits when given)."""
    # Unsaved edits are checked as a save would check them. The stored template is never refused here: the page that
    # previews it is where an admin fixes one stored before placeholders were checked (its bad parts show as written).
    for text, field in ((subject, "subject"), (body, "body")):
        problem = template_problem(kind, text) if text is not None else None
        if problem:
            raise ValidationFailed(problem, field=field)
    saved_subject, saved_body = template_for(tenant, kind)
    subject, body = subject if subject is not None else saved_subject, body if body is not None else saved_body
    sample = {
        "business_name": settings_for(tenant).business_name or tenant.name,
        "user_name": "Example Customer Ltd",
        "invoice_number": "INV-2026-00042",
        "invoice_date": "2026-03-01",
        "due_date": "2026-03-16",
        "total": money_format(1075, tenant.currency),
        "balance_due": money_format(575, tenant.currency),
        "period": "2026-02-01 to 2026-02-28",
        "invoices_table": "- INV-2026-00042: 575.00 due 2026-03-16",
        "total_due": money_format(575, tenant.currency),
        "invoice_count": "1",
        "credit_note_number": "CN-2026-00007",
        "credit_note_date": "2026-03-20",
        "reason": "Wrong route price",
    }
    return template_render(subject, sample), template_render(body, sample)


def recipient_of(account) -> str:
    address = account.billing_email or account.email
    if not address:
        raise ValidationFailed(f"{account.name} has no billing email.", field="recipient", code="no_recipient")
    return address


def email_queue(
    *,
    tenant,
    account,
    kind: str,
    invoices: Iterable[Invoice],
    values: dict,
    actor_id=None,
    trigger: str = "manual",
    job=None,
    credit_note=None,
) -> EmailLog:
    """Write the log row (queued) and deliver it from a worker once the current transaction commits.

    A template stored before placeholders were checked may not render: the row is then written failed with the
    reason, an error event shows it, and the caller's change (an approval, a reminder run) goes on.
    """
    subject_tpl, body_tpl = template_for(tenant, kind)
    common = dict(
        tenant=tenant,
        account=account,
        kind=kind,
        trigger=trigger,
        requested_by_id=actor_id,
        job=job,
        credit_note=credit_note,
    )
    recipient = recipient_of(account)
    try:
        template_validate(kind, subject_tpl, body_tpl)
    except ValidationFailed as problem:
        error = (
            f"The {EmailKind(kind).label.lower()} email template cannot be used ({problem.field}): {problem.message}"
        )
        entry = EmailLog.objects.create(
            **common,
            recipient=recipient,
            subject=subject_tpl[:300],
            body=body_tpl,
            status=EmailStatus.FAILED,
            last_error=error,
        )
        entry.invoices.set(list(invoices))
        events.email_render_failed(entry, error=error)
        return entry
    entry = EmailLog.objects.create(
        **common,
        recipient=recipient,
        subject=" ".join(template_render(subject_tpl, values).split())[:300],  # one line, whatever a value holds
        body=template_render(body_tpl, values),
    )
    entry.invoices.set(list(invoices))
    task_send_after_commit(DELIVER_EMAIL, entry.pk)
    return entry


# The same invoice is emailed at most once in this window (a double click, two staff at once, the approval's own
# email followed by a press of "Email invoice").
EMAIL_REPEAT_WINDOW = timedelta(seconds=60)


def _refuse_repeat(emails, what: str) -> None:
    """Conflict email_recent when one of `emails` (of one document, read under its invoice's lock) was queued or
    sent within EMAIL_REPEAT_WINDOW; a failed one does not count, so it can be sent again at once."""
    recent = (
        emails.filter(created_at__gte=timezone.now() - EMAIL_REPEAT_WINDOW)
        .exclude(status=EmailStatus.FAILED)
        .order_by("-id")
        .first()
    )
    if recent is not None:
        raise Conflict(f"{what} was emailed to {recent.recipient} a moment ago; it is sent once.", code="email_recent")


@transaction.atomic
def invoice_email_send(*, tenant, invoice_id, actor_id, trigger: str = "manual") -> EmailLog:
    invoice = invoice_lock(tenant=tenant, invoice_id=invoice_id)  # serialises two presses of the button
    if invoice.status != "approved":
        raise ValidationFailed("Only approved invoices are emailed.", code="not_approved")
    _refuse_repeat(invoice.emails.filter(kind=EmailKind.INVOICE), f"Invoice {invoice}")
    entry = email_queue(
        tenant=tenant,
        account=invoice.account,
        kind=EmailKind.INVOICE,
        invoices=[invoice],
        values=invoice_email_values(invoice),
        actor_id=actor_id,
        trigger=trigger,
    )
    if entry.status == EmailStatus.QUEUED:
        events.email_queued(invoice, entry, actor_id=actor_id)
    return entry


@transaction.atomic
def credit_note_email_send(*, tenant, credit_note_id, actor_id, trigger: str = "manual") -> EmailLog:
    """Email a credit note (its PDF attached) to the user's billing email: the outbox row now, delivery after commit.

    At most once a minute per credit note, as for invoices: its invoice's row lock serialises two presses."""
    note = credit_note_get(tenant=tenant, credit_note_id=credit_note_id)
    invoice = invoice_lock(tenant=tenant, invoice_id=note.invoice_id)
    note.invoice = invoice  # the locked row: its balance due is what the email states
    _refuse_repeat(note.emails.filter(kind=EmailKind.CREDIT_NOTE), f"Credit note {note}")
    entry = email_queue(
        tenant=tenant,
        account=note.account,
        kind=EmailKind.CREDIT_NOTE,
        invoices=[invoice],
        values=credit_note_email_values(note),
        actor_id=actor_id,
        trigger=trigger,
        credit_note=note,
    )
    if entry.status == EmailStatus.QUEUED:
        events.email_queued(invoice, entry, actor_id=actor_id)
    return entry


def _attachments(entry: EmailLog) -> list[tuple[str, bytes]]:
    """(file name, PDF bytes) of what an email carries: its credit note, or else its invoices."""
    from .documents import credit_note_pdf, invoice_pdf

    if entry.credit_note_id is not None:
        note = entry.credit_note
        return [(f"{note.number}.pdf", credit_note_pdf(note))]
    return [invoice_pdf(tenant=entry.tenant, invoice_id=invoice.pk) for invoice in entry.invoices.order_by("id")]


def email_deliver(*, log_id: int) -> str:
    """Send one logged email: 'sent', 'retry' (failed, will be retried), 'failed' (gave up) or 'skipped'."""
    now = timezone.now()
    # Only a row whose retry time has come: a duplicated task (the sweep and the task's own retry) must not spend
    # an attempt before the backoff.
    taken = (
        EmailLog.objects.filter(pk=log_id, status=EmailStatus.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=EmailStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
    )
    if not taken:
        return "skipped"  # sent, being sent, or given up already
    entry = EmailLog.objects.select_related(
        "tenant", "account", "credit_note__tenant", "credit_note__invoice", "credit_note__account"
    ).get(pk=log_id)
    try:
        message = EmailMessage(
            subject=entry.subject, body=entry.body, to=[entry.recipient], from_email=django_settings.DEFAULT_FROM_EMAIL
        )
        for name, content in _attachments(entry):
            message.attach(safe_filename(name), content, "application/pdf")
        get_connection(fail_silently=False).send_messages([message])
    except Exception as exc:  # noqa: BLE001 - any delivery failure is logged and retried
        error = delivery_failure_reason(exc)[:2000]
        final = entry.attempts >= MAX_ATTEMPTS
        EmailLog.objects.filter(pk=log_id).update(
            status=EmailStatus.FAILED if final else EmailStatus.QUEUED,
            last_error=error,
            next_attempt_at=None if final else timezone.now() + timedelta(seconds=email_retry_backoff(entry.attempts)),
        )
        if final:
            events.email_failed(entry, error=error)
            return "failed"
        log.warning("email %s attempt %s failed: %s", log_id, entry.attempts, error)
        return "retry"
    EmailLog.objects.filter(pk=log_id).update(status=EmailStatus.SENT, sent_at=timezone.now(), last_error="")
    events.email_sent(entry)
    return "sent"


# What a delivery failure means, in the words the invoice page shows before the technical detail (the first kind that
# matches wins: the SMTP errors are OSErrors too).
DELIVERY_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (smtplib.SMTPRecipientsRefused, "the mail server refused the recipient's address"),
    (smtplib.SMTPSenderRefused, "the mail server refused the sender's address"),
    (smtplib.SMTPAuthenticationError, "the mail server refused our login"),
    (smtplib.SMTPServerDisconnected, "the mail server closed the connection"),
    (ConnectionRefusedError, "the mail server refused the connection"),
    (TimeoutError, "the mail server did not answer in time"),
    (OSError, "the mail server could not be reached"),
)


def delivery_failure_reason(exc: BaseException) -> str:
    """Why an email could not be delivered: plain words, then the technical detail in brackets ("the mail server
    refused the connection (ConnectionRefusedError: [Errno 111] Connection refused)"); a refusal of ours (a PDF that
    could not be made) in its own words."""
    if isinstance(exc, DomainError):
        return exc.message
    technical = f"{exc.__class__.__name__}: {exc}"
    for kind, words in DELIVERY_FAILURES:
        if isinstance(exc, kind):
            return f"{words} ({technical})"
    return technical


@transaction.atomic
def email_retry(*, tenant, log_id, actor_id) -> EmailLog:
    """Retry of a failed email (the invoice page and the Event Viewer): the same row goes back to the outbox, due
    now, and a worker delivers it after commit. The conditional UPDATE that takes a row for delivery means two presses
    (or the sweep at the same moment) still send it once. An email whose template could not be used was never
    rendered: it is refused, and sent again from its invoice once the template is fixed."""
    entry = email_log_get(tenant=tenant, log_id=log_id)
    what = f"The {entry.get_kind_display().lower()} email to {entry.recipient}"
    if entry.status == EmailStatus.SENT:
        sent_at = f"{entry.sent_at.astimezone(tenant.tz):%Y-%m-%d %H:%M}" if entry.sent_at else "already"
        raise Conflict(f"{what} was sent {sent_at}; there is nothing to retry.", code="email_sent")
    if entry.status == EmailStatus.SENDING:
        raise Conflict(f"{what} is being sent right now.", code="email_sending")
    if entry.status == EmailStatus.FAILED and entry.attempts == 0:
        raise Conflict(
            f"{what} was never sent: its template cannot be used. Fix the template in Settings, then send it again.",
            code="email_template_invalid",
        )
    if entry.status == EmailStatus.QUEUED and not entry.last_error:
        raise Conflict(f"{what} is queued and goes out within a minute.", code="email_queued")
    taken = EmailLog.objects.filter(pk=entry.pk, status=entry.status, attempts=entry.attempts).update(
        status=EmailStatus.QUEUED, next_attempt_at=None
    )
    if not taken:
        raise Conflict(f"{what} changed meanwhile; reload the page.", code="email_changed")
    events.email_retried(entry, actor_id=actor_id)
    task_send_after_commit(DELIVER_EMAIL, entry.pk)
    entry.refresh_from_db()
    return entry


@dataclass(frozen=True)
class EmailProblem:
    """An email of an invoice that could not be delivered and was not sent again since, as the invoice page shows it."""

    entry: EmailLog
    message: str
    retryable: bool  # Retry sends this row again (not an email whose template could not be used)


def invoice_email_problems(invoice: Invoice) -> list[EmailProblem]:
    """The invoice's emails that failed, or are failing and waiting for their next attempt, unless a later email of
    the same kind (and credit note) has gone out or is on its way since."""
    entries = list(invoice.emails.order_by("id"))
    problems = []
    for position, entry in enumerate(entries):
        failing = entry.status == EmailStatus.FAILED or (entry.status == EmailStatus.QUEUED and entry.last_error)
        if not failing:
            continue
        if any(
            later.kind == entry.kind and later.credit_note_id == entry.credit_note_id
            for later in entries[position + 1 :]
        ):
            continue  # sent again since: the later email answers for itself
        what = f"The {entry.get_kind_display().lower()} email to {entry.recipient}"
        if entry.status == EmailStatus.FAILED and entry.attempts == 0:
            message = f"{what} was not sent: {entry.last_error} Fix the template in Settings, then send it again."
        elif entry.status == EmailStatus.FAILED:
            message = f"{what} could not be delivered: {entry.last_error}."
        else:
            retry_at = entry.next_attempt_at.astimezone(invoice.tenant.tz) if entry.next_attempt_at else None
            when = f" It is tried again at {retry_at:%Y-%m-%d %H:%M}" if retry_at else " It is tried again shortly"
            attempt = entry.attempts + 1
            # A Retry after the last automatic attempt is one attempt more than the automatic ones.
            of = f" of {MAX_ATTEMPTS}" if attempt <= MAX_ATTEMPTS else ""
            message = f"{what} could not be delivered yet: {entry.last_error}.{when} (attempt {attempt}{of})."
        problems.append(EmailProblem(entry=entry, message=message, retryable=entry.attempts > 0))
    return problems


def email_retry_backoff(attempts: int) -> int:
    """Seconds before the next attempt: 30 s, 1 min, 2 min, 4 min... (base: INVOICING_EMAIL_BACKOFF_SECONDS)."""
    return min(setting("INVOICING_EMAIL_BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0), 3600)


def email_due_for_retry(*, limit: int = 500) -> list[int]:
    """Queued emails the sweep delivers, oldest first: those whose retry time has come, and those never tried whose
    first task has had EMAIL_SWEEP_GRACE to run (it was lost with the broker or a worker). Nothing depends on that
    task: the queued row is the outbox."""
    now = timezone.now()
    stale_sending = now - timedelta(minutes=15)
    # A row left "sending" by a killed worker goes back to queued (at-least-once; see docs/operations.md).
    EmailLog.objects.filter(status=EmailStatus.SENDING, next_attempt_at__lt=stale_sending).update(
        status=EmailStatus.QUEUED
    )
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=now - EMAIL_SWEEP_GRACE)
    return list(
        EmailLog.objects.filter(due, status=EmailStatus.QUEUED)
        .order_by(Coalesce("next_attempt_at", "created_at"), "id")
        .values_list("pk", flat=True)[:limit]
    )
