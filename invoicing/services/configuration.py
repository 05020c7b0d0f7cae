"""Per-admin invoicing configuration: settings, tax rates (soft-deleted), bank details."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from msgplatform.core.errors import NotFound, ValidationFailed

from .. import events
from ..models import BankDetails, InvoicingSettings, TaxRate
from ..money import percent_parse
from .numbering import number_format_validate

SETTINGS_FIELDS = {
    "business_name",
    "business_address",
    "business_tax_id",
    "business_email",
    "number_format",
    "default_due_days",
    "default_terms",
    "default_notes",
    "email_on_approval",
    "anomaly_threshold_percent",
    "bill_delivered_only",
    "issue_zero_invoices",
    "reminders_enabled",
    "remind_days_before_due",
    "remind_on_due_date",
    "remind_every_days_overdue",
    "remind_max",
    "reminder_window_hours",
}
BANK_FIELDS = {"bank_name", "branch", "swift", "address", "account_holder", "account_number", "notes"}


def settings_for(tenant) -> InvoicingSettings:
    settings_row, _ = InvoicingSettings.objects.get_or_create(tenant=tenant, defaults={"business_name": tenant.name})
    return settings_row


def bank_details_for(tenant) -> BankDetails:
    row, _ = BankDetails.objects.get_or_create(tenant=tenant)
    return row


@transaction.atomic
def settings_update(*, tenant, actor_id: int | None, **changes: Any) -> InvoicingSettings:
    unknown = set(changes) - SETTINGS_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    if "number_format" in changes:
        changes["number_format"] = number_format_validate(changes["number_format"])
    if "default_due_days" in changes:
        days = int(changes["default_due_days"])
        if not 0 <= days <= 365:
            raise ValidationFailed("Default due days must be between 0 and 365.", field="default_due_days")
        changes["default_due_days"] = days
    if "anomaly_threshold_percent" in changes:
        changes["anomaly_threshold_percent"] = percent_parse(
            changes["anomaly_threshold_percent"], "anomaly_threshold_percent", upper=None
        )
    row = settings_for(tenant)
    for key, value in changes.items():
        setattr(row, key, value)
    row.save()
    events.settings_updated(row, actor_id=actor_id, fields=sorted(changes))
    return row


@transaction.atomic
def bank_details_update(*, tenant, actor_id: int | None, **changes: Any) -> BankDetails:
    unknown = set(changes) - BANK_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    row = bank_details_for(tenant)
    for key, value in changes.items():
        setattr(row, key, value or "")
    row.save()
    events.bank_details_updated(row, actor_id=actor_id)
    return row


@transaction.atomic
def tax_rate_create(
    *,
    tenant,
    actor_id: int | None,
    name: str,
    rate,
    description: str = "",
    applicable: bool = True,
    active: bool = True,
) -> TaxRate:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A tax needs a name.", field="name")
    tax = TaxRate.objects.create(
        tenant=tenant,
        name=name,
        rate=percent_parse(rate, "rate"),
        description=description,
        applicable=applicable,
        active=active,
    )
    events.tax_created(tax, actor_id=actor_id)
    return tax


def tax_rate_get(*, tenant, tax_id) -> TaxRate:
    tax = TaxRate.objects.filter(tenant=tenant, pk=tax_id, deleted_at__isnull=True).first()
    if tax is None:
        raise NotFound("No such tax.")
    return tax


@transaction.atomic
def tax_rate_update(*, tenant, tax_id, actor_id: int | None, **changes: Any) -> TaxRate:
    """Changes apply to drafts computed from now on; approved invoices keep their frozen tax lines."""
    tax = tax_rate_get(tenant=tenant, tax_id=tax_id)
    allowed = {"name", "rate", "description", "applicable", "active"}
    if set(changes) - allowed:
        raise ValidationFailed(f"Unknown field(s): {', '.join(sorted(set(changes) - allowed))}.")
    if "rate" in changes:
        changes["rate"] = percent_parse(changes["rate"], "rate")
    for key, value in changes.items():
        setattr(tax, key, value)
    tax.save()
    events.tax_updated(tax, actor_id=actor_id, fields=sorted(changes))
    return tax


@transaction.atomic
def tax_rate_delete(*, tenant, tax_id, actor_id: int | None) -> None:
    """Soft delete: old invoices keep their tax lines and the link to the rate."""
    tax = tax_rate_get(tenant=tenant, tax_id=tax_id)
    TaxRate.objects.filter(pk=tax.pk).update(deleted_at=timezone.now(), active=False)
    events.tax_deleted(tax, actor_id=actor_id)


def taxes_applicable(*, tenant, account) -> list[tuple[int, str, Decimal]]:
    """(id, name, rate) of every tax charged to this account now (SPEC §3): active, applicable, user has apply_tax."""
    if not account.apply_tax:
        return []
    return list(
        TaxRate.objects.filter(tenant=tenant, active=True, applicable=True, deleted_at__isnull=True)
        .order_by("id")
        .values_list("id", "name", "rate")
    )


LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}
LOGO_MAX_BYTES = 512 * 1024


@transaction.atomic
def settings_logo_set(*, tenant, actor_id: int | None, uploaded) -> InvoicingSettings:
    """Store the admin's logo (PNG, JPEG or SVG, at most 512 KB); None removes it."""
    row = settings_for(tenant)
    if uploaded is None:
        row.logo.delete(save=False)
        row.logo = ""
    else:
        kind = LOGO_TYPES.get(getattr(uploaded, "content_type", ""))
        if kind is None:
            raise ValidationFailed("The logo must be a PNG, JPEG or SVG image.", field="logo")
        if uploaded.size > LOGO_MAX_BYTES:
            raise ValidationFailed("The logo must be at most 512 KB.", field="logo")
        row.logo.save(f"tenant-{tenant.id}.{kind}", uploaded, save=False)
    row.save()
    events.logo_changed(row, actor_id=actor_id, removed=uploaded is None)
    return row
