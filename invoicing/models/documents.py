"""Stored documents: the immutable PDF versions of approved invoices."""

from django.db import models


class InvoiceDocument(models.Model):
    """One immutable PDF rendering of an approved invoice, per payment state (SPEC §3). Never re-rendered."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.CASCADE, related_name="documents")
    version = models.PositiveIntegerField()
    state_key = models.CharField(max_length=120, help_text="Status and payments the rendering shows")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    template_version = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "version"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "version"], name="document_version_unique"),
            models.UniqueConstraint(fields=["invoice", "state_key"], name="document_once_per_state"),
        ]
