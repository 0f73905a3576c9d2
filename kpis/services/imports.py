"""Imports from ERP files, of every kind (annual figures, open items): upload with a preview,
the column mapping, confirmation, the all-or-nothing apply (a job, or directly for the annual
refresh and the daily escalation run), discard.

Nothing is written until an import is confirmed; the apply reads and checks the file again
inside one transaction and writes nothing when any row is wrong. Re-importing a file changes
nothing. What a kind reads, checks and writes is its :class:`~kpis.imports.ImportSpec`
(figures: :mod:`kpis.services.figure_import`; invoices: :mod:`payments.services.invoice_import`).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.concurrency import EditConflict, FieldChange
from kam.models import Job, User
from kam.services import ProgressReporter, job_enqueue
from kpis.catalogue import MEASURES
from kpis.imports import (
    Checked,
    ImportSpec,
    NumberFormat,
    RowError,
    Table,
    cell_text,
    read_table,
    suggest_mapping,
)
from kpis.models import (
    YEAR_VALIDATORS,
    ImportBatch,
    ImportKind,
    ImportSource,
    ImportState,
)
from kpis.services.figure_import import FIGURES
from payments.services.invoice_import import INVOICES

# Messages of the row errors, by code; rendered in the reader's language (see error_message).
ERROR_MESSAGES = {
    "unmapped": gettext_lazy("No column is mapped to “%(field)s”, which is required."),
    "no_measures": gettext_lazy("No column is mapped to a figure (actual or target)."),
    "closed_year": gettext_lazy(
        "The year %(year)s is closed; its figures change only by an administrator's correction."
    ),
    "required": gettext_lazy("A value is required."),
    "unknown_account": gettext_lazy("Unknown customer number “%(value)s”."),
    "not_a_year": gettext_lazy("“%(value)s” is not a year between 2000 and 2100."),
    "wrong_year": gettext_lazy("The year is %(value)s, but this import is for %(year)s."),
    "too_long": gettext_lazy("“%(value)s” is longer than %(limit)s characters."),
    "duplicate": gettext_lazy(
        "Duplicate row: row %(first)s has the same customer, year, product group and region."
    ),
    "not_a_number": gettext_lazy("“%(value)s” is not a number (expected like %(example)s)."),
    "negative": gettext_lazy("%(value)s is negative; %(measure)s cannot be negative."),
    "below_minimum": gettext_lazy("%(value)s is below the minimum of %(limit)s for %(measure)s."),
    "above_maximum": gettext_lazy("%(value)s is above the maximum of %(limit)s for %(measure)s."),
    "too_large": gettext_lazy("%(value)s is too large."),
    "plan_target": gettext_lazy(
        "The account's %(measure)s target is set in the key account plan; leave this cell "
        "empty here or give a product group or region."
    ),
    "duplicate_invoice": gettext_lazy(
        "Duplicate row: row %(first)s has the same customer and invoice number."
    ),
    "not_a_date": gettext_lazy("“%(value)s” is not a date (expected like %(example)s)."),
    "not_positive": gettext_lazy("%(value)s is not an amount above zero."),
    "negative_paid": gettext_lazy("%(value)s is negative; the amount paid cannot be."),
    "too_many_places": gettext_lazy("%(value)s has more than two decimal places."),
    "not_a_currency": gettext_lazy(
        "“%(value)s” is not a currency code of three letters (such as EUR)."
    ),
    "paid_above_amount": gettext_lazy(
        "The amount paid %(paid)s is more than the invoice's amount %(amount)s."
    ),
    "due_before_issue": gettext_lazy("The due date %(due)s is before the issue date %(issue)s."),
    "paid_date_unpaid": gettext_lazy("A paid date needs an amount paid above zero."),
    "unreadable": gettext_lazy("The file can no longer be read: %(reason)s"),
    "extra_values": gettext_lazy(
        "The row has more values than the header has columns (a separator inside an unquoted "
        "value?)."
    ),
}


def error_message(error: dict[str, Any], kind: str) -> str:
    """The reason of a stored row error of an import of ``kind``, in the active language."""
    template = ERROR_MESSAGES.get(error["code"])
    if template is None:
        return error["code"]
    params = dict(error.get("params") or {})
    if params.get("measure") in MEASURES:
        params["measure"] = MEASURES[params["measure"]].label
    if "field" in params:
        labels = {f.key: f.label for f in SPECS[kind].fields}
        params["field"] = labels.get(params["field"], params["field"])
    return str(template) % params


SPECS: dict[str, ImportSpec] = {FIGURES.kind: FIGURES, INVOICES.kind: INVOICES}
JOB_KINDS = {
    ImportKind.FIGURES.value: Job.Kind.FIGURE_IMPORT,
    ImportKind.INVOICES.value: Job.Kind.INVOICE_IMPORT,
}


def _report(batch: ImportBatch, table: Table, mapping: dict[str, str], checked: Checked) -> dict:
    """The preview as stored: settings read, counts, the first changes (as the kind's spec
    keeps them) and errors."""
    spec = SPECS[batch.kind]
    changes = spec.report(checked) if spec.report else {"creates": [], "updates": []}
    return {
        "number_format": batch.report.get("number_format", NumberFormat.AUTO.value),
        "number_format_used": checked.number_format,
        "file_format": table.file_format,
        "delimiter": table.delimiter,
        "encoding": table.encoding,
        "headers": table.headers,
        "samples": _samples(table),
        "mapping": mapping,
        "counts": {
            "rows": checked.rows,
            "create": len(checked.creates),
            "update": len(checked.updates),
            "unchanged": checked.unchanged,
            "errors": checked.error_count,
        },
        "creates": changes["creates"],
        "updates": changes["updates"],
        "errors": [error.as_json() for error in checked.errors],
    }


SAMPLE_VALUES = 3


def _samples(table: Table) -> dict[str, list[str]]:
    """The first few values of each column, shown beside it on the mapping page."""
    samples: dict[str, list[str]] = {}
    for index, header in enumerate(table.headers[:200]):
        samples[header] = [
            cell_text(v)[:40] for v in table.column_values(index, SAMPLE_VALUES, scan=1000)
        ]
    return samples


def _store_preview(batch: ImportBatch, table: Table, mapping: dict[str, str]) -> ImportBatch:
    spec = SPECS[batch.kind]
    checked = spec.validate(
        table,
        mapping,
        year=batch.year,
        number_format=batch.report.get("number_format", NumberFormat.AUTO),
    )
    batch.report = _report(batch, table, mapping, checked)
    batch.rows = checked.rows
    batch.created, batch.updated = len(checked.creates), len(checked.updates)
    batch.unchanged, batch.errors = checked.unchanged, checked.error_count
    batch.save(update_fields=["report", "rows", "created", "updated", "unchanged", "errors"])
    return batch


def _read_stored(batch: ImportBatch) -> Table:
    with batch.file.open("rb") as handle:
        data = handle.read()
    return read_table(data, batch.file_name)


def _check_year(year: int) -> None:
    for validator in YEAR_VALIDATORS:
        validator(year)


def import_batch_upload(
    *,
    user: User | None,
    source_name: str,
    year: int | None,
    number_format: str,
    file_name: str,
    data: bytes,
    kind: str = ImportKind.FIGURES,
) -> ImportBatch:
    """Store an uploaded file as a new import of ``kind`` with its preview (nothing else is
    written). ``year`` is required for a yearly kind (figures) and ignored otherwise.

    The source is found by name or created. A file that cannot be read at all is refused
    with a ValidationError (see :func:`kpis.imports.read_table`) before anything is stored.
    """
    spec = SPECS[kind]
    name = source_name.strip()
    if not name or len(name) > 100:
        raise ValidationError(
            {"source_name": _("Name the source (at most 100 characters).")}, code="source"
        )
    if number_format not in NumberFormat.values:
        raise ValidationError({"number_format": _("Unknown number format.")}, code="format")
    if not spec.yearly:
        year = None
    elif year is None:
        raise ValidationError({"year": _("Name the year the file is for.")}, code="year")
    else:
        _check_year(year)
    table = read_table(data, file_name)
    stored_name = ""
    try:
        with transaction.atomic():
            source, _created = ImportSource.objects.get_or_create(kind=kind, name=name)
            batch = ImportBatch(
                source=source,
                kind=kind,
                year=year,
                file_name=(file_name or "import")[-255:],
                file_sha256=hashlib.sha256(data).hexdigest(),
                file_size=len(data),
                uploaded_by=user,
                report={"number_format": number_format},
            )
            batch.file.save(os.path.basename(file_name) or "import", ContentFile(data), save=False)
            stored_name = batch.file.name
            batch.save()
            mapping = suggest_mapping(spec, table.headers, source.mapping)
            _store_preview(batch, table, mapping)
    except BaseException:
        if stored_name:
            batch.file.storage.delete(stored_name)
        raise
    return batch


def _require_state(batch: ImportBatch, *states: str) -> None:
    if batch.state not in states:
        raise ValidationError(
            _("This import is %(state)s; that is not possible now.")
            % {"state": batch.get_state_display().lower()},
            code="state",
        )


def mapping_seen(report: dict[str, Any]) -> dict[str, Any]:
    """What the mapping form changes of a preview: the column mapping and the number format."""
    return {"mapping": report.get("mapping", {}), "number_format": report.get("number_format")}


def _mapping_changes(
    spec: ImportSpec, headers: list[str], seen: dict[str, Any], now: dict[str, Any]
) -> list[FieldChange]:
    """What someone else changed of the mapping: the number format and each column's field."""
    not_imported = str(_("— not imported —"))
    labels = {f.key: str(f.label) for f in spec.fields}
    formats = dict(NumberFormat.choices)
    changes = []
    if seen.get("number_format") != now.get("number_format"):
        changes.append(
            FieldChange(
                name="number_format",
                label=str(_("Number format")),
                theirs=str(formats.get(seen.get("number_format"), "–")),
                current=str(formats.get(now.get("number_format"), "–")),
            )
        )
    for header in headers:
        before, after = (
            next(
                (labels.get(k, k) for k, h in state["mapping"].items() if h == header), not_imported
            )
            for state in (seen, now)
        )
        if before != after:
            changes.append(FieldChange(name=header, label=header, theirs=before, current=after))
    return changes


