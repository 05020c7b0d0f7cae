"""Create Invoice: prepaid (Create, Save as draft, Create & Claim) and postpaid (Fetch records, then create)."""

from decimal import Decimal

from invoicing.models import Invoice, Payment
from invoicing.services.configuration import settings_update
from invoicing.services.invoices import invoice_create_postpaid

from .conftest import D, ingest


def html(response) -> str:
    return response.content.decode()


PREPAID = {
    "type": "prepaid",
    "invoice_date": "2026-03-20",
    "due_date": "2026-04-04",
    "recharge_amount": "1000.00",
    "description": "March top-up",
    "terms": "Pay in 15 days",
    "notes": "Thanks",
}


def test_prepaid_form_is_prefilled_from_the_settings(admin, user, vat):
    settings_update(tenant=admin.tenant, actor_id=None, default_due_days=10, default_terms="Net 10", default_notes="Ta")

    page = html(admin.client.get("/invoicing/invoices/new/"))

    assert 'value="2026-03-20"' in page and 'value="2026-03-30"' in page
    assert "Net 10</textarea>" in page and "Ta</textarea>" in page
    assert "Nimbus Ltd" in page and "Create &amp; Claim" in page


def test_create_a_prepaid_invoice(admin, user, vat):
    response = admin.client.post("/invoicing/invoices/new/", {**PREPAID, "account": user.id, "action": "create"})

    invoice = Invoice.objects.get(account=user)
    assert response.status_code == 302 and response.url == f"/invoicing/invoices/{invoice.id}/"
    assert (invoice.status, invoice.total, invoice.terms, invoice.customer_notes) == (
        "approved",
        Decimal("1075.00"),
        "Pay in 15 days",
        "Thanks",
    )


def test_save_a_prepaid_invoice_as_draft(admin, user, vat):
    admin.client.post("/invoicing/invoices/new/", {**PREPAID, "account": user.id, "action": "draft"})

    invoice = Invoice.objects.get(account=user)
    assert (invoice.status, invoice.number) == ("draft", None)


def test_create_and_claim_records_the_payment(admin, user, vat):
    response = admin.client.post(
        "/invoicing/invoices/new/",
        {
            **PREPAID,
            "account": user.id,
            "action": "claim",
            "claim_amount": "500.00",
            "claim_date": "2026-03-19",
            "claim_type": "bank_transfer",
            "claim_transaction_id": "WIRE-9",
        },
    )

    invoice = Invoice.objects.get(account=user)
    payment = Payment.objects.get(invoice=invoice)
    assert response.status_code == 302
    assert (invoice.payment_status, invoice.balance_due) == ("partially_paid", Decimal("575.00"))
    assert (payment.amount, payment.transaction_id, payment.credit_delta) == (
        Decimal("500.00"),
        "WIRE-9",
        Decimal("465.12"),
    )


def test_claim_errors_are_shown_in_the_dialog_and_nothing_is_created(admin, user, vat):
    response = admin.client.post(
        "/invoicing/invoices/new/",
        {
            **PREPAID,
            "account": user.id,
            "action": "claim",
            "claim_amount": "2000.00",
            "claim_date": "2026-03-19",
            "claim_type": "cash",
        },
    )

    page = html(response)
    assert response.status_code == 200
    assert 'id="id_claim_amount-error"' in page and "more than the balance due $1,075.00 of the new invoice" in page
    assert "INV-" not in page  # the number the rolled-back invoice would have taken is not named
    assert "data-open-on-load" in page  # the payment dialog opens again on the error
    assert not Invoice.objects.exists() and not Payment.objects.exists()


def test_claim_needs_a_date_and_a_type(admin, user):
    response = admin.client.post(
        "/invoicing/invoices/new/", {**PREPAID, "account": user.id, "action": "claim", "claim_type": ""}
    )

    page = html(response)
    assert 'id="id_claim_date-error"' in page and 'id="id_claim_type-error"' in page
    assert not Invoice.objects.exists()


def test_prepaid_errors_are_shown_at_their_fields(admin, user, postpaid_user):
    bad_amount = admin.client.post(
        "/invoicing/invoices/new/", {**PREPAID, "account": user.id, "recharge_amount": "-5", "action": "create"}
    )
    bad_dates = admin.client.post(
        "/invoicing/invoices/new/", {**PREPAID, "account": user.id, "due_date": "2026-03-01", "action": "create"}
    )
    postpaid_choice = admin.client.post(
        "/invoicing/invoices/new/", {**PREPAID, "account": postpaid_user.id, "action": "create"}
    )

    assert 'id="id_recharge_amount-error"' in html(bad_amount) and "greater than zero" in html(bad_amount)
    assert 'id="id_due_date-error"' in html(bad_dates)
    assert 'id="id_account-error"' in html(postpaid_choice)  # only prepaid users are offered
    assert not Invoice.objects.exists()


# --- postpaid -------------------------------------------------------------------------------------------------

POSTPAID = {"type": "postpaid", "period_start": "2026-03-01", "period_end": "2026-03-10", "terms": "", "notes": ""}


