from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from msgplatform.accounts.models import Account, StaffRole, User
from msgplatform.core.models import Event
from tests.conftest import staff_client
from tests.factories import PASSWORD, AccountFactory, PortalLoginFactory, StaffFactory


def test_user_list_shows_only_own_tenants_users(admin, other_admin):
    AccountFactory(tenant=admin.tenant, name="Mine Ltd")
    AccountFactory(tenant=other_admin.tenant, name="Theirs GmbH")

    page = admin.client.get("/users/")

    assert page.status_code == 200
    assert "Mine Ltd" in page.content.decode() and "Theirs GmbH" not in page.content.decode()


def test_another_tenants_user_is_404_on_view_and_edit(admin, other_admin):
    foreign = AccountFactory(tenant=other_admin.tenant)

    assert admin.client.get(f"/users/{foreign.id}/").status_code == 404
    assert admin.client.post(f"/users/{foreign.id}/edit/", {"name": "hijack"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name != "hijack"


def test_billing_staff_creates_postpaid_user_with_profile(admin):
    client = staff_client(admin.tenant, StaffRole.BILLING)

    response = client.post(
        "/users/new/",
        {
            "name": "Pixel Co",
            "email": "ops@pixel.example",
            "account_type": "user",
            "billing_method": "postpaid",
            "billing_name": "Pixel Co Ltd",
            "billing_address": "1 Road",
            "billing_email": "ap@pixel.example",
            "tax_id": "GB123",
            "apply_tax": "on",
            "overdraft_limit": "250.00",
            "login_username": "pixel",
            "login_password": "a-long-secret-1",
        },
    )

    account = Account.objects.get(name="Pixel Co")
    assert response.status_code == 302
    assert (account.tenant, account.billing_method, account.overdraft_limit, account.apply_tax) == (
        admin.tenant,
        "postpaid",
        Decimal("250.00"),
        True,
    )
    assert User.objects.get(username="pixel").account == account
    assert Event.objects.filter(kind="account.created", subject_id=account.id).exists()


def test_viewer_cannot_create_users(admin):
    client = staff_client(admin.tenant, StaffRole.VIEWER)

    assert client.get("/users/").status_code == 200
    assert client.post("/users/new/", {"name": "X", "account_type": "user"}).status_code == 403
    assert not Account.objects.exists()


def test_duplicate_name_is_a_field_error(admin, user):
    response = admin.client.post(
        "/users/new/", {"name": user.name, "account_type": "user", "billing_method": "prepaid"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Account.objects.count() == 1


def test_without_licence_billing_method_field_disappears_and_user_is_prepaid(admin):
    admin.tenant.invoicing_license.delete()

    form_page = admin.client.get("/users/new/")
    admin.client.post("/users/new/", {"name": "Plain", "account_type": "user", "billing_method": "postpaid"})

    assert 'name="billing_method"' not in form_page.content.decode()
    assert Account.objects.get(name="Plain").billing_method == "prepaid"


def test_prepaid_only_licence_refuses_postpaid(admin):
    lic = admin.tenant.invoicing_license
    lic.postpaid = False
    lic.save()

    response = admin.client.post("/users/new/", {"name": "P", "account_type": "user", "billing_method": "postpaid"})

    assert response.status_code == 200 and not Account.objects.exists()


def test_self_signup_creates_a_prepaid_user_with_a_login(admin):
    response = Client().post(
        f"/signup/{admin.tenant.signup_slug}/",
        {
            "name": "Selfie",
            "email": "me@selfie.example",
            "username": "selfie",
            "password": "a-long-secret-1",
        },
    )

    account = Account.objects.get(name="Selfie")
    assert response.status_code == 302
    assert (account.tenant, account.billing_method, account.signed_up) == (admin.tenant, "prepaid", True)
    assert User.objects.get(username="selfie").account == account


def test_signup_page_of_unknown_admin_is_404(db):
    assert Client().get("/signup/nope/").status_code == 404


def test_login_logout_and_home_routing(admin, user):
    staff = StaffFactory(tenant=admin.tenant, username="boss")
    portal = PortalLoginFactory(account=user, username="cust")
    client = Client()

    assert client.post("/login/", {"username": "boss", "password": PASSWORD}).status_code == 302
    assert client.get("/").url == "/invoicing/"  # a licensed admin's staff land on the Invoicing Dashboard
    client.post("/logout/")
    client.post("/login/", {"username": "cust", "password": PASSWORD})
    assert client.get("/").url == "/me/"
    assert staff.is_tenant_staff and portal.is_portal_user


def test_portal_user_never_reaches_staff_pages(admin, user):
    client = Client()
    client.force_login(PortalLoginFactory(account=user))

    assert client.get("/users/").status_code == 403
    assert client.get("/me/").status_code == 200


def test_login_is_throttled_after_repeated_failures(admin):
    StaffFactory(tenant=admin.tenant, username="target")
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "target", "password": "wrong"})

    blocked = client.post("/login/", {"username": "target", "password": PASSWORD})

    assert blocked.status_code == 429


def test_password_reset_sends_a_link_by_email(admin):
    StaffFactory(tenant=admin.tenant, username="forgetful", email="forgetful@example.com")

    Client().post("/password-reset/", {"email": "forgetful@example.com"})

    assert len(mail.outbox) == 1
    assert "/password-reset/" in mail.outbox[0].body


@pytest.mark.parametrize(
    "role,can_edit", [(StaffRole.OWNER, True), (StaffRole.BILLING, True), (StaffRole.VIEWER, False)]
)
def test_edit_permission_by_role(admin, user, role, can_edit):
    client = staff_client(admin.tenant, role)
    response = client.post(
        f"/users/{user.id}/edit/", {"name": "Renamed", "account_type": "user", "billing_method": "prepaid"}
    )
    user.refresh_from_db()
    assert (user.name == "Renamed") is can_edit
    assert response.status_code == (302 if can_edit else 403)
