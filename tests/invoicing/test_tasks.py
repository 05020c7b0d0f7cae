import datetime

from django.utils import timezone

from invoicing.models import IdempotencyKey
from invoicing.tasks import housekeeping


def test_housekeeping_forgets_keys_older_than_a_day(admin):
    old = IdempotencyKey.objects.create(tenant=admin.tenant, user=admin.login, key="old", fingerprint="f" * 64)
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(hours=25))
    IdempotencyKey.objects.create(tenant=admin.tenant, user=admin.login, key="new", fingerprint="f" * 64)

    assert housekeeping() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