def import_batch_map(
    *,
    batch: ImportBatch,
    user: User | None,
    mapping: dict[str, str],
    number_format: str,
    started_from: dict[str, Any] | None = None,
) -> ImportBatch:
    """Set the column mapping ({field key: header}) and number format of a previewed import,
    remember the mapping on its source for the next file, and preview again.

    ``started_from`` is :func:`mapping_seen` as the user opened the form (None: not checked);
    a mapping someone else saved since is an EditConflict, and nothing is written.
    """
    spec = SPECS[batch.kind]
    headers = batch.report.get("headers", [])
    mapping = {key: header for key, header in mapping.items() if header}
    unknown = [key for key in mapping if key not in spec.field_keys]
    missing = [header for header in mapping.values() if header not in headers]
    if unknown or missing:
        raise ValidationError(_("The mapping names unknown fields or columns."), code="mapping")
    if len(set(mapping.values())) != len(mapping):
        raise ValidationError(_("A column can be mapped to one field only."), code="mapping")
    if number_format not in NumberFormat.values:
        raise ValidationError({"number_format": _("Unknown number format.")}, code="format")
    table = _read_stored(batch)
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _require_state(locked, ImportState.PREVIEWED)
        now = mapping_seen(locked.report)
        wanted = {"mapping": mapping, "number_format": number_format}
        if started_from is not None and now not in (started_from, wanted):
            raise EditConflict(
                current=locked, changes=_mapping_changes(spec, headers, started_from, now)
            )
        locked.report = {**locked.report, "number_format": number_format}
        _remember_mapping(locked.source, mapping, headers)
        _store_preview(locked, table, mapping)
    batch.refresh_from_db()
    return batch


