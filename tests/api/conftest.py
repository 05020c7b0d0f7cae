"""API test helpers: token clients per role, frozen time, a tax and usage for postpaid invoices."""

import datetime
from dataclasses import dataclass

import pytest
import time_machine
from rest_framework.test import APIClient

from invoicing.models import InvoiceDocument, Payment
from invoicing.services.billing_runs import billing_run_start
from invoicing.services.configuration import bank_details_update, settings_update, tax_rate_create
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.customer_credit import credit_adjust, refund_record
from invoicing.services.emails import template_update
from invoicing.services.invoices import ClaimInput, invoice_create_postpaid, invoice_create_prepaid
from invoicing.services.receipts import receipt_record
from invoicing.services.recurring import schedule_create
from invoicing.services.reminders import bulk_reminder_start
from msgplatform.accounts.models import StaffRole
from msgplatform.accounts.services.tokens import token_create
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, PortalLoginFactory, StaffFactory, record_row

NOW = datetime.datetime(2026, 3, 20, 15, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def token_client(tenant, role=StaffRole.OWNER) -> APIClient:
    """An API client authenticated by a new staff login's token (no session)."""
    _, secret = token_create(user=StaffFactory(tenant=tenant, role=role), name=f"{role} token")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(admin) -> APIClient:
    """The admin tenant's owner token."""
    return token_client(admin.tenant)


@pytest.fixture
def billing_api(admin) -> APIClient:
    return token_client(admin.tenant, StaffRole.BILLING)


@pytest.fixture
def viewer_api(admin) -> APIClient:
    return token_client(admin.tenant, StaffRole.VIEWER)


@pytest.fixture
def other_api(other_admin) -> APIClient:
    return token_client(other_admin.tenant)


@pytest.fixture
def vat(admin):
    return tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")


def push_usage(tenant, account, count=3, *, day="2026-03-10", unit_price="0.0075", parts=1, start=1):
    rows = [
        record_row(
            account,
            n,
            message_id=f"{account.id}-{day}-{n}",
            submitted_at=f"{day}T12:00:00Z",
            unit_price=unit_price,
            parts=parts,
        )
        for n in range(start, start + count)
    ]
    return records_ingest(tenant=tenant, rows=rows)


def problem(response, status: int, code: str) -> dict:
    """Assert a problem+json answer with this status and code; returns its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    return body


def field_errors(body) -> set:
    return {e["field"] for e in body.get("errors", [])}


# --- a tenant with one of everything (isolation matrix, schemathesis) -------------------------------------------


@dataclass
class Seeded:
    """A licensed tenant's objects; `ids` fills the path parameters of every API route by name."""

    tenant: object
    marker: str
    owner: object
    portal: object
    ids: dict
    body_ids: dict


def seed_tenant(tenant, *, marker: str) -> Seeded:
    """Users (prepaid with a portal login, postpaid with usage), invoices (approved and paid in part, draft,
    postpaid), a payment, a credit note, customer credit with a refund and a payment received for the user, a PDF
    version, a schedule, a job, a billing run, a tax, a token, templates and settings.
    Every text the tenant owns carries `marker`, so a response of another tenant can be searched for it."""
    owner = StaffFactory(tenant=tenant, role=StaffRole.OWNER)
    token, _ = token_create(user=owner, name=f"Token {marker}")
    tax = tax_rate_create(tenant=tenant, actor_id=None, name=f"VAT {marker}", rate="7.5")
    prepaid = AccountFactory(tenant=tenant, name=f"Prepaid {marker}")
    portal = PortalLoginFactory(account=prepaid)
    postpaid = AccountFactory(
        tenant=tenant, name=f"Postpaid {marker}", billing_method="postpaid", overdraft_limit="100.00"
    )
    push_usage(tenant, postpaid, 3, day="2026-03-10")
    push_usage(tenant, postpaid, 2, day="2026-03-15", start=10)
    approved = invoice_create_prepaid(
        tenant=tenant,
        account_id=prepaid.id,
        actor_id=owner.id,
        recharge_amount="1000.00",
        description=f"Recharge {marker}",
        claim=ClaimInput(payment_date=datetime.date(2026, 3, 20), payment_type="bank_transfer", amount="500.00"),
    )
    invoice_create_prepaid(
        tenant=tenant, account_id=prepaid.id, actor_id=owner.id, recharge_amount="200.00", as_draft=True
    )
    invoice_create_postpaid(
        tenant=tenant,
        account_id=postpaid.id,
        actor_id=owner.id,
        period_start=datetime.date(2026, 3, 1),
        period_end=datetime.date(2026, 3, 12),
        description=f"Usage {marker}",
    )
    payment = Payment.objects.get(invoice=approved)
    credit_note = credit_note_issue(
        tenant=tenant, invoice_id=approved.id, actor_id=owner.id, reason=f"Credit {marker}", amount="100.00"
    )
    credit_adjust(tenant=tenant, account_id=prepaid.id, actor_id=owner.id, amount="50.00", reason=f"Goodwill {marker}")
    refund = refund_record(
        tenant=tenant, account_id=prepaid.id, actor_id=owner.id, amount="10.00", method="cash", reference=marker
    )
    receipt = receipt_record(
        tenant=tenant,
        account_id=prepaid.id,
        actor_id=owner.id,
        amount="25.00",
        payment_date=datetime.date(2026, 3, 20),
        payment_type="cash",
        notes=f"Received {marker}",
        allocations=[{"invoice": approved.id, "amount": "10.00"}],
    )
    InvoiceDocument.objects.create(
        tenant=tenant,
        invoice=approved,
        version=1,
        state_key="seeded",
        content=b"%PDF-1.4 seeded",
        sha256="0" * 64,
        size=15,
        template_version="seed",
    )
    schedule = schedule_create(
        tenant=tenant,
        account_id=postpaid.id,
        actor_id=owner.id,
        start_date=datetime.date(2026, 3, 13),
        confirm_past=True,  # the seed's fixed date is months before the real today of unfrozen tests
    )
    job = bulk_reminder_start(tenant=tenant, actor_id=owner.id)
    run = billing_run_start(tenant=tenant, actor_id=owner.id, dispatch=lambda *args: None)
    template_update(tenant=tenant, kind="invoice", subject=f"Invoice {marker}", body="{total}", actor_id=None)
    settings_update(tenant=tenant, actor_id=None, business_name=f"Business {marker}")
    bank_details_update(tenant=tenant, actor_id=None, bank_name=f"Bank {marker}")
    ids = {
        "account_id": prepaid.id,
        "invoice_id": approved.id,
        "payment_id": payment.id,
        "credit_note_id": credit_note.id,
        "refund_id": refund.id,
        "receipt_id": receipt.id,
        "schedule_id": schedule.id,
        "job_id": job.id,
        "run_id": run.id,
        "tax_id": tax.id,
        "token_id": token.id,
        "version": 1,
        "tenant_id": tenant.id,
        "kind": "invoice",
    }
    body_ids = {
        "user": postpaid.id,
        "invoice": approved.id,
        "ids": [approved.id],
        "staff": owner.id,
        "users": [prepaid.id, postpaid.id],
    }
    return Seeded(tenant=tenant, marker=marker, owner=owner, portal=portal, ids=ids, body_ids=body_ids)
