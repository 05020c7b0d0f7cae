"""A small book for the page tests, written through the services (today: 2026-03-20 in New York).

admin (USD, America/New_York):
    Nimbus Ltd (prepaid):  `paid_part` INV-2026-00001, 1,075.00 with VAT 7.5 %, 500.00 paid on 2026-03-18
                           `draft` (prepaid draft, 200.00 + VAT)
    Orbit Ltd (postpaid):  records on 2026-03-02 and 2026-03-03 (unbilled), a monthly schedule from 2026-03-01
other_admin (EUR): its own user, an approved invoice with a payment, and a schedule: every id a 404 for admin.
"""

import datetime
from dataclasses import dataclass

import pytest
import time_machine

from invoicing.models import BillingSchedule, Invoice, Payment
from invoicing.services.configuration import tax_rate_create
from invoicing.services.invoices import invoice_create_prepaid
from invoicing.services.payments import payment_record
from invoicing.services.recurring import schedule_create
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, record_row

D = datetime.date
NOW = datetime.datetime(2026, 3, 20, 15, 0, tzinfo=datetime.UTC)
TODAY = D(2026, 3, 20)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class Book:
    paid_part: Invoice
    draft: Invoice
    payment: Payment
    schedule: BillingSchedule


@dataclass
class Foreign:
    invoice: Invoice
    payment: Payment
    schedule: BillingSchedule


@pytest.fixture
def vat(admin):
    return tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5", description="Statutory VAT")


def ingest(tenant, account, *days, start=1, price="0.0100"):
    rows = [
        record_row(account, f"{account.id}-{start + i}", submitted_at=f"{day}T15:00:00Z", unit_price=price)
        for i, day in enumerate(days)
    ]
    return records_ingest(tenant=tenant, rows=rows)


@pytest.fixture
def book(admin, user, postpaid_user, vat) -> Book:
    paid_part = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, recharge_amount="1000.00"
    )
    payment = payment_record(
        tenant=admin.tenant,
        invoice_id=paid_part.id,
        actor_id=admin.login.id,
        amount="500.00",
        payment_date=D(2026, 3, 18),
        payment_type="bank_transfer",
        transaction_id="TX-1",
    )
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=admin.login.id, recharge_amount="200.00", as_draft=True
    )
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-03")
    schedule = schedule_create(
        tenant=admin.tenant, account_id=postpaid_user.id, actor_id=admin.login.id, start_date=D(2026, 3, 1)
    )
    paid_part.refresh_from_db()
    return Book(paid_part=paid_part, draft=draft, payment=payment, schedule=schedule)


@pytest.fixture
def foreign(other_admin) -> Foreign:
    account = AccountFactory(tenant=other_admin.tenant, name="Theirs GmbH")
    postpaid = AccountFactory(tenant=other_admin.tenant, name="Theirs Post", billing_method="postpaid")
    invoice = invoice_create_prepaid(
        tenant=other_admin.tenant, account_id=account.id, actor_id=other_admin.login.id, recharge_amount="99.00"
    )
    payment = payment_record(
        tenant=other_admin.tenant,
        invoice_id=invoice.id,
        actor_id=other_admin.login.id,
        amount="10.00",
        payment_date=D(2026, 3, 19),
        payment_type="cash",
    )
    schedule = schedule_create(
        tenant=other_admin.tenant, account_id=postpaid.id, actor_id=other_admin.login.id, start_date=D(2026, 3, 1)
    )
    return Foreign(invoice=invoice, payment=payment, schedule=schedule)
