from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.money import (
    credited_so_far,
    line_amount,
    money_format,
    money_parse,
    money_round,
    quantum,
    totals_compute,
)
from msgplatform.core.errors import ValidationFailed


@pytest.mark.parametrize(
    "currency,expected",
    [("USD", Decimal("0.01")), ("JPY", Decimal("1")), ("KWD", Decimal("0.001")), ("EUR", Decimal("0.01"))],
)
def test_minor_unit_comes_from_babel(currency, expected):
    assert quantum(currency) == expected


def test_rounding_is_half_up_at_line_level():
    assert money_round(Decimal("0.125"), "USD") == Decimal("0.13")
    assert money_round(Decimal("2.5"), "JPY") == Decimal("3")
    assert money_round(Decimal("0.0005"), "KWD") == Decimal("0.001")
    assert line_amount(Decimal("3"), Decimal("0.004175"), "USD") == Decimal("0.01")


def test_worked_example_of_the_spec():
    totals = totals_compute(line_amounts=[Decimal("1000.00")], tax_rates=[(1, "VAT", Decimal("7.5"))], currency="USD")
    assert (totals.subtotal, totals.tax_total, totals.total) == (
        Decimal("1000.00"),
        Decimal("75.00"),
        Decimal("1075.00"),
    )
    first = credited_so_far(base=Decimal("1000.00"), paid=Decimal("500.00"), total=totals.total, currency="USD")
    second = credited_so_far(base=Decimal("1000.00"), paid=Decimal("1075.00"), total=totals.total, currency="USD")
    assert (first, second - first) == (Decimal("465.12"), Decimal("534.88"))


def test_each_tax_is_on_the_subtotal_never_on_another_tax():
    totals = totals_compute(
        line_amounts=[Decimal("10.00")], tax_rates=[(1, "A", Decimal("10")), (2, "B", Decimal("5"))], currency="USD"
    )
    assert [t.amount for t in totals.taxes] == [Decimal("1.00"), Decimal("0.50")]
    assert totals.total == Decimal("11.50")


def test_money_is_never_float():
    with pytest.raises(TypeError):
        money_round(0.1, "USD")


def test_format_follows_the_currency():
    assert money_format(Decimal("1234.5"), "USD") == "$1,234.50"
    assert money_format(Decimal("1234"), "JPY") == "¥1,234"


currencies = st.sampled_from(["USD", "JPY", "KWD", "EUR"])
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3)
rates = st.lists(st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=2), max_size=3)


@given(
    currency=currencies,
    raw_lines=st.lists(amounts, min_size=1, max_size=8),
    tax_rates=rates,
    splits=st.lists(st.integers(1, 100), min_size=1, max_size=6),
)
def test_totals_reconcile_and_any_payment_split_credits_exactly_the_base(currency, raw_lines, tax_rates, splits):
    lines = [money_round(a, currency) for a in raw_lines]
    taxes = [(i, f"T{i}", r) for i, r in enumerate(tax_rates)]
    totals = totals_compute(line_amounts=lines, tax_rates=taxes, currency=currency)
    assert totals.subtotal == sum(lines)
    assert totals.total == totals.subtotal + sum(t.amount for t in totals.taxes)
    if totals.total <= 0:
        return
    # Split the total into payments proportional to `splits`, the last one taking the remainder.
    weights = sum(splits)
    payments = [money_round(totals.total * w / weights, currency) for w in splits[:-1]]
    payments = [p for p in payments if p > 0]
    remainder = totals.total - sum(payments)
    if remainder <= 0:
        return
    payments.append(remainder)
    paid = credited = Decimal(0)
    deltas = []
    for p in payments:
        paid += p
        now = credited_so_far(base=totals.subtotal, paid=paid, total=totals.total, currency=currency)
        deltas.append(now - credited)
        credited = now
    assert totals.total - paid == 0
    assert sum(deltas) == totals.subtotal
    # Reversing every payment, newest first, takes back exactly what was credited.
    for p in reversed(payments):
        paid -= p
        now = credited_so_far(base=totals.subtotal, paid=paid, total=totals.total, currency=currency)
        credited = now
    assert (paid, credited) == (0, 0)


@pytest.mark.parametrize(
    "typed", ["1e3", "1E3", "1e-2", "1 000", "1.000,00", "1,00", "10,0000", "12,34.5", "$5", "0x10", "٣"]
)
def test_typed_amounts_refuse_exponents_and_misplaced_separators(typed):
    with pytest.raises(ValidationFailed) as error:
        money_parse(typed, currency="USD", field_name="amount")
    assert (error.value.field, error.value.message) == ("amount", "Enter an amount, for example 1,000.00.")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1,000.00", Decimal("1000.00")),
        ("1000", Decimal("1000.00")),
        (" 12.5 ", Decimal("12.50")),
        ("1,234,567.8", Decimal("1234567.80")),
        (".5", Decimal("0.50")),
        (Decimal("7.25"), Decimal("7.25")),
        (3, Decimal("3.00")),
    ],
)
def test_typed_amounts_with_thousands_separators_are_read(typed, amount):
    assert money_parse(typed, currency="USD", field_name="amount") == amount
