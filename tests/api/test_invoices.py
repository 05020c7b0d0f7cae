"""Contract tests of the invoice endpoints: preview, search, create, detail, drafts, approval, void, documents."""

import datetime

from invoicing.models import Invoice, InvoiceStatus, Job
from invoicing.services.licenses import license_grant
from msgplatform.core.models import Event
from tests.factories import AccountFactory

from .conftest import field_errors, problem, push_usage


def prepaid(client, user, **extra):
    return client.post("/api/v1/invoices/prepaid/", {"user": user.id, "recharge_amount": "1000.00", **extra}, "json")


def postpaid(client, user, start="2026-03-01", end="2026-03-19", **extra):
    body = {"user": user.id, "period_start": start, "period_end": end, **extra}
    return client.post("/api/v1/invoices/postpaid/", body, "json")


# --- usage preview --------------------------------------------------------------------------------------------------


def test_preview_shows_lines_totals_and_a_page_of_records(viewer_api, admin, postpaid_user, vat):
    push_usage(admin.tenant, postpaid_user, 3, day="2026-03-10", unit_price="0.01", parts=2)

    response = viewer_api.get(
        "/api/v1/usage/preview/",
        {"user": postpaid_user.id, "period_start": "2026-03-01", "period_end": "2026-03-19", "page_size": 2},
    )

    assert response.status_code == 200
    body = response.json()
    assert [(line["quantity"], line["unit_price"], line["amount"]) for line in body["lines"]] == [
        ("6.000000", "0.010000", "0.06")
    ]
    assert (body["subtotal"], body["tax_total"], body["total"], body["usage_raw"], body["messages"]) == (
        "0.06",
        "0.00",
        "0.06",
        "0.060000",
        3,
    )
    assert body["taxes"] == [{"name": "VAT", "rate": "7.5000", "amount": "0.00"}]
    assert body["conflict"] is None
    assert (body["records"]["count"], body["records"]["num_pages"], len(body["records"]["results"])) == (3, 2, 2)


def test_preview_reports_an_overlap_and_refuses_bad_ranges(viewer_api, api, admin, user, postpaid_user):
    push_usage(admin.tenant, postpaid_user, 2, day="2026-03-10")
    postpaid(api, postpaid_user, "2026-03-01", "2026-03-12")

    overlap = viewer_api.get(
        "/api/v1/usage/preview/", {"user": postpaid_user.id, "period_start": "2026-03-05", "period_end": "2026-03-15"}
    )
    assert "INV-2026-00001" in overlap.json()["conflict"]

    url = "/api/v1/usage/preview/"
    body = problem(viewer_api.get(url, {"user": postpaid_user.id}), 400, "validation_failed")
    assert field_errors(body) == {"period_start", "period_end"}
    range_ = {"period_start": "2026-03-01", "period_end": "2026-03-19"}
    problem(viewer_api.get(url, {"user": user.id, **range_}), 400, "validation_failed")
    problem(viewer_api.get(url, {"user": 999999, **range_}), 404, "not_found")
    future = problem(
        viewer_api.get(url, {"user": postpaid_user.id, **range_, "period_end": "2026-03-21"}), 400, "validation_failed"
    )
    assert field_errors(future) == {"period_end"}


# --- create -------------------------------------------------------------------------------------------------------


def test_create_prepaid_invoice_worked_example(billing_api, user, vat):
    response = prepaid(billing_api, user, description="March recharge")

    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["status"], body["payment_status"]) == ("INV-2026-00001", "approved", "unpaid")
    assert (body["subtotal"], body["tax_total"], body["total"], body["balance_due"]) == (
        "1000.00",
        "75.00",
        "1075.00",
        "1075.00",
    )
    assert body["taxes"] == [{"name": "VAT", "rate": "7.5000", "amount": "75.00"}]
    assert (body["invoice_date"], body["due_date"]) == ("2026-03-20", "2026-04-04")
    assert body["due"] == {"status": "not_due", "days_overdue": 0}
    assert body["actions"] == ["view", "download", "email", "record_payment", "remind", "void", "credit_note"]


def test_create_and_claim_records_the_payment(billing_api, user, vat):
    response = prepaid(
        billing_api, user, claim={"payment_date": "2026-03-20", "payment_type": "bank_transfer", "amount": "500.00"}
    )

    body = response.json()
    assert (body["payment_status"], body["amount_paid"], body["balance_due"]) == ("partially_paid", "500.00", "575.00")
    [payment] = body["payments"]
    assert (payment["amount"], payment["credit_delta"], payment["payment_type"]) == (
        "500.00",
        "465.12",
        "bank_transfer",
    )
    user.refresh_from_db()
    assert str(user.balance) == "465.120000"


