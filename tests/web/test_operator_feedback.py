"""What the pages tell an operator: words (events by number, the 403 page, the chart's currency), the reminder
button's outcome, confirmation of bulk reminders and schedule stops, failed PDFs and emails with their Retry, and the
portal ledger in cents."""

import datetime
import json
import re
from decimal import Decimal

import time_machine
from django.core import mail
from django.test import Client

from invoicing.models import BillingSchedule, EmailLog, Job
from invoicing.services.emails import invoice_email_send
from invoicing.services.invoices import invoice_approve, invoice_create_postpaid
from invoicing.services.recurring import schedule_create
from msgplatform.accounts.models import StaffRole
from msgplatform.core.models import Event
from tests.conftest import staff_client
from tests.factories import AccountFactory, PortalLoginFactory

from .conftest import NOW, D, ingest


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


# --- reminders and schedule stops -------------------------------------------------------------------------------


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_send_reminder_says_it_sent_then_that_it_skipped_and_when(admin, book, django_capture_on_commit_callbacks):
    url = f"/invoicing/invoices/{book.paid_part.id}/remind/"

    with django_capture_on_commit_callbacks(execute=True):
        sent = admin.client.post(url, follow=True)
    with time_machine.travel(NOW + datetime.timedelta(hours=3), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            skipped = admin.client.post(url, follow=True)
        detail = html(admin.client.get(f"/invoicing/invoices/{book.paid_part.id}/"))

    assert sent.redirect_chain == [(f"/invoicing/invoices/{book.paid_part.id}/", 302)]
    assert messages_of(sent) == [
        "Reminder sent to Nimbus Ltd at nimbusltd@example.com: 1 open invoice, $575.00 due. The next reminder can go "
        "from 2026-03-21 11:00 (America/New_York)."
    ]
    assert messages_of(skipped) == [
        "No reminder sent: Nimbus Ltd was reminded at 2026-03-20 11:00 (America/New_York), within the 24-hour "
        "reminder window. The next reminder can go from 2026-03-21 11:00."
    ]
    assert [(m.subject, m.to) for m in mail.outbox] == [("Payment reminder from Acme", ["nimbusltd@example.com"])]
    assert EmailLog.objects.get().status == "sent"
    assert (
        'data-testid="reminder-window">Last payment reminder to Nimbus Ltd: 2026-03-20 11:00. Within the reminder '
        'window, "Send reminder" sends nothing; the next reminder can go from 2026-03-21 11:00.</p>'
    ) in detail.replace("&quot;", '"')
    assert list(
        Event.objects.filter(subject_id=book.paid_part.id, kind__startswith="reminder").values_list("kind", flat=True)
    ) == ["reminder.skipped"]


def test_bulk_reminders_ask_for_confirmation_with_the_count_and_send_nothing_before(
    admin, book, postpaid_user, django_capture_on_commit_callbacks
):
    open_postpaid = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=admin.login.id,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 19),
    )
    selection = {"account_ids": [book.paid_part.account_id, open_postpaid.account_id]}

    with django_capture_on_commit_callbacks(execute=True):
        asked = admin.client.post("/invoicing/reminders/", selection)
    nothing_yet = (Job.objects.count(), EmailLog.objects.count(), len(mail.outbox))
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = admin.client.post("/invoicing/reminders/", {**selection, "confirm": "1"})

    page = html(asked)
    assert asked.status_code == 200
    assert '<h1 class="h3" data-testid="confirm-title">Send reminders to 2 users?</h1>' in page
    assert ">Send 2 reminders</button>" in page and "Nothing has been sent yet." in page
    assert [row[0] for row in table_rows(page, "confirm-recipients")] == ["Nimbus Ltd", "Orbit Ltd"]
    assert nothing_yet == (0, 0, 0)
    job = Job.objects.get()
    assert confirmed.status_code == 302 and confirmed.url == f"/invoicing/jobs/{job.id}/"
    assert sorted(m.to[0] for m in mail.outbox) == ["nimbusltd@example.com", "orbitltd@example.com"]


def test_the_bulk_confirmation_names_users_the_window_will_skip(admin, book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin.client.post(f"/invoicing/invoices/{book.paid_part.id}/remind/")

    page = html(admin.client.post("/invoicing/reminders/", {"all": "1"}))

    assert '<h1 class="h3" data-testid="confirm-title">Send a reminder to 1 user?</h1>' in page
    assert (
        "1 of them was reminded within the last 24 hours and will be skipped: Nimbus Ltd (2026-03-20 11:00)."
    ) in page
    assert '<input type="hidden" name="all" value="1">' in page and 'name="account_ids"' not in page


def test_stopping_schedules_asks_for_confirmation_with_the_count_and_stops_nothing_before(admin, book):
    others = [
        schedule_create(
            tenant=admin.tenant,
            account_id=AccountFactory(tenant=admin.tenant, name=name, billing_method="postpaid").id,
            actor_id=None,
            start_date=D(2026, 3, 1),
        )
        for name in ("Comet Ltd", "Delta Ltd")
    ]
    ids = [book.schedule.id, *(s.id for s in others)]

    asked = admin.client.post("/invoicing/recurring/stop/", {"schedule_ids": ids})
    statuses_before = set(BillingSchedule.objects.values_list("status", flat=True))
    confirmed = admin.client.post("/invoicing/recurring/stop/", {"schedule_ids": ids, "confirm": "1"}, follow=True)

    page = html(asked)
    assert '<h1 class="h3" data-testid="confirm-title">Stop 3 schedules?</h1>' in page
    assert ">Stop 3 billing cycles</button>" in page and "Nothing has been stopped yet." in page
    assert statuses_before == {"active"}
    assert messages_of(confirmed) == ["3 billing cycles stopped: Orbit Ltd, Comet Ltd, Delta Ltd."]
    assert set(BillingSchedule.objects.values_list("status", flat=True)) == {"stopped"}
    assert Event.objects.filter(kind="schedule.stopped").count() == 3


def test_stop_billing_cycle_of_one_schedule_asks_first(admin, book):
    asked = admin.client.post(f"/invoicing/recurring/{book.schedule.id}/stop/")
    book.schedule.refresh_from_db()
    status_before = book.schedule.status
    confirmed = admin.client.post(f"/invoicing/recurring/{book.schedule.id}/stop/", {"confirm": "1"}, follow=True)

    assert '<h1 class="h3" data-testid="confirm-title">Stop 1 schedule?</h1>' in html(asked)
    assert status_before == "active"
    assert messages_of(confirmed) == ["1 billing cycle stopped: Orbit Ltd."]
    book.schedule.refresh_from_db()
    assert book.schedule.status == "stopped"
