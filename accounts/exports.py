"""Exports of the account list: exactly the rows the list shows for the same query string.

Rows are read with ``values_list().iterator()`` from the annotated list queryset, so an export
costs a constant number of queries and does not hold model instances in memory; the files are
written by kam/exports.py (German Excel CSV, XLSX, formula neutralisation).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import IO

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from accounts.filters import with_kam_name
from accounts.models import Account
from accounts.selectors import choice_labels
from kam.exports import CHUNK_SIZE, csv_lines, neutralise, xlsx_file

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


def account_csv(queryset: QuerySet[Account]) -> Iterator[bytes]:
    """The CSV file as byte chunks, one line each, for a streaming response."""
    return csv_lines(account_rows(queryset))


def account_xlsx(queryset: QuerySet[Account]) -> IO[bytes]:
    """The XLSX workbook in a temporary file, rewound; the caller closes it."""
    return xlsx_file(
        account_rows(queryset), title=_("Accounts"), widths=(40, 18, 10, 24, 12, 28, 28, 14, 20)
    )
