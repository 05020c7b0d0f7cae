"""A known book of invoices and payments, written through the services, for the read-side tests.

Today is 2026-03-15 (12:00 UTC: the same day in New York and Berlin). The admin (USD) has:

    key  user     method    source     invoice date  due         total   state
    H    Nimbus   prepaid   manual     2025-03-20    2025-04-04   60.00  paid 2025-03-25 (outside the 12 months)
    G    Invent   prepaid   manual     2025-04-10    2025-04-25  500.00  paid 2025-04-15
    A    Nimbus   prepaid   manual     2026-01-10    2026-01-25  100.00  paid 2026-01-20
    R1   Orbit    postpaid  recurring  2026-02-01    2026-02-11  120.00  unpaid, overdue
    B    Invent   prepaid   manual     2026-02-05    2026-02-20  250.00  50.00 paid 2026-03-02, overdue
    C    Nimbus   prepaid   manual     2026-03-01    2026-03-15   80.00  unpaid, due today
    R2   Orbit    postpaid  recurring  2026-03-01    2026-03-11   30.00  draft
    E    Nimbus   prepaid   manual     2026-03-05    2026-03-20  300.00  void (its 300.00 payment reversed first)
    D    Invent   prepaid   manual     2026-03-10    2026-03-25   40.00  unpaid (its 40.00 payment reversed), not due
    P    Orbit    postpaid  manual     2026-03-11    2026-03-20   15.50  paid 2026-03-12
    F    Invent   prepaid   manual     2026-03-14    2026-03-29   70.00  draft

Numbers follow approval order: H INV-2025-00001, G -00002, A INV-2026-00003, B -00004, C -00005, D -00006,
E -00007, R1 -00008, P -00009. The other admin (EUR) has two invoices of its own user also named "Nimbus Ltd":
O1 999.00 paid, O2 123.00 unpaid and overdue, numbered INV-2026-00001 and -00002 in its own sequence.
"""

import datetime
import itertools
from dataclasses import dataclass

import pytest
import time_machine

from invoicing.models import Invoice
from invoicing.services.invoices import invoice_approve, invoice_create_postpaid, invoice_create_prepaid, invoice_void
from invoicing.services.payments import payment_record, payment_reverse
from invoicing.services.recurring import schedule_bill_due, schedule_create
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, record_row

D = datetime.date
NOW = datetime.datetime(2026, 3, 15, 12, tzinfo=datetime.UTC)
TODAY = D(2026, 3, 15)

_messages = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def prepaid(persona, account, amount, invoice_date, due_date=None, *, as_draft=False) -> Invoice:
    return invoice_create_prepaid(
        tenant=persona.tenant,
        account_id=account.id,
        actor_id=persona.login.id,
        recharge_amount=amount,
        invoice_date=invoice_date,
        due_date=due_date or invoice_date + datetime.timedelta(days=15),
        as_draft=as_draft,
    )


def pay(persona, invoice, amount, payment_date):
    return payment_record(
        tenant=persona.tenant,
        invoice_id=invoice.id,
        actor_id=persona.login.id,
        amount=amount,
        payment_date=payment_date,
        payment_type="bank_transfer",
    )


def reverse(persona, payment):
    return payment_reverse(tenant=persona.tenant, payment_id=payment.id, actor_id=persona.login.id, reason="bounced")


def usage(persona, account, day: str, price: str):
    """One message of one part at `price`, sent at 15:00 UTC on `day`."""
    row = record_row(account, next(_messages), submitted_at=f"{day}T15:00:00Z", unit_price=price)
    result = records_ingest(tenant=persona.tenant, rows=[row])
    assert result.created == 1, result.errors


@dataclass
class Book:
    H: Invoice
    G: Invoice
    A: Invoice
    R1: Invoice
    B: Invoice
    C: Invoice
    R2: Invoice
    E: Invoice
    D: Invoice
    P: Invoice
    F: Invoice
    O1: Invoice
    O2: Invoice

    def ids(self, *keys: str) -> list[int]:
        return [getattr(self, key).id for key in keys]


@pytest.fixture
def book(admin, other_admin, user, postpaid_user) -> Book:
    nimbus, orbit = user, postpaid_user
    invent = AccountFactory(tenant=admin.tenant, name="Invent Media GmbH")

    h = prepaid(admin, nimbus, "60.00", D(2025, 3, 20))
    pay(admin, h, "60.00", D(2025, 3, 25))
    g = prepaid(admin, invent, "500.00", D(2025, 4, 10))
    pay(admin, g, "500.00", D(2025, 4, 15))
    a = prepaid(admin, nimbus, "100.00", D(2026, 1, 10))
    pay(admin, a, "100.00", D(2026, 1, 20))
    b = prepaid(admin, invent, "250.00", D(2026, 2, 5))
    pay(admin, b, "50.00", D(2026, 3, 2))
    c = prepaid(admin, nimbus, "80.00", D(2026, 3, 1), D(2026, 3, 15))
    d = prepaid(admin, invent, "40.00", D(2026, 3, 10))
    reverse(admin, pay(admin, d, "40.00", D(2026, 3, 12)))
    e = prepaid(admin, nimbus, "300.00", D(2026, 3, 5))
    reverse(admin, pay(admin, e, "300.00", D(2026, 3, 6)))
    invoice_void(tenant=admin.tenant, invoice_id=e.id, actor_id=admin.login.id, reason="duplicate")

    # Orbit (postpaid): a monthly schedule bills January and February from usage; March is billed by hand.
    usage(admin, orbit, "2026-01-10", "120.00")
    usage(admin, orbit, "2026-02-10", "30.00")
    usage(admin, orbit, "2026-03-03", "15.50")
    schedule = schedule_create(
        tenant=admin.tenant,
        account_id=orbit.id,
        actor_id=None,
        interval="monthly",
        due_in_days=10,
        start_date=D(2026, 1, 1),
        confirm_past=True,
    )
    # Each period billed on time (the day after it ends), as the scheduler does when it is not down.
    (r1,) = schedule_bill_due(schedule_id=schedule.id, as_of=D(2026, 2, 1))
    (r2,) = schedule_bill_due(schedule_id=schedule.id, as_of=D(2026, 3, 1))
    r1 = invoice_approve(tenant=admin.tenant, invoice_id=r1.id, actor_id=admin.login.id)
    p = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=orbit.id,
        actor_id=admin.login.id,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 10),
        invoice_date=D(2026, 3, 11),
        due_date=D(2026, 3, 20),
    )
    pay(admin, p, "15.50", D(2026, 3, 12))
    f = prepaid(admin, invent, "70.00", D(2026, 3, 14), as_draft=True)

    other_user = AccountFactory(tenant=other_admin.tenant, name="Nimbus Ltd")
    o1 = prepaid(other_admin, other_user, "999.00", D(2026, 3, 1))
    pay(other_admin, o1, "999.00", D(2026, 3, 5))
    o2 = prepaid(other_admin, other_user, "123.00", D(2026, 1, 1))

    invoices = {k: Invoice.objects.get(pk=v.pk) for k, v in dict(H=h, G=g, A=a, R1=r1, B=b, C=c, R2=r2).items()}
    invoices |= {k: Invoice.objects.get(pk=v.pk) for k, v in dict(E=e, D=d, P=p, F=f, O1=o1, O2=o2).items()}
    return Book(**invoices)
