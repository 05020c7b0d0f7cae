"""Contract tests of corrections and credits (SPEC §4): credit notes, customer credit (read, adjust, apply),
refunds and payments received for a user, allocated across its invoices."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoicing.models import (
    CreditEntry,
    CreditNote,
    CustomerCredit,
    EmailLog,
    IdempotencyKey,
    Invoice,
    Payment,
    Receipt,
    Refund,
)
from tests.factories import AccountFactory

from .conftest import field_errors, problem, push_usage, token_client

TODAY = "2026-03-20"


def prepaid(client, user, amount="1000.00", **extra):
    response = client.post("/api/v1/invoices/prepaid/", {"user": user.id, "recharge_amount": amount, **extra}, "json")
    assert response.status_code == 201, response.content
    return response.json()


def postpaid_1000(client, admin, user):
    """SPEC §4's example: usage 1,000.00 (four records of 250.00), VAT 7.5 % -> total 1,075.00."""
    push_usage(admin.tenant, user, 4, day="2026-03-10", unit_price="250.0")
    body = {"user": user.id, "period_start": "2026-03-01", "period_end": "2026-03-15"}
    response = client.post("/api/v1/invoices/postpaid/", body, "json")
    assert response.status_code == 201, response.content
    return response.json()


def pay(client, invoice_id, amount, **extra):
    body = {"invoice": invoice_id, "amount": amount, "payment_date": TODAY, "payment_type": "bank_transfer", **extra}
    response = client.post("/api/v1/payments/", body, "json")
    assert response.status_code == 201, response.content
    return response.json()


def issue(client, invoice_id, **body):
    return client.post(f"/api/v1/invoices/{invoice_id}/credit-notes/", {"reason": "Wrong route price", **body}, "json")


def detail(client, invoice_id):
    return client.get(f"/api/v1/invoices/{invoice_id}/").json()


def credit_of(client, user):
    return client.get(f"/api/v1/users/{user.id}/credit/").json()


def host_balance(client, user):
    return client.get(f"/api/v1/users/{user.id}/balance/").json()["balance"]


def counts():
    return (
        CreditNote.objects.count(),
        Payment.objects.count(),
        CreditEntry.objects.count(),
        Refund.objects.count(),
        Receipt.objects.count(),
        list(Invoice.objects.order_by("id").values_list("credited_total", "amount_paid", "balance_due")),
        list(CustomerCredit.objects.order_by("id").values_list("balance", flat=True)),
    )


# --- SPEC §4 worked example ---------------------------------------------------------------------------------------


def test_spec_worked_example_paid(billing_api, admin, postpaid_user, vat):
    invoice = postpaid_1000(billing_api, admin, postpaid_user)
    [line] = invoice["lines"]
    assert (invoice["total"], line["amount"], line["credited_amount"]) == ("1075.00", "1000.00", "0.00")
    assert host_balance(billing_api, postpaid_user) == "-1000.000000"
    assert pay(billing_api, invoice["id"], "1075.00")["credit_delta"] == "1000.00"
    assert host_balance(billing_api, postpaid_user) == "0.000000"

    response = issue(billing_api, invoice["id"], lines=[{"line": line["id"], "amount": "200.00"}])

    assert response.status_code == 201, response.content
    note = response.json()
    assert (note["number"], note["issue_date"], note["currency"], note["reason"]) == (
        "CN-2026-00001",
        TODAY,
        "USD",
        "Wrong route price",
    )
    assert (note["subtotal"], note["tax_total"], note["total"]) == ("200.00", "15.00", "215.00")
    assert (note["to_customer_credit"], note["balance_delta"], note["usage_credited"]) == (
        "215.00",
        "-200.000000",
        "200.00",
    )
    assert note["lines"] == [
        {"position": 1, "invoice_line": line["id"], "description": line["description"], "amount": "200.00"}
    ]
    assert note["taxes"] == [{"name": "VAT", "rate": "7.5000", "amount": "15.00"}]
    assert note["invoice"] == {"id": invoice["id"], "number": "INV-2026-00001"}
    assert note["user"] == {"id": postpaid_user.id, "name": "Orbit Ltd", "billing_method": "postpaid"}

    after = detail(billing_api, invoice["id"])
    assert (after["payment_status"], after["total"], after["credited_total"], after["effective_total"]) == (
        "paid",
        "1075.00",
        "215.00",
        "860.00",
    )
    assert (after["amount_paid"], after["balance_due"], after["available_credit"]) == ("860.00", "0.00", "215.00")
    assert after["credit_notes"] == [
        {"id": note["id"], "number": "CN-2026-00001", "issue_date": TODAY, "total": "215.00"}
    ]
    assert after["lines"][0]["credited_amount"] == "200.00"
    [payment] = after["payments"]
    assert (payment["amount"], payment["applied"], payment["moved_to_credit"], payment["receipt"]) == (
        "1075.00",
        "860.00",
        "215.00",
        None,
    )
    assert host_balance(billing_api, postpaid_user) == "0.000000"
    credit = credit_of(billing_api, postpaid_user)
    assert (credit["balance"], credit["currency"]) == ("215.00", "USD")
    [entry] = credit["entries"]
    assert (entry["amount"], entry["kind"], entry["balance_before"], entry["balance_after"]) == (
        "215.00",
        "credit_note",
        "0.00",
        "215.00",
    )
    assert entry["credit_note"] == {"id": note["id"], "number": "CN-2026-00001"}
    grid = billing_api.get("/api/v1/invoices/").json()["results"][0]
    assert (grid["credited_total"], grid["effective_total"], grid["balance_due"]) == ("215.00", "860.00", "0.00")


