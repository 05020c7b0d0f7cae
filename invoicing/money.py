"""Money rules, in one place: every amount on a page, PDF, spreadsheet or API response comes from here.

`Decimal` only. A currency's minor unit comes from Babel (JPY 0, USD 2, KWD 3). One rounding mode, half-up,
applied at line level and per tax. subtotal = sum of rounded lines; each tax = subtotal x rate rounded;
total = subtotal + taxes; balance due = total - payments.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, parse_pattern

from msgplatform.core.errors import ValidationFailed

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


# --- parsing what people type ---------------------------------------------------------------------------------


# What a typed amount may look like (en_US, the locale amounts are shown in): digits, commas only between groups of
# three ("1,000.00"), a decimal point; never an exponent ("1e3"), spaces inside, or another separator.
_AMOUNT_TEXT = re.compile(r"-?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]*)?|-?\.[0-9]+")


def money_parse(value, *, currency: str, field_name: str, allow_zero: bool = False) -> Decimal:
    """A user-entered amount: a Decimal with no more decimals than the currency has."""
    if isinstance(value, float):
        raise ValidationFailed("Amounts are decimal strings, not floats.", field=field_name)
    text = value if isinstance(value, str) else str(value) if isinstance(value, (int, Decimal)) else None
    if text is None or not _AMOUNT_TEXT.fullmatch(text.strip()):
        raise ValidationFailed("Enter an amount, for example 1,000.00.", field=field_name)
    try:
        amount = Decimal(text.strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("Enter an amount, for example 1,000.00.", field=field_name)
    if not amount.is_finite():
        raise ValidationFailed("Enter an amount, for example 100.00.", field=field_name)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed("The amount must be greater than zero.", field=field_name)
    if amount != amount.quantize(quantum(currency)):
        raise ValidationFailed(
            f"{currency} amounts have at most {-quantum(currency).as_tuple().exponent} decimals.", field=field_name
        )
    if amount >= Decimal("1e14"):
        raise ValidationFailed("The amount is too large.", field=field_name)
    return amount.quantize(quantum(currency))


def percent_parse(value, field: str, upper: Decimal | None = HUNDRED) -> Decimal:
    """A user-entered percentage (a tax rate): 0 to `upper`, at most 4 decimals."""
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("Give a percentage, for example 7.5.", field=field)
    if not rate.is_finite() or rate < 0 or (upper is not None and rate > upper):
        raise ValidationFailed("The percentage must be between 0 and 100.", field=field)
    if rate != rate.quantize(Decimal("0.0001")):
        raise ValidationFailed("At most 4 decimal places.", field=field)
    return rate


def money_format(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    return format_currency(amount, currency, locale=locale, currency_digits=True)


def unit_price_places(prices: Iterable[Decimal], currency: str) -> int:
    """The decimals that show each of these unit prices exactly, and at least the currency's: one number for all the
    unit prices of an invoice, so that its column lines up ("$0.004175", "$0.031000", "$0.500000")."""
    places = get_currency_precision(currency)
    for price in prices:
        exponent = price.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = -exponent
    return places


@lru_cache(maxsize=64)
def _pattern_with_places(locale: str, places: int):
    pattern = copy.copy(parse_pattern(Locale.parse(locale).currency_formats["standard"]))
    pattern.frac_prec = (places, places)
    return pattern


def unit_price_format(price: Decimal, currency: str, places: int, locale: str = "en_US") -> str:
    """A unit price (or a charge at unit-price precision) in its currency with exactly `places` decimals, never
    rounded away: `places` comes from `unit_price_places` (a price with more decimals is shown with all of them)."""
    if not isinstance(price, Decimal):
        raise TypeError("money is Decimal")
    places = max(places, unit_price_places([price], currency))
    return format_currency(
        price, currency, format=_pattern_with_places(locale, places), locale=locale, currency_digits=False
    )


def money_exact_format(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    """An amount with every decimal it has, at least the currency's: "$0.012345", "$0.01" (unrounded usage)."""
    return unit_price_format(amount, currency, get_currency_precision(currency), locale)


# Counters keep amounts in integer thousandths (every ISO currency has at most 3 decimals): exact on SQLite too.
MILLI = 1000


def to_milli(amount: Decimal) -> int:
    """An amount of at most 3 decimals as integer thousandths."""
    return int(Decimal(amount) * MILLI)


def from_milli(value: int) -> Decimal:
    """Integer thousandths back to an amount."""
    return Decimal(value) / MILLI


# --- credit notes (SPEC §4) ----------------------------------------------------------------------------------


def credit_note_taxes(
    *, subtotal: Decimal, remaining_subtotal: Decimal, taxes: Sequence[tuple[Decimal, Decimal]], currency: str
) -> list[Decimal]:
    """The tax amounts of a credit note of `subtotal`, one per invoice tax given as (rate, amount left uncredited).

    Each is the invoice's frozen rate on the credit note's subtotal, half-up, like an invoice's; a credit note that
    credits everything left of the subtotal takes exactly the tax left, so the credit notes of an invoice add up to
    its total and never above it (rounded taxes of parts can exceed the rounded tax of the whole by a cent).
    """
    if subtotal >= remaining_subtotal:
        return [left for _rate, left in taxes]
    return [min(money_round(subtotal * rate / HUNDRED, currency), left) for rate, left in taxes]
