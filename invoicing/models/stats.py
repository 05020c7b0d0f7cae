"""Summary counters of the dashboard, kept by the services in the same transaction as each change.

Amounts are integer thousandths of the base currency (`*_milli`: every currency has at most 3 decimals), exact on
every database. `services.stats` writes them; `manage.py invoicing_stats_rebuild` recomputes them from the
invoices and payments, and a property test checks they always equal a direct aggregate.
"""

from django.db import models


class InvoiceTally(models.Model):
    """Number of invoices per (status, payment status, source) of one admin."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    status = models.CharField(max_length=10)
    payment_status = models.CharField(max_length=16)
    source = models.CharField(max_length=10)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "status", "payment_status", "source"], name="tally_key")
        ]


class InvoiceMonthTotal(models.Model):
    """Total of approved (non-void) invoices per invoice-date month."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    month = models.DateField()
    invoiced_milli = models.BigIntegerField(default=0, db_default=0)
    # Credit notes issued in the month (by issue date): how many and their totals.
    credited_count = models.BigIntegerField(default=0, db_default=0)
    credited_milli = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "month"], name="invoice_month_key")]


class PaymentMonthTotal(models.Model):
    """Payments received (not reversed) per payment-date month."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    month = models.DateField()
    count = models.BigIntegerField(default=0)
    amount_milli = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "month"], name="payment_month_key")]
