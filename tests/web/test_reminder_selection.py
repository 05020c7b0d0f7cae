"""A bulk reminder's selection follows one rule, in services.reminders, whether it comes from the page or the API:
no selection given means every user that owes (the page's "Remind all users that owe", the API without `users`);
an explicit empty selection is refused (it used to remind everyone from the API); a selected user with nothing to
remind of is refused, and another admin's user is no user; nothing is started when the selection is refused."""

import pytest
from django.core import mail

from invoicing.models import Job
from invoicing.services.reminders import bulk_reminder_preview, bulk_reminder_start
from msgplatform.core.errors import Conflict, NotFound, ValidationFailed
from tests.api.conftest import problem, token_client
from tests.factories import AccountFactory


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def api(admin):
    return token_client(admin.tenant)


# --- the service -------------------------------------------------------------------------------------------------


def test_an_empty_selection_is_refused_not_everyone(admin, book):
    with pytest.raises(ValidationFailed) as refused:
        bulk_reminder_start(tenant=admin.tenant, actor_id=None, account_ids=[])

    assert (refused.value.code, refused.value.field) == ("no_selection", "account_ids")
    assert refused.value.message == "Select at least one user."
    assert not Job.objects.exists()


def test_an_empty_selection_previews_nobody_but_refuses(admin, book):
    with pytest.raises(ValidationFailed) as refused:
        bulk_reminder_preview(tenant=admin.tenant, account_ids=[])

    assert refused.value.code == "no_selection"


def test_no_selection_reminds_every_user_that_owes(admin, book, postpaid_user):
    job = bulk_reminder_start(tenant=admin.tenant, actor_id=None)

    assert job.params["account_ids"] == [book.paid_part.account_id]


def test_a_selected_user_with_nothing_to_remind_of_is_refused(admin, book, postpaid_user):
    with pytest.raises(Conflict) as refused:
        bulk_reminder_start(
            tenant=admin.tenant, actor_id=None, account_ids=[book.paid_part.account_id, postpaid_user.id]
        )

    assert (refused.value.code, refused.value.field) == ("not_owing", "account_ids")
    assert refused.value.message == "Orbit Ltd has no unpaid invoice to remind of; no reminder was started."
    assert not Job.objects.exists()


def test_another_admins_user_is_no_user(admin, book, other_admin):
    theirs = AccountFactory(tenant=other_admin.tenant)

    with pytest.raises(NotFound) as refused:
        bulk_reminder_start(tenant=admin.tenant, actor_id=None, account_ids=[book.paid_part.account_id, theirs.id])

    assert (refused.value.code, refused.value.field) == ("not_found", "account_ids")
    assert not Job.objects.exists()


# --- the page ----------------------------------------------------------------------------------------------------


def test_page_refuses_an_empty_selection_at_the_field(admin, book):
    response = admin.client.post("/invoicing/reminders/", {})

    assert response.status_code == 200 and "Select at least one user." in html(response)
    assert not Job.objects.exists()


def test_page_offers_reminding_all_users_that_owe(admin, book, django_capture_on_commit_callbacks):
    page = html(admin.client.get("/invoicing/reminders/"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.client.post("/invoicing/reminders/", {"all": "1", "confirm": "1"})

    job = Job.objects.get()
    assert 'name="all"' in page and "Remind all users that owe" in page
    assert response.status_code == 302 and response.url == f"/invoicing/jobs/{job.id}/"
    assert job.params["account_ids"] == [book.paid_part.account_id]
    assert [m.to for m in mail.outbox] == [["nimbusltd@example.com"]]


def test_page_refuses_another_admins_user(admin, book, other_admin):
    theirs = AccountFactory(tenant=other_admin.tenant)

    response = admin.client.post("/invoicing/reminders/", {"account_ids": [theirs.id]})

    assert response.status_code == 200
    assert not Job.objects.exists()


# --- the API -----------------------------------------------------------------------------------------------------


def test_api_refuses_an_empty_selection(api, book):
    body = problem(api.post("/api/v1/reminders/", {"users": []}, "json"), 400, "no_selection")

    assert body["errors"] == [{"field": "account_ids", "message": "Select at least one user.", "code": "no_selection"}]
    assert not Job.objects.exists()


def test_api_preview_refuses_an_empty_selection(api, book):
    problem(api.get("/api/v1/reminders/", {"users": ","}), 400, "no_selection")


def test_api_without_users_reminds_every_user_that_owes(api, book):
    response = api.post("/api/v1/reminders/", {}, "json")

    assert response.status_code == 202 and response.json()["total"] == 1


def test_api_refuses_a_user_with_nothing_to_remind_of(api, book, postpaid_user):
    problem(api.post("/api/v1/reminders/", {"users": [postpaid_user.id]}, "json"), 409, "not_owing")
    assert not Job.objects.exists()


def test_api_refuses_another_admins_user(api, book, other_admin):
    theirs = AccountFactory(tenant=other_admin.tenant)

    problem(api.post("/api/v1/reminders/", {"users": [theirs.id]}, "json"), 404, "not_found")
    assert not Job.objects.exists()