def test_spec_worked_example_unpaid(billing_api, admin, postpaid_user, vat):
    invoice = postpaid_1000(billing_api, admin, postpaid_user)
    [line] = invoice["lines"]

    note = issue(billing_api, invoice["id"], lines=[{"line": line["id"], "amount": "200.00"}]).json()

    assert (note["total"], note["to_customer_credit"], note["balance_delta"]) == ("215.00", "0.00", "0.000000")
    assert host_balance(billing_api, postpaid_user) == "-800.000000"
    after = detail(billing_api, invoice["id"])
    assert (after["payment_status"], after["effective_total"], after["balance_due"]) == ("unpaid", "860.00", "860.00")
    assert pay(billing_api, invoice["id"], "860.00")["credit_delta"] == "800.00"
    assert host_balance(billing_api, postpaid_user) == "0.000000"
    assert (detail(billing_api, invoice["id"])["payment_status"], credit_of(billing_api, postpaid_user)["balance"]) == (
        "paid",
        "0.00",
    )


def test_an_invoice_credited_in_full_and_unpaid_is_credited(billing_api, user, vat):
    invoice = prepaid(billing_api, user, "100.00")

    note = issue(billing_api, invoice["id"], amount="100.00").json()

    assert (note["lines"][0]["invoice_line"], note["lines"][0]["description"], note["total"]) == (
        None,
        "Adjustment",
        "107.50",
    )
    after = detail(billing_api, invoice["id"])
    assert (after["payment_status"], after["effective_total"], after["balance_due"]) == ("credited", "0.00", "0.00")
    problem(issue(billing_api, invoice["id"], amount="1.00"), 409, "fully_credited")


def test_the_invoices_credit_notes_the_list_and_its_filters(billing_api, viewer_api, admin, user, vat):
    other = AccountFactory(tenant=admin.tenant, name="Zephyr Co")
    first = prepaid(billing_api, user, "1000.00", invoice_date="2026-03-01")
    second = prepaid(billing_api, other, "500.00")
    a = issue(billing_api, first["id"], amount="100.00", issue_date="2026-03-02").json()
    b = issue(billing_api, first["id"], lines=[{"line": first["lines"][0]["id"], "amount": "50.00"}]).json()
    c = issue(billing_api, second["id"], amount="10.00", reason="Goodwill").json()

    of_first = viewer_api.get(f"/api/v1/invoices/{first['id']}/credit-notes/")
    everything = viewer_api.get("/api/v1/credit-notes/").json()

    assert [n["number"] for n in of_first.json()] == ["CN-2026-00001", "CN-2026-00002"]
    assert [(n["total"], len(n["lines"])) for n in of_first.json()] == [("107.50", 1), ("53.75", 1)]
    assert everything["count"] == 3
    assert [n["number"] for n in everything["results"]] == ["CN-2026-00003", "CN-2026-00002", "CN-2026-00001"]

    def numbers(**query):
        return [n["number"] for n in viewer_api.get("/api/v1/credit-notes/", query).json()["results"]]

    assert numbers(user=other.id) == [c["number"]]
    assert numbers(invoice=first["id"]) == [b["number"], a["number"]]
    assert numbers(date_to="2026-03-02") == [a["number"]]
    assert numbers(date_from="2026-03-03") == [c["number"], b["number"]]
    assert numbers(q="zeph") == [c["number"]]
    assert numbers(q="cn-2026-00002") == [b["number"]]
    assert numbers(q="INV-2026-00002") == [c["number"]]  # the invoice's number
    one = viewer_api.get(f"/api/v1/credit-notes/{b['id']}/").json()
    assert (one["number"], one["lines"][0]["invoice_line"], one["lines"][0]["description"]) == (
        "CN-2026-00002",
        first["lines"][0]["id"],
        "Balance recharge",
    )
    problem(
        viewer_api.get("/api/v1/credit-notes/", {"date_from": "2026-03-10", "date_to": "2026-03-01"}),
        400,
        "validation_failed",
    )
    problem(viewer_api.get("/api/v1/credit-notes/", {"invoice": "x"}), 400, "validation_failed")
    problem(viewer_api.get("/api/v1/credit-notes/999999/"), 404, "not_found")


