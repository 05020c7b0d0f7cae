"""Late usage for a day already on a manual postpaid invoice is billed on the next manual invoice (SPEC §3)."""

import datetime
from decimal import Decimal

import time_machine

from invoicing.models import LineKind
from invoicing.selectors.invoices import invoice_has_late_usage
from invoicing.selectors.usage import preview_records_page
from invoicing.services.invoices import invoice_create_postpaid, invoice_preview_postpaid, invoice_void
from msgplatform.messaging.models import UsageRollup
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import record_row

D = datetime.date


def at(day: str):
    return time_machine.travel(datetime.datetime.fromisoformat(f"{day}T16:00:00+00:00"), tick=False)


def test_a_late_record_of_a_manually_invoiced_day_goes_on_the_next_manual_invoice(admin, postpaid_user):
    tenant, user = admin.tenant, postpaid_user
    with at("2026-04-02"):
        records_ingest(tenant=tenant, rows=[record_row(user, 1, submitted_at="2026-03-05T15:00:00Z", unit_price="1")])
        march = invoice_create_postpaid(
            tenant=tenant, account_id=user.id, actor_id=None, period_start=D(2026, 3, 1), period_end=D(2026, 3, 31)
        )
    assert march.total == Decimal("1.00")

    with at("2026-05-02"):
        records_ingest(
            tenant=tenant,
            rows=[
                record_row(user, 2, submitted_at="2026-03-20T15:00:00Z", unit_price="2"),
                record_row(user, 3, submitted_at="2026-04-10T15:00:00Z", unit_price="3"),
            ],
        )
        preview = invoice_preview_postpaid(
            tenant=tenant, account_id=user.id, period_start=D(2026, 4, 1), period_end=D(2026, 4, 30)
        )
        records = [
            r.message_id
            for r in preview_records_page(
                tenant=tenant, account_id=user.id, period_start=D(2026, 4, 1), period_end=D(2026, 4, 30)
            )
        ]
        april = invoice_create_postpaid(
            tenant=tenant, account_id=user.id, actor_id=None, period_start=D(2026, 4, 1), period_end=D(2026, 4, 30)
        )

    assert preview.totals.total == Decimal("5.00")
    assert records == ["m-2", "m-3"]  # the preview's records list shows the prior-period record too
    assert april.total == Decimal("5.00")
    lines = list(april.lines.order_by("position").values_list("kind", "usage_day", "amount"))
    assert lines == [
        (LineKind.USAGE, None, Decimal("3.00")),
        (LineKind.PRIOR_USAGE, D(2026, 3, 20), Decimal("2.00")),
    ]
    # The March invoice keeps exactly what it billed; nothing is left unbilled.
    assert march.lines.get().amount == Decimal("1.00")
    assert not UsageRollup.objects.filter(account=user, billed_by__isnull=True).exists()


def test_the_late_usage_banner_is_for_the_drafts_own_period_only(admin, postpaid_user):
    tenant, user = admin.tenant, postpaid_user
    with at("2026-05-02"):
        records_ingest(tenant=tenant, rows=[record_row(user, 1, submitted_at="2026-03-05T15:00:00Z", unit_price="1")])
        march = invoice_create_postpaid(
            tenant=tenant, account_id=user.id, actor_id=None, period_start=D(2026, 3, 1), period_end=D(2026, 3, 31)
        )
        records_ingest(tenant=tenant, rows=[record_row(user, 2, submitted_at="2026-04-05T15:00:00Z", unit_price="2")])
        april = invoice_create_postpaid(
            tenant=tenant,
            account_id=user.id,
            actor_id=None,
            period_start=D(2026, 4, 1),
            period_end=D(2026, 4, 30),
            as_draft=True,
        )
        assert not invoice_has_late_usage(april)

        # March's usage released by a void is older than April: it waits for the next invoice, no banner.
        invoice_void(tenant=tenant, invoice_id=march.id, actor_id=None, reason="wrong rate")
        assert not invoice_has_late_usage(april)

        # A late record of an April day: the banner says to regenerate.
        records_ingest(tenant=tenant, rows=[record_row(user, 3, submitted_at="2026-04-20T15:00:00Z", unit_price="3")])
        assert invoice_has_late_usage(april)
