"""Every staff page answers 200 to the owner, and renders the book's data."""

import pytest

PAGES = [
    "/invoicing/",
    "/invoicing/invoices/",
    "/invoicing/invoices/?tab=drafts",
    "/invoicing/invoices/?tab=postpaid&ordering=-total&page_size=10",
    "/invoicing/invoices/new/",
    "/invoicing/invoices/new/?type=postpaid",
    "/invoicing/reminders/",
    "/invoicing/recurring/",
    "/invoicing/recurring/new/",
    "/invoicing/payments/",
    "/invoicing/payments/new/",
    "/invoicing/settings/",
    "/invoicing/settings/business/",
    "/invoicing/settings/taxes/",
    "/invoicing/settings/taxes/new/",
    "/invoicing/settings/bank/",
    "/invoicing/settings/emails/invoice/",
    "/invoicing/settings/emails/reminder/",
    "/invoicing/settings/reminders/",
    "/invoicing/settings/tokens/",
    "/invoicing/events/",
    "/invoicing/outbox/",
]


@pytest.mark.parametrize("url", PAGES)
def test_owner_opens_every_page(admin, book, url):
    response = admin.client.get(url)

    assert response.status_code == 200, response.content.decode()[:2000]


def test_owner_opens_the_pages_of_one_invoice_schedule_and_payment(admin, book):
    invoice, draft, schedule, payment = book.paid_part, book.draft, book.schedule, book.payment
    urls = [
        f"/invoicing/invoices/{invoice.id}/",
        f"/invoicing/invoices/{draft.id}/",
        f"/invoicing/invoices/{draft.id}/edit/",
        f"/invoicing/invoices/{invoice.id}/void/",
        f"/invoicing/invoices/approve/?invoice_ids={draft.id}",
        f"/invoicing/recurring/{schedule.id}/edit/",
        f"/invoicing/recurring/{schedule.id}/next-draft/",
        f"/invoicing/payments/{payment.id}/reverse/",
        f"/invoicing/payments/new/?invoice={invoice.id}",
        f"/invoicing/payments/new/?account={invoice.account_id}",
    ]
    for url in urls:
        response = admin.client.get(url)
        assert response.status_code == 200, (url, response.content.decode()[:3000])
