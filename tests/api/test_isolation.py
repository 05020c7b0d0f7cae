"""Tenant isolation of every /api/v1/ endpoint, generated from the URL configuration.

Every route and method is called as each identity that must not reach another admin's data: another admin's token
on this admin's ids, this admin's token on another admin's ids, the admin's own portal user, anonymous, and the
token of an admin without an invoicing licence. A new endpoint is covered without editing this file; its path
parameters only need a name that `seed_tenant` knows (the walk fails loudly otherwise).
"""

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from invoicing.models import (
    BillingRun,
    BillingSchedule,
    CreditEntry,
    CreditNote,
    EmailTemplate,
    Invoice,
    Job,
    Payment,
    Receipt,
    Refund,
    TaxRate,
)
from msgplatform.accounts.models import Account, ApiToken, StaffRole
from msgplatform.core.models import Event
from tests.factories import TenantFactory

from .conftest import seed_tenant, token_client

# The schema describes the API; it holds no tenant's data (any logged-in client may read it).
NOT_TENANT_DATA = {"api/v1/schema/"}
METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# Path parameters that are not object ids: a request with them is not "another tenant's object".
NOT_IDS = {"kind"}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_routes() -> list[tuple[str, list[str], bool]]:
    """(route, methods, is_invoicing) of every /api/v1/ endpoint."""
    routes = []
    for route, entry in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or route in NOT_TENANT_DATA:
            continue
        view_class = entry.callback.view_class
        methods = [m for m in METHODS if hasattr(view_class, m)]
        routes.append((route, methods, view_class.__module__.startswith("invoicing")))
    return routes


def fill(route: str, ids: dict) -> str:
    missing = set(PARAM.findall(route)) - set(ids)
    assert not missing, f"{route}: teach seed_tenant the path parameter(s) {missing}"
    return "/" + PARAM.sub(lambda m: str(ids[m.group(1)]), route)


def has_object_ids(route: str) -> bool:
    return bool(set(PARAM.findall(route)) - NOT_IDS)


def probe_body(seeded) -> dict:
    """A body that names the seeded tenant's objects in every id field the API has, plus plausible values."""
    return {
        **seeded.body_ids,
        "name": "probe",
        "recharge_amount": "10.00",
        "amount": "1.00",
        "payment_date": "2026-03-20",
        "payment_type": "cash",
        "reason": "probe",
        "period_start": "2026-03-01",
        "period_end": "2026-03-19",
        "start_date": "2026-03-01",
        "rate": "5",
        "subject": "probe",
        "body": "probe",
        "days": 1,
        "prepaid": True,
        "postpaid": True,
        "valid_until": "2027-01-01",
        "as_of": "2026-03-20",
        "confirm_flagged": True,
    }


def probe_query(seeded) -> dict:
    return {"user": seeded.body_ids["user"], "users": str(seeded.body_ids["user"])}


def call(client: APIClient, method: str, path: str, seeded):
    if method == "get":
        return client.get(path, probe_query(seeded))
    return client.generic(method.upper(), path, json.dumps(probe_body(seeded)), content_type="application/json")


def snapshot(tenant) -> dict:
    """What must not change when someone else calls the API."""
    return {
        "invoices": list(
            Invoice.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list("id", "status", "amount_paid", "credited_total", "number", "description")
        ),
        "payments": list(Payment.objects.filter(tenant=tenant).order_by("id").values_list("id", "reversed_at")),
        "credit_notes": list(CreditNote.objects.filter(tenant=tenant).order_by("id").values_list("id", "total")),
        "credit_entries": list(
            CreditEntry.objects.filter(tenant=tenant).order_by("id").values_list("id", "balance_after")
        ),
        "refunds": list(Refund.objects.filter(tenant=tenant).order_by("id").values_list("id", "reversed_at")),
        "receipts": list(Receipt.objects.filter(tenant=tenant).order_by("id").values_list("id", "reversed_at")),
        "accounts": list(Account.objects.filter(tenant=tenant).order_by("id").values_list("id", "name", "balance")),
        "schedules": list(BillingSchedule.objects.filter(tenant=tenant).values_list("id", "status", "interval")),
        "taxes": list(TaxRate.objects.filter(tenant=tenant).values_list("id", "name", "rate", "deleted_at")),
        "tokens": list(ApiToken.objects.filter(user__tenant=tenant).values_list("id", "revoked_at")),
        "templates": list(EmailTemplate.objects.filter(tenant=tenant).values_list("kind", "subject")),
        "jobs": Job.objects.filter(tenant=tenant).count(),
        "runs": BillingRun.objects.filter(tenant=tenant).count(),
        "settings": tenant.invoicing_settings.business_name,
        "bank": tenant.bank_details.bank_name,
    }


@pytest.fixture
def victim(admin):
    return seed_tenant(admin.tenant, marker="zzvictim7q")


@pytest.fixture
def intruder(other_admin):
    return seed_tenant(other_admin.tenant, marker="zzintruder4k")


