"""Every download's Content-Disposition is built by one helper: a number saved before formats were checked, with
quotes and CR/LF in it, still downloads (no 500, no injected header)."""

import datetime

import pytest

from invoicing.models import Invoice
from invoicing.services.emails import invoice_email_send
from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid
from msgplatform.core.http import content_disposition
from msgplatform.messaging.services.ingest import records_ingest
from tests.api.conftest import token_client
from tests.factories import record_row
from tests.smtp import SmtpServer

HOSTILE_NUMBER = 'INV"; x\r\nSet-Cookie: a=b-7'


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("INV-2026-00001.pdf", 'attachment; filename="INV-2026-00001.pdf"'),
        (HOSTILE_NUMBER + ".pdf", 'attachment; filename="INV_x_Set-Cookie_a_b-7.pdf"'),
        ("../../etc/passwd", 'attachment; filename="etc_passwd"'),
        ("Zürich é.csv", 'attachment; filename="Z_rich_.csv"'),
        ("", 'attachment; filename="download"'),
        ('"', 'attachment; filename="download"'),
    ],
)
def test_content_disposition_keeps_only_safe_characters(name, header):
    assert content_disposition(name) == header


def _hostile(invoice: Invoice) -> Invoice:
    Invoice.objects.filter(pk=invoice.pk).update(number=HOSTILE_NUMBER)
    return Invoice.objects.get(pk=invoice.pk)


def test_downloads_of_an_invoice_with_a_hostile_number_work(admin, user, postpaid_user):
    prepaid = _hostile(
        invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00")
    )
    records_ingest(tenant=admin.tenant, rows=[record_row(postpaid_user, 1, submitted_at="2026-03-02T15:00:00Z")])
    postpaid = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=datetime.date(2026, 3, 1),
        period_end=datetime.date(2026, 3, 31),
    )
    Invoice.objects.filter(pk=postpaid.pk).update(number=HOSTILE_NUMBER + "x")
    api = token_client(admin.tenant)

    responses = [
        admin.client.get(f"/invoicing/invoices/{prepaid.pk}/pdf/"),
        api.get(f"/api/v1/invoices/{prepaid.pk}/pdf/"),
        admin.client.get(f"/invoicing/invoices/{postpaid.pk}/evidence.csv"),
    ]

    for response in responses:
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition and disposition.count('"') == 2
        assert disposition.startswith('attachment; filename="INV_x_Set-Cookie_a_b-7')
        assert not response.has_header("Set-Cookie") or "a=b" not in response["Set-Cookie"]


def test_the_email_of_an_invoice_with_a_hostile_number_is_delivered_once(
    admin, user, settings, django_capture_on_commit_callbacks
):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    invoice = _hostile(
        invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10.00")
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            entry = invoice_email_send(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)
    finally:
        server.stop()

    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("sent", 1)
    [message] = server.messages
    assert message["Subject"] == f'Invoice INV"; x Set-Cookie: a=b-7 from {admin.tenant.name}'
    assert "Set-Cookie" not in message.keys()
    assert [a.get_filename() for a in message.iter_attachments()] == ["INV_x_Set-Cookie_a_b-7.pdf"]
