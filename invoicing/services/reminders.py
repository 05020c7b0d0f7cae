"""Payment reminders: the bulk reminder (one email per user listing all its open invoices) and automatic ones.

Never twice within the window: a reminder goes out only from the transaction that takes the user's
ReminderSlot (unique per user and kind) with a conditional UPDATE of `last_sent_at`; a second click, a second
admin or a retried job finds the slot taken and skips that user. Automatic reminders are also idempotent per
invoice per day (unique AutoReminder row).
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from msgplatform.accounts.models import Account, Tenant
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed
from msgplatform.core.ids import id_parse

from .. import events
from ..models import AutoReminder, EmailKind, EmailLog, Invoice, InvoiceStatus, Job, ReminderSlot
from ..money import money_format
from ..rules import Action, invoice_actions
from ..selectors.invoices import invoice_get
from .configuration import settings_for
from .emails import email_queue, recipient_of, reminder_email_values, template_for, template_validate

BULK_KIND = "payment"


@dataclass(frozen=True)
class Recipient:
    account: Account
    invoices: list[Invoice]
    total_due: Decimal
    has_email: bool


def _selection(account_ids) -> list[int] | None:
    """The users a reminder is for: None (nothing selected) is every user that owes; a list is those users.

    The page and the API give the same meaning to the same input: an empty list is a mistake (a selection with
    everyone unticked), never "everyone" - that is asked for by giving no selection at all.
    """
    if account_ids is None:
        return None
    ids = [id_parse(raw) for raw in account_ids]
    if not ids:
        raise ValidationFailed("Select at least one user.", code="no_selection", field="account_ids")
    if None in ids:
        raise ValidationFailed("Users are given by their ids.", field="account_ids")
    return list(dict.fromkeys(ids))


def _open_invoices(tenant, *, overdue_only: bool, account_ids: list[int] | None):
    qs = Invoice.objects.filter(tenant=tenant, status=InvoiceStatus.APPROVED, balance_due__gt=0).select_related(
        "account"
    )
    if overdue_only:
        qs = qs.filter(due_date__lt=tenant_today(tenant))
    if account_ids is not None:
        qs = qs.filter(account_id__in=account_ids)
    return qs.order_by("account__name", "account_id", "due_date", "id")


def bulk_reminder_preview(*, tenant, overdue_only: bool = False, account_ids=None) -> list[Recipient]:
    """Every selected user (no selection: every user) with approved unpaid or partially paid invoices, and what it
    owes. Selected users that owe nothing are not listed; an empty selection is refused (see _selection)."""
    grouped: OrderedDict[int, list[Invoice]] = OrderedDict()
    for invoice in _open_invoices(tenant, overdue_only=overdue_only, account_ids=_selection(account_ids)):
        grouped.setdefault(invoice.account_id, []).append(invoice)
    return [
        Recipient(
            account=invs[0].account,
            invoices=invs,
            total_due=sum((i.balance_due for i in invs), Decimal(0)),
            has_email=bool(invs[0].account.billing_email or invs[0].account.email),
        )
        for invs in grouped.values()
    ]


def reminder_slot_take(*, tenant, account_id: int, kind: str, window: datetime.timedelta) -> bool:
    """True for exactly one caller per user, kind and window (the database decides, not the button)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            ReminderSlot.objects.create(tenant=tenant, account_id=account_id, kind=kind, last_sent_at=now)
            return True
    except IntegrityError:
        pass
    return bool(
        ReminderSlot.objects.filter(account_id=account_id, kind=kind, last_sent_at__lte=now - window).update(
            last_sent_at=now
        )
    )


def _selection_check(tenant, selected: list[int], recipients: list[Recipient], *, overdue_only: bool) -> None:
    """Every selected user must be one of the admin's and have something to remind of: a selection is what the
    admin saw on the list, and a reminder that leaves some of it out silently would be a surprise."""
    missing = [i for i in selected if i not in {r.account.id for r in recipients}]
    if not missing:
        return
    names = dict(Account.objects.filter(tenant=tenant, pk__in=missing).values_list("pk", "name"))
    if len(names) < len(missing):
        raise NotFound("No such user.", field="account_ids")
    listed = ", ".join(names[i] for i in missing)
    what = "overdue invoice" if overdue_only else "unpaid invoice"
    verb = "has" if len(missing) == 1 else "have"
    raise Conflict(
        f"{listed} {verb} no {what} to remind of; no reminder was started.", code="not_owing", field="account_ids"
    )


@dataclass(frozen=True)
class ReminderPlan:
    """What a bulk reminder would do now, for its confirmation: every user it reminds, and those it will skip."""

    recipients: list[Recipient]
    recently_reminded: list[tuple[Recipient, datetime.datetime]]  # reminded within the window, and when
    without_email: list[Recipient]
    window_hours: int

    @property
    def count(self) -> int:
        return len(self.recipients)