def test_create_draft_has_no_number(billing_api, user, vat):
    body = prepaid(billing_api, user, as_draft=True).json()

    assert (body["number"], body["status"], body["due"]["status"]) == (None, "draft", None)
    assert body["actions"] == ["view", "edit", "approve", "delete", "download"]


def test_create_prepaid_refusals_change_nothing(billing_api, viewer_api, admin, user, postpaid_user, other_admin):
    problem(prepaid(viewer_api, user), 403, "permission_denied")
    assert field_errors(problem(prepaid(billing_api, postpaid_user), 400, "validation_failed")) == {"account"}
    assert field_errors(problem(prepaid(billing_api, user, recharge_amount="10.001"), 400, "validation_failed")) == {
        "recharge_amount"
    }
    assert field_errors(problem(prepaid(billing_api, user, recharge_amount=10.5), 400, "validation_failed")) == {
        "recharge_amount"
    }
    assert field_errors(
        problem(prepaid(billing_api, user, invoice_date="2026-03-20", due_date="2026-03-19"), 400, "validation_failed")
    ) == {"due_date"}
    claim = {"payment_date": "2026-03-20", "payment_type": "cash"}
    assert field_errors(problem(prepaid(billing_api, user, as_draft=True, claim=claim), 400, "validation_failed")) == {
        "claim"
    }
    assert field_errors(
        problem(
            prepaid(billing_api, user, claim={"payment_date": "2026-03-21", "payment_type": "cash"}),
            400,
            "validation_failed",
        )
    ) == {"payment_date"}
    problem(prepaid(billing_api, AccountFactory(tenant=other_admin.tenant)), 404, "not_found")
    license_grant(
        tenant=admin.tenant, prepaid=False, postpaid=True, valid_until=datetime.date(2027, 1, 1), actor_id=None
    )
    problem(prepaid(billing_api, user), 403, "not_licensed")
    assert Invoice.objects.count() == 0


def test_create_postpaid_invoice_and_refuse_an_overlap(billing_api, admin, postpaid_user, vat):
    push_usage(admin.tenant, postpaid_user, 4, day="2026-03-10", unit_price="0.0075")

    created = postpaid(billing_api, postpaid_user, "2026-03-01", "2026-03-15")
    overlap = postpaid(billing_api, postpaid_user, "2026-03-15", "2026-03-19")
    empty = postpaid(billing_api, postpaid_user, "2026-03-16", "2026-03-19")

    assert created.status_code == 201
    body = created.json()
    assert (body["period_start"], body["period_end"], body["subtotal"], body["total"]) == (
        "2026-03-01",
        "2026-03-15",
        "0.03",
        "0.03",
    )
    assert body["lines"][0]["description"] == "SMS US T-Mobile US (4 messages)"
    assert field_errors(problem(overlap, 409, "period_overlap")) == {"period_start"}
    assert empty.status_code == 400
    assert Invoice.objects.count() == 1


# --- search -------------------------------------------------------------------------------------------------------


def test_search_filters_sorts_and_pages(viewer_api, billing_api, admin, user, vat):
    other = AccountFactory(tenant=admin.tenant, name="Zenith")
    prepaid(billing_api, user, recharge_amount="100.00")
    prepaid(billing_api, other, recharge_amount="300.00")
    prepaid(billing_api, user, recharge_amount="200.00", as_draft=True)

    everything = viewer_api.get("/api/v1/invoices/", {"ordering": "-total", "page_size": 2}).json()
    drafts = viewer_api.get("/api/v1/invoices/", {"tab": "drafts"}).json()
    by_name = viewer_api.get("/api/v1/invoices/", {"q": "zen"}).json()
    unpaid = viewer_api.get("/api/v1/invoices/", {"payment_status": "unpaid", "user": user.id}).json()

    assert [i["total"] for i in everything["results"]] == ["322.50", "215.00"]
    assert (everything["count"], everything["has_next"], everything["count_capped"]) == (3, True, False)
    assert [i["status"] for i in drafts["results"]] == ["draft"]
    assert [i["user"]["name"] for i in by_name["results"]] == ["Zenith"]
    assert [i["total"] for i in unpaid["results"]] == ["107.50"]
    problem(viewer_api.get("/api/v1/invoices/", {"tab": "secret"}), 400, "validation_failed")
    problem(viewer_api.get("/api/v1/invoices/", {"page_size": 201}), 400, "validation_failed")


def test_search_due_status_overdue_with_days(viewer_api, billing_api, user):
    prepaid(billing_api, user, invoice_date="2026-03-01", due_date="2026-03-10")

    body = viewer_api.get("/api/v1/invoices/", {"due_status": "overdue"}).json()

    assert [i["due"] for i in body["results"]] == [{"status": "overdue", "days_overdue": 10}]


# --- detail, drafts -----------------------------------------------------------------------------------------------


