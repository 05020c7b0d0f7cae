"""Where each kind of login lands after signing in."""

from django.test import Client

from msgplatform.accounts.models import StaffRole
from tests.factories import PASSWORD, PortalLoginFactory, StaffFactory, TenantFactory


def _signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_staff_of_a_licensed_admin_land_on_the_invoicing_dashboard(admin):
    for role in (StaffRole.OWNER, StaffRole.BILLING, StaffRole.VIEWER):
        StaffFactory(tenant=admin.tenant, username=f"staff-{role}", role=role)
        client = _signed_in(f"staff-{role}")

        landing = client.get("/", follow=True)

        assert landing.redirect_chain[-1][0] == "/invoicing/"
        assert landing.status_code == 200


def test_staff_of_an_unlicensed_admin_land_on_the_users_page(db):
    StaffFactory(tenant=TenantFactory(name="Initech"), username="unlicensed")
    client = _signed_in("unlicensed")

    assert client.get("/").url == "/users/"


def test_a_portal_login_lands_on_its_portal(admin, user):
    PortalLoginFactory(account=user, username="cust")
    client = _signed_in("cust")

    assert client.get("/").url == "/me/"


def test_the_login_form_sends_staff_to_the_dashboard(admin):
    StaffFactory(tenant=admin.tenant, username="boss")

    response = Client().post("/login/", {"username": "boss", "password": PASSWORD}, follow=True)

    assert [url for url, _ in response.redirect_chain][-1] == "/invoicing/"
