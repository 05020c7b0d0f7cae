"""Throttling per token, and the OpenAPI schema: valid, without warnings, documenting every answer."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from .conftest import problem, token_client

RATES = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/minute", "records": "2/minute"}}


@pytest.fixture
def tight_rates():
    cache.clear()
    with override_settings(REST_FRAMEWORK=RATES):
        yield
    cache.clear()


def test_a_token_over_its_rate_gets_429_with_retry_after(tight_rates, admin):
    client = token_client(admin.tenant)
    statuses = [client.get("/api/v1/dashboard/").status_code for _ in range(3)]

    response = client.get("/api/v1/invoices/")

    assert statuses == [200, 200, 200]
    problem(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_budget_and_records_their_own(tight_rates, admin):
    busy, fresh = token_client(admin.tenant), token_client(admin.tenant)
    for _ in range(3):
        busy.get("/api/v1/dashboard/")

    assert fresh.get("/api/v1/dashboard/").status_code == 200
    assert [busy.get("/api/v1/records/").status_code for _ in range(3)] == [200, 200, 429]


# --- schema ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    warnings = (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
    return generated, warnings


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_schema_is_valid_openapi_without_warnings_or_errors(schema):
    generated, (warnings, errors) = schema

    validate_schema(generated)
    assert (warnings, errors) == ({}, {})


def test_every_operation_documents_its_refusals(schema):
    generated, _ = schema
    missing = []
    for path, method, operation in operations(generated):
        codes = set(operation["responses"])
        needed = {"401", "403", "429"}
        if "{" in path and "kind}" not in path:
            needed.add("404")
        if method in ("post", "put", "patch") and operation.get("requestBody"):
            needed.add("400")
        if not needed <= codes:
            missing.append((method.upper(), path, sorted(needed - codes)))
        for code in codes - {"200", "201", "202", "204"}:
            if "application/problem+json" not in operation["responses"][code].get("content", {}):
                missing.append((method.upper(), path, code, "not problem+json"))
    assert missing == []


def test_money_posts_take_an_idempotency_key(schema):
    generated, _ = schema
    with_key = {
        (method.upper(), path)
        for path, method, operation in operations(generated)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert all("409" in generated["paths"][path][method.lower()]["responses"] for method, path in with_key)
    assert with_key == {
        ("POST", "/api/v1/invoices/prepaid/"),
        ("POST", "/api/v1/invoices/postpaid/"),
        ("POST", "/api/v1/payments/"),
        ("POST", "/api/v1/reminders/"),
        ("POST", "/api/v1/billing-runs/"),
        ("POST", "/api/v1/invoices/{invoice_id}/credit-notes/"),
        ("POST", "/api/v1/invoices/{invoice_id}/apply-credit/"),
        ("POST", "/api/v1/users/{account_id}/credit/adjust/"),
        ("POST", "/api/v1/refunds/"),
        ("POST", "/api/v1/receipts/"),
    }


def test_the_schema_and_swagger_ui_are_served(api, client, admin):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200 and response.json()["info"]["title"] == "Messaging billing API"
    assert admin.client.get("/api/docs/").status_code == 200
