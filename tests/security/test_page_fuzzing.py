"""Every page of the URL configuration, crawled with hostile input: no answer is a server error (4xx and 200 are fine).

The crawl walks django.urls.get_resolver() (the host's pages, the plugin's, the API, Django's admin), fills each
path parameter with a real id of the crawling tenant, and requests every route, GET and POST, as a staff owner, a
viewer, a user's own portal login, the platform owner and anonymous. For the pages, then:

- GET with every query parameter the view read (recorded by a middleware while it served the plain request) and a
  fixed set of common ones, each hostile value in turn: all at once for every login the view answers, then one
  parameter at a time for the first of them;
- POST every form each login's page shows (once per form): its own values, every field hostile at once, and one
  field at a time hostile; a POST-only action with the parameters it read set to each hostile value;
- the path parameters in turn hostile (0, 99999999, a 20-digit number, a long word, another tenant's id).

Each POST is rolled back, so the crawl always sees the same book. The API answers the hostile query values as the
owner; its ids and bodies are the schemathesis test's (tests/api/test_schemathesis.py). Django's admin (the
platform owner's) gets its plain pages and hostile ids. Bounded: about 9,000 requests, well under a minute.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from invoicing.models import EmailLog, Invoice
from msgplatform.accounts.models import StaffRole, User
from tests.api.conftest import frozen_time, seed_tenant  # noqa: F401 - frozen_time is autouse here too
from tests.factories import StaffFactory

HOSTILE = [
    "",
    "0",
    "-1",
    "99999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "0001-01",
    "9999-12",
    "'\"<script>",
    "\x00",  # sent as %00
    "a" * 5000,
    "[]",
    "nan",
    "1e999",
]
# One field at a time gets the values that confuse types and ranges most (the others keep the form's own values).
FIELD_HOSTILE = ["", "-1", "99999999999999999999", "9999-12-31", "\x00", "a" * 5000, "nan", "1e999"]
COMMON_QUERY = [
    "page",
    "per_page",
    "page_size",
    "ordering",
    "q",
    "status",
    "tab",
    "date_from",
    "date_to",
    "month",
    "account",
    "account_id",
    "user",
    "kind",
    "since",
    "format",
    "next",
]
HOSTILE_IDS = ["0", "99999999", "99999999999999999999"]
FORMS_AT_LEAST = 40


# --- what a view reads ----------------------------------------------------------------------------------------

READ: set[str] = set()


class RecordingQueryDict(QueryDict):
    """A QueryDict that notes every key a view looks up (get, [], getlist, in)."""

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def _getlist(self, key, default=None, force_list=False):
        READ.add(key)
        return super()._getlist(key, default, force_list)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)


def _recording(data: QueryDict) -> RecordingQueryDict:
    copy = RecordingQueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        copy.setlist(key, values)
    copy._mutable = False
    return copy


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class RecordingMiddleware:
    """Test only: swap request.GET and request.POST for recording copies before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = _recording(request.GET)
        if request.method == "POST" and request.content_type in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            request.POST = _recording(request.POST)
        return self.get_response(request)


# --- the forms a page shows -----------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    submits: list[tuple[str, str]] = field(default_factory=list)


