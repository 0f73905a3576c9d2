"""Exports of the finance queue: exactly the escalations the queue shows for the same query
string, as German-Excel CSV or XLSX (kam/exports.py writes the files).

Rows are read with ``iterator()`` from the queue's queryset (invoice and account joined, the
key account manager's name annotated), so an export costs a constant number of queries.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from typing import IO

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kam.exports import CHUNK_SIZE, Cell, csv_lines, xlsx_file
from payments.models import Escalation

AMOUNT_FORMAT = "#,##0.00"
WIDTHS = (36, 16, 18, 14, 8, 14, 12, 10, 14, 12, 24, 12, 12, 28, 20, 14)


def header() -> list[str]:
    """The column names in the active language."""
    return [
        _("Account"),
        _("ERP customer number"),
        _("Invoice number"),
        _("Open amount"),
        _("Currency"),
        _("Amount"),
        _("Due date"),
        _("Days overdue"),
        _("Tier"),
        _("Deadline"),
        _("State"),
        _("Deadline passed"),
        _("Escalated to sales leadership"),
        _("Key account manager"),
        _("Resolution"),
        _("Promised payment date"),
    ]


def _date(value: datetime.date | datetime.datetime | None) -> str:
    # ISO dates: German and English Excel both read them as dates.
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return value.isoformat()


def queue_rows(queryset: QuerySet[Escalation], today: datetime.date) -> Iterator[list[Cell]]:
    """The header, then one row per escalation in the queryset's order; texts are translated
    when this is called (a streamed body is written after the view has returned)."""
    yes, no = _("yes"), _("no")
    head = header()

    def row(escalation: Escalation) -> list[Cell]:
        invoice = escalation.invoice
        passed = not escalation.is_closed and escalation.deadline < today
        return [
            escalation.account.name,
            escalation.account.erp_number,
            invoice.number,
            invoice.open_amount,
            invoice.currency,
            invoice.amount,
            _date(invoice.due_date),
            str(invoice.days_overdue(today)),
            escalation.tier,
            _date(escalation.deadline),
            str(escalation.get_state_display()),
            yes if passed else no,
            _date(escalation.deadline_missed_at),
            escalation.kam_name or "",
            str(escalation.get_resolution_display()) if escalation.resolution else "",
            _date(escalation.promised_date),
        ]

    return itertools.chain([head], map(row, queryset.iterator(chunk_size=CHUNK_SIZE)))


def escalation_csv(queryset: QuerySet[Escalation], today: datetime.date) -> Iterator[bytes]:
    return csv_lines(queue_rows(queryset, today))


def escalation_xlsx(queryset: QuerySet[Escalation], today: datetime.date) -> IO[bytes]:
    """The XLSX workbook in a temporary file, rewound; the caller closes it."""
    return xlsx_file(
        queue_rows(queryset, today),
        title=_("Payment escalations"),
        widths=WIDTHS,
        number_formats={3: AMOUNT_FORMAT, 5: AMOUNT_FORMAT},
    )
