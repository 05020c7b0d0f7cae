"""manage.py invoicing_stats_rebuild [--admin SLUG]: recompute the dashboard counters from invoices and payments."""

from django.core.management.base import BaseCommand

from msgplatform.accounts.models import Tenant

from ...services.stats import stats_rebuild


class Command(BaseCommand):
    help = "Recompute the dashboard's summary counters (after a bulk import or to repair them)."

    def add_arguments(self, parser):
        parser.add_argument("--admin", help="Only this admin (signup slug)")

    def handle(self, *args, **options):
        tenants = Tenant.objects.all()
        if options["admin"]:
            tenants = tenants.filter(signup_slug=options["admin"])
        for tenant in tenants:
            stats_rebuild(tenant=tenant)
            self.stdout.write(f"{tenant.name}: counters rebuilt")