class FormParser(HTMLParser):
    """<form>s with their inputs, selects (the selected or first real option), textareas and submit buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self.form)
            return
        form = self.form
        if form is None or not a.get("name") and tag != "option":
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                form.submits.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.setdefault(name, []).append(a.get("value", "on"))
                else:
                    form.fields.setdefault(name, [])
            elif kind == "file":
                form.fields.setdefault(name, [])
            else:
                form.fields[name] = [a.get("value", "") or _plausible(kind, name)]
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            form.submits.append((name, a.get("value", "")))
        elif tag == "select":
            self.select, self.select_first, self.select_chosen = name, None, None
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if value and self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.select_chosen = value
        elif tag == "textarea":
            self.textarea, self.text = name, ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select" and self.form is not None and self.select:
            chosen = self.select_chosen if self.select_chosen is not None else self.select_first
            self.form.fields[self.select] = [chosen] if chosen else []
            self.select = None
        elif tag == "textarea" and self.form is not None and self.textarea:
            self.form.fields[self.textarea] = [self.text or "1"]
            self.textarea = None


def _plausible(kind: str, name: str) -> str:
    """A value a person would type in an empty field, so that one hostile field at a time reaches the service."""
    if kind == "date" or name.endswith("_date") or name in ("period_start", "period_end", "valid_until"):
        return "2026-03-20"
    if kind == "email" or "email" in name:
        return "fuzz@example.com"
    if kind == "password" or "password" in name:
        return "correct-horse-battery"
    return "1"


def forms_of(page_url: str, html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    found = []
    for form in parser.forms:
        form.action = urlsplit(urljoin("http://testserver" + page_url, form.action or page_url)).path
        found.append(form)
    return found


# --- the URL configuration ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # the route with <name> where its parameters go
    params: tuple[str, ...]

    @property
    def area(self) -> str:
        if self.template.startswith("api/"):
            return "api"
        if self.template.startswith("django-admin/"):
            return "admin"
        return "page"


def _pattern_text(pattern) -> str:
    text = str(pattern.pattern)
    if hasattr(pattern.pattern, "_route"):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", text)
    # A regular expression (Django's admin): its named groups become parameters, anchors go.
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text).replace("^", "").replace("$", "")


def routes() -> list[Route]:
    found = []

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            text = prefix + _pattern_text(entry)
            if isinstance(entry, URLResolver):
                walk(entry, text)
            elif isinstance(entry, URLPattern):
                found.append(Route(template=text, params=tuple(re.findall(r"<(\w+)>", text))))

    walk(get_resolver(), "")
    return found


# --- the crawl ------------------------------------------------------------------------------------------------


@dataclass
class Crawl:
    clients: dict[str, Client]
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def send(self, persona: str, method: str, url: str, data=None, **headers):
        client = self.clients[persona]
        self.requests += 1
        READ.clear()
        try:
            if method == "GET":
                response = client.get(url, data, headers=headers)
            else:
                cookies = SimpleCookie(client.cookies.output(header="", sep=";"))
                try:
                    with transaction.atomic():
                        response = client.post(url, data or {}, headers=headers)
                        transaction.set_rollback(True)
                finally:
                    client.cookies = cookies  # a POST to logout/ must not log the crawler out
        except Exception as exc:  # noqa: BLE001 - every failure of the crawl is collected and reported
            self.failures.append(f"{method} {_short(url, data)} as {persona}: {_where(exc)}")
            return None, set()
        if response.status_code >= 500:
            self.failures.append(f"{method} {_short(url, data)} as {persona}: {response.status_code}")
        return response, set(READ)


def _short(url, data) -> str:
    text = f"{url} {data!r}" if data else url
    return text if len(text) < 300 else text[:300] + "..."


def _where(exc: BaseException) -> str:
    frame = exc.__traceback__
    last = None
    while frame is not None:
        if "/site-packages/" not in frame.tb_frame.f_code.co_filename:
            last = frame
        frame = frame.tb_next
    place = f" at {last.tb_frame.f_code.co_filename.split('/main/')[-1]}:{last.tb_lineno}" if last else ""
    return f"{type(exc).__name__}: {str(exc)[:200]}{place}"


def _fill(route: Route, values: dict[str, str]) -> str:
    url = route.template
    for name in route.params:
        url = url.replace(f"<{name}>", str(values[name]), 1)
    return "/" + url


def _hostile_variants(route: Route, own: dict, foreign: dict) -> list[str]:
    """The route with each path parameter in turn hostile or another tenant's (the others the tenant's own)."""
    base = {name: own.get(name, "1") for name in route.params}
    urls = []
    for name in route.params:
        for value in [*HOSTILE_IDS, "a" * 300, *([foreign[name]] if name in foreign else [])]:
            urls.append(_fill(route, {**base, name: value}))
    return urls


def _answered(response) -> bool:
    """The view itself ran (not refused by a login, role, licence or method check before reading anything)."""
    if response is None or response.status_code in (401, 403, 404, 405):
        return False
    return not (response.status_code == 302 and "/login/" in response.get("Location", ""))


PERSONAS = ("owner", "viewer", "portal", "platform", "anonymous")
# Who explores a page in depth (one parameter at a time, every form, hostile ids): the first of these its view
# answers. The viewer comes last: it runs the owner's views, with fewer forms.
DEPTH_ORDER = ("owner", "portal", "platform", "anonymous", "viewer")


@dataclass
class Explorer:
    crawl: Crawl
    seen_forms: set = field(default_factory=set)

    def visit(self, persona: str, url: str, area: str) -> tuple[bool, set[str], set[str], str]:
        """GET and POST `url` plainly; True when the view answered, with the keys it read and its page."""
        got, read = self.crawl.send(persona, "GET", url)
        posted, post_read = self.crawl.send(persona, "POST", url)
        page = ""
        if got is not None and got.status_code == 200 and "html" in got.get("Content-Type", ""):
            page = got.content.decode()
        answered = _answered(got) or _answered(posted)
        if _answered(got) and (area == "page" or area == "api" and persona == "owner"):
            # Every hostile value in every common parameter and every one the view read, all at once.
            for value in HOSTILE:
                self.crawl.send(persona, "GET", url, {name: value for name in {*COMMON_QUERY, *read}})
        return answered, (read if _answered(got) else set()), (post_read if _answered(posted) else set()), page

    def deep(self, persona: str, url: str, read: set[str], post_read: set[str], page: str):
        """One parameter at a time, the htmx fragment, every form of the page and the POST's parameters."""
        for name in sorted(read):
            for value in FIELD_HOSTILE:
                self.crawl.send(persona, "GET", url, {name: value})
        if page:
            self.crawl.send(persona, "GET", url, HX_REQUEST="true")
        self.forms(persona, url, page, follow=True)
        if post_read:
            for value in HOSTILE:
                self.crawl.send(persona, "POST", url, dict.fromkeys(post_read | {"next", "reason", "action"}, value))

    def forms(self, persona: str, url: str, page: str, *, follow: bool):
        """Post every form of the page not posted yet; submit its filter forms (GET) once and do the same there:
        a form can show more forms (a user chosen on Add New Payment shows the payment's form)."""
        for form in forms_of(url, page):
            key = (form.method, form.action, tuple(sorted(form.fields)), tuple(form.submits))
            if key in self.seen_forms:
                continue
            self.seen_forms.add(key)
            if form.method == "post":
                self.form(persona, form)
            elif follow and form.fields:
                own = {name: values for name, values in form.fields.items() if values}
                shown, _ = self.crawl.send(persona, "GET", form.action, own)
                if shown is not None and shown.status_code == 200 and "html" in shown.get("Content-Type", ""):
                    self.forms(persona, form.action, shown.content.decode(), follow=False)

    def form(self, persona: str, form: Form):
        """The form's own values; every field hostile at once; one field at a time hostile (per submit button)."""
        own = {name: list(values) for name, values in form.fields.items() if name != "csrfmiddlewaretoken"}
        for button, pressed in [s for s in form.submits if s[0]] or [("", "")]:
            values = {**own, button: [pressed]} if button else dict(own)
            self.crawl.send(persona, "POST", form.action, values)
            for value in HOSTILE:
                self.crawl.send(persona, "POST", form.action, dict.fromkeys(values, value))
            for name in sorted(values):
                for value in FIELD_HOSTILE:
                    self.crawl.send(persona, "POST", form.action, {**values, name: value})


