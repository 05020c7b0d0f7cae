"""A number format that could break a header, a file name or an email subject is refused where it is saved."""

import pytest

from invoicing.models import InvoicingSettings
from invoicing.services.configuration import settings_update
from msgplatform.core.errors import ValidationFailed
from tests.api.conftest import token_client
from tests.web.test_settings import GENERAL

HOSTILE = [
    'INV"; x\r\nSet-Cookie: a=b-{seq}',
    "INV\n{seq}",
    "INV\t{seq}",
    'INV"{seq}',
    "INV'{seq}",
    "INV;{seq}",
    "INV<b>{seq}",
    "INV\x00{seq}",
    "INV-{seq}-{seq!r}",
    "INV-{seq:>99}",
]


@pytest.mark.parametrize("fmt", HOSTILE)
def test_the_service_refuses_a_hostile_number_format_and_keeps_the_old_one(admin, fmt):
    before = InvoicingSettings.objects.filter(tenant=admin.tenant).values_list("number_format", flat=True).first()

    with pytest.raises(ValidationFailed) as error:
        settings_update(tenant=admin.tenant, actor_id=None, number_format=fmt)

    assert error.value.field == "number_format"
    after = InvoicingSettings.objects.filter(tenant=admin.tenant).values_list("number_format", flat=True).first()
    assert after == before


@pytest.mark.parametrize("fmt", ["INV-{YYYY}-{seq:05}", "A {YY}/{MM} #{seq}", "acme_{seq:3}.x"])
def test_ordinary_formats_are_kept(admin, fmt):
    assert settings_update(tenant=admin.tenant, actor_id=None, number_format=fmt).number_format == fmt


def test_the_page_and_the_api_show_the_same_field_error(admin):
    page = admin.client.post("/invoicing/settings/", {**GENERAL, "number_format": HOSTILE[0]})
    api = token_client(admin.tenant).put("/api/v1/settings/numbering/", {"number_format": HOSTILE[0]}, "json")

    assert page.status_code == 200 and 'id="id_number_format-error"' in page.content.decode()
    assert api.status_code == 400 and api["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in api.json()["errors"]] == ["number_format"]
