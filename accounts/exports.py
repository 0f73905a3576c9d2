"""Exports of the account list: exactly the rows the list shows for the same query string.

CSV is written for German Excel, which opens it with a double click: UTF-8 with a byte order
mark (without it Excel guesses Windows-1252) and ``;`` as the delimiter (Excel's list separator
wherever the comma is the decimal separator). XLSX is written with openpyxl in write-only mode.

Rows are read with ``values_list().iterator()`` from the annotated list queryset, so an export
costs a constant number of queries and does not hold model instances in memory. Every text cell
a spreadsheet could take for a formula is neutralised with a leading ``'`` (OWASP: CSV
injection), in both formats.
"""

from __future__ import annotations

import csv
import itertools
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from accounts.filters import with_kam_name
from accounts.models import Account
from accounts.selectors import choice_labels

CSV_DELIMITER = ";"
BOM = "\ufeff".encode()
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000

FIELDS = (
    "name",
    "erp_number",
    "tier",
    "account_type",
    "status",
    "kam_first",
    "kam_last",
    "industry",
    "region",
    "country",
)


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would otherwise run it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def header() -> list[str]:
    """The column names in the active language."""
    return [
        _("Name"),
        _("ERP customer number"),
        _("Tier"),
        _("Account type"),
        _("Status"),
        _("Key account manager"),
        _("Industry"),
        _("Region"),
        _("Country"),
    ]


def _row_formatter() -> Callable[[tuple], list[str]]:
    # Labels are resolved now, in the request's language: a streamed body is written after the
    # view has returned.
    labels = choice_labels()

    def format_row(row: tuple) -> list[str]:
        values = dict(zip(FIELDS, row, strict=True))
        kam = " ".join(filter(None, (values["kam_first"], values["kam_last"])))
        cells = [
            values["name"],
            values["erp_number"],
            values["tier"],
            labels["account_type"].get(values["account_type"], values["account_type"]),
            labels["status"].get(values["status"], values["status"]),
            kam,
            labels["industry"].get(values["industry"], values["industry"]),
            labels["region"].get(values["region"], values["region"]),
            labels["country"].get(values["country"], values["country"]),
        ]
        return [neutralise(cell or "") for cell in cells]

    return format_row


def account_rows(queryset: QuerySet[Account]) -> Iterator[list[str]]:
    """The header, then one row of display texts per account, in the queryset's order.

    Texts are translated when this is called, not when the rows are read.
    """
    head, format_row = header(), _row_formatter()
    rows = (
        with_kam_name(queryset)
        .annotate(kam_first=F("kam_first_name"), kam_last=F("kam_last_name"))
        .values_list(*FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    return itertools.chain([head], map(format_row, rows))


class _Echo:
    def write(self, value: str) -> str:
        return value


def account_csv(queryset: QuerySet[Account]) -> Iterator[bytes]:
    """The CSV file as byte chunks, one line each, for a streaming response."""
    writer = csv.writer(_Echo(), delimiter=CSV_DELIMITER)
    lines = (writer.writerow(row).encode() for row in account_rows(queryset))
    return itertools.chain([BOM], lines)


def account_xlsx(queryset: QuerySet[Account]) -> IO[bytes]:
    """The XLSX workbook in a temporary file, rewound; the caller closes it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Accounts"))
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHI", (40, 18, 10, 24, 12, 28, 28, 14, 20), strict=True):
        sheet.column_dimensions[column].width = width
    rows = account_rows(queryset)
    bold = Font(bold=True)
    head = []
    for title in next(rows):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        # openpyxl refuses control characters in cells; they carry no meaning in a name.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) for value in row])
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    workbook.save(file)
    file.seek(0)
    return file
