"""Two-factor authentication of staff: enrolment (QR code and secret, device stored only after a correct code,
ten recovery codes shown once), the code step after the password, recovery codes used once, the admin's
requirement and the platform owner's rule sending staff to enrolment before anything else, the API's session
answering 403 two_factor_required, and API tokens unaffected."""

import base64
import datetime
import re

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from msgplatform.accounts.models import StaffRole
from msgplatform.accounts.services.tokens import token_create
from msgplatform.accounts.two_factor_views import SETUP_SECRET
from msgplatform.core.models import Event
from tests.factories import PASSWORD, PortalLoginFactory, StaffFactory


@pytest.fixture(autouse=True)
def frozen_clock():
    """Codes change every 30 s: a frozen clock keeps "the code now" and "the next code" what the test says."""
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, 0, 5, tzinfo=datetime.UTC), tick=False):
        yield


def code_for(secret: str, drift: int = 0) -> str:
    """The authenticator app's code now (drift 1: the next one, which the server also accepts)."""
    return f"{totp(bytes.fromhex(secret), drift=drift):06d}"


def password_login(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def enrol(client: Client) -> tuple[str, list[str]]:
    """Walk the enrolment pages as a person would; returns the secret and the recovery codes shown."""
    assert client.get("/two-factor/setup/").status_code == 200
    secret = client.session[SETUP_SECRET]
    response = client.post("/two-factor/setup/", {"code": code_for(secret)})
    assert response.status_code == 302 and response.url.startswith("/two-factor/recovery-codes/"), response
    page = client.get(response.url).content.decode()
    return secret, re.findall(r"<li>([a-z2-7]{8})</li>", page)


@pytest.fixture
def staff(admin):
    return StaffFactory(tenant=admin.tenant, role=StaffRole.BILLING, username="casey")


@pytest.fixture
def enrolled(staff) -> tuple[str, list[str]]:
    return enrol(password_login("casey"))


# --- enrolment ---------------------------------------------------------------------------------------------------


def test_enrolment_page_draws_the_qr_code_inline_and_shows_the_secret_but_stores_no_device(staff):
    client = password_login("casey")

    response = client.get("/two-factor/setup/")

    page = response.content.decode()
    secret = client.session[SETUP_SECRET]
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert response.status_code == 200
    assert "href" not in svg and "<script" not in svg  # drawn here, nothing fetched
    assert "<img" not in page
    assert base64.b32encode(bytes.fromhex(secret)).decode() in page.replace(" ", "")
    assert TOTPDevice.objects.count() == 0 and StaticDevice.objects.count() == 0


def test_the_enrolment_secret_stays_the_same_across_reloads(staff):
    client = password_login("casey")
    client.get("/two-factor/setup/")
    first = client.session[SETUP_SECRET]

    client.get("/two-factor/setup/")

    assert client.session[SETUP_SECRET] == first


def test_a_wrong_first_code_stores_nothing(staff):
    client = password_login("casey")
    client.get("/two-factor/setup/")
    secret = client.session[SETUP_SECRET]
    wrong = "000000" if code_for(secret) != "000000" else "111111"

    response = client.post("/two-factor/setup/", {"code": wrong})

    assert response.status_code == 200 and "That code does not match" in response.content.decode()
    assert TOTPDevice.objects.count() == 0 and StaticDevice.objects.count() == 0
    assert client.session[SETUP_SECRET] == secret


def test_the_first_correct_code_stores_the_device_and_shows_ten_recovery_codes_once(staff):
    client = password_login("casey")

    secret, codes = enrol(client)

    device = TOTPDevice.objects.get(user=staff)
    assert (device.key, device.confirmed) == (secret, True)
    assert len(codes) == len(set(codes)) == 10
    assert sorted(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True)) == sorted(codes)
    assert client.get("/two-factor/recovery-codes/").url == "/two-factor/"  # shown once
    assert client.get("/users/").status_code == 200  # this session passed two-factor by enrolling
    assert Event.objects.filter(kind="two_factor.enrolled", actor_id=staff.id).count() == 1


def test_the_code_used_to_enrol_cannot_log_in_again(staff, enrolled):
    secret, _ = enrolled
    client = password_login("casey")

    response = client.post("/login/code/", {"code": code_for(secret)})

    assert response.status_code == 200 and "not right, or was already used" in response.content.decode()


