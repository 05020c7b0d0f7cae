"""The demo business as its four kinds of login meet it, in Chromium: the owner, the billing role and the viewer see
the same dashboard, and its figures equal the invoice grid's counts, the Excel report and the API; the portal user
sees its own invoices, payments and credit. Pages saved to docs/screenshots/ (demo-*.png)."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook
from playwright.sync_api import expect

from invoicing.models import Invoice
from msgplatform.accounts.models import Tenant, User
from msgplatform.core.management.commands.demo_data import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(db):
    call_command("demo_data", users=6, records=60, stdout=io.StringIO())
    return Tenant.objects.get(name__startswith="Acme")


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(me|invoicing)/$"))


def tiles(page) -> dict[str, str]:
    names = ("total-invoices", "approved-count", "paid-count", "unsettled-count", "outstanding", "overdue")
    return {name: page.get_by_test_id(name).inner_text().strip() for name in (*names, "credit-notes")}


def grid_count(page, base: str, query: str) -> int:
    page.goto(f"{base}/invoicing/invoices/?{query}")
    text = page.get_by_role("status").filter(has_text=re.compile(r"invoices?$")).first.inner_text()
    return int(re.match(r"([\d,]+)", text).group(1).replace(",", ""))


def excel_rows(page, base: str, query: str) -> list[tuple]:
    response = page.request.get(f"{base}/invoicing/invoices/report/?{query}")
    assert response.status == 200, response.status
    sheet = load_workbook(io.BytesIO(response.body()), read_only=True)["Invoices"]
    return [
        row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] and not str(row[0]).startswith("Total")
    ]


def money_text(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def test_the_demo_reads_the_same_for_every_staff_role_and_on_every_surface(live_server, page, screenshot, demo):
    base = live_server.url
    seen = {}
    for role in ("acme-owner", "acme-billing", "acme-viewer"):
        page.context.clear_cookies()
        log_in(page, base, role)
        expect(page.get_by_role("heading", name="Invoicing Dashboard")).to_be_visible()
        seen[role] = tiles(page)
        if role == "acme-owner":
            screenshot("demo-dashboard")
    assert seen["acme-owner"] == seen["acme-billing"] == seen["acme-viewer"]
    figures = seen["acme-viewer"]

    api = page.request.get(f"{base}/api/v1/dashboard/").json()
    assert figures["paid-count"] == str(api["paid"])
    assert figures["unsettled-count"] == str(api["unsettled"])
    assert figures["approved-count"] == str(api["approved"])
    assert figures["credit-notes"] == str(api["credit_notes"])
    assert figures["outstanding"] == money_text(Decimal(api["outstanding_amount"]))
    assert figures["overdue"] == money_text(Decimal(api["overdue_amount"]))

    # The grid's counts, filter by filter, are the dashboard's.
    assert grid_count(page, base, "payment_status=paid") == api["paid"]
    unpaid = grid_count(page, base, "payment_status=unpaid")
    partial = grid_count(page, base, "payment_status=partially_paid")
    assert unpaid + partial == api["unsettled"]
    assert grid_count(page, base, "tab=drafts") == api["drafts"]
    screenshot("demo-invoices")

    # The Excel report of the owing invoices adds up to the outstanding amount; its overdue ones to the overdue.
    owing = excel_rows(page, base, "payment_status=unpaid") + excel_rows(page, base, "payment_status=partially_paid")
    header = [
        c
        for c in next(
            load_workbook(io.BytesIO(page.request.get(f"{base}/invoicing/invoices/report/").body()), read_only=True)[
                "Invoices"
            ].iter_rows(max_row=1, values_only=True)
        )
    ]
    balance = header.index("Balance Due")
    assert sum(Decimal(str(row[balance])) for row in owing).quantize(Decimal("0.01")) == Decimal(
        api["outstanding_amount"]
    )
    approved = Invoice.objects.filter(tenant=demo, status="approved").count()
    assert api["approved"] == approved

    # The viewer reads but does not act; the billing role acts.
    invoice = Invoice.objects.filter(tenant=demo, status="approved", balance_due__gt=0).order_by("id").first()
    page.goto(f"{base}/invoicing/invoices/{invoice.id}/")
    expect(page.get_by_test_id("balance-due")).to_have_text(money_text(invoice.balance_due))
    expect(page.get_by_role("link", name="Issue credit note")).to_have_count(0)
    page.context.clear_cookies()
    log_in(page, base, "acme-billing")
    page.goto(f"{base}/invoicing/invoices/{invoice.id}/")
    expect(page.get_by_role("link", name="Issue credit note").first).to_be_visible()
    screenshot("demo-invoice-detail")

    # The portal user sees its own invoices and its credit, nobody else's.
    portal_login = (
        User.objects.filter(username__startswith="acme-user", account__isnull=False).order_by("username").first()
    )
    page.context.clear_cookies()
    log_in(page, base, portal_login.username)
    page.goto(base + "/me/invoices/")
    mine = set(Invoice.objects.filter(account=portal_login.account, status="approved").values_list("number", flat=True))
    others = Invoice.objects.filter(tenant=demo, status="approved").exclude(account=portal_login.account).first()
    body = page.locator("main").inner_text()
    assert mine and all(number in body for number in mine)
    assert others.number not in body
    screenshot("demo-portal-invoices")
    page.goto(base + "/me/credit/")
    expect(page.get_by_test_id("portal-credit-balance")).to_be_visible()
    screenshot("demo-portal-credit")
    assert page.request.get(f"{base}/me/invoices/{others.id}/").status == 404
