"""The plugin's events: one function per kind, each writing the row the activity log and the API show.

Services call these inside their transaction (an event commits or rolls back with the change it describes).
The message is written here, once per kind, so the same change reads the same way wherever it happens.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from functools import partial

from msgplatform.core.events import event_record
from msgplatform.core.models import Event

from .money import money_format

AREA = "invoicing"


# Every row of this module is in the invoicing area.
_record = partial(event_record, area=AREA)


def _money(invoice, amount: Decimal) -> str:
    """An amount of the invoice as every page shows it ("$1,075.00"), never the stored "1075.000"."""
    return money_format(amount, invoice.currency)


def _invoice(invoice, kind: str, actor_id, message: str, **data) -> Event:
    return _record(
        kind=kind,
        tenant_id=invoice.tenant_id,
        actor_id=actor_id,
        subject_type="invoice",
        subject_id=invoice.pk,
        message=message,
        data=data,
    )


def _schedule(schedule, kind: str, actor_id, message: str, level: str = "info", **data) -> Event:
    return _record(
        kind=kind,
        tenant_id=schedule.tenant_id,
        actor_id=actor_id,
        subject_type="schedule",
        subject_id=schedule.pk,
        message=message,
        level=level,
        data=data,
    )


# --- invoices -------------------------------------------------------------------------------------------------


def invoice_created(invoice, *, actor_id) -> Event:
    # Written before any approval, so without a number: the Event Viewer names the invoice by the number it has now.
    return _invoice(
        invoice,
        "invoice.created",
        actor_id,
        f"{invoice.get_source_display()} {invoice.billing_method} invoice created, "
        f"total {_money(invoice, invoice.total)}",
    )


def invoice_updated(invoice, *, actor_id, before: dict, fields: list[str]) -> Event:
    return _invoice(invoice, "invoice.updated", actor_id, "Draft edited", before=before, fields=fields)


def invoice_deleted(invoice, *, actor_id) -> Event:
    return _invoice(
        invoice,
        "invoice.deleted",
        actor_id,
        f"Draft #{invoice.pk} of {invoice.account.name} deleted",
        total=str(invoice.total),
    )


def invoice_approved(invoice, *, actor_id) -> Event:
    return _invoice(
        invoice,
        "invoice.approved",
        actor_id,
        f"Invoice {invoice.number} approved, total {_money(invoice, invoice.total)}",
    )


def invoice_voided(invoice, *, actor_id, reason: str) -> Event:
    return _invoice(invoice, "invoice.voided", actor_id, f"Invoice {invoice.number} voided: {reason}")


def invoice_regenerated(invoice, *, actor_id, before: Decimal) -> Event:
    return _invoice(
        invoice,
        "invoice.regenerated",
        actor_id,
        f"Draft regenerated: total {_money(invoice, before)} -> {_money(invoice, invoice.total)}",
    )


def invoice_generated_row(invoice, *, start: datetime.date, end: datetime.date) -> Event:
    """The `invoice.generated` row of a recurring draft, unsaved: a billing pass inserts many in one statement."""
    return Event(
        area=AREA,
        kind="invoice.generated",
        tenant_id=invoice.tenant_id,
        actor_id=None,
        subject_type="invoice",
        subject_id=invoice.pk,
        message=f"Draft for {start:%Y-%m-%d} to {end:%Y-%m-%d} generated, total {_money(invoice, invoice.total)}"
        + (" (flagged)" if invoice.anomaly_reason else ""),
        data={},
    )


# --- payments -------------------------------------------------------------------------------------------------


def payment_recorded(invoice, payment, *, actor_id, credited: Decimal) -> Event:
    return _invoice(
        invoice,
        "payment.recorded",
        actor_id,
        f"Payment {_money(invoice, payment.amount)} recorded on {invoice.number}; "
        f"balance due {_money(invoice, invoice.balance_due)}",
        payment_id=payment.pk,
        credited=str(credited),
    )


def payment_reversed(invoice, payment, *, actor_id, reason: str, credited: Decimal) -> Event:
    return _invoice(
        invoice,
        "payment.reversed",
        actor_id,
        f"Payment {_money(invoice, payment.amount)} on {invoice.number} reversed: {reason}",
        payment_id=payment.pk,
        credited=str(credited),
    )


def _account(account, kind: str, actor_id, message: str, **data) -> Event:
    return _record(
        kind=kind,
        tenant_id=account.tenant_id,
        actor_id=actor_id,
        subject_type="account",
        subject_id=account.pk,
        message=message,
        data=data,
    )


def _amount(row, amount: Decimal) -> str:
    return money_format(amount, row.currency)


# --- corrections and credits (SPEC §4) ------------------------------------------------------------------------


def credit_note_issued(invoice, note, *, actor_id) -> Event:
    moved = f"; {_money(invoice, note.to_customer_credit)} to customer credit" if note.to_customer_credit else ""
    return _invoice(
        invoice,
        "credit_note.issued",
        actor_id,
        f"Credit note {note.number} of {_money(invoice, note.total)} issued on {invoice.number}: {note.reason}; "
        f"balance due {_money(invoice, invoice.balance_due)}{moved}",
        credit_note_id=note.pk,
        credit_note=note.number,
        total=str(note.total),
        to_customer_credit=str(note.to_customer_credit),
        credited=str(note.balance_delta),
    )


def credit_adjusted(account, entry, *, actor_id, reason: str) -> Event:
    return _account(
        account,
        "credit.adjusted",
        actor_id,
        f"Customer credit of {account.name} adjusted by {_amount(account.tenant, entry.amount)}: {reason}; "
        f"credit {_amount(account.tenant, entry.balance_after)}",
        entry_id=entry.pk,
        amount=str(entry.amount),
    )


def refund_recorded(account, refund, *, actor_id) -> Event:
    return _account(
        account,
        "refund.recorded",
        actor_id,
        f"Refund {_amount(refund, refund.amount)} to {account.name} recorded ({refund.get_method_display()})",
        refund_id=refund.pk,
        amount=str(refund.amount),
    )


def refund_reversed(account, refund, *, actor_id, reason: str) -> Event:
    return _account(
        account,
        "refund.reversed",
        actor_id,
        f"Refund {_amount(refund, refund.amount)} to {account.name} reversed: {reason}",
        refund_id=refund.pk,
        amount=str(refund.amount),
    )


def receipt_recorded(account, receipt, *, actor_id) -> Event:
    kept = f", {_amount(receipt, receipt.unallocated)} kept as customer credit" if receipt.unallocated else ""
    return _account(
        account,
        "receipt.recorded",
        actor_id,
        f"Payment {_amount(receipt, receipt.amount)} received from {account.name}: "
        f"{_amount(receipt, receipt.allocated)} allocated to invoices{kept}",
        receipt_id=receipt.pk,
        amount=str(receipt.amount),
        unallocated=str(receipt.unallocated),
    )


def receipt_reversed(account, receipt, *, actor_id, reason: str) -> Event:
    return _account(
        account,
        "receipt.reversed",
        actor_id,
        f"Payment {_amount(receipt, receipt.amount)} received from {account.name} reversed: {reason}",
        receipt_id=receipt.pk,
        amount=str(receipt.amount),
    )


# --- schedules ------------------------------------------------------------------------------------------------


def schedule_created(schedule, *, actor_id) -> Event:
    return _schedule(
        schedule,
        "schedule.created",
        actor_id,
        f"Recurring {schedule.get_interval_display().lower()} schedule for {schedule.account.name} "
        f"from {schedule.start_date:%Y-%m-%d}",
    )


def schedule_updated(schedule, *, actor_id, before: dict, after: dict) -> Event:
    return _schedule(
        schedule,
        "schedule.updated",
        actor_id,
        f"Schedule of {schedule.account.name} edited",
        before=before,
        after=after,
    )


def schedule_stopped(schedule, *, actor_id) -> Event:
    return _schedule(schedule, "schedule.stopped", actor_id, f"Schedule of {schedule.account.name} stopped")


def schedule_started(schedule, *, actor_id) -> Event:
    return _schedule(schedule, "schedule.started", actor_id, f"Schedule of {schedule.account.name} started again")


def schedule_completed(schedule) -> Event:
    return _schedule(schedule, "schedule.completed", None, "Schedule reached its end date")


def schedule_covered_by_invoice(schedule, *, start: datetime.date, other) -> Event:
    return _schedule(
        schedule,
        "schedule.covered_by_invoice",
        None,
        f"Period from {start:%Y-%m-%d} already covered by invoice {other}",
    )


def schedule_period_skipped(schedule, *, start: datetime.date, end: datetime.date, reason: str) -> Event:
    return _schedule(
        schedule, "schedule.period_skipped", None, f"Period {start:%Y-%m-%d} to {end:%Y-%m-%d} skipped: {reason}"
    )


def schedule_failed(schedule, *, message: str) -> Event:
    return _schedule(
        schedule, "schedule.failed", None, f"Billing of {schedule.account.name} failed: {message}", level="error"
    )


# --- documents ------------------------------------------------------------------------------------------------

# The kinds of an invoice PDF's events: the invoice page reads the latest to know whether a problem still stands.
PDF_FAILED = "pdf.failed"
PDF_WITHOUT_LOGO = "pdf.without_logo"
PDF_MADE_AGAIN = "pdf.made_again"


def pdf_failed(invoice, *, state_key: str, reason: str) -> Event:
    return _record(
        kind=PDF_FAILED,
        tenant_id=invoice.tenant_id,
        level="error",
        subject_type="invoice",
        subject_id=invoice.pk,
        message=f"The PDF of {invoice} could not be made: {reason}. Retry it from the invoice page.",
        data={"state_key": state_key},
    )


def pdf_made_without_logo(invoice, *, version: int, state_key: str, problem: str) -> Event:
    return _record(
        kind=PDF_WITHOUT_LOGO,
        tenant_id=invoice.tenant_id,
        level="warning",
        subject_type="invoice",
        subject_id=invoice.pk,
        message=f"The PDF of {invoice} (version {version}) was made without the logo: {problem}, then press Retry.",
        data={"state_key": state_key, "version": version},
    )


def pdf_made_again(invoice, *, version: int, actor_id) -> Event:
    return _invoice(invoice, PDF_MADE_AGAIN, actor_id, f"The PDF of {invoice} was made again (version {version})")


# --- email and reminders --------------------------------------------------------------------------------------


# An email's event names what it carries by number: "Invoice email of INV-2026-00001", "Payment reminder email of
# INV-2026-00001, INV-2026-00004"; this many numbers at most, then "and N more".
EMAIL_NUMBERS_SHOWN = 3


def email_about(entry) -> str:
    """What an email is, named by the numbers of the documents it carries (its credit note, else its invoices)."""
    if entry.credit_note_id is not None:
        return f"{entry.get_kind_display()} email of {entry.credit_note.number}"
    numbers = [str(invoice) for invoice in entry.invoices.order_by("id")]
    if not numbers:
        return f"{entry.get_kind_display()} email"
    shown = ", ".join(numbers[:EMAIL_NUMBERS_SHOWN])
    more = f" and {len(numbers) - EMAIL_NUMBERS_SHOWN} more" if len(numbers) > EMAIL_NUMBERS_SHOWN else ""
    return f"{entry.get_kind_display()} email of {shown}{more}"


def email_queued(invoice, entry, *, actor_id) -> Event:
    return _record(
        kind="email.queued",
        tenant_id=invoice.tenant_id,
        actor_id=actor_id,
        subject_type="invoice",
        subject_id=invoice.pk,
        message=f"{email_about(entry)} to {entry.recipient} queued",
    )


def email_sent(entry) -> Event:
    return _record(
        kind="email.sent",
        tenant_id=entry.tenant_id,
        subject_type="email",
        subject_id=entry.pk,
        message=f"{email_about(entry)} to {entry.recipient} sent",
    )


def email_failed(entry, *, error: str) -> Event:
    return _record(
        kind="email.failed",
        tenant_id=entry.tenant_id,
        level="error",
        subject_type="email",
        subject_id=entry.pk,
        message=f"{email_about(entry)} to {entry.recipient} could not be delivered after "
        f"{entry.attempts} attempt{'s' if entry.attempts != 1 else ''}: {error}",
    )


def email_retried(entry, *, actor_id) -> Event:
    return _record(
        kind="email.retried",
        tenant_id=entry.tenant_id,
        actor_id=actor_id,
        subject_type="email",
        subject_id=entry.pk,
        message=f"{email_about(entry)} to {entry.recipient} queued again (Retry)",
    )


def email_render_failed(entry, *, error: str) -> Event:
    return _record(
        kind="email.render_failed",
        tenant_id=entry.tenant_id,
        level="error",
        subject_type="email",
        subject_id=entry.pk,
        message=f"{email_about(entry)} to {entry.recipient} not sent: {error}",
    )


def template_updated(row, *, actor_id) -> Event:
    return _record(
        kind="template.updated",
        tenant_id=row.tenant_id,
        actor_id=actor_id,
        subject_type="template",
        subject_id=row.pk,
        message=f"{row.get_kind_display()} email template saved",
    )


def reminder_skipped(invoice, *, actor_id, message: str) -> Event:
    """ "Send reminder" pressed within the window: nothing sent; `message` says when the last one went."""
    return _invoice(invoice, "reminder.skipped", actor_id, message)


def reminder_bulk_started(job, *, actor_id, recipients: int) -> Event:
    return _record(
        kind="reminder.bulk_started",
        tenant_id=job.tenant_id,
        actor_id=actor_id,
        subject_type="job",
        subject_id=job.id,
        message=f"Bulk reminder to {recipients} user(s) started",
    )


def reminder_bulk_done(job, *, message: str) -> Event:
    return _record(
        kind="reminder.bulk_done", tenant_id=job.tenant_id, subject_type="job", subject_id=job.id, message=message
    )


def job_failed(job, *, error) -> Event:
    return _record(
        kind="job.failed",
        tenant_id=job.tenant_id,
        level="error",
        subject_type="job",
        subject_id=job.id,
        message=f"{job.kind} failed: {error}",
    )


# --- settings, taxes, licence, test clock ---------------------------------------------------------------------


def settings_updated(row, *, actor_id, fields: list[str]) -> Event:
    return _record(
        kind="settings.updated",
        tenant_id=row.tenant_id,
        actor_id=actor_id,
        subject_type="settings",
        subject_id=row.pk,
        message="Invoicing settings updated",
        data={"fields": fields},
    )


def logo_changed(row, *, actor_id, removed: bool) -> Event:
    return _record(
        kind="settings.logo",
        tenant_id=row.tenant_id,
        actor_id=actor_id,
        subject_type="settings",
        subject_id=row.pk,
        message="Logo " + ("removed" if removed else "updated"),
    )


def bank_details_updated(row, *, actor_id) -> Event:
    return _record(
        kind="bank_details.updated",
        tenant_id=row.tenant_id,
        actor_id=actor_id,
        subject_type="bank_details",
        subject_id=row.pk,
        message="Bank details updated",
    )


def tax_created(tax, *, actor_id) -> Event:
    return _record(
        kind="tax.created",
        tenant_id=tax.tenant_id,
        actor_id=actor_id,
        subject_type="tax",
        subject_id=tax.id,
        message=f"Tax {tax.name} {tax.rate}% created",
    )


def tax_updated(tax, *, actor_id, fields: list[str]) -> Event:
    return _record(
        kind="tax.updated",
        tenant_id=tax.tenant_id,
        actor_id=actor_id,
        subject_type="tax",
        subject_id=tax.id,
        message=f"Tax {tax.name} updated",
        data={"fields": fields},
    )


def tax_deleted(tax, *, actor_id) -> Event:
    return _record(
        kind="tax.deleted",
        tenant_id=tax.tenant_id,
        actor_id=actor_id,
        subject_type="tax",
        subject_id=tax.id,
        message=f"Tax {tax.name} deleted",
    )


def license_granted(lic, *, actor_id, modes: str, valid_until) -> Event:
    return _record(
        kind="license.granted",
        tenant_id=lic.tenant_id,
        actor_id=actor_id,
        subject_type="license",
        subject_id=lic.id,
        message=f"Invoicing licence ({modes}) valid until {valid_until}",
    )


def license_revoked(tenant, *, actor_id) -> Event:
    return _record(
        kind="license.revoked",
        tenant_id=tenant.id,
        actor_id=actor_id,
        subject_type="tenant",
        subject_id=tenant.id,
        message="Invoicing licence revoked",
    )


def clock_advanced(tenant, *, actor_id, days: int, before: datetime.date, after: datetime.date) -> Event:
    return _record(
        kind="test_clock.advanced",
        tenant_id=tenant.id,
        actor_id=actor_id,
        subject_type="tenant",
        subject_id=tenant.id,
        level="warning",
        message=f"Test clock moved {days} day(s): today {before} -> {after}",
    )


def clock_reset(tenant, *, actor_id) -> Event:
    return _record(
        kind="test_clock.reset",
        tenant_id=tenant.id,
        actor_id=actor_id,
        subject_type="tenant",
        subject_id=tenant.id,
        message="Test clock back to real time",
    )
