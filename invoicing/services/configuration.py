"""Per-admin invoicing configuration: settings, tax rates (soft-deleted), bank details, logo."""

import io
import threading
import warnings
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageFile

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
    "credit_note_number_format",
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
    if "credit_note_number_format" in changes:
        changes["credit_note_number_format"] = number_format_validate(
            changes["credit_note_number_format"], field="credit_note_number_format"
        )
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


# Pillow's name of a decoded format -> the stored file's extension. MPO is how Pillow names a camera's JPEG that
# carries more pictures after the first: a JPEG to every reader.
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp"}
# How a stored logo is served, by extension (SVG: logos stored before uploads were decoded; the logo page sends
# them with a sandboxing Content-Security-Policy).
LOGO_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "svg": "image/svg+xml"}
LOGO_MAX_BYTES = 512 * 1024
# A few KB of PNG can hold 100 megapixels, and every PDF decodes the logo again (10000 x 10000: 4.5 s a PDF).
LOGO_MAX_SIDE = 4096
LOGO_MAX_PIXELS = 16_000_000


def logo_decode(uploaded) -> tuple[str, bytes]:
    """(extension, bytes) of an uploaded logo that decodes as a PNG, JPEG or WebP image within the limits.

    The content decides, never the file name or the content type the browser sent; SVG is refused because an
    SVG names other URLs and files (what the PDF renderer would load).
    """
    not_an_image = ValidationFailed("The logo must be a PNG, JPEG or WebP image.", field="logo")
    too_large = ValidationFailed("The logo must be at most 512 KB.", field="logo")
    too_many_pixels = ValidationFailed(
        f"The logo must be at most {LOGO_MAX_SIDE} x {LOGO_MAX_SIDE} pixels and {LOGO_MAX_PIXELS // 1_000_000} "
        "megapixels.",
        field="logo",
    )
    if uploaded.size > LOGO_MAX_BYTES:
        raise too_large
    uploaded.seek(0)
    content = uploaded.read(LOGO_MAX_BYTES + 1)
    if len(content) > LOGO_MAX_BYTES:
        raise too_large
    with _truncated_images_refused():
        try:
            # Pillow warns when it opens a decompression bomb; the size check below refuses it anyway.
            with warnings.catch_warnings(action="ignore", category=Image.DecompressionBombWarning):
                image = Image.open(io.BytesIO(content), formats=["PNG", "JPEG", "WEBP"])
        except Image.DecompressionBombError:
            raise too_many_pixels
        except Exception:  # Pillow raises many kinds of errors on malformed input; all mean "not such an image"
            raise not_an_image
        with image:
            width, height = image.size  # from the header: nothing is decoded yet
            if max(width, height) > LOGO_MAX_SIDE or width * height > LOGO_MAX_PIXELS:
                raise too_many_pixels
            try:
                image.load()  # the whole image must decode, not only its header
            except Exception:
                raise not_an_image
            extension = LOGO_FORMATS.get(image.format)
    if extension is None:
        raise not_an_image
    return extension, content


_truncated_images_lock = threading.Lock()


@contextmanager
def _truncated_images_refused():
    """Decode strictly: importing WeasyPrint sets Pillow's process-wide ImageFile.LOAD_TRUNCATED_IMAGES, and with it
    a truncated file decodes without an error. The lock keeps concurrent uploads from restoring each other's value;
    a PDF rendered meanwhile at worst leaves out a truncated image, which an upload can no longer store."""
    with _truncated_images_lock:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def settings_logo_set(*, tenant, actor_id: int | None, uploaded) -> InvoicingSettings:
    """Store the admin's logo (PNG, JPEG or WebP, see logo_decode); None removes it. The file it replaces leaves
    storage after commit."""
    # Decoding takes a while: before the transaction and its lock.
    logo = logo_decode(uploaded) if uploaded is not None else None
    with transaction.atomic():
        # Locked so two uploads at once cannot both replace the same file and leave the other's new file behind.
        row = InvoicingSettings.objects.select_for_update().get(pk=settings_for(tenant).pk)
        replaced = row.logo.name
        if logo is None:
            row.logo = ""
        else:
            extension, content = logo
            # The bytes that were decoded are the bytes stored.
            row.logo.save(f"tenant-{tenant.id}.{extension}", ContentFile(content), save=False)
        row.save()
        events.logo_changed(row, actor_id=actor_id, removed=logo is None)
        if replaced:
            transaction.on_commit(partial(_logo_file_delete, replaced), robust=True)
    return row


def _logo_file_delete(name: str) -> None:
    """Delete a logo file that no settings row points at any more: never one that a row (another admin's, or this
    one's again) still uses."""
    if InvoicingSettings.objects.filter(logo=name).exists():
        return
    InvoicingSettings._meta.get_field("logo").storage.delete(name)