def test_enrolling_again_needs_the_code_first(staff, enrolled):
    client = password_login("casey")

    response = client.get("/two-factor/setup/")

    assert response.status_code == 302 and response.url.startswith("/login/code/")


def test_new_recovery_codes_replace_the_old_ones(staff, enrolled, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    secret, old = enrolled
    client = password_login("casey")
    client.post("/login/code/", {"code": code_for(secret, drift=1)})

    response = client.post("/two-factor/recovery-codes/new/")

    new = re.findall(r"<li>([a-z2-7]{8})</li>", client.get(response.url).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert password_login("casey").post("/login/code/", {"code": old[0]}).status_code == 200  # refused
    assert password_login("casey").post("/login/code/", {"code": new[0]}).status_code == 302


def test_portal_logins_have_no_two_factor_pages(user):
    client = Client()
    client.force_login(PortalLoginFactory(account=user))

    assert client.get("/two-factor/").status_code == 403
    assert client.get("/two-factor/setup/").status_code == 403


# --- the code step -----------------------------------------------------------------------------------------------


def test_an_enrolled_staff_member_is_asked_for_the_code_after_the_password(staff, enrolled):
    secret, _ = enrolled
    client = Client()

    after_password = client.post("/login/", {"username": "casey", "password": PASSWORD, "next": "/users/"})
    page_before_code = client.get("/invoicing/")
    after_code = client.post("/login/code/", {"code": code_for(secret, drift=1), "next": "/users/"})

    assert after_password.url == "/login/code/?next=%2Fusers%2F"
    assert page_before_code.status_code == 302 and page_before_code.url == "/login/code/?next=%2Finvoicing%2F"
    assert after_code.status_code == 302 and after_code.url == "/users/"
    assert client.get("/users/").status_code == 200


def test_a_wrong_code_is_refused_and_the_pages_stay_closed(staff, enrolled):
    secret, _ = enrolled
    client = password_login("casey")
    right = {code_for(secret, drift) for drift in (-1, 0, 1)}
    wrong = next(code for code in ("123456", "654321", "111111", "999999") if code not in right)

    response = client.post("/login/code/", {"code": wrong})

    assert response.status_code == 200 and "That code is not right" in response.content.decode()
    assert client.get("/users/").url.startswith("/login/code/")
    assert APIClient().get("/api/v1/users/").status_code == 401


def test_after_a_wrong_code_even_the_right_one_must_wait(staff, enrolled):
    secret, _ = enrolled
    client = password_login("casey")
    right = {code_for(secret, drift) for drift in (-1, 0, 1, 2)}
    client.post("/login/code/", {"code": next(c for c in ("123456", "654321", "111111") if c not in right)})

    response = client.post("/login/code/", {"code": code_for(secret, drift=1)})

    assert (
        response.status_code == 200
        and "Too many wrong codes; wait 1 second and try again." in response.content.decode()
    )
    assert client.get("/users/").url.startswith("/login/code/")


def test_a_recovery_code_logs_in_once(staff, enrolled, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    _, codes = enrolled
    first, second = password_login("casey"), password_login("casey")

    used = first.post("/login/code/", {"code": codes[0].upper()})  # typed in capitals: still the code
    again = second.post("/login/code/", {"code": codes[0]})

    assert used.status_code == 302 and first.get("/users/").status_code == 200
    assert again.status_code == 200 and second.get("/users/").url.startswith("/login/code/")
    assert StaticToken.objects.filter(device__user=staff).count() == 9
    assert Event.objects.filter(kind="two_factor.recovery_code_used", actor_id=staff.id).count() == 1


def test_staff_without_an_authenticator_or_a_requirement_log_in_with_the_password_only(staff):
    client = Client()

    response = client.post("/login/", {"username": "casey", "password": PASSWORD})

    assert response.url == "/"
    assert client.get("/users/").status_code == 200


def test_the_django_admin_login_does_not_skip_the_code(db, django_user_model):
    owner = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    secret, _ = enrol(password_login("root"))
    client = Client()

    client.post("/django-admin/login/", {"username": "root", "password": PASSWORD, "next": "/django-admin/"})
    response = client.get("/django-admin/")

    assert client.session["_auth_user_id"] == str(owner.pk)
    assert response.status_code == 302 and response.url.startswith("/login/code/")
    assert secret


# --- who must use two-factor ---------------------------------------------------------------------------------------


def test_the_admins_requirement_sends_staff_without_an_authenticator_to_enrolment_before_anything_else(admin, staff):
    admin.tenant.require_two_factor = True
    admin.tenant.save()
    client = Client()

    after_password = client.post("/login/", {"username": "casey", "password": PASSWORD})

    assert after_password.url == "/two-factor/setup/?next=%2F"
    for url in ["/users/", "/invoicing/", "/invoicing/invoices/", "/two-factor/"]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/two-factor/setup/"), url
    enrol(client)
    assert client.get("/users/").status_code == 200


def test_sessions_open_when_the_requirement_is_turned_on_are_sent_to_enrolment(admin):
    admin.tenant.require_two_factor = True
    admin.tenant.save()

    response = admin.client.get("/users/")

    assert response.status_code == 302 and response.url == "/two-factor/setup/?next=%2Fusers%2F"


def test_the_owner_turns_the_requirement_on_only_after_enrolling(admin):
    owner = password_login(admin.login.username)

    refused = owner.post("/two-factor/requirement/", {"require_two_factor": "on"}, follow=True)
    admin.tenant.refresh_from_db()
    assert admin.tenant.require_two_factor is False
    assert "Set up two-factor for your own login first" in refused.content.decode()

    enrol(owner)
    owner.post("/two-factor/requirement/", {"require_two_factor": "on"})
    admin.tenant.refresh_from_db()
    assert admin.tenant.require_two_factor is True
    assert Event.objects.filter(kind="two_factor.required", tenant_id=admin.tenant.id).count() == 1


def test_billing_and_viewer_staff_cannot_change_the_requirement(admin, staff):
    client = password_login("casey")

    response = client.post("/two-factor/requirement/", {"require_two_factor": "on"})

    assert response.status_code == 403
    admin.tenant.refresh_from_db()
    assert admin.tenant.require_two_factor is False


def test_the_two_factor_page_shows_the_requirement_to_owners_only(admin, staff):
    owner_page = admin.client.get("/two-factor/").content.decode()
    billing_page = password_login("casey").get("/two-factor/").content.decode()

    assert "Require two-factor for all staff" in owner_page
    assert "Require two-factor for all staff" not in billing_page


def test_the_platform_owner_always_needs_two_factor(db, django_user_model, settings):
    settings.TWO_FACTOR_OWNER_REQUIRED = True
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()

    after_password = client.post("/login/", {"username": "root", "password": PASSWORD})
    owner_page = client.get("/platform/admins/")

    assert after_password.url == "/two-factor/setup/?next=%2F"
    assert owner_page.status_code == 302 and owner_page.url.startswith("/two-factor/setup/")
    enrol(client)
    assert client.get("/platform/admins/").status_code == 200


# --- the API -------------------------------------------------------------------------------------------------------


def test_a_session_api_call_before_the_code_is_403_two_factor_required(admin, staff):
    admin.tenant.require_two_factor = True
    admin.tenant.save()
    client = password_login("casey")

    response = client.get("/api/v1/users/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "two_factor_required"


def test_a_session_api_call_of_an_enrolled_login_before_the_code_is_403(staff, enrolled):
    response = password_login("casey").get("/api/v1/users/")

    assert response.status_code == 403 and response.json()["code"] == "two_factor_required"


def test_a_session_api_call_after_the_code_works(staff, enrolled):
    secret, _ = enrolled
    client = password_login("casey")
    client.post("/login/code/", {"code": code_for(secret, drift=1)})

    assert client.get("/api/v1/users/").status_code == 200


def test_an_api_token_is_unaffected_by_the_requirement(admin, staff, enrolled):
    admin.tenant.require_two_factor = True
    admin.tenant.save()
    _, secret = token_create(user=staff, name="push")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert api.get("/api/v1/users/").status_code == 200


def test_support_gives_a_single_use_code_with_addstatictoken(staff, enrolled, capsys):
    call_command("addstatictoken", "casey")
    code = capsys.readouterr().out.strip()

    assert password_login("casey").post("/login/code/", {"code": code}).status_code == 302


def test_an_htmx_fragment_request_before_the_code_moves_the_whole_page(staff, enrolled):
    response = password_login("casey").get("/invoicing/invoices/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and response["HX-Redirect"].startswith("/login/code/")
