"""Email templates are admin input: placeholders are bare `{name}` of the template's kind, nothing Python would format.

A probe saved the body `Hi {total:{nope}}` (the names were known, so it passed; `str.format` then failed on the nested
spec), which turned every invoice email, every approval with email on approval, and the template settings page into
a 500; `{total:>5000000}` rendered 5 MB in a preview. Now a template with anything but `{name}`, `{{` and `}}` is
refused on save (page and API, at the field, naming the placeholder), and a bad template stored before that check
never fails an approval or a page: its email is logged failed with the reason and an error event.
"""

import datetime

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from invoicing.models import EmailLog, EmailTemplate, Invoice, Job, ReminderSlot
from invoicing.services.configuration import settings_update
from invoicing.services.emails import (
    DEFAULT_TEMPLATES,
    PLACEHOLDERS,
    invoice_email_send,
    template_preview,
    template_render,
    template_update,
)
from invoicing.services.invoices import invoice_approve, invoice_create_prepaid
from invoicing.services.reminders import bulk_reminder_start
from msgplatform.core.errors import ValidationFailed
from msgplatform.core.models import Event
from tests.factories import AccountFactory

NOW = datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC)

HOSTILE = [
    ("Hi {total:{nope}}", "{total:{nope}}"),
    ("{total:>5000000}", "{total:>5000000}"),
    ("{total!r}", "{total!r}"),
    ("{user_name[0]}", "{user_name[0]}"),
    ("{user_name.__class__}", "{user_name.__class__}"),
    ("{}", "{}"),
    ("{0}", "{0}"),
    ("{ total }", "{ total }"),
    ("Dear {user_name", "{user_name"),
    ("Closing } brace", "}"),
    ("{nope}", "{nope}"),
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def prepaid(admin, account, **kw):
    return invoice_create_prepaid(
        tenant=admin.tenant, account_id=account.id, actor_id=None, recharge_amount="100.00", **kw
    )


def store_unchecked(tenant, kind: str, *, subject: str = "Your invoice", body: str) -> EmailTemplate:
    """A template saved before placeholders were checked: written as it was, without the service."""
    return EmailTemplate.objects.create(tenant=tenant, kind=kind, subject=subject, body=body)


# --- saving and previewing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "named"), HOSTILE)
def test_saving_a_body_with_anything_but_bare_known_placeholders_is_refused_naming_it(admin, body, named):
    with pytest.raises(ValidationFailed) as error:
        template_update(tenant=admin.tenant, kind="invoice", subject="Invoice", body=body, actor_id=None)

    assert (error.value.field, error.value.code) == ("body", "validation_failed")
    assert named in error.value.message
    assert not EmailTemplate.objects.exists()
    assert not Event.objects.filter(kind="template.updated").exists()


def test_a_bad_subject_is_refused_at_the_subject(admin):
    with pytest.raises(ValidationFailed) as error:
        template_update(tenant=admin.tenant, kind="invoice", subject="{total:>99}", body="{total}", actor_id=None)
    assert error.value.field == "subject" and "{total:>99}" in error.value.message


def test_a_placeholder_of_the_other_kind_is_unknown(admin):
    with pytest.raises(ValidationFailed) as error:
        template_update(tenant=admin.tenant, kind="reminder", subject="Hi", body="{invoice_number}", actor_id=None)
    assert error.value.field == "body" and "{invoice_number}" in error.value.message


def test_the_error_quotes_a_long_bad_placeholder_only_in_part(admin):
    body = "{total:" + "9" * 10_000 + "}"
    with pytest.raises(ValidationFailed) as error:
        template_update(tenant=admin.tenant, kind="invoice", subject="Invoice", body=body, actor_id=None)
    assert error.value.message.startswith("{total:999") and len(error.value.message) < 400


def test_the_page_and_the_api_give_the_same_field_error(admin):
    body = "Hi {total:{nope}}"
    with pytest.raises(ValidationFailed) as error:
        template_update(tenant=admin.tenant, kind="invoice", subject="Invoice", body=body, actor_id=None)
    api = APIClient()
    api.force_login(admin.login)

    page = admin.client.post("/invoicing/settings/emails/invoice/", {"subject": "Invoice", "body": body})
    put = api.put("/api/v1/settings/email-templates/invoice/", {"subject": "Invoice", "body": body}, "json")

    assert page.status_code == 200 and 'id="id_body-error"' in page.content.decode()
    assert _escaped(error.value.message) in page.content.decode()
    assert put.status_code == 400
    assert put.json()["errors"] == [{"field": "body", "message": error.value.message, "code": "validation_failed"}]
    assert not EmailTemplate.objects.exists()


def test_a_preview_of_a_hostile_spec_is_refused_not_rendered(admin):
    api = APIClient()
    api.force_login(admin.login)

    with pytest.raises(ValidationFailed) as error:
        template_preview(tenant=admin.tenant, kind="invoice", body="{total:>5000000}")
    fragment = admin.client.post(
        "/invoicing/settings/emails/invoice/preview/", {"subject": "Invoice", "body": "{total:>5000000}"}
    )
    preview = api.post("/api/v1/settings/email-templates/invoice/preview/", {"body": "{total:>5000000}"}, "json")

    assert error.value.field == "body"
    assert fragment.status_code == 200 and len(fragment.content) < 2_000
    assert "{total:&gt;5000000}" in fragment.content.decode()
    assert preview.status_code == 400 and len(preview.content) < 2_000
    assert [e["field"] for e in preview.json()["errors"]] == ["body"]


# --- rendering -----------------------------------------------------------------------------------------------


VALUES = {name: f"<{name}>" for kind in PLACEHOLDERS for name in PLACEHOLDERS[kind]}
_token = st.one_of(
    st.text(alphabet=st.characters(exclude_characters="{}", exclude_categories=("Cs",)), max_size=8),
    st.sampled_from(["{{", "}}", "{{{total}}}"] + [f"{{{name}}}" for name in PLACEHOLDERS["invoice"]]),
)


@given(st.lists(_token, max_size=12).map("".join))
def test_every_valid_template_renders_as_str_format_rendered_it(text):
    assert template_render(text, VALUES) == text.format_map(VALUES)


def test_the_default_templates_render_as_before():
    for subject, body in DEFAULT_TEMPLATES.values():
        assert template_render(subject, VALUES) == subject.format_map(VALUES)
        assert template_render(body, VALUES) == body.format_map(VALUES)


def test_values_are_inserted_as_they_are_never_read_as_placeholders():
    assert template_render("Hello {user_name}, {{total}}", {"user_name": "{total} {0} {{x}}", "total": "$5"}) == (
        "Hello {total} {0} {{x}}, {total}"
    )


# --- bad templates stored before the check --------------------------------------------------------------------


@pytest.mark.parametrize(("body", "named"), [HOSTILE[0], HOSTILE[1], HOSTILE[2]])
def test_a_stored_bad_template_never_fails_an_approval(admin, user, body, named, django_capture_on_commit_callbacks):
    settings_update(tenant=admin.tenant, actor_id=None, email_on_approval=True)
    store_unchecked(admin.tenant, "invoice", body=body)
    draft = prepaid(admin, user, as_draft=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        approved = invoice_approve(tenant=admin.tenant, invoice_id=draft.id, actor_id=admin.login.id)

    assert Invoice.objects.get(pk=approved.id).status == "approved"
    entry = EmailLog.objects.get()
    assert (entry.status, entry.trigger, entry.attempts, entry.recipient) == (
        "failed",
        "approval",
        0,
        user.billing_email,
    )
    assert named in entry.last_error and "body" in entry.last_error
    assert len(entry.body) < 100  # what was stored, never an expansion of it
    event = Event.objects.get(kind="email.render_failed")
    assert (event.level, event.subject_type, event.subject_id) == ("error", "email", entry.id)
    assert named in event.message
    assert len(callbacks) == 1  # the PDF render only: nothing is sent for the failed email


def test_a_stored_bad_template_logs_the_manual_email_failed_instead_of_raising(admin, user):
    store_unchecked(admin.tenant, "invoice", subject="Invoice {invoice_number:>9}", body="{total}")

    entry = invoice_email_send(tenant=admin.tenant, invoice_id=prepaid(admin, user).id, actor_id=None)

    entry.refresh_from_db()
    assert entry.status == "failed" and "{invoice_number:>9}" in entry.last_error and "subject" in entry.last_error
    assert Event.objects.filter(kind="email.render_failed", subject_id=entry.id).count() == 1
    assert not Event.objects.filter(kind="email.queued").exists()


def test_a_stored_bad_reminder_template_fails_the_job_before_any_user_is_counted_as_reminded(
    admin, user, django_capture_on_commit_callbacks
):
    store_unchecked(admin.tenant, "reminder", body="{total_due:{nope}}")
    other = AccountFactory(tenant=admin.tenant)
    prepaid(admin, user)
    prepaid(admin, other)

    with django_capture_on_commit_callbacks(execute=True):
        job = bulk_reminder_start(tenant=admin.tenant, actor_id=None)

    job = Job.objects.get(pk=job.id)
    assert (job.status, job.done) == ("failed", 0)
    assert "{total_due:{nope}}" in job.message
    assert not EmailLog.objects.exists() and not ReminderSlot.objects.exists()
    assert Event.objects.filter(kind="job.failed", subject_id=job.id).count() == 1

    # Saved again, valid: the next run reminds both users (no slot was used up by the failed run).
    template_update(tenant=admin.tenant, kind="reminder", subject="Reminder", body="{total_due}", actor_id=None)
    with django_capture_on_commit_callbacks(execute=True):
        again = bulk_reminder_start(tenant=admin.tenant, actor_id=None)
    assert Job.objects.get(pk=again.id).status == "done"
    assert EmailLog.objects.count() == 2


def test_a_stored_bad_template_never_fails_the_settings_page_or_the_api(admin):
    store_unchecked(admin.tenant, "invoice", subject="Invoice {total!r}", body="Hi {total:{nope}} {total:>5000000}")
    api = APIClient()
    api.force_login(admin.login)

    page = admin.client.get("/invoicing/settings/emails/invoice/")
    listed = api.get("/api/v1/settings/email-templates/")
    one = api.get("/api/v1/settings/email-templates/invoice/")
    preview = api.post("/api/v1/settings/email-templates/invoice/preview/", {}, "json")

    assert page.status_code == 200 and len(page.content) < 100_000
    assert "Hi {total:{nope}} {total:&gt;5000000}" in page.content.decode()  # shown as written, never formatted
    assert (listed.status_code, one.status_code) == (200, 200)
    assert one.json()["body"] == "Hi {total:{nope}} {total:>5000000}"
    assert preview.status_code == 200 and len(preview.content) < 2_000
    assert preview.json()["subject"] == "Invoice {total!r}"


def test_a_stored_bad_template_is_fixed_by_saving_a_valid_one(admin, user):
    store_unchecked(admin.tenant, "invoice", body="Hi {total:{nope}}")

    template_update(tenant=admin.tenant, kind="invoice", subject="Invoice", body="Hi {total}", actor_id=None)
    entry = invoice_email_send(tenant=admin.tenant, invoice_id=prepaid(admin, user).id, actor_id=None)

    assert (entry.status, entry.body) == ("queued", "Hi $100.00")


def _escaped(message: str) -> str:
    from django.utils.html import escape

    return escape(message)


def test_the_send_button_says_when_a_stored_template_cannot_be_used(admin, user):
    store_unchecked(admin.tenant, "invoice", body="Hi {total:{nope}}")
    invoice = prepaid(admin, user)

    response = admin.client.post(f"/invoicing/invoices/{invoice.id}/email/", follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Invoice email queued." not in page and "email template cannot be used" in page
    assert EmailLog.objects.get().status == "failed"
