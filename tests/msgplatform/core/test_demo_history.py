"""manage.py demo_data loads a year of an admin's invoicing, made by the services, once."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from invoicing import api
from invoicing.models import (
    BillingSchedule,
    CreditEntry,
    CreditNote,
    CustomerCredit,
    EmailLog,
    Invoice,
    Job,
    Payment,
    PaymentType,
    Receipt,
    Refund,
)
from invoicing.selectors.dashboard import dashboard_figures
from msgplatform.accounts.models import Account, BalanceTransaction, Tenant
from msgplatform.core.management.commands.demo_data import PASSWORD
from msgplatform.messaging.models import MessageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("demo_data", users=6, records=60, stdout=io.StringIO())
    return Tenant.objects.order_by("name")


def _states(tenant) -> set[tuple[str, str]]:
    return set(Invoice.objects.filter(tenant=tenant).values_list("status", "payment_status"))


def test_every_invoice_state_is_in_the_demo(demo):
    for tenant in demo:
        states = _states(tenant)
        assert {
            ("draft", "unpaid"),
            ("approved", "unpaid"),
            ("approved", "partially_paid"),
            ("approved", "paid"),
            ("void", "unpaid"),
        } <= states, tenant.name
        figures = dashboard_figures(tenant=tenant)
        assert figures.overdue_count > 0
        assert Invoice.objects.filter(tenant=tenant, status="draft").exclude(anomaly_reason="").exists()


def test_demo_dashboard_figures_are_not_zero(demo):
    for tenant in demo:
        figures = dashboard_figures(tenant=tenant)
        assert figures.outstanding_amount > 0
        assert figures.overdue_amount > 0
        assert figures.received_this_month > 0
        assert figures.recurring > 0
        assert figures.payments > 0
        assert all(month.invoiced > 0 for month in figures.series)
        assert all(month.received > 0 for month in figures.series)


def test_demo_payments_schedules_and_outbox(demo):
    for tenant in demo:
        payments = Payment.objects.filter(tenant=tenant)
        assert set(payments.values_list("payment_type", flat=True)) == {*PaymentType.values, "credit"}
        assert payments.filter(reversed_at__isnull=False).count() == 1
        assert set(BillingSchedule.objects.filter(tenant=tenant).values_list("status", flat=True)) == {
            "active",
            "stopped",
        }
        assert EmailLog.objects.filter(tenant=tenant, status="queued").exists()
        assert Job.objects.filter(tenant=tenant, kind="bulk_reminder").exists()
        assert api.license_for(tenant).modes == ("prepaid", "postpaid")


def test_demo_has_credit_notes_customer_credit_and_a_payment_for_a_user(demo):
    for tenant in demo:
        notes = CreditNote.objects.filter(tenant=tenant)
        assert notes.count() == 2
        assert notes.filter(to_customer_credit__gt=0).count() == 1
        assert dashboard_figures(tenant=tenant).credit_notes == 2
        receipt = Receipt.objects.get(tenant=tenant)
        assert receipt.unallocated == Decimal("100.00") and receipt.allocations.count() >= 1
        assert Refund.objects.filter(tenant=tenant, amount=Decimal("100.00")).count() == 1
        for credit in CustomerCredit.objects.filter(tenant=tenant):
            entries = CreditEntry.objects.filter(account=credit.account).values_list("amount", flat=True)
            assert credit.balance == sum(entries, Decimal(0)) and credit.balance >= 0
        assert CustomerCredit.objects.filter(tenant=tenant, balance__gt=0).exists()


def test_demo_balances_keep_the_ledger_rules(demo):
    accounts = Account.objects.filter(tenant__in=demo)
    for account in accounts.filter(billing_method="prepaid"):
        assert account.balance >= 0
        assert not BalanceTransaction.objects.filter(account=account, balance_after__lt=0).exists()
    for account in accounts.filter(billing_method="postpaid"):
        assert account.balance >= -account.overdraft_limit
        floor = -account.overdraft_limit
        assert not BalanceTransaction.objects.filter(account=account, balance_after__lt=floor).exists()


def test_second_demo_run_adds_nothing(demo):
    counts = (Invoice.objects.count(), Payment.objects.count(), MessageRecord.objects.count())
    out = io.StringIO()

    call_command("demo_data", users=6, records=60, stdout=out)

    assert (Invoice.objects.count(), Payment.objects.count(), MessageRecord.objects.count()) == counts
    assert "nothing added" in out.getvalue()


def test_the_demo_owner_lands_on_a_full_dashboard(demo):
    client = Client()
    client.post("/login/", {"username": "acme-billing", "password": PASSWORD})

    page = client.get("/", follow=True)

    assert page.redirect_chain[-1][0] == "/invoicing/"
    chart = page.context["chart"]
    assert len(chart["invoiced"]) == 12
    assert all(Decimal(amount) > 0 for amount in chart["invoiced"] + chart["received"])