# --- PDF and email ------------------------------------------------------------------------------------------------


def test_credit_note_pdf(billing_api, viewer_api, other_admin, user, vat):
    invoice = prepaid(billing_api, user, "1000.00")
    note = issue(billing_api, invoice["id"], amount="200.00", reason="Discount agreed").json()

    pdf = viewer_api.get(f"/api/v1/credit-notes/{note['id']}/pdf/", HTTP_ACCEPT="application/pdf")

    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf["Content-Disposition"] == 'attachment; filename="CN-2026-00001.pdf"'
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).split())
    for shown in ("CN-2026-00001", "INV-2026-00001", "Discount agreed", "215.00"):
        assert shown in text
    problem(viewer_api.get("/api/v1/credit-notes/999999/pdf/", HTTP_ACCEPT="application/pdf"), 404, "not_found")
    foreign = token_client(other_admin.tenant).get(f"/api/v1/credit-notes/{note['id']}/pdf/")
    problem(foreign, 404, "not_found")


def test_email_a_credit_note(billing_api, viewer_api, other_admin, user, vat):
    invoice = prepaid(billing_api, user, "1000.00")
    note = issue(billing_api, invoice["id"], amount="200.00").json()
    url = f"/api/v1/credit-notes/{note['id']}/email/"
    problem(viewer_api.post(url), 403, "permission_denied")
    problem(token_client(other_admin.tenant).post(url), 404, "not_found")
    before = EmailLog.objects.count()

    response = billing_api.post(url)

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["recipient"]) == ("credit_note", "queued", user.billing_email)
    assert "CN-2026-00001" in body["subject"]
    assert EmailLog.objects.count() == before + 1
    problem(billing_api.post(url), 409, "email_recent")
    assert EmailLog.objects.count() == before + 1


# --- idempotency --------------------------------------------------------------------------------------------------


