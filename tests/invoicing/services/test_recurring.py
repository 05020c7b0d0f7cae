import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import close_old_connections, connection

from invoicing.models import BillingRun, BillingSchedule, Invoice, InvoiceLine
from invoicing.selectors.invoices import invoice_has_late_usage as draft_has_late_usage
from invoicing.services.billing_runs import billing_run_start
from invoicing.services.configuration import settings_update
from invoicing.services.invoices import (
    invoice_approve,
    invoice_approve_bulk,
    invoice_create_postpaid,
    invoice_delete_draft,
    invoice_void,
)
from invoicing.services.recurring import (
    invoice_regenerate,
    schedule_create,
    schedule_dry_run,
    schedule_start,
    schedule_stop,
    schedule_update,
)
from msgplatform.core.errors import Conflict, ValidationFailed
from msgplatform.core.models import Event
from msgplatform.messaging.models import UsageRollup
from msgplatform.messaging.services.ingest import records_ingest
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, LicenseFactory, TenantFactory, record_row

D = datetime.date


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime.datetime(2026, 6, 15, 16, tzinfo=datetime.UTC), tick=False):
        yield


_seq = iter(range(1, 10**6))


def send(tenant, account, day: str, price="0.01", **kw):
    """One record submitted at 15:00 UTC on `day` (the same local day in New York and Berlin)."""
    n = next(_seq)
    return records_ingest(
        tenant=tenant, rows=[record_row(account, n, submitted_at=f"{day}T15:00:00Z", unit_price=price, **kw)]
    )


JAN_1 = D(2026, 1, 1)


def monthly(admin, account, start=JAN_1, **kw):
    kw.setdefault("confirm_past", True)  # these schedules start months before "today" on purpose
    return schedule_create(
        tenant=admin.tenant,
        account_id=account.id,
        actor_id=None,
        interval="monthly",
        due_in_days=10,
        start_date=start,
        **kw,
    )


def tick(as_of, tenant=None):
    return billing_run_start(tenant=tenant, as_of=as_of)


def drafts(account):
    return list(
        Invoice.objects.filter(account=account)
        .order_by("period_start")
        .values_list("period_start", "period_end", "total", "status")
    )


def test_after_downtime_every_missed_period_gets_its_draft_in_order(admin, postpaid_user):
    for day in ("2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10"):
        send(admin.tenant, postpaid_user, day)
    monthly(admin, postpaid_user)

    run = tick(D(2026, 4, 10))

    assert drafts(postpaid_user) == [
        (D(2026, 1, 1), D(2026, 1, 31), Decimal("0.01"), "draft"),
        (D(2026, 2, 1), D(2026, 2, 28), Decimal("0.01"), "draft"),
        (D(2026, 3, 1), D(2026, 3, 31), Decimal("0.01"), "draft"),
    ]
    # Catch-up drafts are dated the day they are made and due from it; their periods stay as they are.
    dates = list(
        Invoice.objects.filter(account=postpaid_user)
        .order_by("period_start")
        .values_list("invoice_date", "due_date", "source", "number")
    )
    assert dates == [(D(2026, 4, 10), D(2026, 4, 20), "recurring", None)] * 3
    assert (run.schedules_total, run.drafts_created, run.errors, run.status) == (1, 3, 0, "done")
    assert BillingSchedule.objects.get().covered_through == D(2026, 3, 31)


def test_a_second_tick_creates_nothing(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10")
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))

    again = tick(D(2026, 2, 1))

    assert (again.schedules_total, again.drafts_created) == (0, 0)
    assert Invoice.objects.count() == 1


def test_empty_periods_are_skipped_with_an_event_or_issued_as_zero_when_set(admin, postpaid_user):
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))
    assert Invoice.objects.count() == 0
    assert Event.objects.filter(kind="schedule.period_skipped").count() == 1

    settings_update(tenant=admin.tenant, actor_id=None, issue_zero_invoices=True)
    tick(D(2026, 3, 1))
    assert drafts(postpaid_user) == [(D(2026, 2, 1), D(2026, 2, 28), Decimal("0"), "draft")]