def _remember_mapping(source: ImportSource, mapping: dict[str, str], headers: list[str]) -> None:
    """Save ``mapping`` on the source, keeping older entries for columns this file lacks."""
    kept = {
        key: header
        for key, header in source.mapping.items()
        if key not in mapping and header not in headers
    }
    source.mapping = {**kept, **mapping}
    source.save(update_fields=["mapping", "updated_at"])


def import_batch_preview(*, batch: ImportBatch) -> ImportBatch:
    """Check a previewed import again against today's data (its file, mapping and format)."""
    table = _read_stored(batch)
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _require_state(locked, ImportState.PREVIEWED)
        _store_preview(locked, table, locked.report.get("mapping", {}))
    batch.refresh_from_db()
    return batch


def import_batch_confirm(*, batch: ImportBatch, user: User) -> Job:
    """Queue the import of a previewed file without errors (a ``FIGURE_IMPORT`` job for
    figures, an ``INVOICE_IMPORT`` job for invoices)."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _require_state(locked, ImportState.PREVIEWED)
        if locked.errors:
            raise ValidationError(
                _("Correct the errors first: an import with errors writes nothing."),
                code="has_errors",
            )
        job = job_enqueue(kind=JOB_KINDS[locked.kind], created_by=user, params={"batch": locked.pk})
        locked.state = ImportState.IMPORTING
        locked.confirmed_by, locked.confirmed_at = user, timezone.now()
        locked.job = job
        locked.save(update_fields=["state", "confirmed_by", "confirmed_at", "job"])
    batch.refresh_from_db()
    return job


def import_batch_discard(*, batch: ImportBatch, user: User | None) -> None:
    """Discard a previewed or failed import and delete its file."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _require_state(locked, ImportState.PREVIEWED, ImportState.FAILED)
        name, storage = locked.file.name, locked.file.storage
        locked.state = ImportState.DISCARDED
        locked.file = ""
        locked.save(update_fields=["state", "file"])
        if name:
            transaction.on_commit(lambda: storage.delete(name))
    batch.refresh_from_db()


