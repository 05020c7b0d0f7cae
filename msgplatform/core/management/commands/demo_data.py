"""manage.py demo_data: a platform owner, two admins (USD/New York and EUR/Berlin) with staff, prepaid and
postpaid users, a year of messaging records pushed through the real ingestion service, and the year's invoicing
(invoices of every state, payments, schedules, reminders) made by the plugin's services through
`invoicing.api.demo_history`. Running it again adds nothing.
"""

import datetime
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from invoicing import api as invoicing_api
from msgplatform.accounts.models import BillingMethod, StaffRole, User
from msgplatform.accounts.services.accounts import account_create
from msgplatform.accounts.services.tenants import staff_create, tenant_create
from msgplatform.core.clock import tenant_today
from msgplatform.messaging.services.ingest import records_ingest

PASSWORD = "demo-pass-2026"
OWNER = "platform"

TENANTS = [
    {
        "name": "Acme Messaging",
        "currency": "USD",
        "timezone": "America/New_York",
        "signup_slug": "acme",
        "owner_username": "acme-owner",
        "billing": "acme-billing",
        "viewer": "acme-viewer",
    },
    {
        "name": "Globex Telecom",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "signup_slug": "globex",
        "owner_username": "globex-owner",
        "billing": "globex-billing",
        "viewer": "globex-viewer",
    },
]

# (country, mcc, [(mnc, network)], unit price range in the base currency)
ROUTES = [
    ("US", "310", [("260", "T-Mobile US"), ("410", "AT&T"), ("012", "Verizon")], ("0.0040", "0.0095")),
    ("GB", "234", [("15", "Vodafone UK"), ("10", "O2 UK"), ("30", "EE")], ("0.0280", "0.0410")),
    ("DE", "262", [("01", "Telekom DE"), ("02", "Vodafone DE"), ("03", "O2 DE")], ("0.0650", "0.0890")),
    ("IN", "404", [("45", "Airtel"), ("20", "Vodafone Idea"), ("857", "Jio")], ("0.0012", "0.0029")),
    ("NG", "621", [("30", "MTN Nigeria"), ("20", "Airtel Nigeria")], ("0.0210", "0.0350")),
    ("BR", "724", [("05", "Claro BR"), ("06", "Vivo"), ("02", "TIM Brasil")], ("0.0090", "0.0150")),
]
STATUSES = ["DELIVRD"] * 86 + ["UNDELIV"] * 6 + ["EXPIRED"] * 3 + ["REJECTD"] * 2 + ["UNKNOWN"] * 3