def _recipients_checked(tenant, *, overdue_only: bool, account_ids) -> list[Recipient]:
    """The guards of the page and the API alike: an empty selection, another admin's user or a selected user with
    nothing to remind of is refused."""
    selected = _selection(account_ids)
    recipients = bulk_reminder_preview(tenant=tenant, overdue_only=overdue_only, account_ids=selected)
    if selected is not None:
        _selection_check(tenant, selected, recipients, overdue_only=overdue_only)
    if not recipients:
        raise ValidationFailed("No selected user has unpaid or partially paid invoices.", code="no_recipients")
    return recipients


def bulk_reminder_plan(*, tenant, overdue_only: bool = False, account_ids=None) -> ReminderPlan:
    """The users a bulk reminder of this selection would remind if started now (refused as bulk_reminder_start
    refuses it), with those it would skip: reminded within the window, or without an email. Writes nothing."""
    recipients = _recipients_checked(tenant, overdue_only=overdue_only, account_ids=account_ids)
    hours = settings_for(tenant).reminder_window_hours
    last_sent = reminders_last_sent(tenant=tenant, account_ids=[r.account.id for r in recipients])
    since = timezone.now() - datetime.timedelta(hours=hours)
    return ReminderPlan(
        recipients=recipients,
        recently_reminded=[
            (r, last_sent[r.account.id])
            for r in recipients
            if r.has_email and r.account.id in last_sent and last_sent[r.account.id] > since
        ],
        without_email=[r for r in recipients if not r.has_email],
        window_hours=hours,
    )


def reminders_last_sent(*, tenant, account_ids: list[int]) -> dict[int, datetime.datetime]:
    """{account id: when its last payment reminder went out} for those of the tenant's users that had one."""
    return dict(
        ReminderSlot.objects.filter(tenant=tenant, kind=BULK_KIND, account_id__in=account_ids).values_list(
            "account_id", "last_sent_at"
        )
    )


@transaction.atomic
def bulk_reminder_start(*, tenant, actor_id, overdue_only: bool = False, account_ids=None) -> Job:
    """Remind the selected users (no selection: every user that owes) of what they owe, in a Job.

    The guards of the page and the API alike: an empty selection, another admin's user or a selected user with
    nothing to remind of is refused, and nothing is started.
    """
    recipients = _recipients_checked(tenant, overdue_only=overdue_only, account_ids=account_ids)
    job = Job.objects.create(
        tenant=tenant,
        kind="bulk_reminder",
        total=len(recipients),
        created_by_id=actor_id,
        params={"overdue_only": overdue_only, "account_ids": [r.account.id for r in recipients]},
    )
    events.reminder_bulk_started(job, actor_id=actor_id, recipients=len(recipients))
    from .jobs import job_dispatch

    job_dispatch(job.id)
    return job


def _remindable(tenant, invoice_id) -> Invoice:
    invoice = invoice_get(tenant=tenant, invoice_id=invoice_id)
    if Action.REMIND not in invoice_actions(invoice):
        raise Conflict(f"Invoice {invoice} has nothing to remind of.", code="not_remindable")
    return invoice


def invoice_remind(*, tenant, invoice_id, actor_id) -> Job:
    """Remind one invoice's user of everything it owes: a bulk reminder of that user (the window applies)."""
    invoice = _remindable(tenant, invoice_id)
    return bulk_reminder_start(tenant=tenant, actor_id=actor_id, account_ids=[invoice.account_id])


@dataclass(frozen=True)
class ReminderOutcome:
    """What "Send reminder" did: sent (the email is queued), or skipped because one went out within the window."""

    sent: bool
    reminded_at: datetime.datetime  # this reminder, or the one within the window that made this one skip
    next_from: datetime.datetime  # when the next reminder of the user can go
    message: str  # what the page says
    email: EmailLog | None = None


def _local(moment: datetime.datetime, tenant) -> str:
    return f"{moment.astimezone(tenant.tz):%Y-%m-%d %H:%M}"


