"""Request bodies of the API are bounded and every body the API cannot read is a problem+json answer: a body over
the endpoint's byte limit is 413 payload_too_large before it is read (or as soon as it passes the limit while being
read), a body Django refuses (too many fields, a too-big form) is a problem too, deep JSON is 400 parse_error; never
a 500, never Django's HTML page, never a batch row."""

import io
import json
import re

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import RequestDataTooBig, SuspiciousFileOperation, TooManyFieldsSent
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import BaseHandler
from django.http import UnreadablePostError
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from msgplatform.accounts.models import StaffRole
from msgplatform.accounts.services.tokens import token_create
from msgplatform.core.api import problem_exception_handler
from msgplatform.core.parsers import BoundedStream, PayloadTooLarge
from msgplatform.messaging.models import IngestBatch, MessageRecord
from tests.api.conftest import problem, seed_tenant
from tests.factories import StaffFactory, record_row

MIB = 1024 * 1024


def bearer(tenant) -> dict:
    _, secret = token_create(user=StaffFactory(tenant=tenant, role=StaffRole.OWNER), name="bodies")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def http():
    """Django's test client answering as the server would (no exception raised to the test)."""
    return Client(raise_request_exception=False)


def post(http, path, body: bytes, headers, content_type="application/json", **extra):
    return http.generic("POST", path, body, content_type=content_type, **headers, **extra)


# --- the byte limit ------------------------------------------------------------------------------------------------


def test_the_default_limits():
    assert django_settings.API_MAX_BODY_BYTES == 1 * MIB
    assert django_settings.API_RECORDS_MAX_BODY_BYTES == django_settings.INGEST_MAX_BATCH * 2048 == 20_480_000


def test_the_largest_batch_of_the_longest_records_fits_the_records_limit():
    # Every text field at its longest, in characters JSON escapes as \uXXXX, indented: a client's worst case.
    longest = {
        "message_id": "é" * 64,
        "user_id": 2**63 - 1,
        "submitted_at": "2026-03-10T12:00:00.000000+00:00",
        "destination": "é" * 20,
        "sender_id": "é" * 32,
        "country": "US",
        "mcc": "310",
        "mnc": "260",
        "network": "é" * 100,
        "channel": "whatsapp",
        "encoding": "unicode",
        "parts": 255,
        "status": "DELIVRD",
        "unit_price": "999999.999999",
        "charge": "999999.999999",
        "rolled_back": False,
    }
    record = json.dumps(longest, indent=2, ensure_ascii=True)

    assert len(record) + 2 < 2048  # and its ",\n" in the list
    batch = json.dumps({"records": [longest] * django_settings.INGEST_MAX_BATCH}, indent=2, ensure_ascii=True)
    assert len(batch.encode()) <= django_settings.API_RECORDS_MAX_BODY_BYTES


def test_a_records_body_over_the_limit_is_refused_without_a_batch(http, admin, user):
    body = json.dumps([record_row(user, 1)]).encode()
    body = body[:-1] + b" " * (django_settings.API_RECORDS_MAX_BODY_BYTES - len(body) + 1) + b"]"

    response = post(http, "/api/v1/records/", body, bearer(admin.tenant))

    problem(response, 413, "payload_too_large")
    assert IngestBatch.objects.count() == 0 and MessageRecord.objects.count() == 0


def test_a_records_body_at_the_limit_is_read(http, admin, user, settings):
    body = json.dumps([record_row(user, 1)]).encode()
    settings.API_RECORDS_MAX_BODY_BYTES = len(body)

    response = post(http, "/api/v1/records/", body, bearer(admin.tenant))

    assert response.status_code == 200 and response.json()["created"] == 1


def test_a_declared_length_over_the_limit_is_refused_before_reading(http, admin, user):
    # The body holds a few bytes but declares 50 MB: reading it would fail the test client's payload, so the answer
    # can only come from the header.
    body = json.dumps([record_row(user, 1)]).encode()

    response = post(http, "/api/v1/records/", body, bearer(admin.tenant), CONTENT_LENGTH=str(50 * MIB))

    body = problem(response, 413, "payload_too_large")
    assert body["detail"] == "The request body is larger than 20480000 bytes, the limit of this endpoint."
    assert IngestBatch.objects.count() == 0


def test_a_body_longer_than_it_declares_is_refused_once_it_passes_the_limit(admin, user, settings):
    """An ASGI server hands the view the whole body whatever Content-Length said: the parser counts what it reads."""
    settings.API_RECORDS_MAX_BODY_BYTES = 1000
    _, secret = token_create(user=StaffFactory(tenant=admin.tenant, role=StaffRole.OWNER), name="asgi")
    body = json.dumps([record_row(user, n) for n in range(50)]).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/records/",
        "query_string": b"",
        "server": ("testserver", 80),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
            (b"authorization", f"Bearer {secret}".encode()),
        ],
    }
    handler = BaseHandler()
    handler.load_middleware()

    response = handler.get_response(ASGIRequest(scope, io.BytesIO(body)))

    assert (response.status_code, response["Content-Type"]) == (413, "application/problem+json")
    assert json.loads(response.content)["code"] == "payload_too_large"
    assert IngestBatch.objects.count() == 0 and MessageRecord.objects.count() == 0


