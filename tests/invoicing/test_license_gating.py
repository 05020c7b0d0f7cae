"""Every invoicing URL that exists answers "not licensed" to a tenant without an active licence.

The URL list is read from the URL configuration, so a new invoicing page is covered without editing this file.
"""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from invoicing import api
from invoicing.services.licenses import license_grant, license_revoke


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def invoicing_urls():
    out = []
    for route, entry in _walk(get_resolver().url_patterns):
        module = getattr(entry.callback, "__module__", "")
        wrapped = getattr(entry.callback, "__wrapped__", None)
        module = getattr(wrapped, "__module__", module)
        if module.startswith("invoicing") and not route.startswith("platform/"):
            out.append(re.sub(r"<(?:\w+:)?\w+>", "1", route.replace("^", "").replace("$", "")))
    return out


def test_the_url_walk_finds_invoicing_urls():
    assert "invoicing/" in invoicing_urls()


@pytest.mark.parametrize("url", invoicing_urls())
def test_unlicensed_admin_gets_not_licensed_on_every_invoicing_url(admin, url):
    license_revoke(tenant=admin.tenant, actor_id=None)

    response = admin.client.get("/" + url)

    assert response.status_code == 403
    assert "not licensed" in response.content.decode()


@pytest.mark.parametrize("url", invoicing_urls())
def test_expired_licence_is_not_licensed(admin, url):
    lic = admin.tenant.invoicing_license
    lic.valid_until = timezone.now().date() - datetime.timedelta(days=2)
    lic.save()

    assert admin.client.get("/" + url).status_code == 403


def test_licensed_admin_reaches_invoicing_home(admin):
    response = admin.client.get("/invoicing/")
    assert response.status_code == 200 and "valid until" in response.content.decode()


def test_grant_and_revoke_change_the_licence_seen_by_the_host(admin):
    license_revoke(tenant=admin.tenant, actor_id=None)
    assert api.license_for(admin.tenant).active is False
    assert api.billing_methods_selectable(admin.tenant) == []

    license_grant(
        tenant=admin.tenant,
        prepaid=True,
        postpaid=False,
        valid_until=timezone.now().date() + datetime.timedelta(days=1),
        actor_id=None,
    )

    info = api.license_for(admin.tenant)
    assert (info.active, info.modes) == (True, ("prepaid",))
    assert api.billing_methods_selectable(admin.tenant) == ["prepaid"]


def test_only_the_platform_owner_manages_licences(admin, django_user_model, client):
    assert admin.client.get("/platform/admins/").status_code == 403
    owner = django_user_model.objects.create_superuser("root", "r@example.com", "pw-pw-pw-pw")
    client.force_login(owner)

    response = client.post(
        f"/platform/admins/{admin.tenant.id}/licence/", {"prepaid": "on", "valid_until": "2030-01-31"}
    )

    assert response.status_code == 302
    admin.tenant.invoicing_license.refresh_from_db()
    assert (admin.tenant.invoicing_license.valid_until, admin.tenant.invoicing_license.postpaid) == (
        datetime.date(2030, 1, 31),
        False,
    )
    assert client.post(f"/platform/admins/{admin.tenant.id}/licence/revoke/").status_code == 302
    assert api.license_for(admin.tenant).active is False


def test_platform_owner_creates_an_admin_with_owner_login(db, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw-pw-pw-pw"))

    response = client.post(
        "/platform/admins/new/",
        {
            "name": "Initech",
            "currency": "jpy",
            "timezone": "Asia/Tokyo",
            "signup_slug": "initech",
            "owner_username": "initech-owner",
            "owner_email": "o@initech.example",
            "owner_password": "a-long-secret-1",
        },
    )
    bad = client.post(
        "/platform/admins/new/",
        {
            "name": "Bad",
            "currency": "XXY",
            "timezone": "Asia/Tokyo",
            "signup_slug": "bad",
            "owner_username": "bad-owner",
            "owner_email": "o@bad.example",
            "owner_password": "a-long-secret-1",
        },
    )

    tenant = django_user_model.objects.get(username="initech-owner").tenant
    assert response.status_code == 302
    assert (tenant.currency, tenant.timezone) == ("JPY", "Asia/Tokyo")
    assert bad.status_code == 200 and "ISO 4217" in bad.content.decode()
