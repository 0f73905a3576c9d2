"""Reads of the import pages: the list of imports, one import, and its preview as shown.

A reader sees the imports of the kinds ``kam.access.may_read_imports`` grants them (figures: the
programme's readers; invoices: the payments' read-all roles); any other import answers 404.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict

from accounts.models import Account
from kam import access
from kam.models import User
from kpis.catalogue import MEASURES
from kpis.forms.imports import ImportFilterSet
from kpis.imports import NumberFormat
from kpis.models import ImportBatch, ImportKind, ImportSource, ImportState
from kpis.services.imports import SPECS, error_message


def readable_kinds(user: User) -> list[str]:
    """The import kinds whose records the user may read, in the kinds' order."""
    return [kind for kind in ImportKind.values if access.may_read_imports(user, kind)]


def importable_kinds(user: User) -> list[str]:
    """The import kinds the user may upload, map, confirm and discard."""
    return [kind for kind in ImportKind.values if access.may_import(user, kind)]


def _batches(user: User) -> QuerySet[ImportBatch]:
    kinds = readable_kinds(user)
    if not kinds:
        return ImportBatch.objects.none()
    return ImportBatch.objects.filter(kind__in=kinds).select_related(
        "source", "uploaded_by", "confirmed_by", "job"
    )


def import_filterset(*, user: User, data: QueryDict | None) -> ImportFilterSet:
    """Every import of the kinds the user may read, newest first, filtered by ``data``;
    ``.qs`` holds the rows."""
    return ImportFilterSet(data, queryset=_batches(user), kinds=readable_kinds(user))


def import_get(*, user: User, pk: int) -> ImportBatch:
    """One import the user may read; raises Http404 otherwise."""
    try:
        return _batches(user).get(pk=pk)
    except ImportBatch.DoesNotExist as exc:
        raise Http404 from exc


def import_sources(*, kind: str) -> QuerySet[ImportSource]:
    return ImportSource.objects.filter(kind=kind).order_by("name")


@dataclass
class Change:
    """One figure an import creates or changes, as the preview table shows it."""

    row: int
    account: Account | None
    erp_number: str
    measure: str
    product_group: str
    region: str
    actual: Decimal | None = None
    target: Decimal | None = None
    old_actual: Decimal | None = None
    old_target: Decimal | None = None

    @property
    def actual_changed(self) -> bool:
        return self.actual != self.old_actual

    @property
    def target_changed(self) -> bool:
        return self.target != self.old_target


@dataclass
class InvoicePreviewRow:
    """One invoice an import creates or changes, as the preview table shows it; an update's
    ``old`` holds the stored values and ``changed`` the fields the file changes."""

    row: int
    account: Account | None
    erp_number: str
    number: str
    amount: Decimal
    currency: str
    issue_date: datetime.date
    due_date: datetime.date
    amount_paid: Decimal
    paid_date: datetime.date | None
    old: dict[str, Any] = field(default_factory=dict)
    changed: frozenset[str] = frozenset()

    @property
    def amount_changed(self) -> bool:
        return bool(self.changed & {"amount", "currency"})

    @property
    def paid_changed(self) -> bool:
        return bool(self.changed & {"amount_paid", "paid_date"})


@dataclass
class Preview:
    """An import's stored report, ready for the page: counts, mapping, changes and errors."""

    counts: dict[str, int]
    mapping: list[tuple[str, str]]  # (field label, header) in the spec's order
    unmapped_headers: list[str]
    number_format: str
    number_format_used: str
    file_format: str
    delimiter: str
    encoding: str
    creates: list[Change | InvoicePreviewRow] = field(default_factory=list)
    updates: list[Change | InvoicePreviewRow] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    same_file: ImportBatch | None = None

    @property
    def errors_shown(self) -> int:
        return len(self.errors)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str | None) -> datetime.date | None:
    return None if value is None else datetime.date.fromisoformat(value)


