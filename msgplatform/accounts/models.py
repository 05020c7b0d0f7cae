"""Tenants (Admins), logins and their roles, the Users an Admin bills (`Account`) and their balance ledger.

Vocabulary: the SPEC's *Admin* is a `Tenant`; the SPEC's *User* (a sender of messages, billed by its Admin) is an
`Account`; `User` is Django's login identity, which is one of: the platform owner (superuser), a staff login of
one tenant with a role, or the portal login of one account.
"""

import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class Tenant(models.Model):
    """An Admin: a reseller/business that owns direct child accounts. Every tenant-owned row points here."""

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, help_text="ISO 4217 base currency, e.g. USD")
    timezone = models.CharField(max_length=64, default="UTC", choices=TIMEZONE_CHOICES)
    signup_slug = models.SlugField(max_length=60, unique=True, help_text="Public self-signup page: /signup/<slug>/")
    is_active = models.BooleanField(default=True)
    # Test clock (off unless enabled): days this tenant's "now" runs ahead of the real clock, for rehearsals.
    clock_offset_days = models.PositiveIntegerField(default=0)
    # Set by the admin's owners: every staff login must pass two-factor (accounts/two_factor.py enforces it).
    require_two_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class StaffRole(models.TextChoices):
    OWNER = "owner", "Owner"
    BILLING = "billing", "Billing"
    VIEWER = "viewer", "Viewer"


class User(AbstractUser):
    """A login. Exactly one of: platform owner, tenant staff (tenant + role), account portal login."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=10, choices=StaffRole.choices, blank=True)
    account = models.OneToOneField(
        "accounts.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="login"
    )

    class Meta:
        constraints = [
            # Staff have a tenant and a role; a portal login has an account and neither; never both kinds.
            models.CheckConstraint(
                condition=(Q(tenant__isnull=True) & Q(role=""))
                | (Q(tenant__isnull=False) & ~Q(role="") & Q(account__isnull=True)),
                name="user_staff_has_tenant_and_role",
            ),
        ]

    @property
    def is_platform_owner(self) -> bool:
        return self.is_superuser

    @property
    def is_tenant_staff(self) -> bool:
        return self.tenant_id is not None

    @property
    def is_portal_user(self) -> bool:
        return self.account_id is not None


class AccountType(models.TextChoices):
    USER = "user", "User"
    RESELLER = "reseller", "Reseller"


class BillingMethod(models.TextChoices):
    PREPAID = "prepaid", "Prepaid"
    POSTPAID = "postpaid", "Postpaid"


class Account(models.Model):
    """A direct child of one tenant that sends messages (the SPEC's *User*), with its billing profile.

    `balance` is a cache of the ledger, written only by `services.balance.balance_change` under a row lock.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="accounts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    account_type = models.CharField(max_length=10, choices=AccountType.choices, default=AccountType.USER)
    billing_method = models.CharField(max_length=10, choices=BillingMethod.choices, default=BillingMethod.PREPAID)
    billing_name = models.CharField(max_length=200, blank=True)
    billing_address = models.TextField(blank=True)
    billing_email = models.EmailField(blank=True)
    tax_id = models.CharField(max_length=60, blank=True)
    apply_tax = models.BooleanField(default=True)
    overdraft_limit = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    balance = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal("0"))
    signed_up = models.BooleanField(default=False, help_text="Created by the public self-signup page")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["tenant", "name"], name="account_tenant_name")]
        constraints = [
            models.CheckConstraint(condition=Q(overdraft_limit__gte=0), name="account_overdraft_not_negative"),
            models.UniqueConstraint(fields=["tenant", "name"], name="account_unique_name_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_postpaid(self) -> bool:
        return self.billing_method == BillingMethod.POSTPAID

    @property
    def invoiceable(self) -> bool:
        """Resellers are never invoiced by the invoicing module (SPEC §1)."""
        return self.account_type == AccountType.USER

    @property
    def balance_floor(self) -> Decimal:
        """Lowest balance spending may reach: 0 for prepaid, -overdraft_limit for postpaid."""
        return -self.overdraft_limit if self.is_postpaid else Decimal("0")


class LedgerKind(models.TextChoices):
    USAGE = "usage", "Usage debit"
    USAGE_REFUND = "usage_refund", "Usage rolled back"
    RECHARGE = "recharge", "Recharge invoice payment"
    INVOICE_PAYMENT = "invoice_payment", "Postpaid invoice payment"
    PAYMENT_REVERSAL = "payment_reversal", "Payment reversed"
    ROUNDING = "rounding", "Invoice rounding"
    CREDIT_NOTE = "credit_note", "Credit note"
    ADJUSTMENT = "adjustment", "Manual adjustment"


class BalanceTransaction(models.Model):
    """One append-only ledger row. The account's balance always equals the sum of its rows' amounts."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ledger")
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    kind = models.CharField(max_length=20, choices=LedgerKind.choices)
    reference = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    balance_before = models.DecimalField(max_digits=20, decimal_places=6)
    balance_after = models.DecimalField(max_digits=20, decimal_places=6)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-id"], name="ledger_account_recent")]
        constraints = [
            # |after - (before + amount)| < half a micro-unit: exact equality on PostgreSQL's numeric; the tolerance
            # only absorbs SQLite's binary storage of decimals.
            models.CheckConstraint(
                condition=LessThan(Abs(F("balance_after") - F("balance_before") - F("amount")), Decimal("0.0000005")),
                name="ledger_row_adds_up",
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
        ]


class ApiToken(models.Model):
    """A staff login's API token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AttemptCounter(models.Model):
    """How many attempts of one kind one client made in the current window (logins, password-reset requests).

    Written only by `services.attempts`: an attempt is claimed with one conditional UPDATE (`attempts < limit`)
    before the password is checked, so concurrent attempts can never pass the limit. Kinds and subjects:
    `login` (the posted username, from `ip_address`), `login-ip` (every username from `ip_address`),
    `reset-address` (the e-mail address asked for), `reset-ip` (any address from `ip_address`).
    """

    kind = models.CharField(max_length=20)
    ip_address = models.CharField(max_length=45, blank=True)
    subject = models.CharField(max_length=254, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["window_ends_at"], name="attempt_counter_window_end")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "ip_address", "subject"], name="attempt_counter_unique_client"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ip_address} {self.subject}: {self.attempts}"
