"""The facade the host platform calls (invoicing/api.py): each function returns exactly what the host shows."""

import datetime
from decimal import Decimal

import pytest

from invoicing import api
from invoicing.contracts import LicenseInfo, NavEntry
from invoicing.models import InvoicingLicense
from msgplatform.accounts.models import AccountType
from msgplatform.core.models import Event
from tests.factories import AccountFactory, TenantFactory


def test_license_grant_gives_an_unlicensed_tenant_its_licence(db):
    tenant = TenantFactory()

    info = api.license_grant(
        tenant=tenant, prepaid=True, postpaid=False, valid_until=datetime.date(2030, 1, 31), actor_id=None
    )

    assert info == LicenseInfo(active=True, prepaid=True, postpaid=False, valid_until=datetime.date(2030, 1, 31))
    assert InvoicingLicense.objects.filter(tenant=tenant).count() == 1
    assert list(Event.objects.filter(tenant_id=tenant.id).values_list("kind", flat=True)) == ["license.granted"]


def test_money_display_formats_in_the_currency_given():
    assert api.money_display(Decimal("1234.5"), "USD") == "$1,234.50"
    assert api.money_display(Decimal("1234"), "JPY") == "¥1,234"
    assert api.money_display(Decimal("-12.30"), "EUR") == "-€12.30"


def test_money_display_has_no_default_currency():
    with pytest.raises(ValueError, match="currency"):
        api.money_display(Decimal("1"), "")


def test_staff_navigation_of_a_licensed_admin_marks_the_current_section(admin):
    entries = api.navigation(admin.tenant, area="staff", namespace="invoicing", url_name="invoice-detail")

    assert entries == [
        NavEntry("Dashboard", "/invoicing/"),
        NavEntry("Invoices", "/invoicing/invoices/", active=True),
        NavEntry("Recurring", "/invoicing/recurring/"),
        NavEntry("Payments", "/invoicing/payments/"),
        NavEntry("Settings", "/invoicing/settings/", group="setup"),
        NavEntry("Events", "/invoicing/events/", group="setup"),
        NavEntry("Outbox", "/invoicing/outbox/", group="setup"),
    ]


@pytest.mark.parametrize(
    ("url_name", "active"),
    [
        ("home", "Dashboard"),
        ("reminders", "Invoices"),
        ("job", "Invoices"),
        ("billing-run", "Recurring"),
        ("schedule-edit", "Recurring"),
        ("payment-reverse", "Payments"),
        ("credit-note-list", "Invoices"),
        ("credit-note-detail", "Invoices"),
        ("invoice-credit-note", "Invoices"),
        ("customer-credit", "Payments"),
        ("refund-reverse", "Payments"),
        ("receipt-reverse", "Payments"),
        ("payment-create-for-user", "Payments"),
        ("tax-edit", "Settings"),
        ("token-revoke", "Settings"),
        ("settings-email", "Settings"),
        ("events", "Events"),
        ("outbox-detail", "Outbox"),
    ],
)
def test_staff_navigation_marks_the_section_of_each_invoicing_page(admin, url_name, active):
    entries = api.navigation(admin.tenant, area="staff", namespace="invoicing", url_name=url_name)

    assert [e.label for e in entries if e.active] == [active]


def test_staff_navigation_marks_nothing_on_a_host_page(admin):
    entries = api.navigation(admin.tenant, area="staff", namespace="accounts", url_name="account-list")

    assert [e.label for e in entries if e.active] == []


def test_staff_navigation_without_postpaid_licence_has_no_recurring(admin):
    InvoicingLicense.objects.filter(tenant=admin.tenant).update(postpaid=False)

    entries = api.navigation(admin.tenant, area="staff")

    assert [e.label for e in entries] == ["Dashboard", "Invoices", "Payments", "Settings", "Events", "Outbox"]


def test_staff_navigation_without_licence_is_one_unavailable_entry(admin):
    InvoicingLicense.objects.filter(tenant=admin.tenant).delete()

    entries = api.navigation(admin.tenant, area="staff", namespace="invoicing", url_name="home")

    assert entries == [NavEntry("Invoicing (not licensed)", "/invoicing/", group="setup", unavailable=True)]


def test_portal_navigation_stays_without_licence_and_marks_the_current_page(admin):
    InvoicingLicense.objects.filter(tenant=admin.tenant).delete()

    entries = api.navigation(admin.tenant, area="portal", namespace="invoicing", url_name="portal-invoice")

    assert entries == [
        NavEntry("My invoices", "/me/invoices/", active=True),
        NavEntry("Payments", "/me/payments/"),
        NavEntry("Credit", "/me/credit/"),
    ]


def test_navigation_of_an_unknown_area_is_an_error(admin):
    with pytest.raises(ValueError, match="owner"):
        api.navigation(admin.tenant, area="owner")


def test_account_links_for_staff_open_the_accounts_invoices_payments_creation_and_credit(admin, postpaid_user):
    links = api.account_links(postpaid_user)

    assert links == [
        NavEntry("Invoices", f"/invoicing/invoices/?account_id={postpaid_user.id}"),
        NavEntry("Payments", f"/invoicing/payments/?account_id={postpaid_user.id}"),
        NavEntry("Create invoice", f"/invoicing/invoices/new/?type=postpaid&account={postpaid_user.id}"),
        NavEntry("Customer credit $0.00", f"/invoicing/users/{postpaid_user.id}/credit/"),
        NavEntry("Record payment", f"/invoicing/payments/new-for-user/?account={postpaid_user.id}"),
    ]


def test_the_account_link_to_customer_credit_shows_the_balance(admin, user):
    from invoicing.services.customer_credit import credit_adjust

    credit_adjust(tenant=admin.tenant, account_id=user.id, actor_id=None, amount="1234.50", reason="goodwill")

    assert api.account_links(user)[3] == NavEntry("Customer credit $1,234.50", f"/invoicing/users/{user.id}/credit/")


def test_account_links_for_the_users_own_login_open_its_invoices_and_payments(user):
    links = api.account_links(user, area="portal")

    assert links == [NavEntry("My invoices", "/me/invoices/"), NavEntry("My payments", "/me/payments/")]


def test_resellers_have_no_invoicing_links(admin):
    reseller = AccountFactory(tenant=admin.tenant, account_type=AccountType.RESELLER)

    assert api.account_links(reseller) == []


def test_account_links_without_licence_are_none(user):
    InvoicingLicense.objects.filter(tenant=user.tenant).delete()

    assert (api.account_links(user), api.account_links(user, area="portal")) == ([], [])
