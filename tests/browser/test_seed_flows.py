"""The seed's flows in Chromium, as a new admin walks them: prepaid create & claim, postpaid from fetched records,
a recurring schedule and a billing run, approval, a partial payment, a bulk reminder, the PDF and Excel downloads;
then the user's own portal. Each main page is saved to docs/screenshots/.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from invoicing.models import Invoice, Payment
from invoicing.services.configuration import tax_rate_create
from invoicing.services.invoices import invoice_create_prepaid
from msgplatform.accounts.models import StaffRole
from msgplatform.core.clock import tenant_today
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import PASSWORD, AccountFactory, LicenseFactory, PortalLoginFactory, StaffFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def previous_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return last.replace(day=1), last


def ingest(tenant, account, first_day: datetime.date, count: int, price: str, prefix: str):
    rows = [
        {
            "message_id": f"{prefix}-{n}",
            "user_id": account.id,
            "submitted_at": f"{first_day + datetime.timedelta(days=n % 20)}T15:00:00Z",
            "destination": "+15551230000",
            "country": "US",
            "network": "T-Mobile US",
            "channel": "sms",
            "parts": 1,
            "status": "DELIVRD",
            "unit_price": price,
        }
        for n in range(count)
    ]
    result = records_ingest(tenant=tenant, rows=rows)
    assert result.created == count, result.errors


@pytest.fixture
def world(db):
    tenant = TenantFactory(name="Acme Messaging", currency="USD", timezone="America/New_York")
    LicenseFactory(tenant=tenant)
    owner = StaffFactory(tenant=tenant, role=StaffRole.OWNER, username="acme-owner")
    tax_rate_create(tenant=tenant, actor_id=None, name="VAT", rate="7.5", description="Statutory VAT")
    nimbus = AccountFactory(tenant=tenant, name="Nimbus Ltd")
    orbit = AccountFactory(tenant=tenant, name="Orbit Ltd", billing_method="postpaid", overdraft_limit="500")
    comet = AccountFactory(tenant=tenant, name="Comet Ltd", billing_method="postpaid", overdraft_limit="500")
    first, _ = previous_month(tenant_today(tenant))
    ingest(tenant, orbit, first, 40, "0.0500", "orbit")  # 40 x 0.05 = 2.00 before tax
    ingest(tenant, comet, first, 200, "0.0500", "comet")  # 10.00 before tax
    return {"tenant": tenant, "owner": owner, "nimbus": nimbus, "orbit": orbit, "comet": comet}


def field(name: str) -> re.Pattern:
    """A form label, with or without the required-field asterisk."""
    return re.compile(rf"^{re.escape(name)}( \*)?$")


def log_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(users|me|invoicing)/$"))


def test_admin_walks_the_seed_flows(live_server, page, screenshot, world):
    base = live_server.url
    tenant = world["tenant"]
    first, last = previous_month(tenant_today(tenant))
    log_in(page, base, "acme-owner")

    # Dashboard, before anything is invoiced.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Invoicing Dashboard")).to_be_visible()
    expect(page.get_by_test_id("paid-count")).to_have_text("0")

    # Prepaid: Create & Claim with the payment dialog.
    page.goto(base + "/invoicing/invoices/new/")
    page.get_by_label(field("User")).select_option(label="Nimbus Ltd")
    page.get_by_label(re.compile("Recharge amount")).fill("1000.00")
    page.get_by_role("button", name="Create & Claim…").click()
    dialog = page.get_by_role("dialog", name="Payment received")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Transaction id").fill("WIRE-1001")
    dialog.get_by_role("button", name="Create & Claim").click()
    expect(page.get_by_test_id("balance-due")).to_have_text("$0.00")
    expect(page.get_by_text("PAID", exact=True)).to_be_visible()
    prepaid = Invoice.objects.get(account=world["nimbus"])
    assert (prepaid.total, prepaid.payment_status) == (Decimal("1075.00"), "paid")

    # ... and the dashboard changes.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("paid-count")).to_have_text("1")
    expect(page.get_by_test_id("received-this-month")).to_have_text("$1,075.00")
    screenshot("dashboard")

    # Postpaid: user + range, Fetch records (htmx), verify, Create.
    page.goto(base + "/invoicing/invoices/new/")
    page.get_by_label("Postpaid").check()
    page.wait_for_url(re.compile(r"type=postpaid"))
    page.get_by_label(field("User")).select_option(label="Orbit Ltd")
    picker = page.locator("#period-range")
    picker.fill(f"{first:%Y-%m-%d} to {last:%Y-%m-%d}")
    picker.press("Enter")
    page.get_by_role("button", name="Fetch records").click()
    preview = page.get_by_test_id("postpaid-preview")
    expect(preview).to_be_visible()
    expect(preview.get_by_test_id("preview-total")).to_have_text("$2.15")
    expect(preview).to_contain_text("40 messages")
    screenshot("create-invoice")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_test_id("invoice-total")).to_have_text("$2.15")
    manual = Invoice.objects.get(account=world["orbit"])
    assert (manual.period_start, manual.period_end, manual.status) == (first, last, "approved")

    # Recurring: a monthly schedule for Comet from the first day of last month, then "Run billing now".
    page.get_by_role("link", name="Recurring").click()
    page.get_by_role("link", name="+ Create Recurring Invoice").click()
    page.get_by_label(field("Select user")).select_option(label="Comet Ltd")
    page.get_by_label(field("Invoice interval")).select_option("monthly")
    page.get_by_label(field("Due in (days)")).fill("10")
    page.get_by_label(field("Start date")).fill(f"{first:%Y-%m-%d}")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_test_id("schedule-table")).to_contain_text("Comet Ltd")
    page.get_by_role("button", name="Run billing now").click()
    expect(page.locator("#run-progress")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("drafts-created")).to_have_text("1")
    page.get_by_role("link", name="Recurring Invoices").click()
    expect(page.get_by_test_id("schedule-table")).to_contain_text(f"{last:%d-%b-%Y}")
    screenshot("recurring")

    # Approve the draft from the Drafts tab (bulk approve).
    page.get_by_role("link", name="Invoices", exact=True).click()
    page.get_by_role("link", name="Drafts").click()
    page.wait_for_url(re.compile(r"tab=drafts"))
    page.get_by_label(re.compile("Select draft .* of Comet Ltd")).check()
    page.get_by_role("button", name="Approve selected drafts…").click()
    expect(page.get_by_role("heading", name="Approve drafts")).to_be_visible()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="1 draft(s) approved")).to_be_visible()
    recurring = Invoice.objects.get(account=world["comet"])
    assert (recurring.status, recurring.total, recurring.source) == ("approved", Decimal("10.75"), "recurring")

    # A partial payment on it, from the grid's action menu.
    page.get_by_role("link", name="All", exact=True).click()
    page.get_by_role("button", name=f"Actions for {recurring.number}").click()
    page.get_by_role("link", name="Record payment").click()
    page.get_by_label(re.compile(r"^Amount")).fill("4.00")
    page.get_by_label("Transaction id").fill("CARD-77")
    page.get_by_label(field("Payment type")).select_option("card")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("PARTIALLY PAID", exact=True)).to_be_visible()
    expect(page.get_by_test_id("balance-due")).to_have_text("$6.75")
    assert Payment.objects.get(invoice=recurring).amount == Decimal("4.00")
    screenshot("invoice-detail")

    # The PDF of the invoice.
    with page.expect_download() as pdf_download:
        page.get_by_test_id("download-pdf").click()
    assert open(pdf_download.value.path(), "rb").read(4) == b"%PDF"

    # Manage Invoices: the grid, and the Excel report of the current filter.
    page.get_by_role("link", name="Invoices", exact=True).click()
    grid = page.get_by_test_id("invoice-grid")
    expect(grid).to_contain_text("Comet Ltd")
    expect(grid).to_contain_text("PARTIALLY PAID")
    screenshot("invoices")
    with page.expect_download() as report:
        page.get_by_test_id("download-report").click()
    assert report.value.suggested_filename.endswith(".xlsx")
    assert open(report.value.path(), "rb").read(2) == b"PK"

    # Bulk reminder: Orbit (unpaid) and Comet (partially paid); Nimbus has paid.
    mail.outbox.clear()
    page.get_by_role("link", name="Select Users for Reminder").click()
    expect(page.get_by_test_id("reminder-summary")).to_contain_text("2 users with 2 open invoices")
    page.get_by_role("button", name="Send reminder").click()
    # Nothing goes out before the confirmation, which gives the count.
    expect(page.get_by_test_id("confirm-title")).to_have_text("Send reminders to 2 users?")
    assert mail.outbox == []
    page.get_by_role("button", name="Send 2 reminders").click()
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "done")
    expect(page.locator("#job-progress")).to_contain_text("2 reminder(s) sent")
    assert sorted(m.to[0] for m in mail.outbox) == ["cometltd@example.com", "orbitltd@example.com"]

    # The other main pages.
    page.get_by_role("link", name="Payments").click()
    expect(page.get_by_test_id("payments-list")).to_contain_text("CARD-77")
    screenshot("payments")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label(field("Invoice number format"))).to_have_value("INV-{YYYY}-{seq:05}")
    screenshot("settings")
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_test_id("event-table")).to_contain_text("payment.recorded")
    screenshot("events")
    page.get_by_role("link", name="Outbox").click()
    expect(page.get_by_test_id("outbox-table")).to_contain_text("Payment reminder")
    screenshot("outbox")

    # Keyboard: the first Tab lands on the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_id("main")

    # On a phone the grid scrolls inside its responsive table and the menu collapses.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/invoicing/invoices/")
    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    screenshot("invoices-phone")


def test_user_sees_only_its_own_approved_invoices(live_server, page, screenshot, world):
    tenant, owner = world["tenant"], world["owner"]
    mine = invoice_create_prepaid(tenant=tenant, account_id=world["nimbus"].id, actor_id=owner.id, recharge_amount="50")
    invoice_create_prepaid(
        tenant=tenant, account_id=world["nimbus"].id, actor_id=owner.id, recharge_amount="70", as_draft=True
    )
    other_user = AccountFactory(tenant=tenant, name="Zeta Ltd")
    theirs = invoice_create_prepaid(tenant=tenant, account_id=other_user.id, actor_id=owner.id, recharge_amount="90")
    PortalLoginFactory(account=world["nimbus"], username="nimbus")

    log_in(page, live_server.url, "nimbus")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My invoices").click()

    table = page.get_by_test_id("portal-invoices")
    expect(table).to_contain_text(mine.number)
    expect(table).not_to_contain_text(theirs.number)
    expect(table.locator("tbody tr")).to_have_count(1)  # the draft is not shown
    screenshot("portal")
    with page.expect_download() as pdf:
        page.get_by_role("link", name=f"PDF of {mine.number}").click()
    assert open(pdf.value.path(), "rb").read(4) == b"%PDF"
    response = page.goto(f"{live_server.url}/me/invoices/{theirs.id}/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/invoicing/")
    assert response.status == 403
