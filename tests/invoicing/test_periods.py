import datetime

import pytest

from invoicing.models import BillingSchedule
from invoicing.periods import add_months, anchor, next_period

D = datetime.date


JAN_31 = D(2024, 1, 31)


def schedule(interval="monthly", start=JAN_31, covered=None, end=None, n=None, resumed=None, due=10):
    return BillingSchedule(
        interval=interval,
        start_date=start,
        every_n_days=n,
        due_in_days=due,
        end_date=end,
        covered_through=covered or start - datetime.timedelta(days=1),
        resumed_on=resumed,
    )


def periods(s, count):
    out = []
    for _ in range(count):
        p = next_period(s)
        if p is None:
            break
        out.append((p.start, p.end, p.invoice_date))
        s.covered_through = p.end
    return out


def test_monthly_anchored_on_the_31st_clamps_to_month_ends_in_a_leap_year():
    assert periods(schedule(), 4) == [
        (D(2024, 1, 31), D(2024, 2, 28), D(2024, 2, 29)),
        (D(2024, 2, 29), D(2024, 3, 30), D(2024, 3, 31)),
        (D(2024, 3, 31), D(2024, 4, 29), D(2024, 4, 30)),
        (D(2024, 4, 30), D(2024, 5, 30), D(2024, 5, 31)),
    ]


def test_monthly_in_a_common_year_goes_31_jan_28_feb_31_mar():
    assert [anchor(start=D(2025, 1, 31), interval="monthly", every_n_days=None, k=k) for k in range(3)] == [
        D(2025, 1, 31),
        D(2025, 2, 28),
        D(2025, 3, 31),
    ]


def test_quarterly_weekly_fortnightly_and_every_n_days():
    assert periods(schedule("quarterly", D(2025, 11, 30)), 2) == [
        (D(2025, 11, 30), D(2026, 2, 27), D(2026, 2, 28)),
        (D(2026, 2, 28), D(2026, 5, 29), D(2026, 5, 30)),
    ]
    assert periods(schedule("weekly", D(2026, 3, 2)), 2) == [
        (D(2026, 3, 2), D(2026, 3, 8), D(2026, 3, 9)),
        (D(2026, 3, 9), D(2026, 3, 15), D(2026, 3, 16)),
    ]
    assert periods(schedule("fortnightly", D(2026, 12, 21)), 2) == [
        (D(2026, 12, 21), D(2027, 1, 3), D(2027, 1, 4)),
        (D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 18)),
    ]
    assert periods(schedule("every_n_days", D(2024, 2, 27), n=3), 2) == [
        (D(2024, 2, 27), D(2024, 2, 29), D(2024, 3, 1)),
        (D(2024, 3, 1), D(2024, 3, 3), D(2024, 3, 4)),
    ]


def test_end_date_truncates_the_last_period_then_nothing():
    s = schedule("monthly", D(2026, 1, 1), end=D(2026, 2, 10))
    assert periods(s, 5) == [
        (D(2026, 1, 1), D(2026, 1, 31), D(2026, 2, 1)),
        (D(2026, 2, 1), D(2026, 2, 10), D(2026, 2, 11)),
    ]
    assert next_period(s) is None


def test_after_a_restart_the_period_runs_from_coverage_to_the_current_natural_period_end():
    s = schedule("monthly", D(2026, 1, 1), covered=D(2026, 1, 31), resumed=D(2026, 4, 10))
    p = next_period(s)
    assert (p.start, p.end, p.invoice_date) == (D(2026, 2, 1), D(2026, 4, 30), D(2026, 5, 1))


def test_due_date_is_invoice_date_plus_due_in_days():
    p = next_period(schedule("monthly", D(2026, 1, 1), due=15))
    assert (p.invoice_date, p.due_date) == (D(2026, 2, 1), D(2026, 2, 16))


@pytest.mark.parametrize(
    "day,months,expected",
    [
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2024, 11, 30), 3, D(2025, 2, 28)),
        (D(2024, 12, 15), 1, D(2025, 1, 15)),
    ],
)
def test_add_months_clamps(day, months, expected):
    assert add_months(day, months) == expected
