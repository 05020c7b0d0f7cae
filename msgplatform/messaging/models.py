"""Messaging records (the usage), their daily rollups, and the ingestion batches that brought them.

Rollups are what invoicing reads: one *bucket* per (account, local day, country, network, channel, unit price,
delivered, billing method, kind) holding message, part and charge totals. A bucket is *open* while no invoice
has billed it (`billed_by` is null); the partial unique index allows one open bucket per key, so usage that
arrives after its day was billed starts a new open bucket instead of changing a billed one (SPEC §3: usage already
on an invoice is never changed). Amounts in rollups are integer micro-units (1e-6 of the base currency): exact
sums on every database, SQLite included, and the precision of a record's charge.
"""

from django.db import models
from django.db.models import Q

from msgplatform.accounts.models import Account, BillingMethod, Tenant

MICROS = 1_000_000

DELIVERED_STATUS = "DELIVRD"
STATUS_CHOICES = [
    (s, s)
    for s in ("DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "UNKNOWN", "ACCEPTD", "DELETED", "ENROUTE", "SUBMITTED")
]
CHANNEL_CHOICES = [(c, c) for c in ("sms", "whatsapp", "rcs", "viber")]
ENCODING_CHOICES = [(e, e) for e in ("gsm7", "ucs2", "binary", "utf8")]


class UsageKind(models.TextChoices):
    USAGE = "usage", "Usage"
    # Corrections of records whose bucket was already billed: a later rollback or status change lands here as
    # negative/positive amounts, billed on the next invoice as prior-period lines.
    CORRECTION = "correction", "Correction"


class IngestBatch(models.Model):
    """One call of the ingestion service: what came in and what became of it."""

    class Source(models.TextChoices):
        API = "api", "API"
        FILE = "file", "File import"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    source = models.CharField(max_length=10, choices=Source.choices)
    received = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)


# The fields that identify a usage bucket (one open bucket per key), in the order of ingestion's bucket key tuples.
# Attribute names, which are also the column names: ingestion's SQL and the usage source's filters use them as they are.
ROLLUP_KEY_FIELDS = (
    "account_id",
    "day",
    "country",
    "network",
    "channel",
    "unit_price_micros",
    "delivered",
    "billing_method",
    "kind",
)


class UsageRollup(models.Model):
    # Billing rewrites every bucket it bills (billed_by is indexed: no HOT update), one entry per index each. So no
    # index leads with the tenant: no query reads buckets by tenant without the account, and keys of a few dozen
    # values (tenant, day) were the costliest to write. None on the account alone: rollup_account_claim_day starts
    # with it.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_rollups", db_index=False)
    day = models.DateField(help_text="Local day of submitted_at in the tenant's time zone")
    country = models.CharField(max_length=2)
    network = models.CharField(max_length=100)
    channel = models.CharField(max_length=20)
    unit_price_micros = models.BigIntegerField()
    delivered = models.BooleanField()
    billing_method = models.CharField(max_length=10, choices=BillingMethod.choices)
    kind = models.CharField(max_length=12, choices=UsageKind.choices, default=UsageKind.USAGE)
    messages = models.BigIntegerField(default=0)
    parts = models.BigIntegerField(default=0)
    charge_micros = models.BigIntegerField(default=0)
    # The invoicing plugin's invoice that billed the bucket (an opaque id); null while unbilled.
    billed_by = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[name.removesuffix("_id") for name in ROLLUP_KEY_FIELDS],  # the account by its field name
                condition=Q(billed_by__isnull=True),
                name="rollup_one_open_bucket_per_key",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "billed_by", "day"], name="rollup_account_claim_day"),
            models.Index(fields=["billed_by"], name="rollup_billed_by"),
        ]


class MessageRecord(models.Model):
    """One message submitted by an account, rated by the platform at send time. Unique per tenant by message id."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="records")
    message_id = models.CharField(max_length=64)
    submitted_at = models.DateTimeField()
    day = models.DateField(help_text="Local day of submitted_at in the tenant's time zone")
    destination = models.CharField(max_length=20)
    sender_id = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=2)
    mcc = models.CharField(max_length=3, blank=True)
    mnc = models.CharField(max_length=3, blank=True)
    network = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=20, choices=CHANNEL_CHOICES)
    encoding = models.CharField(max_length=10, choices=ENCODING_CHOICES)
    parts = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=STATUS_CHOICES)
    unit_price = models.DecimalField(max_digits=16, decimal_places=6)
    charge = models.DecimalField(max_digits=20, decimal_places=6)
    rolled_back = models.BooleanField(default=False)
    billing_method = models.CharField(max_length=10, choices=BillingMethod.choices)
    # The usage bucket this record was counted in (null while rolled back and never billed).
    rollup = models.ForeignKey(UsageRollup, null=True, blank=True, on_delete=models.SET_NULL, related_name="records")
    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ingested_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "message_id"], name="record_unique_message_per_tenant"),
        ]
        indexes = [models.Index(fields=["account", "submitted_at"], name="record_account_submitted")]

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED_STATUS


class RecordCorrection(models.Model):
    """A change to a record whose bucket was already billed: the delta went to a correction bucket."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    record = models.ForeignKey(MessageRecord, on_delete=models.CASCADE, related_name="corrections")
    rollup = models.ForeignKey(UsageRollup, on_delete=models.CASCADE, related_name="corrections")
    messages = models.IntegerField()
    parts = models.IntegerField()
    charge_micros = models.BigIntegerField()
    reason = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)
