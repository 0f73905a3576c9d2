"""Exports of a run's account table: the rows the table shows for the same query string.

Rows are read with ``values_list().iterator()``; kam/exports.py writes the files (German Excel
CSV streamed line by line, XLSX, formula neutralisation).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kam.exports import CHUNK_SIZE, csv_lines, neutralise, xlsx_file
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


def result_csv(queryset: QuerySet[SelectionResult]) -> Iterator[bytes]:
    """The CSV file as byte chunks, one line each; scores with the locale's decimal mark."""
    return csv_lines(result_rows(queryset))


def result_xlsx(queryset: QuerySet[SelectionResult]) -> IO[bytes]:
    """The XLSX workbook in a temporary file, rewound; scores are numbers. The caller closes it."""
    return xlsx_file(result_rows(queryset), title=_("Selection run"), widths=COLUMN_WIDTHS)