def test_detail_and_404_for_unknown(viewer_api, billing_api, user, vat):
    invoice_id = prepaid(billing_api, user).json()["id"]

    body = viewer_api.get(f"/api/v1/invoices/{invoice_id}/").json()

    assert [line["amount"] for line in body["lines"]] == ["1000.00"]
    assert (body["late_usage"], body["payments"], body["emails"]) == (False, [], [])
    problem(viewer_api.get("/api/v1/invoices/999999/"), 404, "not_found")


def test_edit_a_draft_recomputes_its_totals(billing_api, user, vat):
    invoice_id = prepaid(billing_api, user, as_draft=True).json()["id"]

    response = billing_api.patch(
        f"/api/v1/invoices/{invoice_id}/",
        {"recharge_amount": "200.00", "customer_notes": "Thanks", "line_descriptions": {"1": "Top-up"}},
        "json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["subtotal"], body["tax_total"], body["total"], body["customer_notes"]) == (
        "200.00",
        "15.00",
        "215.00",
        "Thanks",
    )
    assert body["lines"][0]["description"] == "Top-up"
    bad = billing_api.patch(f"/api/v1/invoices/{invoice_id}/", {"line_descriptions": {"one": "x"}}, "json")
    assert field_errors(problem(bad, 400, "validation_failed")) == {"line_descriptions"}


def test_approved_invoices_are_immutable_and_never_deleted(billing_api, user, vat):
    invoice_id = prepaid(billing_api, user).json()["id"]

    problem(billing_api.patch(f"/api/v1/invoices/{invoice_id}/", {"description": "x"}, "json"), 409, "immutable")
    problem(billing_api.delete(f"/api/v1/invoices/{invoice_id}/"), 409, "immutable")
    assert Invoice.objects.get(pk=invoice_id).description == "Balance recharge"


def test_delete_a_draft(billing_api, viewer_api, user):
    invoice_id = prepaid(billing_api, user, as_draft=True).json()["id"]

    problem(viewer_api.delete(f"/api/v1/invoices/{invoice_id}/"), 403, "permission_denied")
    assert billing_api.delete(f"/api/v1/invoices/{invoice_id}/").status_code == 204
    assert not Invoice.objects.exists()
    problem(billing_api.delete(f"/api/v1/invoices/{invoice_id}/"), 404, "not_found")


# --- approve, void, regenerate -------------------------------------------------------------------------------------


def test_approve_takes_the_next_number_once(billing_api, user):
    invoice_id = prepaid(billing_api, user, as_draft=True).json()["id"]

    approved = billing_api.post(f"/api/v1/invoices/{invoice_id}/approve/")
    again = billing_api.post(f"/api/v1/invoices/{invoice_id}/approve/")

    assert (approved.status_code, approved.json()["number"], approved.json()["status"]) == (
        200,
        "INV-2026-00001",
        "approved",
    )
    problem(again, 409, "not_draft")


def test_bulk_approve_needs_confirmation_for_flagged_drafts(billing_api, user):
    ids = [prepaid(billing_api, user, as_draft=True).json()["id"] for _ in range(2)]
    Invoice.objects.filter(pk=ids[1]).update(anomaly_reason="Total 300% above average")

    refused = billing_api.post("/api/v1/invoices/approve/", {"ids": ids}, "json")
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.DRAFT}
    confirmed = billing_api.post("/api/v1/invoices/approve/", {"ids": ids, "confirm_flagged": True}, "json")

    problem(refused, 409, "flagged_need_confirmation")
    assert confirmed.status_code == 200
    assert [i["number"] for i in confirmed.json()] == ["INV-2026-00001", "INV-2026-00002"]
    problem(billing_api.post("/api/v1/invoices/approve/", {"ids": []}, "json"), 400, "validation_failed")


def test_void_needs_a_reason_and_no_payments(billing_api, user):
    unpaid_id = prepaid(billing_api, user).json()["id"]
    paid_id = prepaid(billing_api, user, claim={"payment_date": "2026-03-20", "payment_type": "cash"}).json()["id"]
    draft_id = prepaid(billing_api, user, as_draft=True).json()["id"]

    problem(billing_api.post(f"/api/v1/invoices/{unpaid_id}/void/", {}, "json"), 400, "validation_failed")
    voided = billing_api.post(f"/api/v1/invoices/{unpaid_id}/void/", {"reason": "Duplicate"}, "json")
    problem(billing_api.post(f"/api/v1/invoices/{paid_id}/void/", {"reason": "x"}, "json"), 409, "has_payments")
    problem(billing_api.post(f"/api/v1/invoices/{draft_id}/void/", {"reason": "x"}, "json"), 409, "not_approved")
    problem(billing_api.post(f"/api/v1/invoices/{unpaid_id}/void/", {"reason": "x"}, "json"), 409, "already_void")

    body = voided.json()
    assert (body["status"], body["number"], body["void_reason"], body["actions"]) == (
        "void",
        "INV-2026-00001",
        "Duplicate",
        ["view", "download"],
    )


