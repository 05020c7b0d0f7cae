"""manage.py invoicing_run_billing [--as-of DATE] [--admin SLUG]: one idempotent billing tick, in this process."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from msgplatform.accounts.models import Tenant

from ...services.billing_runs import billing_run_start


class Command(BaseCommand):
    help = "Generate every due recurring draft (all admins, or one), as of today or a given date."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=datetime.date.fromisoformat, help="YYYY-MM-DD (default: each admin's today)"
        )
        parser.add_argument("--admin", help="Only this admin (signup slug)")

    def handle(self, *args, **options):
        tenant = None
        if options["admin"]:
            tenant = Tenant.objects.filter(signup_slug=options["admin"]).first()
            if tenant is None:
                raise CommandError(f"No admin with slug {options['admin']!r}.")
        run = billing_run_start(tenant=tenant, as_of=options["as_of"])
        self.stdout.write(
            f"billing run {run.id}: schedules={run.schedules_total} drafts={run.drafts_created} errors={run.errors}"
        )