def test_a_replayed_credit_note_is_issued_once_and_a_reused_key_is_refused(billing_api, user, vat):
    invoice = prepaid(billing_api, user)
    url = f"/api/v1/invoices/{invoice['id']}/credit-notes/"
    body = {"reason": "Discount", "amount": "100.00"}

    first = billing_api.post(url, body, "json", HTTP_IDEMPOTENCY_KEY="cn-1")
    again = billing_api.post(url, body, "json", HTTP_IDEMPOTENCY_KEY="cn-1")
    other = billing_api.post(url, {**body, "amount": "50.00"}, "json", HTTP_IDEMPOTENCY_KEY="cn-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["number"] == "CN-2026-00001"
    problem(other, 409, "idempotency_key_reused")
    assert list(CreditNote.objects.values_list("number", flat=True)) == ["CN-2026-00001"]
    assert detail(billing_api, invoice["id"])["credited_total"] == "107.50"


def test_a_refused_credit_note_leaves_no_key_behind(billing_api, user, vat):
    invoice = prepaid(billing_api, user)
    url = f"/api/v1/invoices/{invoice['id']}/credit-notes/"

    refused = billing_api.post(url, {"reason": "Discount", "amount": "5000.00"}, "json", HTTP_IDEMPOTENCY_KEY="k")
    corrected = billing_api.post(url, {"reason": "Discount", "amount": "50.00"}, "json", HTTP_IDEMPOTENCY_KEY="k")

    problem(refused, 400, "exceeds_invoice")
    assert corrected.status_code == 201
    assert IdempotencyKey.objects.count() == 1


# --- refusals -----------------------------------------------------------------------------------------------------


def test_credit_note_refusals_change_nothing(billing_api, viewer_api, user, vat):
    invoice = prepaid(billing_api, user)
    line_id = invoice["lines"][0]["id"]
    pay(billing_api, invoice["id"], "100.00")
    draft = prepaid(billing_api, user, "200.00", as_draft=True)
    void = prepaid(billing_api, user, "300.00")
    billing_api.post(f"/api/v1/invoices/{void['id']}/void/", {"reason": "Typo"}, "json")
    issue(billing_api, invoice["id"], lines=[{"line": line_id, "amount": "400.00"}])
    before = counts()

    over_line = issue(billing_api, invoice["id"], lines=[{"line": line_id, "amount": "600.01"}])
    assert field_errors(problem(over_line, 400, "exceeds_line")) == {"lines"}
    over_invoice = issue(billing_api, invoice["id"], amount="600.01")
    assert field_errors(problem(over_invoice, 400, "exceeds_invoice")) == {"amount"}
    problem(issue(billing_api, draft["id"], amount="1.00"), 409, "not_approved")
    problem(issue(billing_api, void["id"], amount="1.00"), 409, "void")
    assert field_errors(problem(issue(billing_api, invoice["id"], amount="1e3"), 400, "validation_failed")) == {
        "amount"
    }
    assert field_errors(problem(issue(billing_api, invoice["id"], amount=1000), 400, "validation_failed")) == {"amount"}
    bad_line = issue(billing_api, invoice["id"], lines=[{"line": line_id, "amount": "-5"}])
    assert field_errors(problem(bad_line, 400, "validation_failed")) == {"lines.0.amount"}
    cents = issue(billing_api, invoice["id"], amount="1.005")
    assert field_errors(problem(cents, 400, "validation_failed")) == {"amount"}
    zero = issue(billing_api, invoice["id"], amount="0.00")
    assert field_errors(problem(zero, 400, "validation_failed")) == {"amount"}
    no_reason = billing_api.post(f"/api/v1/invoices/{invoice['id']}/credit-notes/", {"amount": "1.00"}, "json")
    assert field_errors(problem(no_reason, 400, "validation_failed")) == {"reason"}
    blank_reason = issue(billing_api, invoice["id"], amount="1.00", reason="   ")
    assert field_errors(problem(blank_reason, 400, "validation_failed")) == {"reason"}
    both = issue(billing_api, invoice["id"], amount="1.00", lines=[{"line": line_id, "amount": "1.00"}])
    assert field_errors(problem(both, 400, "validation_failed")) == {"lines"}
    assert field_errors(problem(issue(billing_api, invoice["id"]), 400, "validation_failed")) == {"lines"}
    twice = issue(billing_api, invoice["id"], lines=[{"line": line_id, "amount": "1.00"}] * 2)
    assert field_errors(problem(twice, 400, "validation_failed")) == {"lines"}
    foreign_line = issue(billing_api, invoice["id"], lines=[{"line": draft["lines"][0]["id"], "amount": "1.00"}])
    assert field_errors(problem(foreign_line, 400, "validation_failed")) == {"lines"}
    future = issue(billing_api, invoice["id"], amount="1.00", issue_date="2026-03-21")
    assert field_errors(problem(future, 400, "validation_failed")) == {"issue_date"}
    early = issue(billing_api, invoice["id"], amount="1.00", issue_date="2026-03-19")
    assert field_errors(problem(early, 400, "validation_failed")) == {"issue_date"}
    problem(issue(viewer_api, invoice["id"], amount="1.00"), 403, "permission_denied")
    problem(issue(billing_api, 999999, amount="1.00"), 404, "not_found")
    assert counts() == before


# --- customer credit: adjust, apply -------------------------------------------------------------------------------


def test_adjust_and_apply_customer_credit(billing_api, viewer_api, user, vat):
    invoice = prepaid(billing_api, user, "100.00")  # 107.50
    adjust = f"/api/v1/users/{user.id}/credit/adjust/"
    apply = f"/api/v1/invoices/{invoice['id']}/apply-credit/"

    added = billing_api.post(adjust, {"amount": "150.00", "reason": "Goodwill"}, "json")
    taken = billing_api.post(adjust, {"amount": "-20.00", "reason": "Correction"}, "json")
    assert (added.status_code, taken.status_code) == (201, 201)
    assert (taken.json()["amount"], taken.json()["kind"], taken.json()["balance_after"]) == (
        "-20.00",
        "adjustment",
        "130.00",
    )
    assert detail(viewer_api, invoice["id"])["available_credit"] == "130.00"

    before = counts()
    over = billing_api.post(apply, {"amount": "107.51"}, "json")
    assert field_errors(problem(over, 400, "overpayment")) == {"amount"}
    problem(billing_api.post(adjust, {"amount": "-130.01", "reason": "x"}, "json"), 409, "insufficient_credit")
    assert field_errors(
        problem(billing_api.post(adjust, {"amount": "1e3", "reason": "x"}, "json"), 400, "validation_failed")
    ) == {"amount"}
    assert field_errors(problem(billing_api.post(adjust, {"amount": "5.00"}, "json"), 400, "validation_failed")) == {
        "reason"
    }
    problem(viewer_api.post(apply, {}, "json"), 403, "permission_denied")
    problem(viewer_api.post(adjust, {"amount": "1.00", "reason": "x"}, "json"), 403, "permission_denied")
    assert counts() == before

    applied = billing_api.post(apply, {}, "json")

    assert applied.status_code == 201, applied.content
    payment = applied.json()
    assert (payment["payment_type"], payment["amount"], payment["applied"], payment["payment_date"]) == (
        "credit",
        "107.50",
        "107.50",
        TODAY,
    )
    assert (payment["credit_delta"], payment["receipt"]) == ("100.00", None)
    after = detail(billing_api, invoice["id"])
    assert (after["payment_status"], after["balance_due"], after["available_credit"]) == ("paid", "0.00", "22.50")
    problem(billing_api.post(apply, {}, "json"), 409, "nothing_due")  # settled: nothing to apply
    problem(billing_api.post(apply, {"amount": "1.00"}, "json"), 409, "nothing_due")
    credit = credit_of(viewer_api, user)
    assert credit["balance"] == "22.50"
    assert [(e["kind"], e["amount"], e["payment"]) for e in credit["entries"]] == [
        ("applied", "-107.50", payment["id"]),
        ("adjustment", "-20.00", None),
        ("adjustment", "150.00", None),
    ]

    reversed_ = billing_api.post(f"/api/v1/payments/{payment['id']}/reverse/", {"reason": "Wrong invoice"}, "json")

    assert reversed_.status_code == 200
    assert credit_of(viewer_api, user)["balance"] == "130.00"
    assert detail(billing_api, invoice["id"])["balance_due"] == "107.50"


def test_apply_credit_without_credit_is_refused(billing_api, user, vat):
    invoice = prepaid(billing_api, user, "100.00")
    before = counts()

    refused = billing_api.post(f"/api/v1/invoices/{invoice['id']}/apply-credit/", {}, "json")

    assert field_errors(problem(refused, 409, "insufficient_credit")) == {"amount"}
    given = billing_api.post(f"/api/v1/invoices/{invoice['id']}/apply-credit/", {"amount": "5.00"}, "json")
    problem(given, 409, "insufficient_credit")
    assert counts() == before


def test_apply_credit_is_idempotent(billing_api, user, vat):
    invoice = prepaid(billing_api, user, "100.00")
    billing_api.post(f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "50.00", "reason": "Goodwill"}, "json")
    url = f"/api/v1/invoices/{invoice['id']}/apply-credit/"

    first = billing_api.post(url, {"amount": "20.00"}, "json", HTTP_IDEMPOTENCY_KEY="apply-1")
    again = billing_api.post(url, {"amount": "20.00"}, "json", HTTP_IDEMPOTENCY_KEY="apply-1")

    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert Payment.objects.filter(payment_type="credit").count() == 1
    assert credit_of(billing_api, user)["balance"] == "30.00"