def test_regenerate_a_postpaid_draft_picks_up_late_usage(billing_api, admin, postpaid_user, user):
    push_usage(admin.tenant, postpaid_user, 2, day="2026-03-10", unit_price="0.50")
    draft = postpaid(billing_api, postpaid_user, "2026-03-01", "2026-03-12", as_draft=True).json()
    push_usage(admin.tenant, postpaid_user, 1, day="2026-03-11", unit_price="0.50", start=50)

    flagged = billing_api.get(f"/api/v1/invoices/{draft['id']}/").json()
    regenerated = billing_api.post(f"/api/v1/invoices/{draft['id']}/regenerate/")

    assert (draft["total"], flagged["late_usage"]) == ("1.00", True)
    assert regenerated.status_code == 200
    assert (regenerated.json()["total"], regenerated.json()["late_usage"]) == ("1.50", False)
    prepaid_draft = prepaid(billing_api, user, as_draft=True).json()["id"]
    problem(billing_api.post(f"/api/v1/invoices/{prepaid_draft}/regenerate/"), 400, "validation_failed")
    billing_api.post(f"/api/v1/invoices/{draft['id']}/approve/")
    problem(billing_api.post(f"/api/v1/invoices/{draft['id']}/regenerate/"), 409, "immutable")


# --- documents and messages ---------------------------------------------------------------------------------------


def test_pdf_and_its_versions(billing_api, viewer_api, user):
    invoice_id = prepaid(billing_api, user).json()["id"]

    pdf = viewer_api.get(f"/api/v1/invoices/{invoice_id}/pdf/", HTTP_ACCEPT="application/pdf")
    versions = viewer_api.get(f"/api/v1/invoices/{invoice_id}/pdf/versions/").json()
    first = viewer_api.get(f"/api/v1/invoices/{invoice_id}/pdf/versions/1/")

    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF") and pdf["Content-Disposition"] == 'attachment; filename="INV-2026-00001.pdf"'
    assert [(v["version"], v["size"]) for v in versions] == [(1, len(pdf.content))]
    assert first.content == pdf.content
    problem(viewer_api.get(f"/api/v1/invoices/{invoice_id}/pdf/versions/2/"), 404, "not_found")
    problem(viewer_api.get("/api/v1/invoices/999999/pdf/", HTTP_ACCEPT="application/pdf"), 404, "not_found")


def test_evidence_csv_of_a_postpaid_invoice(billing_api, admin, postpaid_user, user):
    push_usage(admin.tenant, postpaid_user, 3, day="2026-03-10", unit_price="0.0075")
    invoice_id = postpaid(billing_api, postpaid_user, "2026-03-01", "2026-03-12").json()["id"]

    response = billing_api.get(f"/api/v1/invoices/{invoice_id}/evidence/")

    assert (response.status_code, response["Content-Type"]) == (200, "text/csv")
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].startswith("line,message_id,")
    assert rows[-1].endswith(",0.02,closing total = invoice usage subtotal")
    prepaid_id = prepaid(billing_api, user).json()["id"]
    problem(billing_api.get(f"/api/v1/invoices/{prepaid_id}/evidence/"), 400, "validation_failed")


def test_email_an_approved_invoice(billing_api, user):
    invoice_id = prepaid(billing_api, user).json()["id"]
    draft_id = prepaid(billing_api, user, as_draft=True).json()["id"]

    response = billing_api.post(f"/api/v1/invoices/{invoice_id}/email/")

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["recipient"], response.json()["kind"]) == (
        "queued",
        user.billing_email,
        "invoice",
    )
    problem(billing_api.post(f"/api/v1/invoices/{draft_id}/email/"), 400, "not_approved")


def test_remind_the_user_of_an_open_invoice(billing_api, user):
    open_id = prepaid(billing_api, user).json()["id"]
    paid_id = prepaid(billing_api, user, claim={"payment_date": "2026-03-20", "payment_type": "cash"}).json()["id"]

    response = billing_api.post(f"/api/v1/invoices/{open_id}/remind/")

    assert response.status_code == 202
    assert (response.json()["kind"], response.json()["status"], response.json()["total"]) == (
        "bulk_reminder",
        "queued",
        1,
    )
    assert Job.objects.get().params["account_ids"] == [user.id]
    problem(billing_api.post(f"/api/v1/invoices/{paid_id}/remind/"), 409, "not_remindable")


def test_api_actions_are_audited_with_the_token_user(billing_api, user):
    prepaid(billing_api, user)

    event = Event.objects.get(kind="invoice.approved")
    assert event.actor.role == "billing"
