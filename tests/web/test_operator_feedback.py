"""What the pages tell an operator: words (events by number, the 403 page, the chart's currency), the reminder
button's outcome, confirmation of bulk reminders and schedule stops, failed PDFs and emails with their Retry, and the
portal ledger in cents."""

import datetime
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pypdf import PdfReader

from invoicing.models import BillingSchedule, EmailLog, InvoiceDocument, Job
from invoicing.services import documents, emails
from invoicing.services.configuration import settings_logo_set
from invoicing.services.documents import invoice_pdf_render
from invoicing.services.emails import invoice_email_send
from invoicing.services.invoices import invoice_approve, invoice_create_postpaid, invoice_create_prepaid
from invoicing.services.recurring import schedule_create
from msgplatform.accounts.models import StaffRole
from msgplatform.core.models import Event
from tests.conftest import staff_client
from tests.factories import AccountFactory, PortalLoginFactory
from tests.security.images import image_bytes
from tests.smtp import SmtpServer, free_port

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


# --- document failures ------------------------------------------------------------------------------------------

LOGO_WARNING = (
    "The PDF of INV-2026-00001 (version 1) was made without the logo: the logo could not be read; upload it again "
    "in Settings, Business profile, then press Retry."
)


def images_of(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def problems_on(page: str) -> list[str]:
    """The text of each document-problem block of the invoice page."""
    blocks = re.findall(r'data-testid="document-problem"><div>(.*?)</div>', page, re.S)
    return [" ".join(re.sub(r"<.*?>", " ", block).split()).replace("&#x27;", "'") for block in blocks]


def upload_logo(tenant):
    return settings_logo_set(
        tenant=tenant,
        actor_id=None,
        uploaded=SimpleUploadedFile("logo.png", image_bytes("PNG", (8, 8)), content_type="image/png"),
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_an_unreadable_logo_gives_a_pdf_without_it_a_warning_and_a_retry_that_works(
    admin, user, media, django_capture_on_commit_callbacks
):
    row = upload_logo(admin.tenant)
    Path(row.logo.path).write_bytes(b"not an image any more")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    url = f"/invoicing/invoices/{invoice.id}/"

    first = InvoiceDocument.objects.get(invoice=invoice)
    warning = Event.objects.get(kind="pdf.without_logo")
    page = html(admin.client.get(url))
    still_broken = admin.client.post(f"{url}pdf/retry/", follow=True)
    upload_logo(admin.tenant)
    fixed = admin.client.post(f"{url}pdf/retry/", follow=True)
    download = admin.client.get(f"{url}pdf/")

    assert (first.version, images_of(bytes(first.content))) == (1, 0)
    assert (warning.level, warning.subject_id, warning.message) == ("warning", invoice.id, LOGO_WARNING)
    assert problems_on(page) == [f"PDF made without the logo: {LOGO_WARNING}"]
    assert f'<form method="post" action="/invoicing/invoices/{invoice.id}/pdf/retry/">' in page
    assert messages_of(still_broken) == [
        "The PDF was not made again: the logo could not be read; upload it again in Settings, Business profile."
    ]
    assert messages_of(fixed) == ["The PDF of INV-2026-00001 was made again (version 2)."]
    assert problems_on(html(fixed)) == []
    assert [(d.version, images_of(bytes(d.content))) for d in InvoiceDocument.objects.filter(invoice=invoice)] == [
        (1, 0),
        (2, 1),
    ]
    assert images_of(download.content) == 1
    events_page = html(admin.client.get("/invoicing/events/?kind=pdf"))
    assert LOGO_WARNING in events_page and 'data-testid="event-retry"' not in events_page  # fixed: nothing to retry
    assert Event.objects.get(kind="pdf.made_again").message == "The PDF of INV-2026-00001 was made again (version 2)"


def test_the_event_viewer_offers_retry_for_a_pdf_made_without_the_logo(admin, user, media):
    row = upload_logo(admin.tenant)
    Path(row.logo.path).unlink()
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    invoice_pdf_render(invoice_id=invoice.id)

    page = html(admin.client.get("/invoicing/events/?kind=pdf"))
    viewer = html(staff_client(admin.tenant, StaffRole.VIEWER).get("/invoicing/events/?kind=pdf"))

    assert LOGO_WARNING in page
    assert f'action="/invoicing/invoices/{invoice.id}/pdf/retry/"' in page and 'data-testid="event-retry"' in page
    assert 'data-testid="event-retry"' not in viewer


def test_a_pdf_that_cannot_be_rendered_is_shown_with_its_reason_and_retry_renders_it(admin, user, monkeypatch):
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    real = documents.render_invoice_pdf

    def broken(context):
        raise OSError("disk full")

    monkeypatch.setattr(documents, "render_invoice_pdf", broken)
    download = admin.client.get(f"/invoicing/invoices/{invoice.id}/pdf/", follow=True)
    admin.client.get(f"/invoicing/invoices/{invoice.id}/pdf/", follow=True)  # the same state fails again: one event
    monkeypatch.setattr(documents, "render_invoice_pdf", real)
    retried = admin.client.post(f"/invoicing/invoices/{invoice.id}/pdf/retry/", follow=True)

    reason = "The PDF of INV-2026-00001 could not be made: OSError: disk full. Retry it from the invoice page."
    assert download.redirect_chain == [(f"/invoicing/invoices/{invoice.id}/", 302)]
    assert messages_of(download) == [reason]
    assert problems_on(html(download)) == [f"PDF not made: {reason}"]
    assert list(Event.objects.filter(kind="pdf.failed").values_list("level", "message")) == [("error", reason)]
    assert messages_of(retried) == ["The PDF of INV-2026-00001 was made again (version 1)."]
    assert problems_on(html(retried)) == [] and InvoiceDocument.objects.filter(invoice=invoice).count() == 1


def test_an_email_that_cannot_be_delivered_shows_its_reason_and_retry_sends_it_once(
    admin, user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    port = free_port()  # nothing listens there yet
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    url = f"/invoicing/invoices/{invoice.id}/"
    monkeypatch.setattr(emails, "MAX_ATTEMPTS", 2)

    with django_capture_on_commit_callbacks(execute=True):
        admin.client.post(f"{url}email/")
    retrying = html(admin.client.get(url))
    entry = EmailLog.objects.get()
    EmailLog.objects.filter(pk=entry.pk).update(next_attempt_at=None)  # its retry time has come
    emails.email_deliver(log_id=entry.id)  # the last attempt
    failed = html(admin.client.get(url))
    events_page = html(admin.client.get("/invoicing/events/?kind=email.failed"))

    server = SmtpServer(port=port).start()
    try:
        with django_capture_on_commit_callbacks(execute=True):  # delivered once the retry's transaction commits
            retried = admin.client.post(f"/invoicing/outbox/{entry.id}/retry/", {"next": url})
        first = admin.client.get(url)
        with django_capture_on_commit_callbacks(execute=True):
            second = admin.client.post(f"/invoicing/outbox/{entry.id}/retry/", {"next": url}, follow=True)
    finally:
        server.stop()

    refused = "the mail server refused the connection (ConnectionRefusedError: [Errno 111] Connection refused)"
    assert problems_on(retrying) == [
        f"Email not delivered: The invoice email to nimbusltd@example.com could not be delivered yet: {refused}. "
        "It is tried again at 2026-03-20 11:00 (attempt 2 of 2)."
    ]
    assert problems_on(failed) == [
        f"Email not delivered: The invoice email to nimbusltd@example.com could not be delivered: {refused}."
    ]
    assert f'<form method="post" action="/invoicing/outbox/{entry.id}/retry/">' in failed
    assert (
        f"Invoice email of INV-2026-00001 to nimbusltd@example.com could not be delivered after 2 attempts: {refused}"
    ) in events_page
    assert f'action="/invoicing/outbox/{entry.id}/retry/"' in events_page
    assert retried.status_code == 302 and retried.url == url
    assert messages_of(first) == ["The invoice email to nimbusltd@example.com is being sent again."]
    assert problems_on(html(first)) == []
    assert messages_of(second) == [
        "The invoice email to nimbusltd@example.com was sent 2026-03-20 11:00; there is nothing to retry."
    ]
    assert [m["To"] for m in server.messages] == ["nimbusltd@example.com"]
    assert EmailLog.objects.get().status == "sent"
    assert Event.objects.filter(kind="email.retried").count() == 1