def invoice_reminder_send(*, tenant, invoice_id, actor_id) -> ReminderOutcome:
    """Remind one invoice's user of everything it owes, now: one email listing its open invoices, unless a reminder
    went out to that user within the window (the same ReminderSlot as bulk reminders, so whoever presses first sends
    and the others are told when it went). Quick enough for a request: one conditional UPDATE and one outbox row;
    the email is delivered by a worker after commit."""
    invoice = _remindable(tenant, invoice_id)
    template_validate(EmailKind.REMINDER, *template_for(tenant, EmailKind.REMINDER))
    (recipient,) = bulk_reminder_preview(tenant=tenant, account_ids=[invoice.account_id])
    address = recipient_of(recipient.account)
    hours = settings_for(tenant).reminder_window_hours
    window = datetime.timedelta(hours=hours)
    name, zone = recipient.account.name, tenant.timezone
    with transaction.atomic():
        if reminder_slot_take(tenant=tenant, account_id=recipient.account.id, kind=BULK_KIND, window=window):
            entry = email_queue(
                tenant=tenant,
                account=recipient.account,
                kind=EmailKind.REMINDER,
                invoices=recipient.invoices,
                actor_id=actor_id,
                values=reminder_email_values(tenant, recipient.account, recipient.invoices, tenant_today(tenant)),
            )
            events.email_queued(invoice, entry, actor_id=actor_id)
            sent_at = ReminderSlot.objects.get(account_id=recipient.account.id, kind=BULK_KIND).last_sent_at
            count = len(recipient.invoices)
            message = (
                f"Reminder sent to {name} at {address}: {count} open invoice{'s' if count != 1 else ''}, "
                f"{money_format(recipient.total_due, tenant.currency)} due. The next reminder can go from "
                f"{_local(sent_at + window, tenant)} ({zone})."
            )
            return ReminderOutcome(
                sent=True, reminded_at=sent_at, next_from=sent_at + window, message=message, email=entry
            )
        last = ReminderSlot.objects.get(account_id=recipient.account.id, kind=BULK_KIND).last_sent_at
        message = (
            f"No reminder sent: {name} was reminded at {_local(last, tenant)} ({zone}), within the {hours}-hour "
            f"reminder window. The next reminder can go from {_local(last + window, tenant)}."
        )
        events.reminder_skipped(invoice, actor_id=actor_id, message=message)
        return ReminderOutcome(sent=False, reminded_at=last, next_from=last + window, message=message)


def invoice_reminder_window(*, tenant, account_id: int) -> tuple[datetime.datetime, datetime.datetime] | None:
    """(when the user was last reminded, when the next reminder can go) while the window holds; None otherwise."""
    last = reminders_last_sent(tenant=tenant, account_ids=[account_id]).get(account_id)
    if last is None:
        return None
    next_from = last + datetime.timedelta(hours=settings_for(tenant).reminder_window_hours)
    return (last, next_from) if next_from > timezone.now() else None


def bulk_reminder_run(job: Job) -> str:
    """Run by a worker: one email per user (slot permitting), progress on the job row."""
    tenant = job.tenant
    # A reminder template stored before placeholders were checked fails the job here, before any user's slot is
    # taken (the job and the Event Viewer say why; once the template is saved again, a new run reminds everyone).
    template_validate(EmailKind.REMINDER, *template_for(tenant, EmailKind.REMINDER))
    window = datetime.timedelta(hours=settings_for(tenant).reminder_window_hours)
    recipients = bulk_reminder_preview(
        tenant=tenant, overdue_only=job.params.get("overdue_only", False), account_ids=job.params.get("account_ids")
    )
    sent = skipped = 0
    today = tenant_today(tenant)
    for recipient in recipients:
        with transaction.atomic():
            if not recipient.has_email:
                skipped += 1
            elif reminder_slot_take(tenant=tenant, account_id=recipient.account.id, kind=BULK_KIND, window=window):
                email_queue(
                    tenant=tenant,
                    account=recipient.account,
                    kind=EmailKind.REMINDER,
                    invoices=recipient.invoices,
                    job=job,
                    trigger="bulk",
                    actor_id=job.created_by_id,
                    values=reminder_email_values(tenant, recipient.account, recipient.invoices, today),
                )
                sent += 1
            else:
                skipped += 1
            Job.objects.filter(pk=job.pk).update(done=F("done") + 1)
    message = f"{sent} reminder(s) sent, {skipped} skipped (no email, or already reminded within the window)"
    events.reminder_bulk_done(job, message=message)
    return message


def _auto_reason(invoice: Invoice, today: datetime.date, settings) -> str | None:
    days_to_due = (invoice.due_date - today).days
    if settings.remind_days_before_due and days_to_due == settings.remind_days_before_due:
        return "before_due"
    if settings.remind_on_due_date and days_to_due == 0:
        return "due_today"
    every = settings.remind_every_days_overdue
    if every and days_to_due < 0 and (-days_to_due) % every == 0:
        return "overdue"
    return None


def auto_reminders_run(*, tenant: Tenant, as_of: datetime.date | None = None) -> int:
    """Apply the admin's reminder policy for one day; safe to run many times a day."""
    settings = settings_for(tenant)
    if not settings.reminders_enabled:
        return 0
    today = as_of or tenant_today(tenant)
    queued = 0
    for invoice in Invoice.objects.filter(
        tenant=tenant, status=InvoiceStatus.APPROVED, balance_due__gt=0
    ).select_related("account", "tenant"):
        reason = _auto_reason(invoice, today, settings)
        if reason is None or not (invoice.account.billing_email or invoice.account.email):
            continue
        if invoice.auto_reminders.count() >= settings.remind_max:
            continue
        with transaction.atomic():
            try:
                with transaction.atomic():
                    AutoReminder.objects.create(invoice=invoice, day=today, reason=reason)
            except IntegrityError:
                continue  # already decided today
            values = reminder_email_values(tenant, invoice.account, [invoice], today)
            email_queue(
                tenant=tenant,
                account=invoice.account,
                kind=EmailKind.REMINDER,
                invoices=[invoice],
                values=values,
                trigger="automatic",
            )
            queued += 1
    return queued
