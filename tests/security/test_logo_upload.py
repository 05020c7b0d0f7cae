"""Logos are PNG, JPEG or WebP images, checked by decoding them: SVG, other formats, garbage and pixel bombs are
refused at the field `logo` and change nothing; a replaced or removed logo's file leaves storage after commit."""

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ImageFile
from rest_framework.test import APIClient

from invoicing.models import InvoicingSettings
from invoicing.services.configuration import LOGO_MAX_BYTES, settings_for, settings_logo_set
from msgplatform.accounts.models import StaffRole
from msgplatform.accounts.services.tokens import token_create
from msgplatform.core.errors import ValidationFailed
from msgplatform.core.models import Event
from tests.factories import StaffFactory

from .images import fetching_svg, image_bytes, noise_image, noise_png, pixel_bomb_png, png_header_only

FORMAT_MESSAGE = "The logo must be a PNG, JPEG or WebP image."
PIXELS_MESSAGE = "The logo must be at most 4096 x 4096 pixels and 16 megapixels."
BYTES_MESSAGE = "The logo must be at most 512 KB."


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(content: bytes, name: str = "logo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def logo_set(persona, content: bytes, **kwargs):
    return settings_logo_set(tenant=persona.tenant, actor_id=None, uploaded=upload(content, **kwargs))


def stored_files(media: Path) -> dict[str, bytes]:
    return {str(p.relative_to(media)): p.read_bytes() for p in media.rglob("*") if p.is_file()}


@pytest.mark.parametrize("image_format, extension", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_png_jpeg_and_webp_logos_are_stored_with_the_extension_of_their_decoded_format(admin, image_format, extension):
    content = image_bytes(image_format)

    # The name and content type say nothing true: the decoded format decides.
    row = logo_set(admin, content, name="logo.bin", content_type="application/octet-stream")

    assert row.logo.name == f"logos/tenant-{admin.tenant.id}.{extension}"
    assert Path(row.logo.path).read_bytes() == content
    assert settings_for(admin.tenant).logo.name == row.logo.name


def test_a_logo_at_the_pixel_limits_is_accepted(admin):
    row = logo_set(admin, image_bytes("PNG", (4096, 3906), mode="1"))  # 15,998,976 pixels

    assert row.logo.name == f"logos/tenant-{admin.tenant.id}.png"


@pytest.fixture
def stored(admin, media, django_capture_on_commit_callbacks):
    """The admin's current logo (a PNG), committed; what every refusal must leave as it is."""
    with django_capture_on_commit_callbacks(execute=True):
        logo_set(admin, image_bytes("PNG"))
    return {
        "name": settings_for(admin.tenant).logo.name,
        "files": stored_files(media),
        "events": Event.objects.count(),
    }


def assert_unchanged(admin, media, stored):
    assert settings_for(admin.tenant).logo.name == stored["name"]
    assert stored_files(media) == stored["files"]
    assert Event.objects.count() == stored["events"]


@pytest.mark.parametrize(
    "content, name, content_type, message",
    [
        pytest.param(fetching_svg("http://127.0.0.1:8000/"), "logo.svg", "image/svg+xml", FORMAT_MESSAGE, id="svg"),
        pytest.param(fetching_svg("file:///etc/passwd"), "logo.png", "image/png", FORMAT_MESSAGE, id="svg-as-png"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "logo.png", "image/png", FORMAT_MESSAGE, id="garbage-png"),
        pytest.param(image_bytes("PNG", (200, 200))[:120], "logo.png", "image/png", FORMAT_MESSAGE, id="truncated-png"),
        pytest.param(image_bytes("GIF"), "logo.gif", "image/gif", FORMAT_MESSAGE, id="gif"),
        pytest.param(image_bytes("GIF"), "logo.png", "image/png", FORMAT_MESSAGE, id="gif-as-png"),
        pytest.param(image_bytes("BMP"), "logo.jpg", "image/jpeg", FORMAT_MESSAGE, id="bmp-as-jpeg"),
        pytest.param(b"", "logo.png", "image/png", FORMAT_MESSAGE, id="empty"),
        pytest.param(image_bytes("PNG", (4097, 1), mode="1"), "logo.png", "image/png", PIXELS_MESSAGE, id="too-wide"),
        pytest.param(image_bytes("PNG", (1, 4097), mode="1"), "logo.png", "image/png", PIXELS_MESSAGE, id="too-tall"),
        pytest.param(
            image_bytes("PNG", (4096, 3907), mode="1"), "logo.png", "image/png", PIXELS_MESSAGE, id="too-many-pixels"
        ),
        pytest.param(png_header_only(20_000, 20_000), "logo.png", "image/png", PIXELS_MESSAGE, id="400-megapixels"),
        pytest.param(b"\x89PNG" + b"\x00" * LOGO_MAX_BYTES, "logo.png", "image/png", BYTES_MESSAGE, id="too-large"),
    ],
)
def test_a_refused_logo_is_reported_at_the_field_and_changes_nothing(
    admin, media, stored, content, name, content_type, message
):
    with pytest.raises(ValidationFailed) as refusal:
        logo_set(admin, content, name=name, content_type=content_type)

    assert (refusal.value.field, refusal.value.message) == ("logo", message)
    assert_unchanged(admin, media, stored)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_refused_even_where_weasyprint_relaxed_pillow(
    admin, media, stored, monkeypatch, image_format
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing WeasyPrint does to the process
    whole = noise_image(image_format, 64)

    with pytest.raises(ValidationFailed) as refusal:
        logo_set(admin, whole[: len(whole) * 2 // 3])

    assert (refusal.value.field, refusal.value.message) == ("logo", FORMAT_MESSAGE)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored
    assert_unchanged(admin, media, stored)


def test_a_real_image_over_the_byte_limit_is_refused(admin, media, stored):
    noise = noise_png(600)
    assert len(noise) > LOGO_MAX_BYTES

    with pytest.raises(ValidationFailed) as refusal:
        logo_set(admin, noise)

    assert (refusal.value.field, refusal.value.message) == ("logo", BYTES_MESSAGE)
    assert_unchanged(admin, media, stored)


def test_a_10000_by_10000_png_is_refused_by_the_pixel_limit_without_decoding_it(admin, media, stored):
    bomb = pixel_bomb_png()
    assert len(bomb) < 20_000

    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refusal:
        logo_set(admin, bomb)
    elapsed = time.perf_counter() - started

    assert (refusal.value.field, refusal.value.message) == ("logo", PIXELS_MESSAGE)
    assert elapsed < 0.5
    assert_unchanged(admin, media, stored)


def test_replacing_the_logo_deletes_the_old_file_after_commit_and_leaves_other_admins_alone(
    admin, other_admin, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        logo_set(other_admin, image_bytes("PNG", (30, 30)))
        old = Path(logo_set(admin, image_bytes("PNG")).logo.path)
    others = stored_files(media)
    others.pop(str(old.relative_to(media)))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        new = Path(logo_set(admin, image_bytes("JPEG")).logo.path)
    assert old.exists()  # until the new logo is committed
    for callback in callbacks:
        callback()

    assert not old.exists()
    assert new.read_bytes() == image_bytes("JPEG")
    assert stored_files(media) == {**others, str(new.relative_to(media)): image_bytes("JPEG")}


def test_a_replacement_with_the_same_format_keeps_the_new_file(admin, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = logo_set(admin, image_bytes("PNG")).logo.name
    with django_capture_on_commit_callbacks(execute=True):
        second = logo_set(admin, image_bytes("PNG", (10, 10))).logo.name
    with django_capture_on_commit_callbacks(execute=True):
        third = logo_set(admin, image_bytes("PNG", (12, 12))).logo.name

    assert first != second and second != third
    assert stored_files(media) == {third: image_bytes("PNG", (12, 12))}


def test_removing_the_logo_deletes_its_file_after_commit(admin, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        path = Path(logo_set(admin, image_bytes("PNG")).logo.path)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = settings_logo_set(tenant=admin.tenant, actor_id=None, uploaded=None)
    assert path.exists() and not row.logo
    for callback in callbacks:
        callback()

    assert not path.exists() and not settings_for(admin.tenant).logo
    assert stored_files(media) == {}


def test_a_file_another_admins_row_points_at_is_never_deleted(
    admin, other_admin, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shared = logo_set(admin, image_bytes("PNG")).logo.name
    InvoicingSettings.objects.filter(pk=settings_for(other_admin.tenant).pk).update(logo=shared)

    with django_capture_on_commit_callbacks(execute=True):
        logo_set(admin, image_bytes("JPEG"))
        settings_logo_set(tenant=admin.tenant, actor_id=None, uploaded=None)

    assert (media / shared).read_bytes() == image_bytes("PNG")
    assert stored_files(media) == {shared: image_bytes("PNG")}


# --- entry points -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, name, content_type, message",
    [
        pytest.param(fetching_svg("http://127.0.0.1:8000/"), "logo.svg", "image/svg+xml", FORMAT_MESSAGE, id="svg"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "logo.png", "image/png", FORMAT_MESSAGE, id="garbage-png"),
        pytest.param(pixel_bomb_png(), "logo.png", "image/png", PIXELS_MESSAGE, id="pixel-bomb"),
    ],
)
def test_settings_page_shows_a_refused_logo_at_the_field(admin, media, stored, content, name, content_type, message):
    response = admin.client.post(
        "/invoicing/settings/business/", {"action": "logo", "logo": upload(content, name, content_type)}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_logo-error"' in page and message in page
    assert_unchanged(admin, media, stored)


def test_settings_page_accepts_a_webp_logo(admin, media):
    response = admin.client.post(
        "/invoicing/settings/business/",
        {"action": "logo", "logo": upload(image_bytes("WEBP"), "logo.webp", "image/webp")},
    )

    assert response.status_code == 302
    assert settings_for(admin.tenant).logo.name == f"logos/tenant-{admin.tenant.id}.webp"


def test_the_rest_api_takes_no_logo_and_a_logo_sent_to_it_changes_nothing(admin, media, stored):
    _, secret = token_create(user=StaffFactory(tenant=admin.tenant, role=StaffRole.OWNER), name="Owner token")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = api.patch(
        "/api/v1/settings/",
        {"logo": upload(fetching_svg("http://127.0.0.1:8000/"), "logo.svg", "image/svg+xml")},
        format="multipart",
    )

    assert response.status_code == 200 and response.json()["has_logo"] is True
    assert settings_for(admin.tenant).logo.name == stored["name"]
    assert stored_files(media) == stored["files"]


@pytest.mark.parametrize(
    "image_format, content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_the_logo_page_serves_each_format_with_its_type_and_a_sandbox(admin, media, image_format, content_type):
    content = image_bytes(image_format)
    logo_set(admin, content)

    response = admin.client.get("/invoicing/settings/business/logo/")

    assert (response.status_code, response["Content-Type"], response.content) == (200, content_type, content)
    assert "sandbox" in response["Content-Security-Policy"]
