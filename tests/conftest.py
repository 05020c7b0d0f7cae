"""Persona fixtures: `admin` (a licensed tenant's owner login), `other_admin`, `user` (an account of admin)."""

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client

from msgplatform.accounts.models import Account, StaffRole, Tenant, User

from .factories import AccountFactory, LicenseFactory, StaffFactory, TenantFactory
from .smtp import SmtpServer


@dataclass
class Persona:
    tenant: Tenant
    login: User
    client: Client


def _persona(**tenant_kwargs) -> Persona:
    tenant = TenantFactory(**tenant_kwargs)
    LicenseFactory(tenant=tenant)
    login = StaffFactory(tenant=tenant, role=StaffRole.OWNER)
    client = Client()
    client.force_login(login)
    return Persona(tenant=tenant, login=login, client=client)


@pytest.fixture
def admin(db) -> Persona:
    return _persona(name="Acme", currency="USD", timezone="America/New_York")


@pytest.fixture
def other_admin(db) -> Persona:
    return _persona(name="Globex", currency="EUR", timezone="Europe/Berlin")


@pytest.fixture
def user(admin) -> Account:
    return AccountFactory(tenant=admin.tenant, name="Nimbus Ltd")


@pytest.fixture
def postpaid_user(admin) -> Account:
    return AccountFactory(tenant=admin.tenant, name="Orbit Ltd", billing_method="postpaid", overdraft_limit="100.00")


def staff_client(tenant, role) -> Client:
    client = Client()
    client.force_login(StaffFactory(tenant=tenant, role=role))
    return client


requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks (run with DATABASE_URL set)"
)


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) on loopback that Django's mail goes to; its inbox is `smtp.messages`."""
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    yield server
    server.stop()