def test_the_walk_finds_every_api_module():
    modules = {route.split("/")[2] for route, _, _ in api_routes()}
    assert {"records", "users", "tokens", "invoices", "payments", "schedules", "settings", "platform"} <= modules
    assert len(api_routes()) >= 45


def test_own_token_reaches_every_object_of_its_own_admin(victim):
    """The seeded ids are real: without this, a 404 below could hide a wrong id rather than a guard."""
    client = token_client(victim.tenant)
    failures = []
    for route, methods, _ in api_routes():
        if "get" in methods and not route.startswith("api/v1/platform/"):
            response = client.get(fill(route, victim.ids))
            if response.status_code in (401, 403, 404) or response.status_code >= 500:
                failures.append((route, response.status_code, response.content[:200]))
    assert failures == []


def _matrix(client, seeded_target, other, *, owner_sees_platform=False):
    """Every route and method with `seeded_target`'s ids, asked by `client` (who belongs to `other`)."""
    before = snapshot(seeded_target.tenant)
    failures = []
    for route, methods, _ in api_routes():
        path = fill(route, seeded_target.ids)
        for method in methods:
            response = call(client, method, path, seeded_target)
            code = response.status_code
            if route.startswith("api/v1/platform/"):
                expected_ok = code == 403
            elif has_object_ids(route):
                expected_ok = code == 404
            else:
                expected_ok = code < 500
            leaked = seeded_target.marker.encode() in response.content
            if not expected_ok or leaked:
                failures.append((method.upper(), route, code, "LEAK" if leaked else "", response.content[:160]))
    assert failures == []
    assert snapshot(seeded_target.tenant) == before


def test_another_admins_token_gets_404_for_this_admins_objects_and_never_its_data(victim, intruder):
    _matrix(token_client(intruder.tenant), victim, intruder)


def test_own_token_with_another_admins_ids_gets_404_and_never_their_data(victim, intruder):
    _matrix(token_client(victim.tenant), intruder, victim)


def test_the_admins_own_portal_user_gets_403_on_every_endpoint(victim):
    client = APIClient()
    client.force_login(victim.portal)
    before = snapshot(victim.tenant)
    failures = []
    for route, methods, _ in api_routes():
        for method in methods:
            response = call(client, method, fill(route, victim.ids), victim)
            if response.status_code != 403 or not response["Content-Type"].startswith("application/problem+json"):
                failures.append((method.upper(), route, response.status_code))
    assert failures == []
    assert snapshot(victim.tenant) == before


def test_anonymous_gets_401_problem_on_every_endpoint(victim):
    client = APIClient()
    before = snapshot(victim.tenant)
    failures = []
    for route, methods, _ in api_routes():
        for method in methods:
            response = call(client, method, fill(route, victim.ids), victim)
            body = response.json() if response.status_code == 401 else {}
            if (response.status_code, body.get("code")) != (401, "not_authenticated"):
                failures.append((method.upper(), route, response.status_code))
            elif response["WWW-Authenticate"] != "Bearer":
                failures.append((method.upper(), route, "no WWW-Authenticate"))
    assert failures == []
    assert snapshot(victim.tenant) == before


def test_revoked_token_gets_401(victim, api):
    ApiToken.objects.update(revoked_at="2026-03-01T00:00:00Z")
    response = api.get("/api/v1/invoices/")
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")


def test_unlicensed_admins_token_gets_not_licensed_on_every_invoicing_endpoint(victim):
    unlicensed = TenantFactory(name="Unlicensed")
    failures = []
    for role in (StaffRole.OWNER, StaffRole.VIEWER):
        client = token_client(unlicensed, role)
        for route, methods, is_invoicing in api_routes():
            for method in methods:
                response = call(client, method, fill(route, victim.ids), victim)
                if response.status_code >= 500 or victim.marker.encode() in response.content:
                    failures.append((role, method.upper(), route, response.status_code))
                elif is_invoicing and (response.status_code, response.json().get("code")) != (403, "not_licensed"):
                    failures.append((role, method.upper(), route, response.status_code))
    assert failures == []
    assert not Event.objects.filter(tenant=unlicensed, area="invoicing").exists()


def test_roles_are_enforced_on_every_write(victim):
    """A viewer writes nothing; billing staff write everything but settings, templates, taxes and tokens."""
    viewer, billing = token_client(victim.tenant, StaffRole.VIEWER), token_client(victim.tenant, StaffRole.BILLING)
    before = snapshot(victim.tenant)
    failures = []
    for route, methods, _ in api_routes():
        owner_only = route.startswith(("api/v1/settings/", "api/v1/tokens/", "api/v1/platform/"))
        for method in methods:
            if method == "get":
                continue
            for role, client in (("viewer", viewer), ("billing", billing)):
                if role == "billing" and not owner_only:
                    continue
                response = call(client, method, fill(route, victim.ids), victim)
                if response.status_code != 403:
                    failures.append((role, method.upper(), route, response.status_code))
    assert failures == []
    assert snapshot(victim.tenant) == before
