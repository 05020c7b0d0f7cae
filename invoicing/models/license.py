"""The Invoicing Licence an Admin must hold for the module to exist for it (SPEC §2, "License")."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q


class InvoicingLicense(models.Model):
    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, related_name="invoicing_license")
    prepaid = models.BooleanField(default=True)
    postpaid = models.BooleanField(default=True)
    valid_until = models.DateField(help_text="Last day (tenant time) the licence is valid")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(prepaid=True) | Q(postpaid=True), name="license_covers_a_mode"),
        ]

    def is_active_on(self, day: datetime.date) -> bool:
        return self.revoked_at is None and day <= self.valid_until

    @property
    def modes(self) -> list[str]:
        return [m for m, on in (("prepaid", self.prepaid), ("postpaid", self.postpaid)) if on]
