"""Excel reports with XlsxWriter in constant-memory mode: rows stream to disk as they are written.

Amounts are numbers with the currency's number format; text cells go through the one formula guard
(documents/cells.py). Every sheet has its header row frozen and an autofilter over its header and data rows:
both are sheet settings written when the workbook closes, so constant-memory mode allows them.

The cell loop is XlsxWriter's own cost plus as little as possible (bench/excel.py: 100,000 invoices): the kind of
every column and the bound write methods are looked up once per sheet, not per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import xlsxwriter

from .cells import FORMULA_STARTS, cell_text

PROGRESS_EVERY = 1000  # rows between two on_row calls


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
    counted: Callable[[Sequence], bool] | None = None  # the rows the totals sum (all when None)
    totals_label: str = "Total"


def write_workbook(
    target: str | IO[bytes], *, sheets: Sequence[Sheet], currency_decimals: int, currency: str, on_row=None
) -> int:
    """Write the sheets; returns the number of data rows. `on_row(n)` is called every 1,000 rows (progress).

    A None or "" value leaves its cell empty; a row must have one value per column (ValueError otherwise).
    """
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
        columns = tuple(sheet.columns)
        for col, column in enumerate(columns):
            ws.set_column(col, col, column.width)
            ws.write_string(0, col, column.title, bold)
        ws.freeze_panes(1, 0)
        kinds = tuple(column.kind for column in columns)
        width = len(kinds)
        write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
        sums = [Decimal(0)] * width
        counted = sheet.counted
        row_index = 0
        for row_index, row in enumerate(sheet.rows, start=1):
            if len(row) != width:
                raise ValueError(f"{sheet.name}: row {row_index} has {len(row)} values for {width} columns")
            adds = counted is None or counted(row)
            col = 0
            for value in row:
                if value is not None and value != "":
                    kind = kinds[col]
                    if kind == "text":
                        text = str(value)
                        # The set lookup only skips the call for the usual text; the rule is cell_text's.
                        write_string(row_index, col, cell_text(text) if text[:1] in FORMULA_STARTS else text)
                    elif kind == "money":
                        if adds:
                            sums[col] += value
                        write_number(row_index, col, value, money)
                    elif kind == "date":
                        write_datetime(row_index, col, value, date)
                    elif kind == "int":
                        write_number(row_index, col, value)
                    else:
                        write_string(row_index, col, cell_text(value))
                col += 1
            written += 1
            if on_row and written % PROGRESS_EVERY == 0:
                on_row(written)
        ws.autofilter(0, 0, row_index, width - 1)  # the data rows, not the totals row
        if sheet.totals:
            total_row = row_index + 1
            ws.write_string(total_row, 0, sheet.totals_label, bold)
            for col, kind in enumerate(kinds):
                if kind == "money":
                    ws.write_number(total_row, col, sums[col], bold_money)
    workbook.close()
    return written
