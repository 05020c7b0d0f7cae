"""Granting and revoking the Invoicing Licence (platform owner only)."""

import datetime

from django.db import transaction
from django.utils import timezone

from msgplatform.core.errors import ValidationFailed

from .. import events
from ..models import InvoicingLicense


@transaction.atomic
def license_grant(
    *, tenant, prepaid: bool, postpaid: bool, valid_until: datetime.date, actor_id: int | None
) -> InvoicingLicense:
    if not (prepaid or postpaid):
        raise ValidationFailed("A licence covers prepaid, postpaid or both.", field="prepaid")
    if valid_until is None:
        raise ValidationFailed("Give the last day of validity.", field="valid_until")
    lic, _ = InvoicingLicense.objects.update_or_create(
        tenant=tenant,
        defaults={
            "prepaid": prepaid,
            "postpaid": postpaid,
            "valid_until": valid_until,
            "granted_by_id": actor_id,
            "revoked_at": None,
        },
    )
    modes = "+".join(lic.modes)
    events.license_granted(lic, actor_id=actor_id, modes=modes, valid_until=valid_until)
    return lic


@transaction.atomic
def license_revoke(*, tenant, actor_id: int | None) -> None:
    updated = InvoicingLicense.objects.filter(tenant=tenant, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        events.license_revoked(tenant, actor_id=actor_id)
