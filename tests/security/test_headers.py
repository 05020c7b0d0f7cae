"""Headers of every answer: a Content-Security-Policy that allows no inline script (and pages that need none), and
`Cache-Control: no-store` on pages, API answers and documents; gunicorn's control socket is never shared."""

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from invoicing.services.configuration import settings_logo_set
from tests.api.conftest import frozen_time, token_client  # noqa: F401 - frozen_time is autouse here too
from tests.security.images import image_bytes
from tests.security.test_page_fuzzing import PERSONAS, _fill, routes
from tests.security.test_page_fuzzing import crawl_clients as crawl_clients  # the fixture

ROOT = Path(settings.BASE_DIR)
TEMPLATE_DIRS = [ROOT / "templates", ROOT / "invoicing" / "templates"]
# Rendered by WeasyPrint or sent as email, never served as a page: no policy applies to them.
NOT_PAGES = ("invoicing/pdf/", "registration/password_reset_email", "/emails/")
DOWNLOADS = [
    "/users/?format=csv",
    "/users/{account_id}/?format=csv",
    "/me/?format=csv",
    "/invoicing/invoices/report/",
    "/invoicing/payments/export/",
    "/invoicing/recurring/?format=csv",
    "/invoicing/events/?format=csv",
    "/invoicing/outbox/?format=csv",
    "/invoicing/settings/taxes/?format=csv",
    "/invoicing/invoices/{invoice_id}/pdf/",
    "/me/invoices/{invoice_id}/pdf/",
]


def directives(policy: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


class InlineFinder(HTMLParser):
    """What a policy without 'unsafe-inline' would block: inline scripts, event handler attributes, javascript:
    URLs, style attributes and <style> elements."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and "src" not in a and a.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def _problems_of(url, persona, response) -> list[str]:
    problems = []
    where = f"GET {url} as {persona} ({response.status_code})"
    if "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"{where}: Cache-Control {response.get('Cache-Control')!r}")
    policy = response.get("Content-Security-Policy")
    if policy is None:
        problems.append(f"{where}: no Content-Security-Policy")
    else:
        rules = directives(policy)
        scripts = rules.get("script-src", rules.get("default-src", []))
        if "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts or not scripts:
            problems.append(f"{where}: script-src {scripts}")
    if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
        problems += [f"{where}: {part}" for part in inline_parts(response.content.decode())]
    return problems


def test_every_page_has_the_policy_and_no_inline_script_or_style_and_is_never_stored(crawl_clients):
    clients, own, _, invoices = crawl_clients
    problems = []
    answered = 0
    for route in routes():
        urls = [_fill(route, own)]
        if "invoice_id" in route.params:
            urls += [_fill(route, {**own, "invoice_id": other}) for other in invoices]
        for url in urls:
            for persona in ("platform", "anonymous") if route.area == "admin" else PERSONAS:
                response = clients[persona].get(url)
                answered += response.status_code == 200
                problems += _problems_of(url, persona, response)
    assert answered > 100
    assert problems == []


def test_the_policy_is_our_origin_only():
    rules = directives(_policy_of_a_page())

    assert rules["default-src"] == ["'self'"]
    assert rules["script-src"] == ["'self'"]
    assert rules["style-src"] == ["'self'", settings.HTMX_INDICATOR_STYLE_HASH]
    assert rules["img-src"] == ["'self'", "data:"]
    assert rules["object-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
    assert rules["form-action"] == ["'self'"] and rules["base-uri"] == ["'self'"]


def _policy_of_a_page() -> str:
    from django.test import Client

    return Client().get("/login/")["Content-Security-Policy"]


def test_the_style_htmx_injects_is_the_one_the_policy_allows():
    """htmx adds one <style> for its request indicators; the policy allows exactly that text by its hash. A new htmx
    with another text fails here (recompute HTMX_INDICATOR_STYLE_HASH in config/settings.py)."""
    (source,) = (ROOT / "static" / "vendor").glob("htmx-*/htmx.min.js")
    code = source.read_text()
    match = re.search(r'insertAdjacentHTML\("beforeend","<style"\+e\+">(.*?)</style>"\)', code)
    assert match, "htmx no longer injects its indicator style this way"
    text = (
        match.group(1)
        .replace('"+Q.config.indicatorClass+"', "htmx-indicator")
        .replace('"+Q.config.requestClass+"', "htmx-request")
    )
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert settings.HTMX_INDICATOR_STYLE_HASH == f"'sha256-{digest}'"


@pytest.mark.parametrize("path", [p for d in TEMPLATE_DIRS for p in sorted(d.rglob("*.html"))], ids=str)
def test_no_template_has_inline_script_or_style(path):
    """Every template, also those the crawl does not render (errors, fragments, dialogs), keeps script and style
    in static files: the browser tests run with the policy."""
    name = path.as_posix()
    if any(part in name for part in NOT_PAGES):
        pytest.skip("not a page")
    text = re.sub(r"\{[{%#].*?[%}#]\}", "", path.read_text(), flags=re.S)  # template tags out, markup in

    assert inline_parts(text) == []


def test_the_logo_keeps_its_own_sandboxing_policy(admin):
    settings_logo_set(
        tenant=admin.tenant, actor_id=None, uploaded=SimpleUploadedFile("logo.png", image_bytes(), "image/png")
    )

    response = admin.client.get("/invoicing/settings/business/logo/")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("template", DOWNLOADS)
def test_documents_are_never_stored(crawl_clients, template):
    clients, own, _, _ = crawl_clients
    persona = "portal" if template.startswith("/me/") else "owner"

    response = clients[persona].get(template.format(**own))

    assert response.status_code == 200, response.status_code
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/invoices/",
        "/api/v1/users/",
        "/api/v1/invoices/{invoice_id}/pdf/",
        "/api/v1/invoices/{invoice_id}/pdf/versions/1/",
        "/api/v1/reports/payments/",
        "/api/v1/settings/",
        "/api/v1/invoices/99999999/",
    ],
)
def test_api_answers_are_never_stored(admin, crawl_clients, path):
    _, own, _, _ = crawl_clients

    response = token_client(admin.tenant).get(path.format(**own))

    assert response.status_code in (200, 404)
    assert "no-store" in response["Cache-Control"]


def test_static_files_stay_cacheable(client):
    response = client.get("/static/js/app.js")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_every_gunicorn_has_its_own_control_socket_or_none():
    """Two gunicorns on one host shared ~/.gunicorn/gunicorn.ctl: one's gunicornc commands reached the other, and one
    stopping removed the other's socket. Every gunicorn this project starts has no control socket."""
    commands = [
        line
        for path in [*ROOT.glob("Procfile*"), ROOT / "Makefile"]
        for line in path.read_text().splitlines()
        if "gunicorn " in line and not line.lstrip().startswith("#")
    ]

    assert commands
    for line in commands:
        assert "--no-control-socket" in line or re.search(r"--control-socket \S*var/", line), line
