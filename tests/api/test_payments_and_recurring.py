"""Contract tests of payments (record, list, reverse), recurring schedules and billing runs."""

from decimal import Decimal

from invoicing.models import BillingRun, BillingSchedule, Payment
from tests.factories import AccountFactory

from .conftest import field_errors, problem, push_usage, token_client


def invoice(client, user, amount="1000.00", **extra):
    body = {"user": user.id, "recharge_amount": amount, **extra}
    return client.post("/api/v1/invoices/prepaid/", body, "json").json()["id"]


def pay(client, invoice_id, amount, **extra):
    body = {"invoice": invoice_id, "amount": amount, "payment_date": "2026-03-20", "payment_type": "cash", **extra}
    return client.post("/api/v1/payments/", body, "json")


# --- payments -----------------------------------------------------------------------------------------------------


def test_payments_follow_the_worked_example(billing_api, user, vat):
    invoice_id = invoice(billing_api, user)

    first = pay(billing_api, invoice_id, "500.00", transaction_id="TX-1")
    second = pay(billing_api, invoice_id, "575.00")

    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["credit_delta"], second.json()["credit_delta"]) == ("465.12", "534.88")
    assert first.json()["invoice"] == {"id": invoice_id, "number": "INV-2026-00001"}
    detail = billing_api.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert (detail["payment_status"], detail["balance_due"], detail["due"]["status"]) == ("paid", "0.00", None)
    user.refresh_from_db()
    assert user.balance == Decimal("1000")


def test_reverse_a_payment_restores_the_balance_due(billing_api, viewer_api, user, vat):
    invoice_id = invoice(billing_api, user)
    pay(billing_api, invoice_id, "500.00")
    payment_id = pay(billing_api, invoice_id, "575.00").json()["id"]

    problem(billing_api.post(f"/api/v1/payments/{payment_id}/reverse/", {}, "json"), 400, "validation_failed")
    problem(
        viewer_api.post(f"/api/v1/payments/{payment_id}/reverse/", {"reason": "x"}, "json"), 403, "permission_denied"
    )
    reversed_ = billing_api.post(f"/api/v1/payments/{payment_id}/reverse/", {"reason": "Bounced"}, "json")
    again = billing_api.post(f"/api/v1/payments/{payment_id}/reverse/", {"reason": "Bounced"}, "json")

    assert reversed_.status_code == 200
    body = reversed_.json()
    assert (body["is_reversed"], body["reversal_reason"], body["reversal_credit_delta"]) == (True, "Bounced", "-534.88")
    problem(again, 409, "already_reversed")
    detail = billing_api.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert (detail["payment_status"], detail["balance_due"]) == ("partially_paid", "575.00")
    problem(billing_api.post("/api/v1/payments/999999/reverse/", {"reason": "x"}, "json"), 404, "not_found")


def test_payment_refusals_change_nothing(billing_api, viewer_api, user, vat, other_admin):
    invoice_id = invoice(billing_api, user)
    draft_id = invoice(billing_api, user, as_draft=True)
    pay(billing_api, invoice_id, "10.00", transaction_id="TX-1")

    assert field_errors(problem(pay(billing_api, invoice_id, "1065.01"), 400, "overpayment")) == {"amount"}
    future = pay(billing_api, invoice_id, "1.00", payment_date="2026-03-21")
    assert field_errors(problem(future, 400, "validation_failed")) == {"payment_date"}
    problem(pay(billing_api, draft_id, "1.00"), 409, "not_approved")
    problem(pay(billing_api, invoice_id, "1.00", transaction_id="TX-1"), 409, "duplicate_transaction")
    problem(pay(billing_api, invoice_id, "1.00", payment_type="barter"), 400, "validation_failed")
    problem(pay(viewer_api, invoice_id, "1.00"), 403, "permission_denied")
    foreign = invoice(billing_api, user)  # exists, but another admin's token names it
    problem(pay(token_client(other_admin.tenant), foreign, "1.00"), 404, "not_found")
    assert Payment.objects.count() == 1


def test_list_payments_with_filters(viewer_api, billing_api, admin, user, vat):
    other = AccountFactory(tenant=admin.tenant, name="Other")
    pay(billing_api, invoice(billing_api, user), "10.00", payment_date="2026-03-01")
    pay(billing_api, invoice(billing_api, other), "20.00", payment_date="2026-03-15")

    everything = viewer_api.get("/api/v1/payments/").json()
    by_user = viewer_api.get("/api/v1/payments/", {"user": other.id}).json()
    by_date = viewer_api.get("/api/v1/payments/", {"date_to": "2026-03-10"}).json()

    assert [p["amount"] for p in everything["results"]] == ["20.00", "10.00"]
    assert [p["user"]["name"] for p in by_user["results"]] == ["Other"]
    assert [p["payment_date"] for p in by_date["results"]] == ["2026-03-01"]
    one = everything["results"][0]["id"]
    assert viewer_api.get(f"/api/v1/payments/{one}/").json()["amount"] == "20.00"
    problem(viewer_api.get("/api/v1/payments/", {"date_from": "yesterday"}), 400, "validation_failed")


