"""The invoicing dashboard: tiles, amounts, the chart's data."""

import json
import re

from invoicing.services.invoices import invoice_create_prepaid
from msgplatform.accounts.models import StaffRole
from tests.conftest import staff_client

from .conftest import D


def test_dashboard_shows_the_tiles_and_amounts(admin, book, user):
    invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=admin.login.id,
        recharge_amount="100",
        invoice_date=D(2026, 2, 1),
        due_date=D(2026, 3, 1),
    )

    page = staff_client(admin.tenant, StaffRole.VIEWER).get("/invoicing/").content.decode()

    def tile(test_id):
        return re.search(rf'data-testid="{test_id}">([^<]*)<', page).group(1)

    assert tile("total-invoices") == "3" and tile("approved-count") == "2"
    assert tile("paid-count") == "0" and tile("unsettled-count") == "2"
    assert tile("outstanding") == "$682.50" and tile("overdue") == "$107.50"
    assert tile("received-this-month") == "$500.00"
    assert "valid until" in page and "Go to page" in page and "postpaid only" in page


def test_dashboard_chart_data_covers_twelve_months(admin, book):
    page = admin.client.get("/invoicing/").content.decode()

    data = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page).group(1))
    assert len(data["labels"]) == 12 and data["labels"][-1] == "Mar 2026"
    assert data["invoiced"][-1] == "1075.00" and data["received"][-1] == "500.00"
    assert data["received_text"][-1] == "$500.00"
    assert "chart.umd.min.js" in page and 'id="invoiced-received-chart"' in page


def test_dashboard_counts_credit_notes_and_invoices_they_settle(admin, user):
    from invoicing.services.credit_notes import credit_note_issue
    from invoicing.services.stats import stats_rebuild, stats_snapshot

    first = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="40.00")
    second = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="100.00")
    credit_note_issue(tenant=admin.tenant, invoice_id=first.id, actor_id=None, reason="cancelled", amount="40.00")
    credit_note_issue(tenant=admin.tenant, invoice_id=second.id, actor_id=None, reason="discount", amount="12.50")

    page = staff_client(admin.tenant, StaffRole.VIEWER).get("/invoicing/").content.decode()

    def tile(test_id):
        return re.search(rf'data-testid="{test_id}">([^<]*)<', page).group(1)

    assert tile("credit-notes") == "2" and tile("credited-amount") == "$52.50"
    assert tile("credited-invoices") == "1"
    assert tile("unsettled-count") == "1" and tile("outstanding") == "$87.50"
    body = admin.client.get("/api/v1/dashboard/").json()
    assert (body["credit_notes"], body["credited_amount"], body["credited"]) == (2, "52.50", 1)
    assert body["series"][-1]["credited"] == "52.50"
    counters = stats_snapshot(tenant=admin.tenant)
    stats_rebuild(tenant=admin.tenant)
    assert stats_snapshot(tenant=admin.tenant) == counters