@pytest.fixture
def crawl_clients(admin, other_admin):
    seeded = seed_tenant(admin.tenant, marker="fuzz")
    theirs = seed_tenant(other_admin.tenant, marker="theirs")
    platform_owner = User.objects.create_superuser("root", "root@example.com", "correct-horse-battery")
    email = EmailLog.objects.create(
        tenant=admin.tenant, account=seeded.portal.account, kind="invoice", recipient="a@b.c", subject="S"
    )
    their_email = EmailLog.objects.create(
        tenant=other_admin.tenant, account=theirs.portal.account, kind="invoice", recipient="a@b.c", subject="S"
    )
    clients = {}
    for persona, login in [
        ("owner", seeded.owner),
        ("viewer", StaffFactory(tenant=admin.tenant, role=StaffRole.VIEWER)),
        ("portal", seeded.portal),
        ("platform", platform_owner),
        ("anonymous", None),
    ]:
        client = Client(raise_request_exception=True)
        if login is not None:
            client.force_login(login)
        clients[persona] = client
    own = {
        **seeded.ids,
        "log_id": email.id,
        "slug": admin.tenant.signup_slug,
        "uidb64": urlsafe_base64_encode(force_bytes(seeded.portal.pk)),
        "token": default_token_generator.make_token(seeded.portal),
        "object_id": seeded.owner.pk,
        "id": seeded.owner.pk,
        "pk": 1,
        "content_type_id": 1,
        "app_label": "accounts",
        "url": "nowhere/",
    }
    foreign = {**theirs.ids, "log_id": their_email.id, "slug": other_admin.tenant.signup_slug}
    invoices = list(Invoice.objects.filter(tenant=admin.tenant).order_by("id").values_list("id", flat=True))
    return clients, own, foreign, invoices


