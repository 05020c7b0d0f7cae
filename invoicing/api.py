"""The facade of the invoicing plugin: with contracts.py (the dataclasses it returns), the only module of `invoicing`
the host platform imports."""

import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse

from .contracts import LicenseInfo, NavEntry
from .money import money_format


def license_for(tenant) -> LicenseInfo:
    """The tenant's licence as of its own today; NO_LICENSE when it has none, or it expired or was revoked."""
    from .selectors.licenses import license_info

    return license_info(tenant)


def billing_methods_selectable(tenant) -> list[str]:
    """Billing methods staff may choose for an account; empty means the field is hidden.

    Prepaid is the platform's own default and always allowed when the field shows; postpaid needs a licence that
    covers it. Without an active licence the field disappears and new accounts are prepaid (SPEC §2).
    """
    info = license_for(tenant)
    if not info.active:
        return []
    return ["prepaid", "postpaid"] if info.postpaid else ["prepaid"]


def license_grant(
    *, tenant, prepaid: bool, postpaid: bool, valid_until: datetime.date, actor_id: int | None
) -> LicenseInfo:
    """Grant (or change) the tenant's Invoicing Licence, as the platform owner's licence page does."""
    from .services.licenses import license_grant as grant

    grant(tenant=tenant, prepaid=prepaid, postpaid=postpaid, valid_until=valid_until, actor_id=actor_id)
    return license_for(tenant)


def dashboard_url(tenant) -> str:
    """The Invoicing Dashboard, where the admin's staff start after signing in; "" without an active licence."""
    return reverse("invoicing:home") if license_for(tenant).active else ""


def license_admin_url(tenant) -> str:
    """The platform owner's page of the tenant's licence: grant or change it (and the test clock where enabled)."""
    return reverse("invoicing:owner-license", kwargs={"tenant_id": tenant.pk})


def license_revoke_url(tenant) -> str:
    """Where the platform owner's form POSTs to revoke the tenant's licence."""
    return reverse("invoicing:owner-license-revoke", kwargs={"tenant_id": tenant.pk})


def money_display(amount: Decimal, currency: str) -> str:
    """`amount` as every invoicing page shows money: "$1,234.50" for USD, "¥1,234" for JPY (the currency's digits).

    The currency is the one the amount is in (an account's balance is in its admin's currency); there is no
    default, since a wrong symbol on an amount is worse than an error.
    """
    if not currency:
        raise ValueError("money_display needs the ISO 4217 currency of the amount")
    return money_format(amount, currency)


# --- Links on host pages --------------------------------------------------------------------------------------


def _within(url_name: str, *fragments: str) -> bool:
    return any(fragment in url_name for fragment in fragments)


def navigation(tenant, *, area: str, namespace: str = "", url_name: str = "") -> list[NavEntry]:
    """The plugin's entries of the host's navigation bar: `area` "staff" (an admin's staff) or "portal" (a user's
    own login).

    `namespace` and `url_name` name the page being shown (the request's resolver match); the entry it belongs to is
    active. Staff of an admin without an active licence get a single entry to the "not licensed" page; the portal
    entries stay, their pages say that invoicing is not licensed.
    """
    # Pages are grouped by their names in invoicing/web/urls.py: a new page of a section is marked with it.
    ours = namespace == "invoicing"
    if area == "portal":
        return [
            NavEntry(
                "My invoices",
                reverse("invoicing:portal-invoices"),
                active=ours and url_name in ("portal-invoices", "portal-invoice"),
            ),
            NavEntry("Payments", reverse("invoicing:portal-payments"), active=ours and url_name == "portal-payments"),
            NavEntry("Credit", reverse("invoicing:portal-credit"), active=ours and url_name == "portal-credit"),
        ]
    if area != "staff":
        raise ValueError(f"No navigation area {area!r}: staff or portal")
    info = license_for(tenant)
    if not info.active:
        return [NavEntry("Invoicing (not licensed)", reverse("invoicing:home"), group="setup", unavailable=True)]
    entries = [
        NavEntry("Dashboard", reverse("invoicing:home"), active=ours and url_name == "home"),
        NavEntry(
            "Invoices",
            reverse("invoicing:invoice-list"),
            # The credit notes are the invoices' corrections: their list and pages are within Invoices.
            active=ours and (_within(url_name, "invoice", "credit-note") or url_name in ("reminders", "job")),
        ),
    ]
    if info.postpaid:
        entries.append(
            NavEntry(
                "Recurring",
                reverse("invoicing:schedule-list"),
                active=ours and _within(url_name, "schedule", "billing-run"),
            )
        )
    return [
        *entries,
        NavEntry(
            "Payments",
            reverse("invoicing:payment-list"),
            # A user's customer credit (refunds, payments received for the user) is money received: Payments.
            active=ours and _within(url_name, "payment", "customer-credit", "refund", "receipt"),
        ),
        NavEntry(
            "Settings",
            reverse("invoicing:settings"),
            active=ours and _within(url_name, "settings", "tax", "token"),
            group="setup",
        ),
        NavEntry("Events", reverse("invoicing:events"), active=ours and url_name == "events", group="setup"),
        NavEntry("Outbox", reverse("invoicing:outbox"), active=ours and _within(url_name, "outbox"), group="setup"),
    ]


def account_links(account, *, area: str = "staff") -> list[NavEntry]:
    """The plugin's buttons on an account's page; none without an active licence.

    "staff": the account's invoices and payments, "Create invoice" of its billing method, its customer credit and
    "Record payment" (one payment allocated across its open invoices), for accounts that are invoiced (not
    resellers). "portal": the user's own invoices and payments, on its home page.
    """
    if not license_for(account.tenant).active:
        return []
    if area == "portal":
        return [
            NavEntry("My invoices", reverse("invoicing:portal-invoices")),
            NavEntry("My payments", reverse("invoicing:portal-payments")),
        ]
    if area != "staff":
        raise ValueError(f"No account links for {area!r}: staff or portal")
    if not account.invoiceable:
        return []
    from .selectors.credits import customer_credit_balance

    of_account = urlencode({"account_id": account.id})
    create = urlencode({"type": account.billing_method, "account": account.id})
    of_user = urlencode({"account": account.id})
    return [
        NavEntry("Invoices", f"{reverse('invoicing:invoice-list')}?{of_account}"),
        NavEntry("Payments", f"{reverse('invoicing:payment-list')}?{of_account}"),
        NavEntry("Create invoice", f"{reverse('invoicing:invoice-create')}?{create}"),
        NavEntry(
            f"Customer credit {money_format(customer_credit_balance(account), account.tenant.currency)}",
            reverse("invoicing:customer-credit", kwargs={"account_id": account.id}),
        ),
        NavEntry("Record payment", f"{reverse('invoicing:payment-create-for-user')}?{of_user}"),
    ]


def demo_history(*, tenant, actor_id: int, accounts: list, months: list, usage: dict, ingest) -> None:
    """The demo's year of the admin's invoicing, made through the plugin's services (manage.py demo_data; see
    invoicing/demo.py): settings, taxes, bank details and logo, invoices of every state, payments, schedules,
    reminders. `ingest(month index)` stores that month's messaging records when the history reaches it."""
    from .demo import demo_history as build

    build(tenant=tenant, actor_id=actor_id, accounts=accounts, months=months, usage=usage, ingest=ingest)