def test_usage_while_stopped_is_billed_from_where_coverage_ended(admin, postpaid_user):
    schedule = monthly(admin, postpaid_user)
    send(admin.tenant, postpaid_user, "2026-01-20")
    tick(D(2026, 2, 1))
    schedule_stop(tenant=admin.tenant, schedule_id=schedule.id, actor_id=None)
    send(admin.tenant, postpaid_user, "2026-02-20")
    send(admin.tenant, postpaid_user, "2026-03-20")
    assert tick(D(2026, 4, 2)).drafts_created == 0  # stopped: nothing

    with time_machine.travel(datetime.datetime(2026, 4, 10, 16, tzinfo=datetime.UTC), tick=False):
        schedule_start(tenant=admin.tenant, schedule_id=schedule.id, actor_id=None)
    send(admin.tenant, postpaid_user, "2026-04-20")
    tick(D(2026, 5, 1))

    assert drafts(postpaid_user) == [
        (D(2026, 1, 1), D(2026, 1, 31), Decimal("0.01"), "draft"),
        (D(2026, 2, 1), D(2026, 4, 30), Decimal("0.03"), "draft"),
    ]
    assert list(Event.objects.filter(subject_type="schedule").values_list("kind", flat=True).order_by("id")) == [
        "schedule.created",
        "schedule.stopped",
        "schedule.started",
    ]


def test_manual_invoice_covering_the_next_period_moves_the_cursor(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10")
    send(admin.tenant, postpaid_user, "2026-02-10")
    monthly(admin, postpaid_user)
    manual = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 1, 1),
        period_end=D(2026, 1, 31),
    )

    tick(D(2026, 3, 1))

    assert drafts(postpaid_user) == [
        (D(2026, 1, 1), D(2026, 1, 31), Decimal("0.01"), "approved"),
        (D(2026, 2, 1), D(2026, 2, 28), Decimal("0.01"), "draft"),
    ]
    assert manual.source == "manual"


def test_late_records_go_on_the_next_draft_as_prior_period_lines_with_their_dates(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10", price="0.02")
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))
    send(admin.tenant, postpaid_user, "2026-01-25", price="0.05")  # late, for an already invoiced day range
    send(admin.tenant, postpaid_user, "2026-02-05", price="0.01")

    tick(D(2026, 3, 1))

    second = Invoice.objects.get(period_start=D(2026, 2, 1))
    assert list(second.lines.values_list("kind", "usage_day", "amount")) == [
        ("usage", None, Decimal("0.01")),
        ("prior_usage", D(2026, 1, 25), Decimal("0.05")),
    ]
    assert (
        second.lines.get(kind="prior_usage").description == "Prior-period usage, 25 Jan: SMS US T-Mobile US (1 message)"
    )
    assert second.total == Decimal("0.06")


def test_rollback_after_billing_puts_a_negative_line_on_the_next_draft(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10", price="0.50")
    first_id = "m-" + str(next(_seq) - 1)
    send(admin.tenant, postpaid_user, "2026-02-10", price="1.00")
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))
    records_ingest(
        tenant=admin.tenant,
        rows=[
            record_row(
                postpaid_user,
                int(first_id[2:]),
                submitted_at="2026-01-10T15:00:00Z",
                unit_price="0.50",
                rolled_back=True,
            )
        ],
    )

    tick(D(2026, 3, 1))

    january = Invoice.objects.get(period_start=D(2026, 1, 1))
    february = Invoice.objects.get(period_start=D(2026, 2, 1))
    assert january.total == Decimal("0.50")  # the billed invoice never changes
    assert list(february.lines.values_list("kind", "usage_day", "amount").order_by("position")) == [
        ("usage", None, Decimal("1.00")),
        ("correction", D(2026, 1, 10), Decimal("-0.50")),
    ]
    assert february.total == Decimal("0.50")


