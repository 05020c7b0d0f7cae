"""Idempotency-Key on the POSTs that create or move money: replayed, refused when reused, safe under concurrency."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from invoicing.models import BillingRun, IdempotencyKey, Invoice, Job, Payment
from invoicing.rest.views import invoices as invoice_views
from invoicing.services.invoices import invoice_create_prepaid
from msgplatform.accounts.models import StaffRole
from msgplatform.accounts.services.tokens import token_create
from tests.conftest import requires_postgres

from .conftest import NOW, problem, token_client

URL = "/api/v1/invoices/prepaid/"


def create(client, key, **body):
    body = {"user": body.pop("user"), "recharge_amount": "1000.00", **body}
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_response_and_creates_one_invoice(api, user, vat):
    first = create(api, "key-1", user=user.id)
    second = create(api, "key-1", user=user.id)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Invoice.objects.count() == 1
    assert first.json()["total"] == "1075.00"


def test_same_key_with_another_body_is_409_and_changes_nothing(api, user, vat):
    create(api, "key-1", user=user.id)

    response = create(api, "key-1", user=user.id, recharge_amount="999.00")

    problem(response, 409, "idempotency_key_reused")
    assert Invoice.objects.count() == 1


def test_same_key_on_another_endpoint_is_409(api, user, vat):
    invoice_id = create(api, "key-1", user=user.id).json()["id"]

    response = api.post(
        "/api/v1/payments/",
        {"invoice": invoice_id, "amount": "10.00", "payment_date": "2026-03-20", "payment_type": "cash"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    problem(response, 409, "idempotency_key_reused")
    assert Payment.objects.count() == 0


def test_another_staff_login_cannot_replay_a_colleagues_key(api, admin, user, vat):
    create(api, "key-1", user=user.id)

    response = create(token_client(admin.tenant, StaffRole.BILLING), "key-1", user=user.id)

    problem(response, 409, "idempotency_key_reused")
    assert Invoice.objects.count() == 1


def test_keys_are_scoped_per_admin(api, other_api, user, other_admin, vat):
    from tests.factories import AccountFactory

    other_user = AccountFactory(tenant=other_admin.tenant)
    create(api, "shared-key", user=user.id)

    response = create(other_api, "shared-key", user=other_user.id)

    assert response.status_code == 201
    assert Invoice.objects.filter(tenant=other_admin.tenant).count() == 1


def test_a_refused_request_keeps_no_key_so_the_corrected_one_runs(api, user, vat):
    refused = create(api, "key-1", user=user.id, recharge_amount="10.001")
    accepted = create(api, "key-1", user=user.id, recharge_amount="10.00")

    assert refused.status_code == 400 and accepted.status_code == 201
    assert Invoice.objects.count() == 1
    assert IdempotencyKey.objects.get().response_status == 201


def test_a_key_is_forgotten_after_24_hours(api, user, vat):
    create(api, "key-1", user=user.id)

    with time_machine.travel(NOW + datetime.timedelta(hours=24, minutes=1), tick=False):
        response = create(api, "key-1", user=user.id)

    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Invoice.objects.count() == 2


def test_without_a_key_each_request_acts(api, user, vat):
    api.post(URL, {"user": user.id, "recharge_amount": "5.00"}, format="json")
    api.post(URL, {"user": user.id, "recharge_amount": "5.00"}, format="json")

    assert Invoice.objects.count() == 2
    assert IdempotencyKey.objects.count() == 0


def test_an_overlong_key_is_400(api, user):
    problem(create(api, "k" * 256, user=user.id), 400, "invalid")
    assert Invoice.objects.count() == 0


def test_payment_replay_records_one_payment_and_one_credit(api, user, vat):
    invoice_id = create(api, "inv", user=user.id).json()["id"]
    body = {"invoice": invoice_id, "amount": "500.00", "payment_date": "2026-03-20", "payment_type": "bank_transfer"}

    first = api.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    second = api.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")

    assert (first.status_code, second.status_code) == (201, 201) and first.content == second.content
    assert Payment.objects.count() == 1
    user.refresh_from_db()
    assert user.balance == Decimal("465.12")


def test_claim_replay_records_one_payment(api, user, vat):
    claim = {"payment_date": "2026-03-20", "payment_type": "cash"}

    first = create(api, "claim-1", user=user.id, claim=claim)
    second = create(api, "claim-1", user=user.id, claim=claim)

    assert first.content == second.content and first.json()["payment_status"] == "paid"
    assert (Invoice.objects.count(), Payment.objects.count()) == (1, 1)


def test_bulk_reminder_and_billing_run_replays_start_one_job_and_one_run(api, user, vat):
    create(api, "inv", user=user.id)

    jobs = [api.post("/api/v1/reminders/", {}, format="json", HTTP_IDEMPOTENCY_KEY="remind") for _ in range(2)]
    runs = [
        api.post("/api/v1/billing-runs/", {"as_of": "2026-03-20"}, format="json", HTTP_IDEMPOTENCY_KEY="run")
        for _ in range(2)
    ]

    assert [r.status_code for r in jobs + runs] == [202, 202, 202, 202]
    assert jobs[0].content == jobs[1].content and runs[0].content == runs[1].content
    assert (Job.objects.count(), BillingRun.objects.count()) == (1, 1)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_invoice_and_answer_the_same(admin, user, vat, monkeypatch):
    """The second request blocks on the key's unique index while the first is inside its transaction, then
    replays the committed response."""
    calls = []

    def slow_create(**kwargs):
        calls.append(kwargs)
        invoice = invoice_create_prepaid(**kwargs)
        time.sleep(0.5)  # hold the transaction (and the uncommitted key row) open
        return invoice

    monkeypatch.setattr(invoice_views, "invoice_create_prepaid", slow_create)
    _, secret = token_create(user=admin.login, name="race")
    clients = [APIClient(), APIClient()]  # one token, one client per thread
    for client in clients:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    barrier = threading.Barrier(2)
    responses = []

    def send(client):
        try:
            barrier.wait(timeout=5)
            responses.append(create(client, "race", user=user.id))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].content == responses[1].content
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert len(calls) == 1
    assert Invoice.objects.count() == 1 and Payment.objects.count() == 0