# --- refunds ------------------------------------------------------------------------------------------------------


def test_refund_and_its_reversal(billing_api, viewer_api, admin, user, vat):
    billing_api.post(f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "50.00", "reason": "Overpaid"}, "json")
    body = {"user": user.id, "amount": "30.00", "method": "bank_transfer", "reference": "RF-1", "notes": "By wire"}

    created = billing_api.post("/api/v1/refunds/", body, "json")

    assert created.status_code == 201, created.content
    refund = created.json()
    assert (refund["amount"], refund["refund_date"], refund["method"], refund["reference"], refund["notes"]) == (
        "30.00",
        TODAY,
        "bank_transfer",
        "RF-1",
        "By wire",
    )
    assert (refund["is_reversed"], refund["user"]["id"]) == (False, user.id)
    assert credit_of(viewer_api, user)["balance"] == "20.00"
    before = counts()
    problem(billing_api.post("/api/v1/refunds/", {**body, "amount": "20.01"}, "json"), 409, "insufficient_credit")
    bad_method = billing_api.post("/api/v1/refunds/", {**body, "method": "barter"}, "json")
    assert field_errors(problem(bad_method, 400, "validation_failed")) == {"method"}
    future = billing_api.post("/api/v1/refunds/", {**body, "amount": "1.00", "refund_date": "2026-03-21"}, "json")
    assert field_errors(problem(future, 400, "validation_failed")) == {"refund_date"}
    problem(billing_api.post("/api/v1/refunds/", {**body, "user": 999999}, "json"), 404, "not_found")
    problem(viewer_api.post("/api/v1/refunds/", body, "json"), 403, "permission_denied")
    url = f"/api/v1/refunds/{refund['id']}/reverse/"
    problem(viewer_api.post(url, {"reason": "Bounced"}, "json"), 403, "permission_denied")
    assert field_errors(problem(billing_api.post(url, {}, "json"), 400, "validation_failed")) == {"reason"}
    assert counts() == before

    reversed_ = billing_api.post(url, {"reason": "Bounced"}, "json")

    assert reversed_.status_code == 200
    assert (reversed_.json()["is_reversed"], reversed_.json()["reversal_reason"]) == (True, "Bounced")
    problem(billing_api.post(url, {"reason": "Bounced"}, "json"), 409, "already_reversed")
    credit = credit_of(viewer_api, user)
    assert credit["balance"] == "50.00"
    assert [(e["kind"], e["amount"], e["refund"]) for e in credit["entries"][:2]] == [
        ("refund_reversed", "30.00", refund["id"]),
        ("refund", "-30.00", refund["id"]),
    ]
    assert [r["id"] for r in credit["refunds"]] == [refund["id"]]
    other = AccountFactory(tenant=admin.tenant)
    assert [r["id"] for r in viewer_api.get("/api/v1/refunds/").json()["results"]] == [refund["id"]]
    assert viewer_api.get("/api/v1/refunds/", {"user": other.id}).json()["results"] == []
    assert viewer_api.get("/api/v1/refunds/", {"date_from": "2026-03-21"}).json()["count"] == 0
    assert viewer_api.get(f"/api/v1/refunds/{refund['id']}/").json()["reversed_at"] is not None