def test_delivered_only_billing_skips_undelivered(admin, postpaid_user):
    settings_update(tenant=admin.tenant, actor_id=None, bill_delivered_only=True)
    send(admin.tenant, postpaid_user, "2026-01-10", price="0.10")
    send(admin.tenant, postpaid_user, "2026-01-11", price="0.20", status="UNDELIV")
    monthly(admin, postpaid_user)

    tick(D(2026, 2, 1))

    assert drafts(postpaid_user) == [(D(2026, 1, 1), D(2026, 1, 31), Decimal("0.10"), "draft")]


def test_end_date_truncates_the_last_period_and_completes_the_schedule(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-02-05")
    send(admin.tenant, postpaid_user, "2026-02-20")
    monthly(admin, postpaid_user, end_date=D(2026, 2, 10))

    tick(D(2026, 6, 1))

    assert drafts(postpaid_user) == [(D(2026, 2, 1), D(2026, 2, 10), Decimal("0.01"), "draft")]
    assert BillingSchedule.objects.get().status == "completed"


def test_anomalous_draft_is_flagged_and_bulk_approval_needs_confirmation(admin, postpaid_user):
    for month in (1, 2, 3):
        send(admin.tenant, postpaid_user, f"2026-0{month}-10", price="1.00")
    for _ in range(5):
        send(admin.tenant, postpaid_user, "2026-04-10", price="1.00")
    monthly(admin, postpaid_user)
    tick(D(2026, 5, 1))
    january, february, march, april = Invoice.objects.order_by("period_start")
    assert april.anomaly_reason == (
        f"Total $5.00 is 400 % above the average $1.00 of draft #{january.pk}, draft #{february.pk}, "
        f"draft #{march.pk} (the last 3 cycles of the same length)"
    )
    ids = list(Invoice.objects.values_list("id", flat=True))

    with pytest.raises(Conflict) as error:
        invoice_approve_bulk(tenant=admin.tenant, invoice_ids=ids, actor_id=None)
    assert error.value.code == "flagged_need_confirmation"
    assert Invoice.objects.filter(status="approved").count() == 0

    approved = invoice_approve_bulk(tenant=admin.tenant, invoice_ids=ids, actor_id=None, confirm_flagged=True)
    assert [i.number for i in approved] == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003", "INV-2026-00004"]


def test_a_partial_first_period_is_left_out_of_the_anomaly_average(admin, postpaid_user):
    # Given a manual invoice for 1-9 January, so the schedule's first draft is the fragment 10-31 January
    send(admin.tenant, postpaid_user, "2026-01-05", price="0.01")
    invoice_create_postpaid(
        tenant=admin.tenant, account_id=postpaid_user.id, actor_id=None, period_start=JAN_1, period_end=D(2026, 1, 9)
    )
    send(admin.tenant, postpaid_user, "2026-01-20", price="0.10")
    send(admin.tenant, postpaid_user, "2026-02-10", price="1.00")
    send(admin.tenant, postpaid_user, "2026-03-10", price="1.00")
    send(admin.tenant, postpaid_user, "2026-04-10", price="1.40")
    monthly(admin, postpaid_user)

    # When the billing run generates January's fragment, February, March and April
    tick(D(2026, 5, 1))

    # Then April (40 % above February and March) is not flagged: the fragment would have made it 100 %
    assert drafts(postpaid_user)[1:] == [
        (D(2026, 1, 10), D(2026, 1, 31), Decimal("0.10"), "draft"),
        (D(2026, 2, 1), D(2026, 2, 28), Decimal("1.00"), "draft"),
        (D(2026, 3, 1), D(2026, 3, 31), Decimal("1.00"), "draft"),
        (D(2026, 4, 1), D(2026, 4, 30), Decimal("1.40"), "draft"),
    ]
    assert Invoice.objects.get(period_start=D(2026, 4, 1)).anomaly_reason == ""


def test_a_manual_invoice_of_a_whole_cycle_counts_in_the_anomaly_average_and_the_reason_names_it(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10", price="1.00")
    manual = invoice_create_postpaid(
        tenant=admin.tenant, account_id=postpaid_user.id, actor_id=None, period_start=JAN_1, period_end=D(2026, 1, 31)
    )
    send(admin.tenant, postpaid_user, "2026-02-10", price="1.00")
    send(admin.tenant, postpaid_user, "2026-03-10", price="1.00")
    send(admin.tenant, postpaid_user, "2026-04-10", price="4.50")
    monthly(admin, postpaid_user)

    tick(D(2026, 5, 1))

    february, march, april = Invoice.objects.filter(source="recurring").order_by("period_start")
    assert manual.number == "INV-2026-00001"
    assert april.anomaly_reason == (
        f"Total $4.50 is 350 % above the average $1.00 of INV-2026-00001, draft #{february.pk}, "
        f"draft #{march.pk} (the last 3 cycles of the same length)"
    )


def test_the_anomaly_reason_after_a_single_past_cycle_names_it(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10", price="2.00")
    send(admin.tenant, postpaid_user, "2026-02-10", price="0.50")
    monthly(admin, postpaid_user)

    tick(D(2026, 3, 1))

    january, february = Invoice.objects.order_by("period_start")
    assert february.anomaly_reason == (
        f"Total $0.50 is 75 % below the average $2.00 of draft #{january.pk} (the last cycle of the same length)"
    )


def test_a_month_started_on_a_clamped_month_end_is_a_whole_cycle():
    from invoicing.services.recurring import _cycle_kind

    assert _cycle_kind(D(2026, 2, 28), D(2026, 3, 30), "monthly", None) == ("cycle", "monthly")
    assert _cycle_kind(D(2026, 1, 1), D(2026, 1, 31), "monthly", None) == ("cycle", "monthly")
    assert _cycle_kind(D(2026, 1, 10), D(2026, 1, 31), "monthly", None) == ("days", 22)
    assert _cycle_kind(D(2026, 1, 1), D(2026, 3, 31), "quarterly", None) == ("cycle", "quarterly")
    assert _cycle_kind(D(2026, 1, 1), D(2026, 1, 7), "weekly", None) == ("cycle", "weekly")
    assert _cycle_kind(D(2026, 1, 1), D(2026, 1, 10), "every_n_days", 10) == ("cycle", "every_n_days")
    assert _cycle_kind(D(2026, 1, 1), D(2026, 1, 6), "weekly", None) == ("days", 6)


def test_the_anomaly_history_is_one_query_per_pass_whatever_the_number_of_schedules(admin):
    from django.test.utils import CaptureQueriesContext

    users = [AccountFactory(tenant=admin.tenant, billing_method="postpaid") for _ in range(5)]
    for account in users:
        send(admin.tenant, account, "2026-01-10")
        monthly(admin, account)

    with CaptureQueriesContext(connection) as queries:
        tick(D(2026, 2, 1))

    assert Invoice.objects.count() == 5
    assert sum("ROW_NUMBER" in query["sql"].upper() for query in queries.captured_queries) == 1


def test_a_failing_schedule_is_recorded_and_does_not_stop_the_others(admin, postpaid_user, monkeypatch):
    other = AccountFactory(tenant=admin.tenant, billing_method="postpaid")
    send(admin.tenant, postpaid_user, "2026-01-10")
    send(admin.tenant, other, "2026-01-10")
    broken = monthly(admin, postpaid_user)
    monthly(admin, other)
    import invoicing.services.recurring as recurring

    real = recurring.taxes_applicable

    def failing(*, tenant, account):
        if account.id == postpaid_user.id:
            raise RuntimeError("tax service down")
        return real(tenant=tenant, account=account)

    monkeypatch.setattr(recurring, "taxes_applicable", failing)
    run = tick(D(2026, 2, 1))

    assert (run.drafts_created, run.errors) == (1, 1)
    broken.refresh_from_db()
    assert "tax service down" in broken.last_error
    assert Event.objects.get(kind="schedule.failed").level == "error"
    assert not Invoice.objects.filter(account=postpaid_user).exists()

    monkeypatch.setattr(recurring, "taxes_applicable", real)
    assert tick(D(2026, 2, 1)).drafts_created == 1  # retried on the next tick


def test_open_draft_shows_late_usage_and_regenerates_with_it(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10")
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))
    draft = Invoice.objects.get()
    assert not draft_has_late_usage(draft)
    send(admin.tenant, postpaid_user, "2026-01-30", price="0.04")

    assert draft_has_late_usage(draft)
    regenerated = invoice_regenerate(tenant=admin.tenant, invoice_id=draft.id, actor_id=None)

    assert regenerated.total == Decimal("0.05")
    assert not draft_has_late_usage(regenerated)
    assert UsageRollup.objects.filter(billed_by=draft.id).count() == 2


def test_regenerate_refuses_approved_invoices(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10")
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))
    invoice = invoice_approve(tenant=admin.tenant, invoice_id=Invoice.objects.get().id, actor_id=None)
    with pytest.raises(Conflict):
        invoice_regenerate(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)


def test_dry_run_shows_the_next_draft_without_writing(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10", price="0.30")
    schedule = monthly(admin, postpaid_user)

    dry = schedule_dry_run(tenant=admin.tenant, schedule_id=schedule.id)

    assert (dry.period.start, dry.period.end, dry.preview.totals.total) == (
        D(2026, 1, 1),
        D(2026, 1, 31),
        Decimal("0.30"),
    )
    assert Invoice.objects.count() == 0 and UsageRollup.objects.get().billed_by is None


def test_voided_or_deleted_recurring_invoice_releases_usage_for_the_next_draft(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10", price="0.30")
    monthly(admin, postpaid_user)
    tick(D(2026, 2, 1))
    invoice_delete_draft(tenant=admin.tenant, invoice_id=Invoice.objects.get().id, actor_id=None)
    send(admin.tenant, postpaid_user, "2026-02-10", price="0.10")

    tick(D(2026, 3, 1))

    february = Invoice.objects.get()
    assert (february.period_start, february.total) == (D(2026, 2, 1), Decimal("0.40"))
    invoice_approve(tenant=admin.tenant, invoice_id=february.id, actor_id=None)
    invoice_void(tenant=admin.tenant, invoice_id=february.id, actor_id=None, reason="redo")
    assert UsageRollup.objects.filter(billed_by__isnull=True).count() == 2


def test_an_on_time_draft_is_dated_the_day_after_its_period(admin, postpaid_user):
    send(admin.tenant, postpaid_user, "2026-01-10")
    monthly(admin, postpaid_user)

    tick(D(2026, 2, 1))

    inv = Invoice.objects.get(account=postpaid_user)
    assert (inv.period_start, inv.period_end, inv.invoice_date, inv.due_date) == (
        D(2026, 1, 1),
        D(2026, 1, 31),
        D(2026, 2, 1),
        D(2026, 2, 11),
    )


@time_machine.travel(datetime.datetime(2026, 4, 10, 15, tzinfo=datetime.UTC), tick=False)
def test_a_start_date_two_periods_back_needs_confirmation_and_says_how_many_drafts(admin, postpaid_user):
    with pytest.raises(Conflict) as refused:
        monthly(admin, postpaid_user, start=D(2026, 1, 1), confirm_past=False)
    assert refused.value.code == "start_in_past" and refused.value.field == "start_date"
    assert "3 periods in the past" in str(refused.value) and "make 3 drafts" in str(refused.value)
    assert not BillingSchedule.objects.exists()

    one_back = monthly(admin, postpaid_user, start=D(2026, 3, 1), confirm_past=False)  # one period: no question
    with pytest.raises(Conflict):
        schedule_update(tenant=admin.tenant, schedule_id=one_back.id, actor_id=None, start_date=D(2025, 12, 1))
    assert BillingSchedule.objects.get().start_date == D(2026, 3, 1)
    moved = schedule_update(
        tenant=admin.tenant, schedule_id=one_back.id, actor_id=None, start_date=D(2025, 12, 1), confirm_past=True
    )
    assert moved.start_date == D(2025, 12, 1)


def test_schedule_rules(admin, postpaid_user, user):
    with pytest.raises(ValidationFailed):
        schedule_create(tenant=admin.tenant, account_id=user.id, actor_id=None, start_date=D(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        schedule_create(
            tenant=admin.tenant,
            account_id=postpaid_user.id,
            actor_id=None,
            interval="every_n_days",
            start_date=D(2026, 1, 1),
        )
    schedule = monthly(admin, postpaid_user)
    with pytest.raises(Conflict):
        monthly(admin, postpaid_user)
    send(admin.tenant, postpaid_user, "2026-01-10")
    tick(D(2026, 2, 1))
    with pytest.raises(ValidationFailed):
        schedule_update(tenant=admin.tenant, schedule_id=schedule.id, actor_id=None, start_date=D(2026, 1, 5))
    updated = schedule_update(
        tenant=admin.tenant, schedule_id=schedule.id, actor_id=None, interval="weekly", due_in_days=3
    )
    assert (updated.interval, updated.due_in_days) == ("weekly", 3)
    assert Event.objects.filter(kind="schedule.updated").exists()


def test_the_command_runs_one_tick(admin, postpaid_user, capsys):
    send(admin.tenant, postpaid_user, "2026-01-10")
    monthly(admin, postpaid_user)

    call_command("invoicing_run_billing", "--as-of", "2026-02-01")
    call_command("invoicing_run_billing", "--as-of", "2026-02-01", "--admin", admin.tenant.signup_slug)

    assert "schedules=1 drafts=1 errors=0" in capsys.readouterr().out
    assert Invoice.objects.count() == 1


def test_dst_change_in_a_non_utc_zone_puts_records_on_the_right_local_day(db):
    tenant = TenantFactory(timezone="Europe/Berlin")
    LicenseFactory(tenant=tenant)
    account = AccountFactory(tenant=tenant, billing_method="postpaid")
    schedule_create(
        tenant=tenant,
        account_id=account.id,
        actor_id=None,
        interval="weekly",
        start_date=D(2026, 3, 23),
        due_in_days=0,
        confirm_past=True,
    )
    # Clocks go forward at 01:00 UTC on 29 March 2026: 22:30 UTC on the 29th is 00:30 on the 30th in Berlin.
    records_ingest(
        tenant=tenant,
        rows=[
            record_row(account, 1, submitted_at="2026-03-28T23:30:00Z", unit_price="0.10"),  # 29 Mar 00:30 CET
            record_row(account, 2, submitted_at="2026-03-29T21:59:00Z", unit_price="0.20"),  # 29 Mar 23:59 CEST
            record_row(account, 3, submitted_at="2026-03-29T22:30:00Z", unit_price="0.40"),  # 30 Mar 00:30 CEST
        ],
    )

    tick(D(2026, 4, 6), tenant=tenant)

    assert list(Invoice.objects.order_by("period_start").values_list("period_start", "period_end", "total")) == [
        (D(2026, 3, 23), D(2026, 3, 29), Decimal("0.30")),
        (D(2026, 3, 30), D(2026, 4, 5), Decimal("0.40")),
    ]


def test_run_as_of_after_today_is_refused(admin):
    with pytest.raises(ValidationFailed):
        billing_run_start(tenant=admin.tenant, as_of=D(2026, 7, 1))
    assert BillingRun.objects.count() == 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_four_ticks_at_once_produce_exactly_one_draft_per_period():
    tenant = TenantFactory()
    LicenseFactory(tenant=tenant)
    accounts = [AccountFactory(tenant=tenant, billing_method="postpaid") for _ in range(5)]
    for account in accounts:
        for day in ("2026-01-10", "2026-02-10", "2026-03-10"):
            send(tenant, account, day)
        schedule_create(
            tenant=tenant, account_id=account.id, actor_id=None, start_date=D(2026, 1, 1), confirm_past=True
        )
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            billing_run_start(as_of=D(2026, 4, 1))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()

    assert errors == []
    assert Invoice.objects.count() == 15
    for account in accounts:
        assert list(
            Invoice.objects.filter(account=account).order_by("period_start").values_list("period_start", flat=True)
        ) == [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    assert InvoiceLine.objects.filter(invoice__tenant=tenant).count() == 15