def test_fetch_records_previews_lines_totals_and_the_records(admin, postpaid_user, vat):
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-03", "2026-03-12")

    response = admin.client.post(
        "/invoicing/invoices/new/?type=postpaid",
        {**POSTPAID, "account": postpaid_user.id, "action": "fetch"},
        headers={"HX-Request": "true"},
    )

    page = html(response)
    assert page.lstrip().startswith('<form method="post" novalidate id="postpaid-form"')  # the htmx fragment
    assert "SMS US T-Mobile US (2 messages)" in page and "$0.02" in page
    assert 'data-testid="preview-total"' in page
    assert f"{postpaid_user.id}-1" in page and f"{postpaid_user.id}-3" not in page  # 12 March is outside
    assert "2 records" in page
    assert not Invoice.objects.exists()


def test_records_list_pages_through_the_range(admin, postpaid_user):
    ingest(admin.tenant, postpaid_user, *["2026-03-02"] * 60)

    first = html(
        admin.client.get(
            f"/invoicing/invoices/new/records/?account={postpaid_user.id}&period_start=2026-03-01&period_end=2026-03-10"
        )
    )
    second = html(
        admin.client.get(
            f"/invoicing/invoices/new/records/?account={postpaid_user.id}"
            "&period_start=2026-03-01&period_end=2026-03-10&page=2"
        )
    )

    assert "Page 1 of 2 (60 records)" in first and "page=2" in first
    assert "Page 2 of 2" in second


def test_fetch_shows_the_overlap_with_an_invoiced_period(admin, postpaid_user):
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-12")
    invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=admin.login.id,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 5),
    )

    page = html(
        admin.client.post(
            "/invoicing/invoices/new/?type=postpaid",
            {
                **POSTPAID,
                "period_start": "2026-03-04",
                "period_end": "2026-03-15",
                "account": postpaid_user.id,
                "action": "fetch",
            },
        )
    )

    assert 'data-testid="period-conflict"' in page and "overlaps invoice INV-2026-00001" in page


def test_create_a_postpaid_invoice_from_the_fetched_range(admin, postpaid_user, vat):
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-03")

    response = admin.client.post(
        "/invoicing/invoices/new/?type=postpaid", {**POSTPAID, "account": postpaid_user.id, "action": "create"}
    )

    invoice = Invoice.objects.get(account=postpaid_user)
    assert response.status_code == 302
    assert (invoice.status, invoice.period_start, invoice.period_end, invoice.subtotal) == (
        "approved",
        D(2026, 3, 1),
        D(2026, 3, 10),
        Decimal("0.02"),
    )


def test_postpaid_create_and_claim(admin, postpaid_user):
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-03")

    admin.client.post(
        "/invoicing/invoices/new/?type=postpaid",
        {
            **POSTPAID,
            "account": postpaid_user.id,
            "action": "claim",
            "claim_date": "2026-03-20",
            "claim_type": "online",
        },
    )

    invoice = Invoice.objects.get(account=postpaid_user)
    assert (invoice.payment_status, invoice.amount_paid) == ("paid", Decimal("0.02"))


def test_postpaid_errors_at_the_fields(admin, postpaid_user):
    ingest(admin.tenant, postpaid_user, "2026-03-02")
    invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=admin.login.id,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 5),
    )

    overlap = admin.client.post(
        "/invoicing/invoices/new/?type=postpaid", {**POSTPAID, "account": postpaid_user.id, "action": "create"}
    )
    future = admin.client.post(
        "/invoicing/invoices/new/?type=postpaid",
        {
            **POSTPAID,
            "period_start": "2026-03-21",
            "period_end": "2026-03-25",
            "account": postpaid_user.id,
            "action": "fetch",
        },
    )
    backwards = admin.client.post(
        "/invoicing/invoices/new/?type=postpaid",
        {
            **POSTPAID,
            "period_start": "2026-03-10",
            "period_end": "2026-03-01",
            "account": postpaid_user.id,
            "action": "fetch",
        },
    )

    assert 'id="id_period_start-error"' in html(overlap) and "overlaps invoice" in html(overlap)
    assert 'id="id_period_end-error"' in html(future) and "cannot end after today" in html(future)
    assert 'id="id_period_end-error"' in html(backwards)
    assert Invoice.objects.count() == 1


def test_only_the_licensed_modes_are_offered(admin, user):
    lic = admin.tenant.invoicing_license
    lic.postpaid = False
    lic.save()

    page = html(admin.client.get("/invoicing/invoices/new/?type=postpaid"))

    assert 'id="type-postpaid"' not in page and 'name="recharge_amount"' in page


def test_a_back_dated_or_future_invoice_date_needs_confirmation(admin, user):
    back = {**PREPAID, "account": user.id, "action": "create", "invoice_date": "2026-03-02", "due_date": "2026-03-30"}

    asked = admin.client.post("/invoicing/invoices/new/", back)

    page = asked.content.decode()
    assert asked.status_code == 200 and 'data-testid="confirm-date"' in page
    assert "The invoice date 02 Mar 2026 is 18 days before today; confirm it below" in page
    assert not Invoice.objects.exists()
    ahead = admin.client.post("/invoicing/invoices/new/", {**back, "invoice_date": "2026-03-21"})
    assert "is 1 day after today" in ahead.content.decode() and not Invoice.objects.exists()
    confirmed = admin.client.post("/invoicing/invoices/new/", {**back, "confirm_date": "on"})
    assert confirmed.status_code == 302
    assert Invoice.objects.get().invoice_date == D(2026, 3, 2)