def test_a_refund_is_idempotent(billing_api, user):
    billing_api.post(f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "50.00", "reason": "Overpaid"}, "json")
    body = {"user": user.id, "amount": "30.00", "method": "cash"}

    first = billing_api.post("/api/v1/refunds/", body, "json", HTTP_IDEMPOTENCY_KEY="refund-1")
    again = billing_api.post("/api/v1/refunds/", body, "json", HTTP_IDEMPOTENCY_KEY="refund-1")

    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert Refund.objects.count() == 1
    assert credit_of(billing_api, user)["balance"] == "20.00"


# --- payments received for a user ----------------------------------------------------------------------------------


def receipt_body(user, amount, **extra):
    return {"user": user.id, "amount": amount, "payment_date": TODAY, "payment_type": "bank_transfer", **extra}


def test_a_payment_for_a_user_goes_to_the_oldest_due_first_and_the_rest_to_credit(billing_api, viewer_api, user, vat):
    older = prepaid(billing_api, user, "1000.00", invoice_date="2026-03-01", due_date="2026-03-05")  # 1075.00
    newer = prepaid(billing_api, user, "100.00")  # 107.50

    created = billing_api.post("/api/v1/receipts/", receipt_body(user, "1200.00", transaction_id="TX-9"), "json")

    assert created.status_code == 201, created.content
    receipt = created.json()
    assert (receipt["amount"], receipt["allocated"], receipt["unallocated"], receipt["transaction_id"]) == (
        "1200.00",
        "1182.50",
        "17.50",
        "TX-9",
    )
    assert [(a["invoice"]["id"], a["amount"], a["is_reversed"]) for a in receipt["allocations"]] == [
        (older["id"], "1075.00", False),
        (newer["id"], "107.50", False),
    ]
    assert [a["invoice"]["number"] for a in receipt["allocations"]] == ["INV-2026-00001", "INV-2026-00002"]
    assert (detail(viewer_api, older["id"])["payment_status"], detail(viewer_api, newer["id"])["payment_status"]) == (
        "paid",
        "paid",
    )
    payments = viewer_api.get("/api/v1/payments/", {"user": user.id}).json()["results"]
    assert {p["receipt"] for p in payments} == {receipt["id"]}
    credit = credit_of(viewer_api, user)
    assert credit["balance"] == "17.50"
    assert [(e["kind"], e["amount"], e["receipt"]) for e in credit["entries"]] == [
        ("unapplied_payment", "17.50", receipt["id"])
    ]
    assert [r["id"] for r in credit["receipts"]] == [receipt["id"]]
    allocation = receipt["allocations"][0]["payment"]
    problem(
        billing_api.post(f"/api/v1/payments/{allocation}/reverse/", {"reason": "x"}, "json"), 409, "part_of_receipt"
    )
    duplicate = billing_api.post("/api/v1/receipts/", receipt_body(user, "1.00", transaction_id="TX-9"), "json")
    problem(duplicate, 409, "duplicate_transaction")

    url = f"/api/v1/receipts/{receipt['id']}/reverse/"
    problem(viewer_api.post(url, {"reason": "Bounced"}, "json"), 403, "permission_denied")
    reversed_ = billing_api.post(url, {"reason": "Bounced"}, "json")

    assert reversed_.status_code == 200
    body = reversed_.json()
    assert (body["is_reversed"], body["reversal_reason"]) == (True, "Bounced")
    assert [a["is_reversed"] for a in body["allocations"]] == [True, True]
    assert (detail(viewer_api, older["id"])["balance_due"], detail(viewer_api, newer["id"])["balance_due"]) == (
        "1075.00",
        "107.50",
    )
    assert credit_of(viewer_api, user)["balance"] == "0.00"
    problem(billing_api.post(url, {"reason": "Bounced"}, "json"), 409, "already_reversed")
    listed = viewer_api.get("/api/v1/receipts/", {"user": user.id}).json()
    assert [(r["id"], r["is_reversed"], len(r["allocations"])) for r in listed["results"]] == [(receipt["id"], True, 2)]
    assert viewer_api.get(f"/api/v1/receipts/{receipt['id']}/").json()["unallocated"] == "17.50"


