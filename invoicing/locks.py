"""The plugin's row locks, each in one place with what it serialises.

Every lock is a `SELECT ... FOR UPDATE` held until the caller's transaction ends (so each helper must run inside
`transaction.atomic`). Lock order, when a transaction takes several: tenant usage lock (host, `UsageSource.lock`)
-> schedules (id order) -> invoices (id order) -> payments -> the admin's number sequences (invoice or credit note)
-> the user's customer credit -> the account (host ledger) -> counters. Taking them in this order everywhere is
what keeps concurrent approvals, payments, credit notes, credit applications and billing runs free of deadlocks.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from msgplatform.accounts.models import Tenant
from msgplatform.core.errors import NotFound

from .models import BillingSchedule, CreditNoteSequence, CustomerCredit, Invoice, InvoiceSequence, Payment


def invoice_lock(*, tenant, invoice_id) -> Invoice:
    """The tenant's invoice, row-locked: serialises every change of its status, totals and amount paid (approval,
    edit, void, payments and their reversals, regeneration). Another tenant's id is a 404."""
    try:
        return Invoice.objects.select_for_update().get(tenant=tenant, pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


def invoices_lock(*, tenant, invoice_ids) -> dict[int, Invoice]:
    """Several of the tenant's invoices, row-locked in id order (a payment across invoices never waits in a circle
    with another); returns them by id. Ids of another tenant are simply absent."""
    locked = Invoice.objects.select_for_update().filter(tenant=tenant, pk__in=sorted(set(invoice_ids))).order_by("id")
    return {invoice.pk: invoice for invoice in locked}


def invoice_lock_briefly(invoice_id: int) -> None:
    """Lock the invoice row without reading it: serialises the version numbers of its rendered documents."""
    list(Invoice.objects.select_for_update().filter(pk=invoice_id).values_list("pk", flat=True))


def payment_lock(*, payment_id: int) -> Payment:
    """The payment, row-locked (under its invoice's lock): a reversal happens once."""
    return Payment.objects.select_for_update().get(pk=payment_id)


def schedule_lock(*, tenant, schedule_id) -> BillingSchedule:
    """The tenant's schedule, row-locked: its edits and the move of its cursor (`covered_through`) are serial."""
    try:
        return BillingSchedule.objects.select_for_update().get(tenant=tenant, pk=int(schedule_id))
    except (BillingSchedule.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such schedule.")


def schedules_lock(*, tenant, schedule_ids: list[int]) -> list[BillingSchedule]:
    """The tenant's schedules with their accounts, row-locked in id order (two batches never wait on each other
    in a circle); one missing id is a 404."""
    schedules = list(
        BillingSchedule.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(tenant=tenant, pk__in=schedule_ids)
        .order_by("id")
    )
    if len(schedules) != len(set(schedule_ids)):
        raise NotFound("No such schedule.")
    for schedule in schedules:
        schedule.tenant = tenant
    return schedules


def sequence_lock(*, tenant_id: int) -> InvoiceSequence:
    """The admin's invoice-number counter, row-locked until the approving transaction ends: numbers are gapless
    because a rolled-back approval gives its number back with the lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_next must run inside the approving transaction")
    try:
        with transaction.atomic():
            InvoiceSequence.objects.get_or_create(tenant_id=tenant_id)
    except IntegrityError:
        pass  # created by a concurrent approval; it exists now
    row = InvoiceSequence.objects.select_for_update().get(tenant_id=tenant_id)
    return row


def credit_note_sequence_lock(*, tenant_id: int) -> CreditNoteSequence:
    """The admin's credit-note counter, row-locked until the issuing transaction ends (gapless like invoices')."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the credit-note number must be taken inside the issuing transaction")
    try:
        with transaction.atomic():
            CreditNoteSequence.objects.get_or_create(tenant_id=tenant_id)
    except IntegrityError:
        pass  # created by a concurrent issue; it exists now
    return CreditNoteSequence.objects.select_for_update().get(tenant_id=tenant_id)


def customer_credit_lock(*, account) -> CustomerCredit:
    """The user's customer credit, row-locked: every source and use of it is serial, so it is never spent twice."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("customer credit is locked inside the transaction that moves it")
    try:
        with transaction.atomic():
            CustomerCredit.objects.get_or_create(
                account_id=account.pk, defaults={"tenant_id": account.tenant_id, "currency": account.tenant.currency}
            )
    except IntegrityError:
        pass  # created by a concurrent change; it exists now
    return CustomerCredit.objects.select_for_update().get(account_id=account.pk)


def tenant_lock(tenant: Tenant) -> Tenant:
    """The tenant row, locked: serialises moves of the admin's test clock."""
    return Tenant.objects.select_for_update().get(pk=tenant.pk)
