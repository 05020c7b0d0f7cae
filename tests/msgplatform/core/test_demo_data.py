"""manage.py demo_data loads licensed admins once."""

import io

from django.core.management import call_command

from invoicing import api
from msgplatform.accounts.models import Tenant


def test_demo_data_licenses_both_admins_for_prepaid_and_postpaid(db):
    call_command("demo_data", users=1, records=2, days=3, stdout=io.StringIO())

    licences = {t.name: api.license_for(t).modes for t in Tenant.objects.order_by("name")}

    assert licences == {"Acme Messaging": ("prepaid", "postpaid"), "Globex Telecom": ("prepaid", "postpaid")}
