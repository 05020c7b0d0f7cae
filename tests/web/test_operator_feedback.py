"""What the pages tell an operator: words (events by number, the 403 page, the chart's currency), the reminder
button's outcome, confirmation of bulk reminders and schedule stops, failed PDFs and emails with their Retry, and the
portal ledger in cents."""

import json
import re
from decimal import Decimal

from django.test import Client

from invoicing.services.emails import invoice_email_send
from invoicing.services.invoices import invoice_approve, invoice_create_postpaid
from msgplatform.accounts.models import StaffRole
from msgplatform.core.models import Event
from tests.conftest import staff_client
from tests.factories import PortalLoginFactory

from .conftest import D, ingest


def html(response) -> str:
    return response.content.decode()


def table_rows(page: str, testid: str) -> list[list[str]]:
    """The text of each body cell of the table marked data-testid=`testid`, row by row."""
    table = page.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [
        [" ".join(re.sub(r"<.*?>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def portal(account) -> Client:
    client = Client()
    client.force_login(PortalLoginFactory(account=account))
    return client


# --- words ------------------------------------------------------------------------------------------------------


def test_a_viewer_posting_a_payment_is_told_in_plain_words_what_its_role_may_not_do(admin, book, user):
    viewer = staff_client(admin.tenant, StaffRole.VIEWER)

    response = viewer.post(
        "/invoicing/payments/new/",
        {"account": user.id, "invoice": book.paid_part.id, "amount": "75.00", "payment_date": "2026-03-20"},
    )

    reason = re.search(r'<p data-testid="denied-reason">(.*?)</p>', html(response), re.S).group(1)
    assert response.status_code == 403
    assert reason == (
        "Your role, Viewer, may look at everything but not change it: recording or reversing payments, creating, "
        "approving, emailing or voiding invoices, credit notes, reminders, recurring invoices and users&#x27; billing "
        "need the Billing or Owner role. Ask an owner of Acme to change your role."
    )
    assert "Nothing was changed." in html(response)
    assert book.paid_part.payments.count() == 1


def test_the_billing_role_is_told_that_settings_need_the_owner_role(admin):
    billing = staff_client(admin.tenant, StaffRole.BILLING)

    response = billing.get("/invoicing/settings/tokens/")

    assert response.status_code == 403
    assert (
        "Your role, Billing, may not change settings: the business profile, taxes, bank details, email templates, "
        "staff logins and API tokens need the Owner role. Ask an owner of Acme to change your role."
    ) in html(response)


def test_the_dashboard_chart_carries_its_currency_for_the_axis(admin, book):
    page = html(admin.client.get("/invoicing/"))

    data = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page).group(1))
    assert (data["currency"], data["axis_title"]) == ("USD", "Amount (USD)")
    assert "Bar chart of the amounts in USD invoiced and received" in page


def test_events_name_an_approved_draft_by_its_number(admin, book):
    invoice_approve(tenant=admin.tenant, invoice_id=book.draft.id, actor_id=admin.login.id)
    invoice_email_send(tenant=admin.tenant, invoice_id=book.draft.id, actor_id=admin.login.id)

    page = html(admin.client.get("/invoicing/events/?kind=invoice.created"))

    about = re.findall(r'<a href="/invoicing/invoices/(\d+)/">([^<]*)</a>', page)
    assert (str(book.draft.id), "INV-2026-00002") in about
    assert (str(book.paid_part.id), "INV-2026-00001") in about
    assert f"invoice #{book.draft.id}" not in page and f"Draft #{book.draft.id}" not in page

    queued = Event.objects.get(kind="email.queued")
    assert queued.message == "Invoice email of INV-2026-00002 to nimbusltd@example.com queued"


# --- the user's ledger ------------------------------------------------------------------------------------------


def test_the_portal_ledger_shows_cents_and_explains_invoice_rounding_while_staff_and_csv_keep_full_precision(
    admin, postpaid_user
):
    ingest(admin.tenant, postpaid_user, "2026-03-02", "2026-03-03", "2026-03-04", price="0.0123")
    invoice = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=admin.login.id,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 19),
    )
    client = portal(postpaid_user)

    home = html(client.get("/me/"))
    csv_rows = b"".join(client.get("/me/?format=csv").streaming_content).decode().splitlines()
    staff = html(admin.client.get(f"/users/{postpaid_user.id}/"))

    assert invoice.subtotal == Decimal("0.04")
    # kind, amount, before, after (newest first)
    assert [[row[1], *row[3:]] for row in table_rows(home, "portal-ledger")] == [
        ["Invoice rounding", "$0.00", "-$0.04", "-$0.04"],
        ["Usage debit", "-$0.04", "$0.00", "-$0.04"],
    ]
    assert (
        f'invoice {invoice.number} rounding<br><small class="text-muted" data-testid="rounding-note">Messages are '
        "priced in fractions of a cent and your balance is charged at that precision; the invoice bills the usage "
        "rounded to the cent. This row brings your balance to what the invoice says. It is less than a cent.</small>"
    ) in home
    assert "-0.003100" not in home and "-0.036900" not in home
    assert [line.split(",")[1:4] for line in csv_rows[1:]] == [
        ["rounding", f"invoice {invoice.number} rounding", "-0.003100"],
        ["usage", csv_rows[2].split(",")[2], "-0.036900"],
    ]
    assert "-0.003100" in staff and "-0.036900" in staff
