"""Two-factor in Chromium, as an owner of an admin that requires it walks it: the password, then enrolment (the QR
code drawn in the page and the secret typed into the "app", here the test computing the code), ten recovery codes
shown once, the console; then logging out and in again with the password and the next code."""

import base64
import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from msgplatform.accounts.models import StaffRole
from tests.factories import PASSWORD, LicenseFactory, StaffFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_from_app(secret_shown: str, drift: int = 0) -> str:
    """What an authenticator app holding the secret shows now (drift 1: the next code, also accepted)."""
    return f"{totp(base64.b32decode(secret_shown.replace(' ', '')), drift=drift):06d}"


def password_step(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_owner_enrols_an_authenticator_and_logs_in_again_with_a_code(live_server, page):
    base = live_server.url
    tenant = TenantFactory(name="Acme Messaging", currency="USD", timezone="America/New_York", require_two_factor=True)
    LicenseFactory(tenant=tenant)
    StaffFactory(tenant=tenant, role=StaffRole.OWNER, username="acme-owner")

    # The admin requires two-factor: after the password, enrolment comes before anything else.
    password_step(page, base, "acme-owner")
    page.wait_for_url(re.compile(r"/two-factor/setup/"))
    page.goto(base + "/users/")
    page.wait_for_url(re.compile(r"/two-factor/setup/"))
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator("main svg")).to_be_visible()  # the QR code, drawn in the page
    secret = page.locator("#two-factor-secret").inner_text()
    assert TOTPDevice.objects.count() == 0

    page.get_by_label("Code from the app").fill(code_from_app(secret))
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url(re.compile(r"/two-factor/recovery-codes/"))
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url(re.compile(r"/(users|invoicing)/$"))
    expect(page.get_by_role("link", name="Two-factor")).to_be_visible()
    assert TOTPDevice.objects.filter(user__username="acme-owner", confirmed=True).count() == 1

    # Next time: the password, then the code.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/"))
    password_step(page, base, "acme-owner")
    page.wait_for_url(re.compile(r"/login/code/"))
    page.get_by_label("Code", exact=True).fill(code_from_app(secret, drift=1))
    page.get_by_role("button", name="Verify").click()

    page.wait_for_url(re.compile(r"/(users|invoicing)/$"))
    expect(page.get_by_role("link", name="Two-factor")).to_be_visible()
