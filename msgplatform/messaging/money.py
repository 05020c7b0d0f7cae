"""Micro-units (1e-6 of the base currency), the integer amounts of usage buckets: the conversions both ways."""

from decimal import Decimal

from .models import MICROS


def micros_from_amount(amount: Decimal) -> int:
    """An amount of at most 6 decimal places (ingestion quantises prices to 6) in micro-units, exactly."""
    return int(amount * MICROS)


def amount_from_micros(micros: int) -> Decimal:
    return Decimal(micros) / MICROS
