import datetime
from decimal import Decimal

import pytest

from invoicing.models import Invoice
from invoicing.rules import Action, due_status, invoice_actions

D = datetime.date


DUE = D(2026, 3, 10)


def make(status="approved", total="100.00", paid="0.00", due=DUE):
    return Invoice(
        status=status,
        total=Decimal(total),
        amount_paid=Decimal(paid),
        balance_due=Decimal(total) - Decimal(paid),
        due_date=due,
    )


@pytest.mark.parametrize(
    "today,expected",
    [
        (D(2026, 3, 9), ("not_due", 0)),
        (D(2026, 3, 10), ("due_today", 0)),
        (D(2026, 3, 11), ("overdue", 1)),
        (D(2026, 4, 9), ("overdue", 30)),
    ],
)
def test_due_status_from_today(today, expected):
    due = due_status(make(), today)
    assert (due.status, due.days_overdue) == expected


def test_paid_draft_and_void_invoices_have_no_due_status():
    late = D(2026, 5, 1)
    assert due_status(make(paid="100.00"), late).status is None
    assert due_status(make(status="draft"), late).status is None
    assert due_status(make(status="void"), late).status is None


def test_actions_follow_the_transition_table():
    assert invoice_actions(make(status="draft")) == [
        Action.VIEW,
        Action.EDIT,
        Action.APPROVE,
        Action.DELETE,
        Action.DOWNLOAD,
    ]
    assert invoice_actions(make()) == [
        Action.VIEW,
        Action.DOWNLOAD,
        Action.EMAIL,
        Action.RECORD_PAYMENT,
        Action.REMIND,
        Action.VOID,
        Action.CREDIT_NOTE,
    ]
    assert invoice_actions(make(paid="40.00")) == [
        Action.VIEW,
        Action.DOWNLOAD,
        Action.EMAIL,
        Action.RECORD_PAYMENT,
        Action.REMIND,
        Action.CREDIT_NOTE,
    ]
    assert invoice_actions(make(paid="100.00")) == [Action.VIEW, Action.DOWNLOAD, Action.EMAIL, Action.CREDIT_NOTE]
    assert invoice_actions(make(status="void")) == [Action.VIEW, Action.DOWNLOAD]


def test_a_credited_invoice_is_not_voided_and_a_fully_credited_one_takes_no_more_credit():
    part = make()
    part.credited_total = Decimal("30.00")
    part.balance_due = Decimal("70.00")
    assert Action.VOID not in invoice_actions(part) and Action.CREDIT_NOTE in invoice_actions(part)
    whole = make()
    whole.credited_total, whole.balance_due = Decimal("100.00"), Decimal("0.00")
    assert invoice_actions(whole) == [Action.VIEW, Action.DOWNLOAD, Action.EMAIL]
