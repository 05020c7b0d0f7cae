"""Stateful property test of the billing invariant: every billable message is in exactly one non-void invoice.

Random ingestion (late, duplicate, rolled-back records), schedule create/stop/start, ticks at random dates, manual
postpaid invoices, approvals, voids and draft deletions. After every step:
- every claimed bucket belongs to one existing non-void invoice, whose lines carry exactly the claimed charge;
- for each postpaid user, the charges of its records (not rolled back) equal what non-void invoices billed plus
  what is still unbilled: nothing lost, nothing billed twice;
- a user's non-void invoice periods never overlap; one non-void invoice per (schedule, period start);
- after a tick, no active schedule has a due period left.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from invoicing.models import BillingSchedule, Invoice, InvoiceLine
from invoicing.periods import next_period
from invoicing.services.billing_runs import billing_run_start
from invoicing.services.invoices import (
    invoice_approve,
    invoice_create_postpaid,
    invoice_delete_draft,
    invoice_void,
)
from invoicing.services.recurring import invoice_regenerate, schedule_create, schedule_start, schedule_stop
from invoicing.services.stats import stats_rebuild, stats_snapshot
from msgplatform.core.errors import DomainError
from msgplatform.messaging.models import MICROS, MessageRecord, UsageRollup
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, LicenseFactory, TenantFactory, record_row

BASE = datetime.date(2026, 1, 1)
PRICES = ["0.004175", "0.01", "0.0333", "0.5"]


class BillingMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.tenant = TenantFactory(timezone="America/New_York")
        LicenseFactory(tenant=self.tenant)
        self.accounts = [AccountFactory(tenant=self.tenant, billing_method="postpaid") for _ in range(2)]
        self.prepaid = AccountFactory(tenant=self.tenant)
        self.today = BASE + datetime.timedelta(days=5)
        self.ticked = False

    def _record(self, number: int, status: str, rolled_back: bool):
        # Everything but status and rolled_back is fixed by the number, so a re-send is a duplicate or an update.
        account = ([*self.accounts, self.prepaid])[number % 3]
        day = BASE + datetime.timedelta(days=(number * 7) % 120)
        return record_row(
            account,
            f"{self.tenant.id}-{number}",
            submitted_at=f"{day}T17:00:00Z",
            unit_price=PRICES[number % 4],
            parts=1 + number % 2,
            status=status,
            rolled_back=rolled_back,
        )

    @rule(
        numbers=st.lists(st.integers(0, 40), min_size=1, max_size=6),
        status=st.sampled_from(["DELIVRD", "UNDELIV"]),
        rolled_back=st.booleans(),
    )
    def ingest(self, numbers, status, rolled_back):
        records_ingest(tenant=self.tenant, rows=[self._record(n, status, rolled_back and n % 2 == 0) for n in numbers])
        self.ticked = False

    @rule(
        which=st.integers(0, 1),
        offset=st.integers(0, 20),
        interval=st.sampled_from(["monthly", "weekly", "every_n_days"]),
    )
    def create_schedule(self, which, offset, interval):
        self.ticked = False
        try:
            schedule_create(
                tenant=self.tenant,
                account_id=self.accounts[which].id,
                actor_id=None,
                interval=interval,
                every_n_days=10,
                start_date=BASE + datetime.timedelta(days=offset),
            )
        except DomainError:
            pass

    @rule(which=st.integers(0, 1))
    def stop_or_start(self, which):
        schedule = BillingSchedule.objects.filter(account=self.accounts[which]).first()
        if schedule is None:
            return
        self.ticked = False
        with time_machine.travel(datetime.datetime.combine(self.today, datetime.time(18), datetime.UTC), tick=False):
            try:
                if schedule.status == "active":
                    schedule_stop(tenant=self.tenant, schedule_id=schedule.id, actor_id=None)
                else:
                    schedule_start(tenant=self.tenant, schedule_id=schedule.id, actor_id=None)
            except DomainError:
                pass

    @rule(days=st.integers(1, 25))
    def tick(self, days):
        self.today = min(self.today + datetime.timedelta(days=days), datetime.date(2026, 12, 31))
        run = billing_run_start(tenant=self.tenant, as_of=self.today)
        event("tick created drafts" if run.drafts_created else "tick created no draft")
        self.ticked = True

    @rule(which=st.integers(0, 1), start=st.integers(0, 110), length=st.integers(0, 30), draft=st.booleans())
    def manual_invoice(self, which, start, length, draft):
        self.ticked = False
        begin = BASE + datetime.timedelta(days=start)
        try:
            invoice_create_postpaid(
                tenant=self.tenant,
                account_id=self.accounts[which].id,
                actor_id=None,
                period_start=begin,
                period_end=begin + datetime.timedelta(days=length),
                as_draft=draft,
            )
        except DomainError:
            pass

    @precondition(lambda self: Invoice.objects.filter(tenant=self.tenant).exists())
    @rule(pick=st.integers(0, 50), action=st.sampled_from(["approve", "void", "delete", "regenerate"]))
    def act_on_invoice(self, pick, action):
        self.ticked = False
        invoices = list(Invoice.objects.filter(tenant=self.tenant).exclude(status="void").order_by("id"))
        if not invoices:
            return
        invoice = invoices[pick % len(invoices)]
        call = {"approve": invoice_approve, "delete": invoice_delete_draft, "regenerate": invoice_regenerate}.get(
            action
        )
        try:
            if action == "void":
                invoice_void(tenant=self.tenant, invoice_id=invoice.id, actor_id=None, reason="test")
            else:
                call(tenant=self.tenant, invoice_id=invoice.id, actor_id=None)
        except DomainError:
            pass

    @invariant()
    def claims_belong_to_live_invoices_and_match_their_lines(self):
        if not hasattr(self, "tenant"):
            return
        live = {i.id: i for i in Invoice.objects.filter(tenant=self.tenant).exclude(status="void")}
        claimed = {}
        for bucket in UsageRollup.objects.filter(tenant=self.tenant, billed_by__isnull=False):
            assert bucket.billed_by in live, f"bucket {bucket.id} claimed by dead invoice {bucket.billed_by}"
            claimed[bucket.billed_by] = claimed.get(bucket.billed_by, 0) + bucket.charge_micros
        for invoice_id, invoice in live.items():
            if invoice.billing_method != "postpaid":
                continue
            raw = InvoiceLine.objects.filter(invoice_id=invoice_id).aggregate(s=Sum("raw_charge"))["s"] or 0
            assert Decimal(claimed.get(invoice_id, 0)) / MICROS == raw

    @invariant()
    def nothing_lost_nothing_doubled(self):
        if not hasattr(self, "tenant"):
            return
        for account in self.accounts:
            charged = sum(
                (r.charge for r in MessageRecord.objects.filter(account=account, rolled_back=False)), Decimal(0)
            )
            billed = InvoiceLine.objects.filter(invoice__account=account).exclude(invoice__status="void").aggregate(
                s=Sum("raw_charge")
            )["s"] or Decimal(0)
            unbilled = (
                Decimal(
                    UsageRollup.objects.filter(account=account, billed_by__isnull=True).aggregate(
                        s=Sum("charge_micros")
                    )["s"]
                    or 0
                )
                / MICROS
            )
            assert charged == billed + unbilled
        assert not UsageRollup.objects.filter(account=self.prepaid, billed_by__isnull=False).exists()

    @invariant()
    def dashboard_counters_equal_a_direct_aggregate(self):
        if not hasattr(self, "tenant"):
            return
        kept = stats_snapshot(tenant=self.tenant)
        with transaction.atomic():
            stats_rebuild(tenant=self.tenant)
            assert stats_snapshot(tenant=self.tenant) == kept
            transaction.set_rollback(True)

    @invariant()
    def periods_never_overlap(self):
        if not hasattr(self, "tenant"):
            return
        for account in self.accounts:
            periods = sorted(
                Invoice.objects.filter(account=account)
                .exclude(status="void")
                .values_list("period_start", "period_end", "schedule_id")
            )
            for (s1, e1, _), (s2, _e2, _) in zip(periods, periods[1:], strict=False):
                assert s2 > e1, f"overlap {s1}..{e1} and {s2}"

    @invariant()
    def no_due_period_left_after_a_tick(self):
        if not getattr(self, "ticked", False):
            return
        for schedule in BillingSchedule.objects.filter(tenant=self.tenant, status="active"):
            period = next_period(schedule)
            assert period is None or period.invoice_date > self.today


@pytest.mark.django_db
def test_every_billable_message_is_in_exactly_one_non_void_invoice():
    with time_machine.travel(datetime.datetime(2026, 12, 31, 18, tzinfo=datetime.UTC), tick=False):
        BillingMachine.TestCase.settings = settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        BillingMachine.TestCase().runTest()