def _figure_change(entry: dict, accounts: dict[int, Account], *, update: bool) -> Change:
    measure = MEASURES.get(entry["measure"])
    result = Change(
        row=entry["row"],
        account=accounts.get(entry["account"]),
        erp_number=entry.get("erp_number", ""),
        measure=measure.label if measure else entry["measure"],
        product_group=entry.get("product_group", ""),
        region=entry.get("region", ""),
    )
    if update:
        result.old_actual, result.actual = map(_decimal, entry["actual"])
        result.old_target, result.target = map(_decimal, entry["target"])
    else:
        result.actual, result.target = _decimal(entry["actual"]), _decimal(entry["target"])
    return result


INVOICE_READERS = {
    "amount": _decimal,
    "currency": str,
    "issue_date": _date,
    "due_date": _date,
    "amount_paid": _decimal,
    "paid_date": _date,
}


def _invoice_change(
    entry: dict, accounts: dict[int, Account], *, update: bool
) -> InvoicePreviewRow:
    values, old, changed = {}, {}, set()
    for key, read in INVOICE_READERS.items():
        before, after = entry[key] if update else (None, entry[key])
        values[key] = None if after is None else read(after)
        if update:
            old[key] = None if before is None else read(before)
            if before != after:
                changed.add(key)
    return InvoicePreviewRow(
        row=entry["row"],
        account=accounts.get(entry["account"]),
        erp_number=entry.get("erp_number", ""),
        number=entry["number"],
        old=old,
        changed=frozenset(changed),
        **values,
    )


CHANGE_BUILDERS = {ImportKind.FIGURES: _figure_change, ImportKind.INVOICES: _invoice_change}


DELIMITER_NAMES = {";": ";", ",": ",", "\t": "TAB", "|": "|"}
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "cp1252": "Windows-1252",
    "utf-16": "UTF-16",
}


def import_preview(*, batch: ImportBatch) -> Preview:
    """The stored preview (or, once imported, what was written) in the reader's language.

    Two queries at most: the accounts of the shown changes, and an earlier import of the
    same file.
    """
    report = batch.report or {}
    spec = SPECS[batch.kind]
    mapping = report.get("mapping", {})
    labels = {f.key: str(f.label) for f in spec.fields}
    headers = report.get("headers", [])
    mapped_headers = set(mapping.values())
    formats = dict(NumberFormat.choices)
    shown = [*report.get("creates", []), *report.get("updates", [])]
    accounts = Account.objects.only("pk", "name", "erp_number").in_bulk(
        {entry["account"] for entry in shown}
    )
    change = CHANGE_BUILDERS[batch.kind]

    same_file = None
    if batch.state != ImportState.IMPORTED and batch.file_sha256:
        same_file = (
            ImportBatch.objects.filter(
                kind=batch.kind, file_sha256=batch.file_sha256, state=ImportState.IMPORTED
            )
            .exclude(pk=batch.pk)
            .order_by("-confirmed_at")
            .first()
        )
    return Preview(
        counts=report.get("counts", {}),
        mapping=[(labels[key], mapping[key]) for key in spec.field_keys if key in mapping],
        unmapped_headers=[h for h in headers if h not in mapped_headers],
        number_format=str(formats.get(report.get("number_format", ""), "")),
        number_format_used=str(formats.get(report.get("number_format_used", ""), "")),
        file_format=report.get("file_format", ""),
        delimiter=DELIMITER_NAMES.get(report.get("delimiter", ""), ""),
        encoding=ENCODING_NAMES.get(report.get("encoding", ""), report.get("encoding", "")),
        creates=[change(entry, accounts, update=False) for entry in report.get("creates", [])],
        updates=[change(entry, accounts, update=True) for entry in report.get("updates", [])],
        errors=[
            {**error, "message": error_message(error, batch.kind)}
            for error in report.get("errors", [])
        ],
        same_file=same_file,
    )