# --- schedules ------------------------------------------------------------------------------------------------------


def test_schedule_lifecycle(billing_api, viewer_api, postpaid_user):
    created = billing_api.post(
        "/api/v1/schedules/",
        {"user": postpaid_user.id, "interval": "monthly", "due_in_days": 10, "start_date": "2026-02-01"},
        "json",
    )
    assert created.status_code == 201
    schedule = created.json()
    assert schedule["next_period"] == {
        "start": "2026-02-01",
        "end": "2026-02-28",
        "invoice_date": "2026-03-01",
        "due_date": "2026-03-11",
        "last": False,
    }
    url = f"/api/v1/schedules/{schedule['id']}/"

    edited = billing_api.patch(url, {"due_in_days": 5, "end_date": "2026-12-31"}, "json").json()
    stopped = billing_api.post(url + "stop/").json()
    problem(billing_api.post(url + "stop/"), 409, "not_active")
    started = billing_api.post(url + "start/").json()
    problem(billing_api.post(url + "start/"), 409, "not_stopped")

    assert (edited["due_in_days"], edited["end_date"]) == (5, "2026-12-31")
    assert (stopped["status"], started["status"]) == ("stopped", "active")
    assert viewer_api.get("/api/v1/schedules/").json()["count"] == 1
    assert viewer_api.get(url).json()["interval"] == "monthly"


def test_schedule_refusals(billing_api, viewer_api, user, postpaid_user):
    body = {"user": postpaid_user.id, "start_date": "2026-02-01"}
    billing_api.post("/api/v1/schedules/", body, "json")

    problem(billing_api.post("/api/v1/schedules/", body, "json"), 409, "schedule_exists")
    prepaid_user = billing_api.post("/api/v1/schedules/", {**body, "user": user.id}, "json")
    assert field_errors(problem(prepaid_user, 400, "validation_failed")) == {"account"}
    n_days = billing_api.post(
        "/api/v1/schedules/",
        {**body, "user": AccountFactory(tenant=user.tenant, billing_method="postpaid").id, "interval": "every_n_days"},
        "json",
    )
    assert field_errors(problem(n_days, 400, "validation_failed")) == {"every_n_days"}
    problem(viewer_api.post("/api/v1/schedules/", body, "json"), 403, "permission_denied")
    problem(billing_api.get("/api/v1/schedules/999999/"), 404, "not_found")
    schedule_id = BillingSchedule.objects.get().id
    bad = billing_api.patch(f"/api/v1/schedules/{schedule_id}/", {"end_date": "2026-01-01"}, "json")
    assert field_errors(problem(bad, 400, "validation_failed")) == {"end_date"}


def test_dry_run_shows_the_next_draft_without_writing(billing_api, admin, postpaid_user, vat):
    push_usage(admin.tenant, postpaid_user, 4, day="2026-02-10", unit_price="0.25")
    schedule_id = billing_api.post(
        "/api/v1/schedules/", {"user": postpaid_user.id, "start_date": "2026-02-01"}, "json"
    ).json()["id"]

    response = billing_api.get(f"/api/v1/schedules/{schedule_id}/dry-run/")

    assert response.status_code == 200
    body = response.json()
    assert (body["period"]["start"], body["period"]["end"]) == ("2026-02-01", "2026-02-28")
    assert (body["preview"]["subtotal"], body["preview"]["tax_total"], body["preview"]["total"]) == (
        "1.00",
        "0.08",
        "1.08",
    )
    assert billing_api.get("/api/v1/invoices/").json()["count"] == 0


# --- billing runs -----------------------------------------------------------------------------------------------------


def test_billing_run_as_of_today_and_its_status(
    billing_api, viewer_api, postpaid_user, django_capture_on_commit_callbacks
):
    billing_api.post("/api/v1/schedules/", {"user": postpaid_user.id, "start_date": "2026-02-01"}, "json")

    with django_capture_on_commit_callbacks(execute=True):
        started = billing_api.post("/api/v1/billing-runs/", {"as_of": "2026-03-20"}, "json")

    assert started.status_code == 202
    run = started.json()
    assert (run["as_of"], run["schedules_total"], run["batches_total"]) == ("2026-03-20", 1, 1)
    status = viewer_api.get(f"/api/v1/billing-runs/{run['id']}/").json()
    assert (status["status"], status["schedules_done"], status["batches_done"]) == ("done", 1, 1)
    assert viewer_api.get("/api/v1/billing-runs/").json()["count"] == 1


def test_billing_run_refusals(billing_api, viewer_api):
    future = billing_api.post("/api/v1/billing-runs/", {"as_of": "2026-03-21"}, "json")

    assert field_errors(problem(future, 400, "validation_failed")) == {"as_of"}
    problem(viewer_api.post("/api/v1/billing-runs/", {}, "json"), 403, "permission_denied")
    problem(viewer_api.get("/api/v1/billing-runs/999999/"), 404, "not_found")
    assert BillingRun.objects.count() == 0