@pytest.fixture
def quiet_logs():
    """Thousands of 404s, refused logins and lockouts would be logged; the failures are reported by the test."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_no_page_answers_a_server_error_whatever_the_input(crawl_clients, settings, quiet_logs):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RecordingMiddleware"]
    clients, own, foreign, invoices = crawl_clients
    crawl = Crawl(clients=clients)
    explorer = Explorer(crawl)
    started = time.monotonic()
    all_routes = routes()
    assert len(all_routes) > 150  # pages, API and admin all walked

    for route in all_routes:
        url = _fill(route, own)
        personas = ("platform", "anonymous") if route.area == "admin" else PERSONAS
        visits = {persona: explorer.visit(persona, url, route.area) for persona in personas}
        answered = [p for p in DEPTH_ORDER if p in visits and visits[p][0]]
        if not answered:
            continue
        persona = answered[0]
        if route.area == "page":
            for other in answered:
                # A page differs by login (a portal's menu, the login page of a session): all their forms get posted.
                _, read, post_read, page = visits[other]
                if other != persona:
                    read, post_read = set(), set()
                explorer.deep(other, url, read, post_read, page)
        if route.area == "api":
            continue
        for hostile in _hostile_variants(route, own, foreign):
            crawl.send(persona, "GET", hostile)
            crawl.send(persona, "POST", hostile)
        if "invoice_id" in route.params:
            # The seeded id is the approved prepaid invoice; the draft and the postpaid invoice offer other forms.
            for invoice_id in invoices:
                other_url = _fill(route, {**own, "invoice_id": invoice_id})
                if other_url != url:
                    explorer.deep(persona, other_url, *explorer.visit(persona, other_url, route.area)[1:])

    elapsed = time.monotonic() - started
    posted = {key for key in explorer.seen_forms if key[0] == "post"}
    print(f"{crawl.requests} requests, {len(posted)} forms posted in {elapsed:.1f} s")
    assert crawl.failures == [], "\n".join(sorted(set(crawl.failures)))
    # The crawl is only as good as what it reaches: the forms of the pages (create, edit, settings...) were posted.
    assert len(posted) >= FORMS_AT_LEAST
    assert {"/invoicing/invoices/new/", "/invoicing/payments/new/", "/users/new/", "/invoicing/settings/"} <= {
        action for _, action, *_ in posted
    }
