"""Recurring invoices: the list, the schedule form, start/stop, the next draft's preview, Run billing now."""

from invoicing.models import BillingRun, BillingSchedule, Invoice
from tests.factories import AccountFactory

from .conftest import D, ingest


def html(response) -> str:
    return response.content.decode()


FORM = {"interval": "monthly", "due_in_days": "7", "start_date": "2026-03-01", "never_expire": "on", "active": "on"}


def test_list_shows_interval_due_in_dates_next_run_coverage_and_status(admin, book):
    page = html(admin.client.get("/invoicing/recurring/"))

    assert "Orbit Ltd" in page and "Monthly" in page and "15 days" in page
    assert "01-Mar-2026" in page and "Never" in page
    assert "01-Apr-2026" in page and "for 01-Mar to 31-Mar-2026" in page  # next run and its period
    assert "not yet" in page and "Active" in page
    assert f"/invoicing/recurring/{book.schedule.id}/stop/" in page


def test_list_exports_csv(admin, book):
    response = admin.client.get("/invoicing/recurring/?format=csv")

    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert body.splitlines()[1].startswith("Orbit Ltd,monthly,15,2026-03-01,never,2026-04-01")


def test_create_a_schedule_for_a_postpaid_user(admin):
    comet = AccountFactory(tenant=admin.tenant, name="Comet Ltd", billing_method="postpaid")
    form = admin.client.get("/invoicing/recurring/new/")

    response = admin.client.post("/invoicing/recurring/new/", {**FORM, "account": comet.id, "interval": "fortnightly"})

    schedule = BillingSchedule.objects.get(account=comet)
    assert "Comet Ltd" in html(form)
    assert response.status_code == 302
    assert (schedule.interval, schedule.due_in_days, schedule.end_date, schedule.status) == (
        "fortnightly",
        7,
        None,
        "active",
    )


def test_schedule_form_errors_at_the_fields(admin, book, postpaid_user):
    comet = AccountFactory(tenant=admin.tenant, name="Comet Ltd", billing_method="postpaid")

    no_end = admin.client.post("/invoicing/recurring/new/", {**FORM, "account": comet.id, "never_expire": ""})
    backwards = admin.client.post(
        "/invoicing/recurring/new/", {**FORM, "account": comet.id, "never_expire": "", "end_date": "2026-02-01"}
    )
    no_days = admin.client.post("/invoicing/recurring/new/", {**FORM, "account": comet.id, "interval": "every_n_days"})
    taken = admin.client.post("/invoicing/recurring/new/", {**FORM, "account": postpaid_user.id})

    assert 'id="id_end_date-error"' in html(no_end) and "Never expire" in html(no_end)
    assert 'id="id_end_date-error"' in html(backwards) and "before the start date" in html(backwards)
    assert 'id="id_every_n_days-error"' in html(no_days)
    assert 'id="id_account-error"' in html(taken)  # one schedule per user: not offered, refused
    assert BillingSchedule.objects.count() == 1


def test_edit_a_schedule(admin, book):
    response = admin.client.post(
        f"/invoicing/recurring/{book.schedule.id}/edit/",
        {**FORM, "interval": "every_n_days", "every_n_days": "10", "never_expire": "", "end_date": "2026-12-31"},
    )

    book.schedule.refresh_from_db()
    assert response.status_code == 302
    assert (book.schedule.interval, book.schedule.every_n_days, book.schedule.end_date) == (
        "every_n_days",
        10,
        D(2026, 12, 31),
    )


def test_stop_and_start_a_billing_cycle(admin, book):
    admin.client.post(f"/invoicing/recurring/{book.schedule.id}/stop/", {"confirm": "1"})
    stopped = BillingSchedule.objects.get(pk=book.schedule.id).status
    admin.client.post(f"/invoicing/recurring/{book.schedule.id}/start/")
    again = admin.client.post(f"/invoicing/recurring/{book.schedule.id}/start/", follow=True)

    assert stopped == "stopped"
    assert BillingSchedule.objects.get(pk=book.schedule.id).status == "active"
    assert "The schedule is active." in html(again)


def test_dry_run_previews_the_next_draft_without_writing(admin, book):
    page = html(
        admin.client.get(f"/invoicing/recurring/{book.schedule.id}/next-draft/", headers={"HX-Request": "true"})
    )

    assert "<html" not in page
    assert "Period 01-Mar-2026 to 31-Mar-2026" in page and "(2 messages)" in page and "$0.02" in page
    assert not Invoice.objects.filter(account=book.schedule.account).exists()


def test_run_billing_now_generates_due_drafts_and_shows_progress(admin, book, django_capture_on_commit_callbacks):
    book.schedule.start_date = D(2026, 2, 1)
    book.schedule.covered_through = D(2026, 1, 31)
    book.schedule.save()
    ingest(admin.tenant, book.schedule.account, "2026-02-10", start=50)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.client.post("/invoicing/recurring/run/")
    run = BillingRun.objects.get(tenant=admin.tenant)
    page = html(admin.client.get(f"/invoicing/recurring/runs/{run.id}/"))

    assert response.status_code == 302 and response.url == f"/invoicing/recurring/runs/{run.id}/"
    assert (run.status, run.schedules_total, run.drafts_created) == ("done", 1, 1)
    assert 'data-status="done"' in page and "Review the drafts" in page
    draft = Invoice.objects.get(account=book.schedule.account)
    assert (draft.status, draft.period_start, draft.period_end) == ("draft", D(2026, 2, 1), D(2026, 2, 28))


def test_a_running_billing_run_polls(admin):
    run = BillingRun.objects.create(tenant=admin.tenant, status="running", schedules_total=4, batches_total=1)

    page = html(admin.client.get(f"/invoicing/recurring/runs/{run.id}/", headers={"HX-Request": "true"}))

    assert 'hx-trigger="every 1s"' in page and "0 of 4 schedules" in page


def test_a_stopped_schedule_shows_no_next_run(admin, book):
    active = html(admin.client.get("/invoicing/recurring/"))
    admin.client.post(f"/invoicing/recurring/{book.schedule.id}/stop/", {"confirm": "1"})
    stopped = html(admin.client.get("/invoicing/recurring/"))

    assert "for 01-Mar to 31-Mar-2026" in active
    assert "for 01-Mar to 31-Mar-2026" not in stopped


def test_a_start_date_periods_in_the_past_asks_to_confirm_the_catch_up_drafts(admin):
    comet = AccountFactory(tenant=admin.tenant, name="Comet Ltd", billing_method="postpaid")
    old = {**FORM, "account": comet.id, "start_date": "2026-01-01"}

    asked = admin.client.post("/invoicing/recurring/new/", old)

    page = html(asked)
    assert asked.status_code == 200 and 'data-testid="confirm-past"' in page
    assert "is 2 periods in the past: the next billing run will make 2 drafts at once" in page
    assert not BillingSchedule.objects.filter(account=comet).exists()
    confirmed = admin.client.post("/invoicing/recurring/new/", {**old, "confirm_past": "on"})
    assert confirmed.status_code == 302
    assert BillingSchedule.objects.get(account=comet).start_date == D(2026, 1, 1)
