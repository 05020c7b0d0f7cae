"""The Event Viewer and the Outbox."""

from invoicing.models import EmailLog
from msgplatform.core.events import event_record


def html(response) -> str:
    return response.content.decode()


def test_events_are_filtered_by_area_kind_level_and_dates(admin, book):
    event_record(area="invoicing", kind="email.failed", tenant_id=admin.tenant.id, level="error", message="SMTP down")

    everything = html(admin.client.get("/invoicing/events/"))
    errors = html(admin.client.get("/invoicing/events/?level=error"))
    payments = html(admin.client.get("/invoicing/events/?kind=payment&area=invoicing"))
    tomorrow = html(admin.client.get("/invoicing/events/?date_from=2026-03-21&date_to=2026-03-22"))

    assert "invoice.approved" in everything and "SMTP down" in everything
    assert "SMTP down" in errors and "invoice.approved" not in errors
    assert "payment.recorded" in payments and "invoice.approved" not in payments
    assert "No events match." in tomorrow
    assert f'href="/invoicing/invoices/{book.paid_part.id}/"' in everything


def test_event_times_are_in_the_admins_time_zone(admin, book):
    page = html(admin.client.get("/invoicing/events/?kind=payment.recorded"))

    assert "2026-03-20 11:00:00" in page  # 15:00 UTC is 11:00 in New York (daylight time)


def test_events_export_csv(admin, book):
    response = admin.client.get("/invoicing/events/?kind=payment")

    csv_response = admin.client.get("/invoicing/events/?kind=payment&format=csv")
    body = b"".join(csv_response.streaming_content).decode()
    assert response.status_code == 200
    assert body.splitlines()[0] == "time,area,kind,level,subject_type,subject_id,actor,message"
    assert "2026-03-20T11:00:00-04:00,invoicing,payment.recorded" in body


def test_outbox_lists_emails_with_status_attempts_and_last_error(admin, book, user):
    failed = EmailLog.objects.create(
        tenant=admin.tenant,
        account=user,
        kind="reminder",
        recipient="ap@nimbus.example",
        subject="Payment reminder from Acme",
        body="Hello,\nplease pay.",
        status="failed",
        attempts=5,
        last_error="SMTPServerDisconnected: gone",
    )
    failed.invoices.set([book.paid_part])

    listing = html(admin.client.get("/invoicing/outbox/?status=failed"))
    detail = html(admin.client.get(f"/invoicing/outbox/{failed.id}/"))
    csv_body = b"".join(admin.client.get("/invoicing/outbox/?format=csv").streaming_content).decode()

    assert "ap@nimbus.example" in listing and "Failed" in listing and "SMTPServerDisconnected" in listing
    assert ">5<" in listing
    assert "Hello,\nplease pay." in detail and "INV-2026-00001" in detail
    assert "reminder,manual,ap@nimbus.example,Payment reminder from Acme,failed,5" in csv_body
