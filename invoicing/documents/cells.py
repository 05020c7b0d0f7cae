"""The one guard against formula injection, for every text cell the product writes to a CSV or a spreadsheet.

Spreadsheet programs run a cell starting with = + - @ (or a tab or carriage return before one) as a formula:
such text gets a leading apostrophe, which the program shows as text. A negative amount written as plain
digits ("-12.50") is a number, not a formula, and stays as it is; a leading "+" is always quoted, so a phone
number ("+15551234") keeps its "+".
"""

from __future__ import annotations

import re

FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))
_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")


def cell_text(value) -> str:
    """`value` as the text of a cell that no spreadsheet runs as a formula ("" for None)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text
