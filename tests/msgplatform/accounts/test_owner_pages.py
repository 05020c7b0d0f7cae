"""The platform owner's admins (tenants): the host's list and creation, pages and API, and the way to the
invoicing plugin's licence page and back."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from invoicing.models import InvoicingLicense
from msgplatform.accounts.models import Tenant
from msgplatform.accounts.services.tokens import token_create
from tests.factories import StaffFactory


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_owner_starts_on_the_admin_list(owner_client):
    response = owner_client.get("/")

    assert (response.status_code, response.url) == (302, "/platform/admins/")


def test_admin_list_shows_each_licence_and_links_to_the_plugins_licence_page(owner_client, admin, other_admin):
    InvoicingLicense.objects.filter(tenant=other_admin.tenant).delete()

    page = owner_client.get("/platform/admins/").content.decode()

    acme, globex = admin.tenant.id, other_admin.tenant.id
    until = InvoicingLicense.objects.get(tenant=admin.tenant).valid_until
    assert f'<span class="badge text-bg-success">prepaid + postpaid</span> until {until:%Y-%m-%d}' in page
    assert f'href="/platform/admins/{acme}/licence/">Change</a>' in page
    assert f'action="/platform/admins/{acme}/licence/revoke/"' in page
    assert f'href="/platform/admins/{globex}/licence/">Grant</a>' in page
    assert f'action="/platform/admins/{globex}/licence/revoke/"' not in page
    assert 'href="/platform/admins/new/">New admin</a>' in page


def test_a_new_admin_goes_on_to_its_licence_page(owner_client):
    response = owner_client.post(
        "/platform/admins/new/",
        {
            "name": "Initech",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "signup_slug": "initech",
            "owner_username": "initech-owner",
            "owner_email": "o@initech.example",
            "owner_password": "a-long-secret-1",
        },
    )

    tenant = Tenant.objects.get(signup_slug="initech")
    assert (response.status_code, response.url) == (302, f"/platform/admins/{tenant.id}/licence/")


def test_a_taken_signup_slug_is_shown_at_its_field_and_creates_nothing(owner_client, admin):
    response = owner_client.post(
        "/platform/admins/new/",
        {
            "name": "Copy",
            "currency": "USD",
            "timezone": "UTC",
            "signup_slug": admin.tenant.signup_slug,
            "owner_username": "copy-owner",
            "owner_email": "o@copy.example",
            "owner_password": "a-long-secret-1",
        },
    )

    assert response.status_code == 200
    assert f"The signup slug &#x27;{admin.tenant.signup_slug}&#x27; is taken." in response.content.decode()
    assert Tenant.objects.count() == 1


def test_granting_and_revoking_a_licence_return_to_the_hosts_admin_list(owner_client, admin):
    granted = owner_client.post(
        f"/platform/admins/{admin.tenant.id}/licence/", {"prepaid": "on", "valid_until": "2030-01-31"}
    )
    revoked = owner_client.post(f"/platform/admins/{admin.tenant.id}/licence/revoke/")

    assert (granted.status_code, granted.url) == (302, "/platform/admins/")
    assert (revoked.status_code, revoked.url) == (302, "/platform/admins/")


def test_staff_cannot_see_or_create_admins(admin):
    assert admin.client.get("/platform/admins/").status_code == 403
    assert admin.client.post("/platform/admins/new/", {"name": "X"}).status_code == 403
    assert Tenant.objects.count() == 1


def test_admins_api_refuses_staff_even_of_an_unlicensed_admin(admin):
    InvoicingLicense.objects.filter(tenant=admin.tenant).delete()
    _, secret = token_create(user=StaffFactory(tenant=admin.tenant), name="owner token")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.get("/api/v1/platform/admins/")

    # The admins are the host's: no licence question, just "platform owner only".
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_admins_api_lists_every_admin_with_its_licence(owner, admin, other_admin):
    InvoicingLicense.objects.filter(tenant=other_admin.tenant).delete()
    client = APIClient()
    client.force_login(owner)

    listed = client.get("/api/v1/platform/admins/").json()

    assert [(a["name"], a["currency"], a["licence"]["active"]) for a in listed["results"]] == [
        ("Acme", "USD", True),
        ("Globex", "EUR", False),
    ]