class _Invalid(Exception):
    def __init__(self, checked: Checked) -> None:
        self.checked = checked


def _apply(
    batch: ImportBatch,
    user: User | None,
    progress: ProgressReporter | None = None,
    *,
    recompute: bool = True,
) -> ImportBatch:
    report = progress or (lambda percent, message="": None)
    if batch.state == ImportState.IMPORTED:
        return batch
    _require_state(batch, ImportState.PREVIEWED, ImportState.IMPORTING)
    report(5, _("Reading the file"))
    try:
        table = _read_stored(batch)
    except (ValidationError, OSError) as error:
        _fail(batch, [RowError(None, "", "unreadable", {"reason": _first(error)})])
        raise ValidationError(
            _("The file can no longer be read: %(reason)s") % {"reason": _first(error)},
            code="unreadable",
        ) from error
    spec = SPECS[batch.kind]
    try:
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.state == ImportState.IMPORTED:
                return locked
            _require_state(locked, ImportState.PREVIEWED, ImportState.IMPORTING)
            mapping = locked.report.get("mapping", {})
            report(20, _("Checking %(rows)s rows") % {"rows": len(table.rows)})
            checked = spec.validate(
                table,
                mapping,
                year=locked.year,
                number_format=locked.report.get("number_format", NumberFormat.AUTO),
            )
            if checked.error_count:
                raise _Invalid(checked)
            if locked.kind == ImportKind.FIGURES:
                report(60, _("Writing the figures"))
            else:
                report(60, _("Writing the invoices"))
            spec.write(checked, year=locked.year, batch=locked, user=user)
            locked.report = {**_report(locked, table, mapping, checked), "imported": True}
            locked.rows = checked.rows
            locked.created, locked.updated = len(checked.creates), len(checked.updates)
            locked.unchanged, locked.errors = checked.unchanged, 0
            locked.state = ImportState.IMPORTED
            locked.confirmed_by = locked.confirmed_by or user
            locked.confirmed_at = locked.confirmed_at or timezone.now()
            locked.save()
            _remember_mapping(locked.source, mapping, table.headers)
            if recompute and locked.kind == ImportKind.FIGURES:
                _recompute_on_commit(locked.year)
    except _Invalid as invalid:
        _fail(batch, invalid.checked.errors, invalid.checked, table)
        raise ValidationError(
            _("The import wrote nothing: %(count)s errors were found. See the import's page.")
            % {"count": invalid.checked.error_count},
            code="invalid",
        ) from None
    batch.refresh_from_db()
    return batch


def _first(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return error.messages[0]
    return str(error)


def _recompute_on_commit(year: int) -> None:
    from kpis import tasks

    transaction.on_commit(lambda: tasks.kpis_recompute.delay(None, [year, year + 1]))


def _fail(
    batch: ImportBatch,
    errors: list[RowError],
    checked: Checked | None = None,
    table: Table | None = None,
) -> None:
    """Record that the import wrote nothing, with the errors found."""
    batch.refresh_from_db()
    if checked is not None and table is not None:
        batch.report = _report(batch, table, batch.report.get("mapping", {}), checked)
        batch.errors = checked.error_count
    else:
        batch.report = {**batch.report, "errors": [e.as_json() for e in errors]}
        batch.errors = len(errors)
    batch.report["failed_at"] = timezone.now().isoformat()
    batch.state = ImportState.FAILED
    batch.save(update_fields=["state", "report", "errors"])


def import_batch_apply(
    *, batch: ImportBatch, user: User | None, recompute: bool = True
) -> ImportBatch:
    """Import a previewed (or confirmed) file now, in this process, all or nothing.

    Used by the annual refresh and the daily escalation run for a file from a drop folder.
    Figures: ``recompute=False`` when the caller recomputes the KPIs itself; else they are
    recomputed for the year and the next once committed. Does nothing for an imported batch;
    raises ValidationError (and marks the batch failed, writing nothing) when the file no
    longer passes every check.
    """
    return _apply(batch, user, recompute=recompute)


def import_batch_apply_job(job: Job, report: ProgressReporter) -> dict[str, Any]:
    """The ``FIGURE_IMPORT`` and ``INVOICE_IMPORT`` jobs: apply their batch (idempotent: an
    imported batch is left alone)."""
    batch = ImportBatch.objects.select_related("source").get(pk=job.params["batch"])
    batch = _apply(batch, batch.confirmed_by or job.created_by, report)
    return {
        "batch": batch.pk,
        "created": batch.created,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
    }
