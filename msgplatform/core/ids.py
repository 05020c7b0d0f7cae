"""Ids people type (a query string, a form, a body): the range of the id columns, positive 64-bit integers.

A number outside it is no row of ours, and must not reach a query: SQLite refuses it with an OverflowError and
PostgreSQL with an error of its own (Django only guards plain integer lookups, not foreign keys or IN lists).
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_ID = 2**63 - 1


def id_parse(value) -> int | None:
    """`value` as an id (an int or a string of digits), or None when it cannot be the id of a row."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def ids_parse(values: Iterable) -> list[int]:
    """The values that can be ids, as ints, in their order (the others left out)."""
    return [number for number in map(id_parse, values) if number is not None]
