"""Exports of a run's account table: the rows the table shows for the same query string.

Written like the account list's exports (accounts/exports.py, whose constants and formula
neutralisation this reuses): CSV for German Excel streamed line by line, XLSX through
openpyxl in write-only mode; rows read with ``values_list().iterator()``.
"""

from __future__ import annotations

import csv
import itertools
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO

from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from accounts.exports import BOM, CHUNK_SIZE, CSV_DELIMITER, neutralise
from selection.models import KnockoutOutcome, Movement, SelectionResult

FIELDS = (
    "account__name",
    "account__erp_number",
    "knockout",
    "failed_knockout__name",
    "total",
    "proposed_tier",
    "override__reason",
    "override__tier",
    "previous_tier",
    "movement",
)
COLUMN_WIDTHS = (40, 18, 14, 32, 8, 16, 16, 40, 16, 18)

Cell = str | Decimal


def header() -> list[str]:
    """The column names in the active language."""
    return [
        _("Account"),
        _("ERP customer number"),
        _("K.O. check"),
        _("K.O. criterion failed"),
        _("Score"),
        _("Proposed tier"),
        _("Override"),
        _("Override reason"),
        _("Tier before"),
        _("Movement"),
    ]


def _row_formatter() -> Callable[[tuple], list[Cell]]:
    # Labels are resolved now, in the request's language: a streamed body is written after the
    # view has returned.
    knockouts = {k: str(v) for k, v in KnockoutOutcome.choices}
    movements = {k: str(v) for k, v in Movement.choices}
    no_tier = _("Not a key account")

    def format_row(row: tuple) -> list[Cell]:
        values = dict(zip(FIELDS, row, strict=True))
        overridden = values["override__reason"] is not None
        texts = [
            values["account__name"],
            values["account__erp_number"],
            knockouts.get(values["knockout"], values["knockout"]),
            values["failed_knockout__name"] or "",
        ]
        rest = [
            values["proposed_tier"] or no_tier,
            (values["override__tier"] or no_tier) if overridden else "",
            values["override__reason"] or "",
            values["previous_tier"],
            movements.get(values["movement"], values["movement"]),
        ]
        return [
            *(neutralise(text or "") for text in texts),
            values["total"],
            *(neutralise(text or "") for text in rest),
        ]

    return format_row


def result_rows(queryset: QuerySet[SelectionResult]) -> Iterator[list[Cell]]:
    """The header, then one row per result in the queryset's order (the score a Decimal)."""
    head, format_row = header(), _row_formatter()
    rows = queryset.values_list(*FIELDS).iterator(chunk_size=CHUNK_SIZE)
    return itertools.chain([head], map(format_row, rows))


class _Echo:
    def write(self, value: str) -> str:
        return value


def result_csv(queryset: QuerySet[SelectionResult]) -> Iterator[bytes]:
    """The CSV file as byte chunks, one line each; scores with the locale's decimal mark."""
    separator = formats.get_format("DECIMAL_SEPARATOR")
    writer = csv.writer(_Echo(), delimiter=CSV_DELIMITER)

    def text(cell: Cell) -> str:
        return f"{cell:.2f}".replace(".", separator) if isinstance(cell, Decimal) else cell

    lines = (writer.writerow([text(c) for c in row]).encode() for row in result_rows(queryset))
    return itertools.chain([BOM], lines)


def result_xlsx(queryset: QuerySet[SelectionResult]) -> IO[bytes]:
    """The XLSX workbook in a temporary file, rewound; scores are numbers. The caller closes it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Selection run"))
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJ", COLUMN_WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    rows = result_rows(queryset)
    bold = Font(bold=True)
    head = []
    for title in next(rows):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        # openpyxl refuses control characters in cells; they carry no meaning in a name.
        sheet.append(
            [
                float(cell) if isinstance(cell, Decimal) else ILLEGAL_CHARACTERS_RE.sub("", cell)
                for cell in row
            ]
        )
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    workbook.save(file)
    file.seek(0)
    return file
