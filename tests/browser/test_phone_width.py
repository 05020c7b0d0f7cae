"""On a phone (390 x 844 CSS pixels) the invoice page, the payments list and the portal's invoices fit the screen:
wide tables scroll inside their card, the page itself never scrolls sideways."""

import datetime

import pytest

from invoicing.services.configuration import tax_rate_create
from invoicing.services.emails import invoice_email_send
from invoicing.services.invoices import ClaimInput, invoice_create_postpaid, invoice_create_prepaid
from invoicing.services.payments import payment_record
from msgplatform.accounts.models import StaffRole
from msgplatform.core.clock import tenant_today
from tests.factories import AccountFactory, LicenseFactory, PortalLoginFactory, StaffFactory, TenantFactory

from .test_seed_flows import ingest, log_in, previous_month

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def world(db):
    """Long names, references and notes, the widest tables of these pages: a postpaid invoice with its usage annex
    and a payment (listed on the user's portal), a large prepaid invoice of another user paid by card."""
    tenant = TenantFactory(name="Acme Messaging International Holdings", currency="USD", timezone="America/New_York")
    LicenseFactory(tenant=tenant)
    StaffFactory(tenant=tenant, role=StaffRole.BILLING, username="acme-billing")
    tax_rate_create(tenant=tenant, actor_id=None, name="Value added tax", rate="7.5")
    orbit = AccountFactory(
        tenant=tenant,
        name="Orbit Communications Worldwide Limited",
        billing_method="postpaid",
        overdraft_limit="500",
        billing_address="Unit 42, Long Industrial Estate Road, Springfield Business Park, Springfield 12345",
    )
    today = tenant_today(tenant)
    first, last = previous_month(today)
    ingest(tenant, orbit, first, 60, "0.0500", "orbit")
    postpaid = invoice_create_postpaid(
        tenant=tenant,
        account_id=orbit.id,
        actor_id=None,
        period_start=first,
        period_end=last,
        description="Messaging usage of the previous month, all routes and channels",
    )
    payment_record(
        tenant=tenant,
        invoice_id=postpaid.id,
        actor_id=None,
        amount="1.00",
        payment_date=today,
        payment_type="bank_transfer",
        transaction_id="TRANSFER-2026-000000000042-ORBIT-COMMUNICATIONS",
        bank_reference="SEPA-CT-REFERENCE-0000000000000000000042",
        notes="Partial payment received by bank transfer, rest announced for next week",
    )
    nimbus = AccountFactory(tenant=tenant, name="Nimbus Cloud Messaging Services Incorporated")
    prepaid = invoice_create_prepaid(
        tenant=tenant,
        account_id=nimbus.id,
        actor_id=None,
        recharge_amount="1234567.89",
        due_date=today + datetime.timedelta(days=30),
        claim=ClaimInput(payment_date=today, payment_type="card", transaction_id="CARD-0000000000000000000077"),
    )
    invoice_email_send(tenant=tenant, invoice_id=postpaid.id, actor_id=None)
    PortalLoginFactory(account=orbit, username="orbit")
    return {"postpaid": postpaid, "prepaid": prepaid}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_invoice_payments_and_portal_invoices_fit_a_phone(live_server, page, world):
    base = live_server.url
    page.set_viewport_size(PHONE)
    postpaid = world["postpaid"]

    log_in(page, base, "acme-billing")
    widths = {}
    for name, path in [
        ("invoice detail", f"/invoicing/invoices/{postpaid.id}/"),
        ("prepaid invoice detail", f"/invoicing/invoices/{world['prepaid'].id}/"),
        ("payments", "/invoicing/payments/"),
    ]:
        page.goto(base + path)
        widths[name] = page_width(page)
    page.context.clear_cookies()

    log_in(page, base, "orbit")
    for name, path in [
        ("portal invoices", "/me/invoices/"),
        ("portal invoice", f"/me/invoices/{postpaid.id}/"),
        ("portal payments", "/me/payments/"),
    ]:
        page.goto(base + path)
        widths[name] = page_width(page)

    assert {name: width for name, width in widths.items() if width > PHONE["width"]} == {}


def test_a_wide_table_scrolls_inside_its_card_on_a_phone(live_server, page, world):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "acme-billing")

    page.goto(f"{live_server.url}/invoicing/invoices/{world['postpaid'].id}/")

    table = page.get_by_test_id("payments-table")
    scroller = table.locator("xpath=..")
    assert scroller.evaluate("el => el.classList.contains('table-responsive')")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")  # wider than the screen: it scrolls inside
    assert page_width(page) <= PHONE["width"]