def test_a_payment_for_a_user_with_given_allocations(billing_api, user, vat):
    first = prepaid(billing_api, user, "100.00")
    second = prepaid(billing_api, user, "200.00")
    body = receipt_body(user, "100.00", allocations=[{"invoice": second["id"], "amount": "60.00"}])

    receipt = billing_api.post("/api/v1/receipts/", body, "json").json()

    assert (receipt["allocated"], receipt["unallocated"]) == ("60.00", "40.00")
    assert [(a["invoice"]["id"], a["amount"]) for a in receipt["allocations"]] == [(second["id"], "60.00")]
    assert detail(billing_api, first["id"])["balance_due"] == "107.50"
    assert detail(billing_api, second["id"])["balance_due"] == "155.00"
    nothing = billing_api.post("/api/v1/receipts/", receipt_body(user, "5.00", allocations=[]), "json").json()
    assert (nothing["allocated"], nothing["unallocated"], nothing["allocations"]) == ("0.00", "5.00", [])
    assert credit_of(billing_api, user)["balance"] == "45.00"


def test_payment_for_a_user_refusals_change_nothing(billing_api, viewer_api, admin, user, vat):
    invoice = prepaid(billing_api, user, "100.00")
    draft = prepaid(billing_api, user, "100.00", as_draft=True)
    someone = AccountFactory(tenant=admin.tenant)
    theirs = prepaid(billing_api, someone, "100.00")
    before = counts()

    def refused(status, code, fields=None, amount="100.00", **extra):
        body = problem(billing_api.post("/api/v1/receipts/", receipt_body(user, amount, **extra), "json"), status, code)
        if fields is not None:
            assert field_errors(body) == fields

    refused(400, "over_allocated", {"allocations"}, allocations=[{"invoice": invoice["id"], "amount": "100.01"}])
    refused(
        400,
        "overpayment",
        {"allocations"},
        amount="200.00",
        allocations=[{"invoice": invoice["id"], "amount": "107.51"}],
    )
    refused(409, "draft", allocations=[{"invoice": draft["id"], "amount": "1.00"}])
    refused(404, "not_found", {"allocations"}, allocations=[{"invoice": theirs["id"], "amount": "1.00"}])
    refused(400, "validation_failed", {"allocations"}, allocations=[{"invoice": invoice["id"], "amount": "1.00"}] * 2)
    refused(
        400, "validation_failed", {"allocations.0.amount"}, allocations=[{"invoice": invoice["id"], "amount": "1e3"}]
    )
    refused(400, "validation_failed", {"amount"}, amount="1e3")
    refused(400, "validation_failed", {"payment_date"}, payment_date="2026-03-21")
    refused(400, "validation_failed", {"payment_type"}, payment_type="credit")
    problem(
        billing_api.post("/api/v1/receipts/", {**receipt_body(user, "1.00"), "user": 999999}, "json"), 404, "not_found"
    )
    problem(viewer_api.post("/api/v1/receipts/", receipt_body(user, "1.00"), "json"), 403, "permission_denied")
    assert counts() == before


