"""Excel reports with XlsxWriter in constant-memory mode: rows stream to disk as they are written.

Amounts are numbers with the currency's number format; text cells that a spreadsheet would run as a formula
(starting with = + - @) are neutralised with a leading apostrophe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    return "'" + value if value[:1] in FORMULA_STARTS else value


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"  # text, money, int, date
    width: int = 14


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence]
    totals: bool = True  # a totals row summing the money columns


def write_workbook(
    target: str | IO[bytes], *, sheets: Sequence[Sheet], currency_decimals: int, currency: str, on_row=None
) -> int:
    """Write the sheets; returns the number of data rows. `on_row(n)` is called every 1,000 rows (progress)."""
    workbook = xlsxwriter.Workbook(
        target, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    places = "0" if currency_decimals == 0 else "0." + "0" * currency_decimals
    money = workbook.add_format({"num_format": f'#,##{places} "{currency}"'})
    bold_money = workbook.add_format({"num_format": f'#,##{places} "{currency}"', "bold": True})
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    bold = workbook.add_format({"bold": True})
    written = 0
    for sheet in sheets:
        ws = workbook.add_worksheet(sheet.name)
        for col, column in enumerate(sheet.columns):
            ws.set_column(col, col, column.width)
            ws.write_string(0, col, column.title, bold)
        sums = [Decimal(0)] * len(sheet.columns)
        row_index = 0
        for row_index, row in enumerate(sheet.rows, start=1):
            for col, (column, value) in enumerate(zip(sheet.columns, row, strict=True)):
                if value is None or value == "":
                    continue
                if column.kind == "money":
                    sums[col] += value
                    ws.write_number(row_index, col, value, money)
                elif column.kind == "int":
                    ws.write_number(row_index, col, value)
                elif column.kind == "date":
                    ws.write_datetime(row_index, col, value, date)
                else:
                    ws.write_string(row_index, col, neutralise(str(value)))
            written += 1
            if on_row and written % 1000 == 0:
                on_row(written)
        if sheet.totals:
            total_row = row_index + 1
            ws.write_string(total_row, 0, "Total", bold)
            for col, column in enumerate(sheet.columns):
                if column.kind == "money":
                    ws.write_number(total_row, col, sums[col], bold_money)
    workbook.close()
    return written
