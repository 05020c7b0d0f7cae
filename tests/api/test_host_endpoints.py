"""Contract tests of the host platform's endpoints: users (billing profile, balance, ledger), API tokens, records."""

from decimal import Decimal

from invoicing.services.licenses import license_revoke
from msgplatform.accounts.models import Account, ApiToken, StaffRole
from tests.factories import AccountFactory, StaffFactory, record_row

from .conftest import field_errors, problem, push_usage, token_client

# --- users ----------------------------------------------------------------------------------------------------------


def test_create_user_returns_its_billing_profile(billing_api):
    response = billing_api.post(
        "/api/v1/users/",
        {
            "name": "Orbit Ltd",
            "email": "ops@orbit.example",
            "billing_method": "postpaid",
            "overdraft_limit": "250.00",
            "apply_tax": False,
            "login_username": "orbit",
            "login_password": "a-long-secret-1",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("name", "billing_method", "overdraft_limit", "balance", "apply_tax")} == {
        "name": "Orbit Ltd",
        "billing_method": "postpaid",
        "overdraft_limit": "250.00",
        "balance": "0.000000",
        "apply_tax": False,
    }
    assert Account.objects.get(pk=body["id"]).login.username == "orbit"


def test_create_user_refusals(billing_api, viewer_api, admin, user):
    problem(viewer_api.post("/api/v1/users/", {"name": "X"}, format="json"), 403, "permission_denied")
    body = problem(billing_api.post("/api/v1/users/", {"email": "nope"}, format="json"), 400, "validation_failed")
    assert field_errors(body) == {"name", "email"}
    problem(billing_api.post("/api/v1/users/", {"name": user.name}, format="json"), 409, "conflict")
    license_revoke(tenant=admin.tenant, actor_id=None)
    body = problem(
        billing_api.post("/api/v1/users/", {"name": "Y", "billing_method": "postpaid"}, format="json"),
        400,
        "not_licensed",
    )
    assert field_errors(body) == {"billing_method"}
    assert Account.objects.count() == 1


def test_list_users_filters_and_orders(viewer_api, admin, user, postpaid_user):
    AccountFactory(tenant=admin.tenant, name="Zeta Corp", billing_method="postpaid")

    response = viewer_api.get("/api/v1/users/", {"billing_method": "postpaid", "ordering": "-name"})

    assert response.status_code == 200
    assert [u["name"] for u in response.json()["results"]] == ["Zeta Corp", "Orbit Ltd"]
    assert viewer_api.get("/api/v1/users/", {"q": "nimbus"}).json()["count"] == 1
    problem(viewer_api.get("/api/v1/users/", {"ordering": "password"}), 400, "validation_failed")


def test_update_user_changes_only_the_given_fields(billing_api, user):
    response = billing_api.patch(f"/api/v1/users/{user.id}/", {"tax_id": "DE123"}, format="json")

    assert response.status_code == 200
    assert (response.json()["tax_id"], response.json()["name"]) == ("DE123", "Nimbus Ltd")
    body = problem(
        billing_api.patch(f"/api/v1/users/{user.id}/", {"overdraft_limit": "-1"}, format="json"),
        400,
        "validation_failed",
    )
    assert body["errors"] == [
        {"field": "overdraft_limit", "message": "Ensure this value is greater than or equal to 0.", "code": "min_value"}
    ]
    problem(billing_api.patch("/api/v1/users/999999/", {"tax_id": "X"}, format="json"), 404, "not_found")


def test_balance_and_ledger_of_a_postpaid_user(viewer_api, admin, postpaid_user):
    push_usage(admin.tenant, postpaid_user, 3, unit_price="0.0075")

    balance = viewer_api.get(f"/api/v1/users/{postpaid_user.id}/balance/")
    ledger = viewer_api.get(f"/api/v1/users/{postpaid_user.id}/ledger/")

    assert balance.status_code == 200
    assert balance.json() == {
        "user": postpaid_user.id,
        "billing_method": "postpaid",
        "balance": "-0.022500",
        "overdraft_limit": "100.00",
        "floor": "-100.00",
        "currency": "USD",
    }
    assert ledger.status_code == 200
    [row] = ledger.json()["results"]
    assert (row["amount"], row["kind"], row["balance_before"], row["balance_after"]) == (
        "-0.022500",
        "usage",
        "0.000000",
        "-0.022500",
    )
    problem(viewer_api.get("/api/v1/users/0/balance/"), 404, "not_found")


# --- tokens ---------------------------------------------------------------------------------------------------------


def test_owner_creates_lists_and_revokes_tokens(api, admin, client):
    billing = StaffFactory(tenant=admin.tenant, role=StaffRole.BILLING)

    created = api.post("/api/v1/tokens/", {"name": "platform push", "staff": billing.id}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("mb_") and body["secret"].startswith(body["prefix"])
    assert body["staff"] == {"id": billing.id, "username": billing.username, "role": "billing"}
    listed = api.get("/api/v1/tokens/").json()
    assert body["id"] in [t["id"] for t in listed["results"]]
    assert all("secret" not in t for t in listed["results"])
    pushed = client.get("/api/v1/records/", HTTP_AUTHORIZATION=f"Bearer {body['secret']}")
    assert pushed.status_code == 200

    assert api.delete(f"/api/v1/tokens/{body['id']}/").status_code == 204

    assert ApiToken.objects.get(pk=body["id"]).revoked_at is not None
    problem(client.get("/api/v1/records/", HTTP_AUTHORIZATION=f"Bearer {body['secret']}"), 401, "authentication_failed")


def test_tokens_are_for_owners_only(billing_api, api, other_admin):
    problem(billing_api.get("/api/v1/tokens/"), 403, "permission_denied")
    problem(billing_api.post("/api/v1/tokens/", {"name": "x"}, format="json"), 403, "permission_denied")
    foreign_staff = StaffFactory(tenant=other_admin.tenant)
    problem(api.post("/api/v1/tokens/", {"name": "x", "staff": foreign_staff.id}, format="json"), 404, "not_found")
    problem(api.post("/api/v1/tokens/", {}, format="json"), 400, "validation_failed")
    problem(api.delete("/api/v1/tokens/999999/"), 404, "not_found")


# --- records --------------------------------------------------------------------------------------------------------


def test_records_list_is_cursor_paginated_and_filtered(viewer_api, admin, postpaid_user, user):
    push_usage(admin.tenant, postpaid_user, 3, day="2026-03-10")
    push_usage(admin.tenant, postpaid_user, 2, day="2026-03-15", start=10)
    push_usage(admin.tenant, user, 1, day="2026-03-15", start=20)

    first = viewer_api.get("/api/v1/records/", {"user": postpaid_user.id, "limit": 3})
    second = viewer_api.get(first.json()["next"])

    assert first.status_code == 200
    page = first.json()["results"]
    assert [r["message_id"] for r in page] == [f"{postpaid_user.id}-2026-03-15-{n}" for n in (11, 10)] + [
        f"{postpaid_user.id}-2026-03-10-3"
    ]
    assert (page[0]["unit_price"], page[0]["charge"], page[0]["billing_method"]) == ("0.007500", "0.007500", "postpaid")
    assert len(second.json()["results"]) == 2 and second.json()["next"] is None
    dated = viewer_api.get("/api/v1/records/", {"date_from": "2026-03-15", "date_to": "2026-03-15"}).json()
    assert len(dated["results"]) == 3
    problem(viewer_api.get("/api/v1/records/", {"date_from": "March"}), 400, "validation_failed")


def test_records_ingest_still_answers_per_record_errors(billing_api, user):
    response = billing_api.post("/api/v1/records/", [record_row(user, 1), record_row(user, 2, parts=0)], format="json")

    assert response.status_code == 200
    assert (response.json()["created"], response.json()["rejected"]) == (1, 1)
    assert response.json()["errors"][0]["field"] == "parts"


def test_records_are_not_licence_gated(api, admin, user):
    license_revoke(tenant=admin.tenant, actor_id=None)

    assert api.post("/api/v1/records/", [record_row(user, 1)], format="json").status_code == 200
    assert api.get("/api/v1/records/").status_code == 200
    assert Decimal(api.get(f"/api/v1/users/{user.id}/balance/").json()["balance"]) == Decimal("-0.0075")


def test_unknown_role_token_of_other_tenant_sees_only_its_users(other_admin, user):
    client = token_client(other_admin.tenant, StaffRole.VIEWER)

    assert client.get("/api/v1/users/").json()["count"] == 0
    problem(client.get(f"/api/v1/users/{user.id}/"), 404, "not_found")
