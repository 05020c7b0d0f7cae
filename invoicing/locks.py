"""The plugin's row locks, each in one place with what it serialises.

Every lock is a `SELECT ... FOR UPDATE` held until the caller's transaction ends (so each helper must run inside
`transaction.atomic`). Lock order, when a transaction takes several: tenant usage lock (host, `UsageSource.lock`)
-> schedules (id order) -> invoice -> payment -> the admin's number sequence. Taking them in this order everywhere
is what keeps concurrent approvals, payments and billing runs free of deadlocks.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from msgplatform.accounts.models import Tenant
from msgplatform.core.errors import NotFound

from .models import BillingSchedule, Invoice, InvoiceSequence, Payment


def invoice_lock(*, tenant, invoice_id) -> Invoice:
    """The tenant's invoice, row-locked: serialises every change of its status, totals and amount paid (approval,
    edit, void, payments and their reversals, regeneration). Another tenant's id is a 404."""
    try:
        return Invoice.objects.select_for_update().get(tenant=tenant, pk=int(invoice_id))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such invoice.")


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


def tenant_lock(tenant: Tenant) -> Tenant:
    """The tenant row, locked: serialises moves of the admin's test clock."""
    return Tenant.objects.select_for_update().get(pk=tenant.pk)
