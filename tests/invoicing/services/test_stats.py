import datetime
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.models import InvoiceMonthTotal, InvoiceTally, PaymentMonthTotal
from invoicing.selectors.dashboard import dashboard_figures
from invoicing.services.invoices import invoice_approve, invoice_create_prepaid, invoice_delete_draft, invoice_void
from invoicing.services.payments import payment_record, payment_reverse
from invoicing.services.stats import stats_rebuild, stats_snapshot
from msgplatform.core.errors import DomainError
from tests.factories import AccountFactory, LicenseFactory, TenantFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 20, 15, tzinfo=datetime.UTC), tick=False):
        yield


def test_counters_follow_create_approve_pay_reverse_void_and_delete(admin, user):
    a = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="100.00")
    b = invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        recharge_amount="40.00",
        as_draft=True,
        invoice_date=datetime.date(2026, 2, 10),
    )
    c = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="5.00", as_draft=True
    )
    invoice_approve(tenant=admin.tenant, invoice_id=b.id, actor_id=None)
    p = payment_record(
        tenant=admin.tenant,
        invoice_id=a.id,
        actor_id=None,
        amount="60.00",
        payment_date=datetime.date(2026, 3, 1),
        payment_type="cash",
    )
    payment_record(
        tenant=admin.tenant,
        invoice_id=b.id,
        actor_id=None,
        amount="40.00",
        payment_date=datetime.date(2026, 2, 20),
        payment_type="cash",
    )
    payment_reverse(tenant=admin.tenant, payment_id=p.id, actor_id=None, reason="bounced")
    invoice_void(tenant=admin.tenant, invoice_id=a.id, actor_id=None, reason="duplicate")
    invoice_delete_draft(tenant=admin.tenant, invoice_id=c.id, actor_id=None)

    snap = stats_snapshot(tenant=admin.tenant)
    assert snap["tally"] == [("approved", "paid", "manual", 1), ("void", "unpaid", "manual", 1)]
    assert snap["invoiced"] == [(datetime.date(2026, 2, 1), 40000, 0, 0)]
    assert snap["received"] == [(datetime.date(2026, 2, 1), 1, 40000)]
    fig = dashboard_figures(tenant=admin.tenant)
    assert (fig.invoices, fig.approved, fig.void, fig.paid, fig.payments) == (2, 1, 1, 1, 1)
    assert [m.invoiced for m in fig.series if m.invoiced] == [Decimal("40.00")]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["create", "draft", "approve", "pay", "reverse", "void", "delete"]),
            st.integers(0, 9),
            st.integers(1, 60),
        ),
        min_size=1,
        max_size=25,
    )
)
@pytest.mark.django_db
def test_counters_always_equal_a_rebuild_from_the_rows(ops):
    tenant = TenantFactory(currency="KWD")
    LicenseFactory(tenant=tenant)
    account = AccountFactory(tenant=tenant)
    invoices, payments = [], []
    for op, pick, amount in ops:
        try:
            if op in ("create", "draft"):
                invoices.append(
                    invoice_create_prepaid(
                        tenant=tenant,
                        account_id=account.id,
                        actor_id=None,
                        recharge_amount=f"{amount}.125",
                        as_draft=op == "draft",
                        invoice_date=datetime.date(2026, 1 + pick % 3, 1 + pick),
                    )
                )
            elif op == "approve" and invoices:
                invoice_approve(tenant=tenant, invoice_id=invoices[pick % len(invoices)].id, actor_id=None)
            elif op == "pay" and invoices:
                payments.append(
                    payment_record(
                        tenant=tenant,
                        invoice_id=invoices[pick % len(invoices)].id,
                        actor_id=None,
                        amount=f"{amount}.5",
                        payment_date=datetime.date(2026, 1 + pick % 3, 2),
                        payment_type="cash",
                    )
                )
            elif op == "reverse" and payments:
                payment_reverse(tenant=tenant, payment_id=payments[pick % len(payments)].id, actor_id=None, reason="r")
            elif op == "void" and invoices:
                invoice_void(tenant=tenant, invoice_id=invoices[pick % len(invoices)].id, actor_id=None, reason="v")
            elif op == "delete" and invoices:
                invoice_delete_draft(tenant=tenant, invoice_id=invoices[pick % len(invoices)].id, actor_id=None)
        except DomainError:
            pass
    kept = stats_snapshot(tenant=tenant)
    stats_rebuild(tenant=tenant)
    assert stats_snapshot(tenant=tenant) == kept
    for model in (InvoiceTally, InvoiceMonthTotal, PaymentMonthTotal):
        model.objects.filter(tenant=tenant).delete()
