"""The PDF renderer loads only the bundled fonts and the admin's own logo: no network, no other file, no data: URL.

A probe uploaded an SVG logo with <image href="http://127.0.0.1:..."> (the web and Celery workers requested internal
URLs) and <image href="file:///.../tenant-2.png"> (another admin's logo in this admin's PDF).
"""

import base64
import datetime
import http.server
import io
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from invoicing.documents import pdf
from invoicing.documents.pdf import FONTS_DIR, ResourceRefused, document_fetcher, render_html_pdf, resource_path
from invoicing.services.configuration import settings_for, settings_logo_set
from invoicing.services.documents import invoice_pdf
from invoicing.services.invoices import invoice_create_prepaid

from .images import fetching_svg, image_bytes

REGULAR_FONT = FONTS_DIR / "DejaVuSans.ttf"
BOLD_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
BUNDLED_URIS = {REGULAR_FONT.as_uri(), BOLD_FONT.as_uri()}


@dataclass
class Listener:
    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def listener():
    """An HTTP server on loopback standing for an internal service; it records every request it receives."""
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            received.append(self.path)
            body = image_bytes("PNG")
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Listener(url=f"http://127.0.0.1:{server.server_address[1]}", requests=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def served(monkeypatch) -> list[str]:
    """The URLs the renderer was allowed to load (it refuses the others)."""
    urls: list[str] = []
    rule = pdf.resource_path

    def recording(url, **kwargs):
        path = rule(url, **kwargs)
        if path is not None:
            urls.append(url)
        return path

    monkeypatch.setattr(pdf, "resource_path", recording)
    return urls


def image_count(document: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(document)).pages)


def font_names(document: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(document)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return names


def refused_urls(caplog) -> list[str]:
    return [r.args[0] for r in caplog.records if r.name == pdf.__name__ and r.levelno == logging.WARNING]


# --- the renderer -----------------------------------------------------------------------------------------------


def test_pdf_fetches_no_url_nor_other_file_but_renders_the_own_logo_and_the_bundled_font(
    tmp_path, listener, served, caplog
):
    own_logo = tmp_path / "tenant-1.png"
    own_logo.write_bytes(image_bytes("PNG"))
    other_logo = tmp_path / "tenant-2.png"
    other_logo.write_bytes(image_bytes("PNG", (30, 30)))
    small_data = "data:image/png;base64," + base64.b64encode(image_bytes("PNG", (5, 5))).decode()
    html = f"""<!doctype html><html><head>
    <style>
      @import url("{listener.url}/import.css");
      @font-face {{ font-family: Probe; src: url("DejaVuSans-Bold.ttf"); }}
      body {{ font-family: Probe; background: url("{listener.url}/background.png"); }}
    </style>
    <link rel="stylesheet" href="{listener.url}/style.css">
    </head><body>
      <p>Probe</p>
      <img src="{own_logo.as_uri()}">
      <img src="{listener.url}/image.png">
      <img src="{other_logo.as_uri()}">
      <img src="file:///etc/passwd">
      <img src="{small_data}">
      <object data="{listener.url}/object.png" type="image/png"></object>
      <svg width="10" height="10"><image href="{listener.url}/inline-svg.png" width="10" height="10"/></svg>
      <a rel="attachment" href="{listener.url}/attachment.txt">terms</a>
    </body></html>"""
    caplog.set_level(logging.WARNING, logger=pdf.__name__)

    document = render_html_pdf(html, files=[own_logo])

    assert document.startswith(b"%PDF-")
    assert listener.requests == []
    # (the regular font too when this is the process's first rendering: the shared stylesheet loads it once)
    assert {own_logo.as_uri(), BOLD_FONT.as_uri()} <= set(served) <= {own_logo.as_uri(), *BUNDLED_URIS}
    assert image_count(document) == 1  # the own logo only
    assert font_names(document) == {"Probe-Bold"}  # the @font-face family, drawn with the bundled bold font
    refused = refused_urls(caplog)
    for url in (
        f"{listener.url}/import.css",
        f"{listener.url}/style.css",
        f"{listener.url}/background.png",
        f"{listener.url}/image.png",
        f"{listener.url}/object.png",
        f"{listener.url}/inline-svg.png",
        f"{listener.url}/attachment.txt",
        other_logo.as_uri(),
        "file:///etc/passwd",
    ):
        assert url in refused
    assert any(url.startswith("data:image/png") for url in refused)


@pytest.fixture
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


def test_a_stored_svg_logo_cannot_make_the_invoice_pdf_fetch_urls_or_another_admins_logo(
    admin, other_admin, user, settings, tmp_path, listener, served, frozen, caplog
):
    settings.MEDIA_ROOT = tmp_path
    caplog.set_level(logging.WARNING, logger=pdf.__name__)
    settings_logo_set(
        tenant=other_admin.tenant,
        actor_id=None,
        uploaded=SimpleUploadedFile("logo.png", image_bytes("PNG"), content_type="image/png"),
    )
    other_logo = settings_for(other_admin.tenant).logo.path
    # An SVG logo stored before uploads were decoded (uploads refuse SVG now), written straight to storage.
    row = settings_for(admin.tenant)
    svg = fetching_svg(f"{listener.url}/internal", f"file://{other_logo}")
    row.logo.save(f"tenant-{admin.tenant.id}.svg", ContentFile(svg), save=True)
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00")

    name, document = invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)

    assert name == "INV-2026-00001.pdf"
    assert listener.requests == []
    assert Path(row.logo.path).as_uri() in served  # the SVG itself is drawn
    assert f"file://{other_logo}" not in served
    assert {f"{listener.url}/internal", f"file://{other_logo}"} <= set(refused_urls(caplog))
    assert image_count(document) == 0  # no raster image: the other admin's PNG is not embedded


