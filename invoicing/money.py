"""Money rules, in one place: every amount on a page, PDF, spreadsheet or API response comes from here.

`Decimal` only. A currency's minor unit comes from Babel (JPY 0, USD 2, KWD 3). One rounding mode, half-up,
applied at line level and per tax. subtotal = sum of rounded lines; each tax = subtotal x rate rounded;
total = subtotal + taxes; balance due = total - payments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@lru_cache(maxsize=256)
def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def money_round(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise TypeError("money is Decimal")
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    return money_round(quantity * unit_price, currency)


@dataclass(frozen=True)
class TaxCharge:
    name: str
    rate: Decimal  # percent, e.g. Decimal("7.5")
    amount: Decimal
    tax_rate_id: int | None = None


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    taxes: tuple[TaxCharge, ...]
    tax_total: Decimal
    total: Decimal


def totals_compute(
    *, line_amounts: Iterable[Decimal], tax_rates: Sequence[tuple[int | None, str, Decimal]], currency: str
) -> Totals:
    """Totals of already-rounded line amounts; each tax is charged on the subtotal, never on another tax."""
    subtotal = sum((money_round(a, currency) for a in line_amounts), ZERO)
    subtotal = money_round(subtotal, currency)
    taxes = tuple(
        TaxCharge(name=name, rate=rate, amount=money_round(subtotal * rate / HUNDRED, currency), tax_rate_id=rid)
        for rid, name, rate in tax_rates
    )
    tax_total = sum((t.amount for t in taxes), ZERO)
    return Totals(subtotal=subtotal, taxes=taxes, tax_total=tax_total, total=subtotal + tax_total)


def credited_so_far(*, base: Decimal, paid: Decimal, total: Decimal, currency: str) -> Decimal:
    """What the balance must have received once `paid` of `total` is paid (SPEC §2, cumulative rule).

    round_half_up(base x paid / total); exactly `base` when fully paid; the ledger row of a payment or reversal is
    the difference from what was credited before, so rounding never drifts.
    """
    if total <= 0:
        return ZERO
    if paid >= total:
        return base
    return money_round(base * paid / total, currency)


def money_format(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    return format_currency(amount, currency, locale=locale, currency_digits=True)


# Counters keep amounts in integer thousandths (every ISO currency has at most 3 decimals): exact on SQLite too.
MILLI = 1000


def to_milli(amount: Decimal) -> int:
    """An amount of at most 3 decimals as integer thousandths."""
    return int(Decimal(amount) * MILLI)


def from_milli(value: int) -> Decimal:
    """Integer thousandths back to an amount."""
    return Decimal(value) / MILLI
