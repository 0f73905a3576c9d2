"""Spreadsheet downloads shared by every list: CSV for German Excel and XLSX.

CSV is written for German Excel, which opens it with a double click: UTF-8 with a byte order
mark (without it Excel guesses Windows-1252) and ``;`` as the delimiter (Excel's list separator
wherever the comma is the decimal separator); decimals carry the active locale's decimal mark
and no grouping, so Excel reads them as numbers. XLSX is written with openpyxl in write-only
mode, decimals as numbers. Every text cell a spreadsheet could take for a formula is
neutralised with a leading ``'`` (OWASP: CSV injection), in both formats.

Rows are iterables whose first item is the header; cells are text, ``Decimal`` or None.
"""

from __future__ import annotations

import csv
import itertools
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO

from django.utils import formats, numberformat
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV_DELIMITER = ";"
BOM = "\ufeff".encode()
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Full-width forms that spreadsheets (Excel with East Asian input, LibreOffice) fold to ASCII.
FULL_WIDTH_STARTS = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
LEADING_BLANKS = "".join(map(chr, range(33))) + "\u00a0\u3000"
CHUNK_SIZE = 2000

Cell = str | Decimal | None


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would otherwise run it as a formula.

    Leading whitespace and control characters are looked through: spreadsheets trim them
    (and openpyxl drops control characters) before deciding whether a cell is a formula.
    """
    visible = value.lstrip(LEADING_BLANKS)
    if value.startswith(FORMULA_STARTS) or visible.startswith(FORMULA_STARTS + FULL_WIDTH_STARTS):
        return f"'{value}"
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The CSV file as byte chunks, one line each, for a streaming response."""
    separator = formats.get_format("DECIMAL_SEPARATOR")
    writer = csv.writer(_Echo(), delimiter=CSV_DELIMITER)

    def text(cell: Cell) -> str:
        if isinstance(cell, Decimal):
            return numberformat.format(cell, separator, decimal_pos=2)
        return neutralise(cell or "")

    lines = (writer.writerow([text(cell) for cell in row]).encode() for row in rows)
    return itertools.chain([BOM], lines)


def xlsx_file(
    rows: Iterable[Sequence[Cell]],
    *,
    title: str,
    widths: Sequence[int],
    number_formats: dict[int, str] | None = None,
) -> IO[bytes]:
    """The XLSX workbook in a temporary file, rewound; the caller closes it.

    ``widths`` are the columns' widths; ``number_formats`` maps column indexes to formats.
    """
    number_formats = number_formats or {}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    rows = iter(rows)
    bold = Font(bold=True)
    head = []
    for name in next(rows):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            if isinstance(value, Decimal):
                value = float(value)
            elif isinstance(value, str):
                # openpyxl refuses control characters; they carry no meaning in a cell.
                value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
            cell = WriteOnlyCell(sheet, value=value)
            if index in number_formats:
                cell.number_format = number_formats[index]
            cells.append(cell)
        sheet.append(cells)
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    workbook.save(file)
    file.seek(0)
    return file