def test_the_invoice_pdf_embeds_the_admins_own_logo(admin, user, settings, tmp_path, served, frozen):
    settings.MEDIA_ROOT = tmp_path
    settings_logo_set(
        tenant=admin.tenant,
        actor_id=None,
        uploaded=SimpleUploadedFile("logo.webp", image_bytes("WEBP"), content_type="image/webp"),
    )
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00")

    _, document = invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)

    # (the bundled fonts are fetched once per process, by the first rendering)
    assert [url for url in served if url not in BUNDLED_URIS] == [Path(settings_for(admin.tenant).logo.path).as_uri()]
    assert image_count(document) == 1


# --- the fetcher ------------------------------------------------------------------------------------------------


@pytest.fixture
def logos(tmp_path):
    own = tmp_path / "logos" / "tenant-1.png"
    other = tmp_path / "logos" / "tenant-2.png"
    own.parent.mkdir()
    own.write_bytes(image_bytes("PNG"))
    other.write_bytes(image_bytes("JPEG"))
    return own, other


@pytest.mark.parametrize(
    "url, expected",
    [
        pytest.param(lambda own: REGULAR_FONT.as_uri(), lambda own: REGULAR_FONT, id="bundled-font"),
        pytest.param(lambda own: BOLD_FONT.as_uri(), lambda own: BOLD_FONT, id="bundled-bold-font"),
        pytest.param(lambda own: own.as_uri(), lambda own: own, id="own-logo"),
        pytest.param(lambda own: own.as_uri() + "?v=2#top", lambda own: own, id="own-logo-with-query-and-fragment"),
        pytest.param(lambda own: f"file://{own.parent}/../logos/{own.name}", lambda own: own, id="own-logo-dot-dot"),
        pytest.param(lambda own: f"FILE://{own}", lambda own: own, id="scheme-in-capitals"),
    ],
)
def test_fetcher_serves_the_bundled_fonts_and_the_given_logo(logos, url, expected):
    own, _ = logos

    path = resource_path(url(own), files=frozenset([own]))
    response = document_fetcher([own]).fetch(url(own))

    assert path == expected(own)
    assert response.read() == expected(own).read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(lambda own, other: "http://127.0.0.1:8000/internal", id="http-loopback"),
        pytest.param(lambda own, other: "http://169.254.169.254/latest/meta-data/", id="http-metadata"),
        pytest.param(lambda own, other: "https://example.com/logo.png", id="https"),
        pytest.param(lambda own, other: "ftp://example.com/logo.png", id="ftp"),
        pytest.param(lambda own, other: "gopher://127.0.0.1:6379/_INFO", id="gopher"),
        pytest.param(lambda own, other: "data:image/png;base64,iVBORw0KGgo=", id="data-url"),
        pytest.param(lambda own, other: "data:image/svg+xml,<svg/>", id="data-svg"),
        pytest.param(lambda own, other: other.as_uri(), id="other-tenants-logo"),
        pytest.param(lambda own, other: f"file://{own.parent}/../logos/{other.name}", id="other-logo-via-dot-dot"),
        pytest.param(lambda own, other: "file:///etc/passwd", id="system-file"),
        pytest.param(lambda own, other: (FONTS_DIR / "README.md").as_uri(), id="bundled-non-font"),
        pytest.param(lambda own, other: (FONTS_DIR / ".." / "pdf.py").as_uri(), id="source-beside-fonts"),
        pytest.param(lambda own, other: FONTS_DIR.as_uri(), id="fonts-directory"),
        pytest.param(lambda own, other: f"file://fileserver{own}", id="file-on-another-host"),
        pytest.param(lambda own, other: f"file://localhost{own}", id="file-with-a-host"),
        pytest.param(lambda own, other: own.with_name("missing.png").as_uri(), id="missing-file"),
        pytest.param(lambda own, other: "file:///tmp/%00.png", id="nul-byte"),
        pytest.param(lambda own, other: "DejaVuSans.ttf", id="relative"),
        pytest.param(lambda own, other: "javascript:alert(1)", id="javascript"),
    ],
)
def test_fetcher_refuses_every_other_url_and_logs_it(logos, url, caplog):
    own, other = logos
    caplog.set_level(logging.WARNING, logger=pdf.__name__)

    path = resource_path(url(own, other), files=frozenset([own]))
    with pytest.raises(ResourceRefused):
        document_fetcher([own]).fetch(url(own, other))

    assert path is None
    assert refused_urls(caplog) == [url(own, other)]


def test_a_symbolic_link_to_another_file_is_not_the_given_logo(logos, tmp_path):
    own, other = logos
    link = tmp_path / "link.png"
    link.symlink_to(other)

    assert resource_path(link.as_uri(), files=frozenset([own])) is None
    assert resource_path(own.as_uri(), files=frozenset([link.resolve()])) is None


def test_fetcher_logs_a_long_url_shortened(caplog):
    url = "data:image/png;base64," + "A" * 100_000
    caplog.set_level(logging.WARNING, logger=pdf.__name__)

    with pytest.raises(ResourceRefused):
        document_fetcher().fetch(url)

    assert [len(logged) for logged in refused_urls(caplog)] == [200]
