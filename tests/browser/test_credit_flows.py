"""Corrections and credits in Chromium, as a billing operator meets them: a paid invoice credited in part from its
page (the excess becomes customer credit), the credit note's page and list, the user's credit, and one bank transfer
recorded for a user across two open invoices with the rest kept as credit. Pages saved to docs/screenshots/."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from invoicing.models import CreditNote, CustomerCredit, Invoice, Receipt
from invoicing.services.configuration import tax_rate_create
from invoicing.services.invoices import ClaimInput, invoice_create_prepaid
from msgplatform.accounts.models import StaffRole
from msgplatform.core.clock import tenant_today
from tests.factories import AccountFactory, LicenseFactory, StaffFactory, TenantFactory

from .test_seed_flows import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(db):
    tenant = TenantFactory(name="Acme Messaging", currency="USD", timezone="America/New_York")
    LicenseFactory(tenant=tenant)
    StaffFactory(tenant=tenant, role=StaffRole.BILLING, username="acme-billing")
    tax_rate_create(tenant=tenant, actor_id=None, name="VAT", rate="7.5")
    nimbus = AccountFactory(tenant=tenant, name="Nimbus Ltd")
    today = tenant_today(tenant)
    paid = invoice_create_prepaid(
        tenant=tenant,
        account_id=nimbus.id,
        actor_id=None,
        recharge_amount="1000.00",
        claim=ClaimInput(payment_date=today, payment_type="bank_transfer"),
    )
    older = invoice_create_prepaid(
        tenant=tenant,
        account_id=nimbus.id,
        actor_id=None,
        recharge_amount="100.00",
        invoice_date=today - datetime.timedelta(days=20),
        due_date=today - datetime.timedelta(days=5),
    )
    newer = invoice_create_prepaid(tenant=tenant, account_id=nimbus.id, actor_id=None, recharge_amount="50.00")
    return {"tenant": tenant, "nimbus": nimbus, "paid": paid, "older": older, "newer": newer}


def test_operator_credits_a_paid_invoice_and_records_one_payment_for_two_invoices(live_server, page, screenshot, world):
    base = live_server.url
    paid, nimbus = world["paid"], world["nimbus"]
    log_in(page, base, "acme-billing")

    page.goto(f"{base}/invoicing/invoices/{paid.id}/")
    page.get_by_role("link", name="Issue credit note").first.click()
    expect(page.get_by_role("heading", name=f"Issue a credit note for {paid.number}")).to_be_visible()
    page.get_by_label("Credit on line 1").fill("200.00")
    page.get_by_label("Reason").fill("Promotional discount agreed after invoicing")
    screenshot("credit-note-form")
    page.get_by_role("button", name="Issue credit note").click()

    note = CreditNote.objects.get(invoice=paid)
    assert (note.number, note.total, note.to_customer_credit) == (
        f"CN-{note.issue_date.year}-00001",
        Decimal("215.00"),
        Decimal("215.00"),
    )
    expect(page.get_by_role("heading", name=re.compile(note.number))).to_be_visible()
    expect(page.locator("body")).to_contain_text("$215.00")
    screenshot("credit-note")

    page.goto(f"{base}/invoicing/invoices/{paid.id}/")
    expect(page.get_by_test_id("effective-total")).to_have_text("$860.00")
    expect(page.get_by_test_id("balance-due")).to_have_text("$0.00")
    expect(page.get_by_test_id("customer-credit-link")).to_contain_text("$215.00")

    page.goto(f"{base}/invoicing/credit-notes/")
    expect(page.get_by_role("link", name=note.number)).to_be_visible()

    # One transfer of 200.00 for the user: 107.50 + 53.75 to its open invoices, the rest kept as credit.
    page.goto(f"{base}/invoicing/payments/new-for-user/?account={nimbus.id}")
    page.get_by_label(re.compile("Amount received")).fill("200.00")
    page.get_by_role("button", name="Allocate oldest first").click()
    expect(page.get_by_label(f"Allocate to {world['older'].number}")).to_have_value("107.50")
    expect(page.get_by_label(f"Allocate to {world['newer'].number}")).to_have_value("53.75")
    expect(page.locator("[data-remainder]")).to_have_text("$38.75")
    page.get_by_label("Transaction id").fill("WIRE-2001")
    screenshot("payment-for-user")
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url(re.compile(rf"/invoicing/users/{nimbus.id}/credit/$"))

    receipt = Receipt.objects.get()
    assert (receipt.allocated, receipt.unallocated) == (Decimal("161.25"), Decimal("38.75"))
    assert list(
        Invoice.objects.filter(pk__in=[world["older"].id, world["newer"].id])
        .values_list("payment_status", flat=True)
        .distinct()
    ) == ["paid"]
    assert CustomerCredit.objects.get(account=nimbus).balance == Decimal("253.75")
    expect(page.locator("body")).to_contain_text("$253.75")
    screenshot("customer-credit")