def test_a_payment_for_a_user_is_idempotent(billing_api, user, vat):
    prepaid(billing_api, user, "100.00")
    body = receipt_body(user, "150.00")

    first = billing_api.post("/api/v1/receipts/", body, "json", HTTP_IDEMPOTENCY_KEY="receipt-1")
    again = billing_api.post("/api/v1/receipts/", body, "json", HTTP_IDEMPOTENCY_KEY="receipt-1")
    reused = billing_api.post("/api/v1/receipts/", {**body, "amount": "1.00"}, "json", HTTP_IDEMPOTENCY_KEY="receipt-1")

    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    problem(reused, 409, "idempotency_key_reused")
    assert (Receipt.objects.count(), Payment.objects.count()) == (1, 1)
    assert credit_of(billing_api, user)["balance"] == "42.50"


# --- tenancy ------------------------------------------------------------------------------------------------------


def test_another_admins_objects_are_404(billing_api, admin, other_admin, user, vat):
    invoice = prepaid(billing_api, user, "100.00")
    note = issue(billing_api, invoice["id"], amount="10.00").json()
    billing_api.post(f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "50.00", "reason": "Goodwill"}, "json")
    refund = billing_api.post("/api/v1/refunds/", {"user": user.id, "amount": "5.00", "method": "cash"}, "json").json()
    receipt = billing_api.post("/api/v1/receipts/", receipt_body(user, "5.00"), "json").json()
    other = token_client(other_admin.tenant)
    before = counts()

    for url in (
        f"/api/v1/invoices/{invoice['id']}/credit-notes/",
        f"/api/v1/credit-notes/{note['id']}/",
        f"/api/v1/users/{user.id}/credit/",
        f"/api/v1/refunds/{refund['id']}/",
        f"/api/v1/receipts/{receipt['id']}/",
    ):
        problem(other.get(url), 404, "not_found")
    for url, body in (
        (f"/api/v1/invoices/{invoice['id']}/credit-notes/", {"reason": "x", "amount": "1.00"}),
        (f"/api/v1/invoices/{invoice['id']}/apply-credit/", {"amount": "1.00"}),
        (f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "1.00", "reason": "x"}),
        ("/api/v1/refunds/", {"user": user.id, "amount": "1.00", "method": "cash"}),
        (f"/api/v1/refunds/{refund['id']}/reverse/", {"reason": "x"}),
        ("/api/v1/receipts/", receipt_body(user, "1.00")),
        (f"/api/v1/receipts/{receipt['id']}/reverse/", {"reason": "x"}),
    ):
        problem(other.post(url, body, "json"), 404, "not_found")
    assert other.get("/api/v1/credit-notes/").json()["count"] == 0
    assert other.get("/api/v1/refunds/").json()["count"] == 0
    assert other.get("/api/v1/receipts/").json()["count"] == 0
    assert other.get("/api/v1/credit-notes/", {"user": user.id}).json()["count"] == 0
    assert counts() == before


@pytest.mark.parametrize(
    "path",
    ["/api/v1/refunds/", "/api/v1/receipts/", "/api/v1/credit-notes/"],
)
def test_lists_refuse_bad_filters(viewer_api, path):
    problem(viewer_api.get(path, {"user": "abc"}), 400, "validation_failed")
    problem(viewer_api.get(path, {"date_from": "yesterday"}), 400, "validation_failed")
    assert viewer_api.get(path).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_credit_amounts_are_decimal_not_float(billing_api, user):
    billing_api.post(f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "0.10", "reason": "a"}, "json")
    billing_api.post(f"/api/v1/users/{user.id}/credit/adjust/", {"amount": "0.20", "reason": "b"}, "json")

    assert credit_of(billing_api, user)["balance"] == "0.30"
    assert CustomerCredit.objects.get().balance == Decimal("0.30")
