import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from invoicing.models import TaxRate
from invoicing.selectors.usage import preview_records_page
from invoicing.services.configuration import (
    bank_details_update,
    settings_for,
    settings_logo_set,
    settings_update,
    tax_rate_create,
    tax_rate_delete,
    tax_rate_update,
)
from msgplatform.core.errors import NotFound, ValidationFailed
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import record_row
from tests.security.images import image_bytes

PNG = image_bytes("PNG", (1, 1))


def test_defaults_exist_for_a_new_admin(admin):
    row = settings_for(admin.tenant)
    assert (row.number_format, row.default_due_days, row.anomaly_threshold_percent) == (
        "INV-{YYYY}-{seq:05}",
        15,
        Decimal("50"),
    )
    assert row.business_name == admin.tenant.name


def test_settings_update_validates_and_keeps_nothing_on_error(admin):
    with pytest.raises(ValidationFailed) as error:
        settings_update(tenant=admin.tenant, actor_id=None, default_due_days=400)
    assert error.value.field == "default_due_days"
    assert settings_for(admin.tenant).default_due_days == 15

    settings_update(
        tenant=admin.tenant, actor_id=None, default_due_days=30, email_on_approval=True, default_terms="Net 30"
    )
    row = settings_for(admin.tenant)
    assert (row.default_due_days, row.email_on_approval, row.default_terms) == (30, True, "Net 30")


def test_tax_rates_validate_update_and_soft_delete(admin):
    with pytest.raises(ValidationFailed):
        tax_rate_create(tenant=admin.tenant, actor_id=None, name="Bad", rate="101")
    with pytest.raises(ValidationFailed):
        tax_rate_create(tenant=admin.tenant, actor_id=None, name="", rate="5")
    tax = tax_rate_create(tenant=admin.tenant, actor_id=None, name="GST", rate="18.0000", description="India")

    tax_rate_update(tenant=admin.tenant, tax_id=tax.id, actor_id=None, rate="12.5", applicable=False)
    tax_rate_delete(tenant=admin.tenant, tax_id=tax.id, actor_id=None)

    kept = TaxRate.objects.get(pk=tax.id)
    assert (kept.rate, kept.applicable, kept.active, kept.deleted_at is not None) == (
        Decimal("12.5"),
        False,
        False,
        True,
    )
    with pytest.raises(NotFound):
        tax_rate_update(tenant=admin.tenant, tax_id=tax.id, actor_id=None, rate="1")


def test_another_admins_tax_is_not_found(admin, other_admin):
    tax = tax_rate_create(tenant=other_admin.tenant, actor_id=None, name="MwSt", rate="19")
    with pytest.raises(NotFound):
        tax_rate_delete(tenant=admin.tenant, tax_id=tax.id, actor_id=None)


def test_bank_details_are_saved(admin):
    bank_details_update(
        tenant=admin.tenant,
        actor_id=None,
        bank_name="First Bank",
        swift="FBNKUS33",
        account_number="0001234",
        account_holder="Acme",
    )
    assert admin.tenant.bank_details.swift == "FBNKUS33"


def test_logo_must_be_a_small_image(admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ValidationFailed):
        settings_logo_set(
            tenant=admin.tenant,
            actor_id=None,
            uploaded=SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload"),
        )
    row = settings_logo_set(
        tenant=admin.tenant, actor_id=None, uploaded=SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    )
    assert row.logo.name.startswith("logos/tenant-") and row.logo.read() == PNG


def test_preview_records_are_the_unbilled_ones_up_to_the_range_end_and_tenant_scoped(admin, other_admin, postpaid_user):
    records_ingest(
        tenant=admin.tenant,
        rows=[record_row(postpaid_user, n, submitted_at=f"2026-03-{n + 1:02d}T15:00:00Z") for n in range(1, 6)],
    )

    page = preview_records_page(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        period_start=datetime.date(2026, 3, 3),
        period_end=datetime.date(2026, 3, 5),
        per_page=2,
    )

    # The range's records and the older unbilled one (prior-period usage, SPEC §3); not the one after the range.
    assert [r.message_id for r in page] == ["m-1", "m-2"]
    assert page.paginator.count == 4
    with pytest.raises(NotFound):
        preview_records_page(
            tenant=other_admin.tenant,
            account_id=postpaid_user.id,
            period_start=datetime.date(2026, 3, 1),
            period_end=datetime.date(2026, 3, 31),
        )
