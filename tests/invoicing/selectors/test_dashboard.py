"""Dashboard figures: exact amounts for the known book, tenant scoping, the month series and its query count."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing.selectors.dashboard import MonthFigures, dashboard_figures, month_starts
from invoicing.services.invoices import invoice_void
from tests.factories import AccountFactory

from .conftest import TODAY, D, pay, prepaid


def test_the_book_is_what_the_tests_expect(book):
    numbers = [getattr(book, k).number for k in ("H", "G", "A", "B", "C", "D", "E", "R1", "P", "R2", "F")]
    assert numbers[:9] == [
        "INV-2025-00001",
        "INV-2025-00002",
        "INV-2026-00003",
        "INV-2026-00004",
        "INV-2026-00005",
        "INV-2026-00006",
        "INV-2026-00007",
        "INV-2026-00008",
        "INV-2026-00009",
    ]
    assert numbers[9:] == [None, None]
    assert (book.R1.source, book.R1.invoice_date, book.R1.due_date, book.R1.total) == (
        "recurring",
        D(2026, 2, 1),
        D(2026, 2, 11),
        Decimal("120.00"),
    )
    assert (book.R2.source, book.R2.status, book.R2.total) == ("recurring", "draft", Decimal("30.00"))
    assert (book.P.total, book.P.payment_status) == (Decimal("15.50"), "paid")
    assert (book.B.payment_status, book.B.balance_due) == ("partially_paid", Decimal("200.00"))
    assert (book.D.payment_status, book.E.status) == ("unpaid", "void")


def months(*given_months):
    """The 12 months ending March 2026, zero except the given (month, invoiced, received)."""
    given = {m: (Decimal(invoiced), Decimal(received)) for m, invoiced, received in given_months}
    zero = (Decimal("0.00"), Decimal("0.00"))
    return tuple(MonthFigures(m, *given.get(m, zero)) for m in month_starts(TODAY)[:-1])


def test_figures_of_the_book(book, admin):
    fig = dashboard_figures(tenant=admin.tenant)

    assert (fig.today, fig.currency) == (TODAY, "USD")
    assert (fig.invoices, fig.approved, fig.drafts, fig.void) == (11, 8, 2, 1)
    assert (fig.paid, fig.unpaid, fig.partially_paid, fig.unsettled) == (4, 3, 1, 4)
    assert fig.outstanding_amount == Decimal("440.00")  # B 200 + C 80 + D 40 + R1 120
    assert (fig.overdue_amount, fig.overdue_count) == (Decimal("320.00"), 2)  # B and R1; C is due today
    assert fig.received_this_month == Decimal("65.50")  # B 50 + P 15.50; D's and E's payments were reversed
    assert (fig.recurring, fig.payments) == (2, 5)
    assert fig.series == months(
        (D(2025, 4, 1), "500.00", "500.00"),
        (D(2026, 1, 1), "100.00", "100.00"),
        (D(2026, 2, 1), "370.00", "0.00"),  # B 250 + R1 120
        (D(2026, 3, 1), "135.50", "65.50"),  # C 80 + D 40 + P 15.50; E void, F and R2 drafts
    )


def test_amounts_are_decimals_quantised_to_the_currency(book, admin):
    fig = dashboard_figures(tenant=admin.tenant)

    amounts = [fig.outstanding_amount, fig.overdue_amount, fig.received_this_month]
    amounts += [a for m in fig.series for a in (m.invoiced, m.received)]
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)


def test_another_admins_invoices_are_never_counted(book, admin, other_admin):
    mine = dashboard_figures(tenant=admin.tenant)
    theirs = dashboard_figures(tenant=other_admin.tenant)

    assert (theirs.currency, theirs.invoices, theirs.approved, theirs.paid, theirs.unpaid) == ("EUR", 2, 2, 1, 1)
    assert (theirs.outstanding_amount, theirs.overdue_amount, theirs.overdue_count) == (
        Decimal("123.00"),
        Decimal("123.00"),
        1,
    )
    assert (theirs.received_this_month, theirs.payments, theirs.recurring) == (Decimal("999.00"), 1, 0)
    assert theirs.series[-1] == MonthFigures(D(2026, 3, 1), Decimal("999.00"), Decimal("999.00"))
    assert theirs.series[-3] == MonthFigures(D(2026, 1, 1), Decimal("123.00"), Decimal("0.00"))
    # and the other admin's rows changed nothing of the first admin's figures
    assert (mine.invoices, mine.outstanding_amount, mine.received_this_month) == (
        11,
        Decimal("440.00"),
        Decimal("65.50"),
    )


def test_an_admin_without_invoices_sees_zeros(admin):
    fig = dashboard_figures(tenant=admin.tenant)

    assert (fig.invoices, fig.approved, fig.drafts, fig.void, fig.paid, fig.unsettled, fig.payments) == (0,) * 7
    assert (fig.outstanding_amount, fig.overdue_amount, fig.received_this_month) == (Decimal("0.00"),) * 3
    assert fig.series == months()


def test_an_explicit_today_moves_the_overdue_line_and_the_window(book, admin):
    fig = dashboard_figures(tenant=admin.tenant, today=D(2026, 3, 16))
    assert (fig.overdue_amount, fig.overdue_count) == (Decimal("400.00"), 3)  # C became overdue

    fig = dashboard_figures(tenant=admin.tenant, today=D(2026, 2, 15))
    assert (fig.overdue_amount, fig.overdue_count) == (Decimal("120.00"), 1)  # only R1 (due 02-11)
    assert fig.received_this_month == Decimal("0.00")
    assert [m.month for m in fig.series] == month_starts(D(2026, 2, 15))[:-1]
    assert fig.series[0] == MonthFigures(D(2025, 3, 1), Decimal("60.00"), Decimal("60.00"))  # H is in this window


def test_today_is_the_tenants_own_day(admin):
    admin.tenant.timezone = "Pacific/Kiritimati"  # UTC+14: already 16 March there at 12:00 UTC
    admin.tenant.save()

    assert dashboard_figures(tenant=admin.tenant).today == D(2026, 3, 16)


def test_month_starts_cross_the_year():
    assert month_starts(D(2026, 1, 31)) == [D(2025, m, 1) for m in range(2, 13)] + [D(2026, 1, 1), D(2026, 2, 1)]
    assert month_starts(D(2026, 12, 1), months=2) == [D(2026, 11, 1), D(2026, 12, 1), D(2027, 1, 1)]


def _queries(tenant) -> int:
    with CaptureQueriesContext(connection) as ctx:
        dashboard_figures(tenant=tenant)
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_invoices(admin, user, django_assert_max_num_queries):
    other = AccountFactory(tenant=admin.tenant, name="Second Ltd")

    def add(start, stop):
        for i in range(start, stop):
            invoice = prepaid(admin, (user, other)[i % 2], f"{10 + i}.25", D(2026, 1 + i % 3, 1 + i % 27))
            if i % 3:
                pay(admin, invoice, "5.00", D(2026, 3, 1 + i % 14))

    add(0, 3)
    with django_assert_max_num_queries(4):
        small = dashboard_figures(tenant=admin.tenant)
    with_three = _queries(admin.tenant)

    add(3, 30)
    with django_assert_max_num_queries(4):
        large = dashboard_figures(tenant=admin.tenant)

    assert (small.invoices, large.invoices) == (3, 30)
    assert _queries(admin.tenant) == with_three == 4
    assert large.payments == 20 and large.received_this_month == Decimal("100.00")
    assert sum(m.invoiced for m in large.series) == sum(Decimal(f"{10 + i}.25") for i in range(30))


def test_void_invoices_count_only_as_void(admin, user):
    invoice = prepaid(admin, user, "45.00", D(2026, 3, 1), D(2026, 3, 2))
    invoice_void(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, reason="wrong user")
    fig = dashboard_figures(tenant=admin.tenant)

    assert (fig.invoices, fig.void, fig.approved, fig.unpaid, fig.overdue_count) == (1, 1, 0, 0, 0)
    assert fig.outstanding_amount == fig.overdue_amount == fig.series[-1].invoiced == Decimal("0.00")