def test_a_body_without_a_length_is_not_read(http, admin, user):
    # A chunked body reaches Django without Content-Length: neither Django nor DRF reads it, so nothing is stored.
    body = json.dumps([record_row(user, 1)]).encode()

    response = post(http, "/api/v1/records/", body, bearer(admin.tenant), CONTENT_LENGTH="")

    problem(response, 400, "parse_error")
    assert IngestBatch.objects.count() == 0


def test_other_endpoints_have_the_smaller_limit(http, admin, user):
    body = json.dumps({"name": "x" * (django_settings.API_MAX_BODY_BYTES + 1)}).encode()

    problem(post(http, "/api/v1/users/", body, bearer(admin.tenant)), 413, "payload_too_large")
    assert post(http, "/api/v1/records/", body, bearer(admin.tenant)).status_code == 400  # not a list of records


def test_a_too_big_form_or_multipart_body_is_a_problem_not_an_html_page(http, admin):
    headers = bearer(admin.tenant)
    big = "x" * (41 * MIB)  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE too

    multipart = http.post("/api/v1/payments/", {"invoice": big}, **headers)
    form = post(http, "/api/v1/payments/", f"invoice={big}".encode(), headers, "application/x-www-form-urlencoded")

    problem(multipart, 413, "payload_too_large")
    problem(form, 413, "payload_too_large")


def test_a_multipart_body_longer_than_it_declares_is_cut_at_the_limit():
    # Django's multipart parser reads the stream itself: the stream it gets stops at the limit.
    stream = BoundedStream(io.BytesIO(b"x" * 5000), 4096)

    assert len(stream.read(4096)) == 4096
    with pytest.raises(PayloadTooLarge):
        stream.read(10)


def test_a_form_with_too_many_fields_is_a_problem_not_an_html_page(http, admin):
    body = "&".join(f"f{n}=1" for n in range(2000)).encode()

    response = post(http, "/api/v1/payments/", body, bearer(admin.tenant), "application/x-www-form-urlencoded")

    body = problem(response, 400, "parse_error")
    assert "number of GET/POST parameters exceeded" in body["detail"]


def test_a_session_login_posting_a_too_big_body_gets_the_problem_too(admin):
    # Session requests pass the CSRF check first, which reads the form: the same limit answers.
    client = Client(raise_request_exception=False)
    client.force_login(admin.login)

    response = client.post("/api/v1/users/", b"x" * (2 * MIB), content_type="application/x-www-form-urlencoded")

    problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."), 413, "payload_too_large"),
        (TooManyFieldsSent("The number of GET/POST parameters exceeded"), 400, "parse_error"),
        (UnreadablePostError("request data read error"), 400, "parse_error"),
        (SuspiciousFileOperation("Detected path traversal attempt"), 400, "bad_request"),
    ],
)
def test_djangos_refusals_of_a_request_are_problems(error, status, code):
    response = problem_exception_handler(error, {})

    assert (response.status_code, response.data["code"], response.content_type) == (
        status,
        code,
        "application/problem+json",
    )


# --- deep JSON -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/records/", "/api/v1/payments/", "/api/v1/users/", "/api/v1/settings/"])
@pytest.mark.parametrize(
    "body", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000]
)
def test_deeply_nested_json_is_a_parse_error(http, admin, path, body):
    method = "PATCH" if path.endswith("settings/") else "POST"

    response = http.generic(method, path, body, content_type="application/json", **bearer(admin.tenant))

    problem(response, 400, "parse_error")
    assert IngestBatch.objects.count() == 0


def test_json_nested_deeper_than_32_levels_is_refused_whatever_the_stack(http, admin):
    deep = b'{"invoice": ' + b"[" * 33 + b"]" * 33 + b"}"
    shallow = b'{"invoice": ' + b"[" * 31 + b"]" * 31 + b"}"
    headers = {**bearer(admin.tenant), "HTTP_IDEMPOTENCY_KEY": "deep-1"}

    problem(post(http, "/api/v1/payments/", deep, headers), 400, "parse_error")
    problem(post(http, "/api/v1/payments/", shallow, headers), 400, "validation_failed")


# --- every operation -----------------------------------------------------------------------------------------------


def test_every_operation_with_a_body_refuses_a_body_over_its_limit_and_documents_it(admin, django_user_model):
    """Walks the OpenAPI schema: each operation that takes a body, with this admin's real ids, declaring 50 MB."""
    seeded = seed_tenant(admin.tenant, marker="bodies")
    owner = Client(raise_request_exception=False)
    owner.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw"))
    staff = Client(raise_request_exception=False)
    headers = bearer(admin.tenant)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    failures, checked = [], 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            checked += 1
            url = re.sub(r"\{(\w+)\}", lambda m: str(seeded.ids[m.group(1)]), path)
            client, extra = (owner, {}) if path.startswith("/api/v1/platform/") else (staff, headers)
            response = client.generic(
                method.upper(), url, b"{}", content_type="application/json", CONTENT_LENGTH=str(50 * MIB), **extra
            )
            answered = (response.status_code, response.json().get("code") if response.content else None)
            if answered != (413, "payload_too_large") or "413" not in operation["responses"]:
                failures.append((method.upper(), path, *answered))
    assert checked >= 25
    assert failures == []
