"""factory_boy factories for the platform's rows. Services are used where a rule lives in them."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from invoicing.models import InvoicingLicense
from msgplatform.accounts.models import Account, BillingMethod, StaffRole, Tenant, User

PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Admin {n}")
    currency = "USD"
    timezone = "UTC"
    signup_slug = factory.Sequence(lambda n: f"admin-{n}")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    tenant = factory.SubFactory(TenantFactory)
    role = StaffRole.OWNER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.LazyAttribute(lambda o: f"{o.name.replace(' ', '').lower()}@example.com")
    billing_method = BillingMethod.PREPAID
    billing_name = factory.LazyAttribute(lambda o: o.name)
    billing_email = factory.LazyAttribute(lambda o: o.email)
    apply_tax = True
    overdraft_limit = Decimal("0")


class PortalLoginFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"portal{n}")
    account = factory.SubFactory(AccountFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoicingLicense

    tenant = factory.SubFactory(TenantFactory)
    prepaid = True
    postpaid = True
    valid_until = factory.LazyFunction(lambda: timezone.now().date() + datetime.timedelta(days=365))


def record_row(account, n, **overrides) -> dict:
    """One messaging record as the platform would push it."""
    row = {
        "message_id": f"m-{n}",
        "user_id": account.id,
        "submitted_at": "2026-03-10T12:00:00Z",
        "destination": "+15551230000",
        "sender_id": "INFO",
        "country": "US",
        "mcc": "310",
        "mnc": "260",
        "network": "T-Mobile US",
        "channel": "sms",
        "encoding": "gsm7",
        "parts": 1,
        "status": "DELIVRD",
        "unit_price": "0.0075",
        "rolled_back": False,
    }
    row.update(overrides)
    return row