def logins_text() -> str:
    lines = [
        f"Demo logins (password for all: {PASSWORD}):",
        f"  platform owner : {OWNER} (asks to set up two-factor sign-in at the first login: any TOTP app)",
    ]
    for t in TENANTS:
        lines.append(
            f"  {t['name']:<15}: {t['owner_username']} (owner), {t['billing']} (billing), {t['viewer']} (viewer)"
        )
    lines.append("  user portal    : acme-user1 (a postpaid user of Acme Messaging)")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Load demo data once (a second run adds nothing). Prints the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=6, help="Users per admin (default 6)")
        parser.add_argument("--records", type=int, default=3000, help="Records per user (default 3000)")
        parser.add_argument("--days", type=int, default=365, help="Records and invoices of this many past days")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--logins-only", action="store_true", help="Only print the demo logins")

    def handle(self, *args, **options):
        if options["logins_only"]:
            self.stdout.write(logins_text())
            return
        if User.objects.filter(username=OWNER).exists():
            self.stdout.write("Demo data already loaded; nothing added.")
            return
        rng = random.Random(options["seed"])
        # One transaction: a failed load leaves nothing behind, so the next run starts clean.
        with transaction.atomic():
            self._load(rng, options)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

    def _load(self, rng, options):
        owner = User.objects.create_superuser(OWNER, "owner@example.com", PASSWORD)
        tenants = []
        for spec in TENANTS:
            tenant = tenant_create(
                name=spec["name"],
                currency=spec["currency"],
                timezone=spec["timezone"],
                signup_slug=spec["signup_slug"],
                owner_username=spec["owner_username"],
                owner_email=f"{spec['owner_username']}@example.com",
                owner_password=PASSWORD,
                actor_id=owner.id,
            )
            for role in (StaffRole.BILLING, StaffRole.VIEWER):
                staff_create(
                    tenant=tenant,
                    username=spec[role],
                    email=f"{spec[role]}@example.com",
                    password=PASSWORD,
                    role=role,
                    actor_id=owner.id,
                )
            invoicing_api.license_grant(
                tenant=tenant,
                prepaid=True,
                postpaid=True,
                valid_until=timezone.now().date() + datetime.timedelta(days=365),
                actor_id=owner.id,
            )
            tenants.append((spec, tenant))
        for spec, tenant in tenants:
            self._users_and_records(spec, tenant, rng, options)

    def _users_and_records(self, spec, tenant, rng, options):
        prefix = spec["signup_slug"]
        accounts = []
        for i in range(1, options["users"] + 1):
            postpaid = i % 2 == 1
            accounts.append(
                account_create(
                    tenant=tenant,
                    actor_id=None,
                    login_username=f"{prefix}-user{i}",
                    login_password=PASSWORD,
                    name=f"{rng.choice(['Nimbus', 'Orbit', 'Pixel', 'Quanta', 'Rivet', 'Summit'])} {i} Ltd",
                    email=f"{prefix}-user{i}@example.com",
                    billing_email=f"billing@{prefix}-user{i}.example.com",
                    billing_name=f"{prefix.title()} customer {i}",
                    billing_address=f"{i} Market Street\nSpringfield",
                    tax_id=f"TAX-{prefix.upper()}-{i:04d}",
                    apply_tax=i % 3 != 0,
                    billing_method=BillingMethod.POSTPAID if postpaid else BillingMethod.PREPAID,
                    overdraft_limit=Decimal("500.00") if postpaid else Decimal("0"),
                )
            )
        months = _months(tenant_today(tenant), options["days"])
        rows_by_month, usage = self._records(prefix, tenant, accounts, months, rng, options)

        def ingest(index: int) -> None:
            rows = rows_by_month[index]
            # Late arrivals: a slice of the month's records comes in a later batch; duplicates: a slice is re-sent.
            rng.shuffle(rows)
            late = rows[: len(rows) // 20]
            on_time = rows[len(rows) // 20 :]
            for start in range(0, len(on_time), 5000):
                records_ingest(tenant=tenant, rows=on_time[start : start + 5000])
            # Later delivery reports and refunds arrive as re-sends of known ids with a new status.
            changed = [
                {**row, "status": "DELIVRD"} if row["status"] == "UNKNOWN" else {**row, "rolled_back": True}
                for row in on_time[50:80]
            ]
            if late or changed:
                records_ingest(tenant=tenant, rows=late + on_time[:50] + changed)

        billing = User.objects.get(username=spec["billing"])
        invoicing_api.demo_history(
            tenant=tenant, actor_id=billing.id, accounts=accounts, months=months, usage=usage, ingest=ingest
        )

    def _records(self, prefix, tenant, accounts, months, rng, options):
        """The messaging records of each month, and what each account's records of a month cost at most."""
        now = timezone.now()
        first_moment = now - datetime.timedelta(days=options["days"])
        # A price list: each network has a price, and a second, newer price for part of the traffic.
        prices = {}
        for _country, _mcc, networks, (low, high) in ROUTES:
            for _mnc, network in networks:
                base = Decimal(low) + (Decimal(high) - Decimal(low)) * Decimal(rng.random())
                prices[network] = [
                    base.quantize(Decimal("0.000001")),
                    (base * Decimal("1.04")).quantize(Decimal("0.000001")),
                ]
        windows = []
        for start, end in months:
            window_start = max(datetime.datetime.combine(start, datetime.time.min, tzinfo=tenant.tz), first_moment)
            window_end = min(
                datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tenant.tz),
                now - datetime.timedelta(seconds=60),
            )
            windows.append((window_start, max(window_start, window_end)))
        total_seconds = sum((e - s).total_seconds() for s, e in windows) or 1
        postpaid = [a for a in accounts if a.billing_method == BillingMethod.POSTPAID]
        # The second postpaid user's recurring draft of the last month that is over is an anomaly: six times the
        # traffic (a few dozen records vary a lot in price, so less would not always stand out).
        spiking = postpaid[1].id if len(postpaid) > 1 else None
        last_over = len(months) - 2
        seq = 0
        rows_by_month = [[] for _ in months]
        usage = {a.id: [Decimal(0)] * len(months) for a in accounts}
        for account in accounts:
            # Skew: a few users send far more than the others.
            count = options["records"] * (4 if account.id % 4 == 1 else 1)
            for index, (window_start, window_end) in enumerate(windows):
                seconds = int((window_end - window_start).total_seconds())
                share = count * seconds / total_seconds * rng.uniform(0.9, 1.1)
                if account.id == spiking and index == last_over:
                    share *= 6
                for _ in range(round(share)):
                    seq += 1
                    country, mcc, networks, (low, high) = rng.choice(ROUTES)
                    mnc, network = rng.choice(networks)
                    price = prices[network][0 if rng.random() < 0.8 else 1]
                    ucs2 = rng.random() < 0.15
                    channel = "whatsapp" if rng.random() < 0.1 else "sms"
                    parts = (
                        1 if channel == "whatsapp" else rng.choice([1, 1, 1, 1, 2, 3] if not ucs2 else [1, 2, 2, 3, 4])
                    )
                    submitted = window_start + datetime.timedelta(seconds=rng.randint(0, max(seconds, 0)))
                    usage[account.id][index] += price * parts
                    rows_by_month[index].append(
                        {
                            "message_id": f"{prefix}-{seq:09d}",
                            "user_id": account.id,
                            "submitted_at": submitted.isoformat(),
                            "destination": f"+{rng.randint(10**9, 10**11)}",
                            "sender_id": rng.choice(["INFO", "ALERTS", "OTP", "Shop"]),
                            "country": country,
                            "mcc": mcc,
                            "mnc": mnc,
                            "network": network,
                            "channel": channel,
                            "encoding": "ucs2" if ucs2 else "gsm7",
                            "parts": parts,
                            "status": rng.choice(STATUSES),
                            "unit_price": str(price),
                            "rolled_back": rng.random() < 0.01,
                        }
                    )
        return rows_by_month, usage


def _months(today: datetime.date, days: int) -> list[tuple[datetime.date, datetime.date]]:
    """The calendar months from `days` ago to today, oldest first, each as (first day, last day)."""
    months = []
    start = (today - datetime.timedelta(days=days)).replace(day=1)
    while start <= today:
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        months.append((start, following - datetime.timedelta(days=1)))
        start = following
    return months
