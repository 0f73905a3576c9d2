"""Manual entry of annual figures: one account's grid for one year, saved cell by cell.

A save carries, per cell, the value the user started from. Cells the user did not change are
left alone (so what someone else saved in the meantime stays); a cell the user changed that
someone else also changed since is a conflict, and then nothing is written at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from kam import access
from kam.concurrency import EditConflict, FieldChange
from kam.models import User
from kpis.catalogue import MEASURES, PLAN_MEASURES
from kpis.models import AnnualFigure, ClosedYear, FigureCorrection
from kpis.selectors.figures import CELLS, RowKey

RowValues = Mapping[str, Decimal | None]
DIMENSION_LENGTH = 60
MAX_ABS = Decimal("1e14")  # 16 digits, 2 of them decimals
CENT = Decimal("0.01")


@dataclass
class FiguresSaved:
    """What a save wrote: rows created, updated and deleted, and each changed cell."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def cell_label(key: RowKey, cell: str) -> str:
    """A cell as a person names it: "Revenue (Pumps, North): actual"."""
    measure, product_group, region = key
    definition = MEASURES.get(measure)
    name = definition.label if definition else measure
    dimensions = ", ".join(part for part in (product_group, region) if part)
    if dimensions:
        name = f"{name} ({dimensions})"
    return f"{name}: {_('actual') if cell == 'actual' else _('target')}"


def cell_name(key: RowKey, cell: str) -> str:
    """A stable identifier of a cell (for conflicts shown next to the form)."""
    return "|".join((*key, cell))


def display(value: Decimal | None) -> str:
    return "–" if value is None else formats.number_format(value, use_l10n=True)


def _check_value(key: RowKey, cell: str, value: Decimal | None) -> None:
    if value is None:
        return
    definition = MEASURES[key[0]]
    label = cell_label(key, cell)
    try:
        finite = value.is_finite() and abs(value) < MAX_ABS
    except (InvalidOperation, AttributeError):
        finite = False
    if not finite:
        raise ValidationError(
            _("%(cell)s is not a number the app can store.") % {"cell": label}, code="invalid"
        )
    if definition.minimum is not None and value < definition.minimum:
        raise ValidationError(
            _("%(cell)s must be at least %(minimum)s.")
            % {"cell": label, "minimum": display(definition.minimum)},
            code="min_value",
        )
    if definition.maximum is not None and value > definition.maximum:
        raise ValidationError(
            _("%(cell)s must be at most %(maximum)s.")
            % {"cell": label, "maximum": display(definition.maximum)},
            code="max_value",
        )


def _clean_rows(rows: Mapping[RowKey, RowValues]) -> dict[RowKey, dict[str, Decimal | None]]:
    """The rows with trimmed dimensions and values rounded to cents; ValidationError (all
    problems at once) for an unknown measure, an overlong dimension, a value outside the
    measure's range, or an account-level target of a plan measure."""
    cleaned: dict[RowKey, dict[str, Decimal | None]] = {}
    errors: list[ValidationError] = []
    for (measure, product_group, region), values in rows.items():
        product_group, region = product_group.strip(), region.strip()
        key = (measure, product_group, region)
        if measure not in MEASURES:
            errors.append(
                ValidationError(
                    _("“%(measure)s” is not a measure.") % {"measure": measure},
                    code="unknown_measure",
                )
            )
            continue
        if len(product_group) > DIMENSION_LENGTH or len(region) > DIMENSION_LENGTH:
            errors.append(
                ValidationError(
                    _("A product group or region has at most %(length)s characters.")
                    % {"length": DIMENSION_LENGTH},
                    code="dimension_length",
                )
            )
            continue
        if key in cleaned:
            errors.append(
                ValidationError(
                    _("%(row)s appears twice.") % {"row": cell_label(key, "actual").split(":")[0]},
                    code="duplicate_row",
                )
            )
            continue
        row: dict[str, Decimal | None] = {}
        for cell, value in values.items():
            if cell not in CELLS:
                continue
            if value is not None:
                value = Decimal(value).quantize(CENT) if _is_number(value) else value
            if (
                cell == "target"
                and value is not None
                and measure in PLAN_MEASURES
                and not product_group
                and not region
            ):
                errors.append(
                    ValidationError(
                        _(
                            "The account's %(measure)s target is set in the key account plan, "
                            "not here."
                        )
                        % {"measure": MEASURES[measure].label},
                        code="plan_target",
                    )
                )
                continue
            try:
                _check_value(key, cell, value)
            except ValidationError as error:
                errors.append(error)
                continue
            row[cell] = value
        cleaned[key] = row
    if errors:
        raise ValidationError(errors)
    return cleaned


def _is_number(value: Any) -> bool:
    try:
        return Decimal(value).is_finite() and abs(Decimal(value)) < MAX_ABS
    except (InvalidOperation, TypeError, ValueError):
        return False


def _check_access(*, account: Account, year: int, user: User, reason: str) -> bool:
    """Raise unless the user may save this grid; returns whether the year is closed."""
    if not access.can_edit(user, account):
        raise PermissionDenied
    closed = ClosedYear.objects.filter(year=year).exists()
    if closed:
        if not access.may_correct_closed_year(user):
            raise PermissionDenied(_("The year %(year)s is closed.") % {"year": year})
        if not reason.strip():
            raise ValidationError(
                {
                    "reason": ValidationError(
                        _("The year %(year)s is closed: give the reason for the correction.")
                        % {"year": year},
                        code="reason_required",
                    )
                }
            )
    return closed


def figures_save(
    *,
    account: Account,
    year: int,
    rows: Mapping[RowKey, RowValues],
    started_from: Mapping[RowKey, RowValues],
    user: User,
    reason: str = "",
) -> FiguresSaved:
    """Save the cells of ``account``'s grid for ``year`` that the user changed.

    ``rows`` maps (measure, product group, region) to the user's ``actual``/``target`` (None:
    no value); ``started_from`` holds what the user saw. A row left with neither value is
    deleted. In a closed year only an administrator may save, with a ``reason`` recorded as
    a :class:`FigureCorrection`. Raises PermissionDenied, ValidationError, or EditConflict
    (nothing written) when someone else changed a cell the user changed too. Once committed
    the account's KPI rows for ``year`` and ``year + 1`` are rebuilt.
    """
    if not 2000 <= year <= 2100:
        raise ValidationError(_("The year must lie between 2000 and 2100."), code="year")
    with transaction.atomic():
        # One writer per account at a time: the comparison below sees what is really stored.
        Account.objects.select_for_update().only("pk").get(pk=account.pk)
        closed = _check_access(account=account, year=year, user=user, reason=reason)
        cleaned = _clean_rows(rows)
        current = {
            (f.measure, f.product_group, f.region): f
            for f in AnnualFigure.objects.filter(account=account, year=year)
        }
        writes, conflicts = _merge(cleaned, started_from, current)
        if conflicts:
            raise EditConflict(current=account, changes=conflicts)
        saved = _write(account, year, user, writes, current)
        if closed and saved.changed:
            FigureCorrection.objects.create(
                account=account, year=year, user=user, reason=reason.strip(), changes=saved.changes
            )
        if saved.changed:
            _recompute_on_commit(account.pk, year)
    return saved


def _merge(
    rows: dict[RowKey, dict[str, Decimal | None]],
    started_from: Mapping[RowKey, RowValues],
    current: dict[RowKey, AnnualFigure],
) -> tuple[dict[RowKey, dict[str, Decimal | None]], list[FieldChange]]:
    """The cells to write, and the conflicts: cells the user changed that moved meanwhile."""
    writes: dict[RowKey, dict[str, Decimal | None]] = {}
    conflicts: list[FieldChange] = []
    for key, values in rows.items():
        started = started_from.get(key) or {}
        figure = current.get(key)
        for cell, new in values.items():
            was = _as_decimal(started.get(cell))
            if new == was:
                continue
            now = getattr(figure, cell) if figure is not None else None
            if now == new:
                continue
            if now != was:
                conflicts.append(
                    FieldChange(
                        name=cell_name(key, cell),
                        label=cell_label(key, cell),
                        theirs=display(was),
                        current=display(now),
                    )
                )
                continue
            writes.setdefault(key, {})[cell] = new
    return writes, conflicts


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(value).quantize(CENT)


def _write(
    account: Account,
    year: int,
    user: User,
    writes: dict[RowKey, dict[str, Decimal | None]],
    current: dict[RowKey, AnnualFigure],
) -> FiguresSaved:
    saved = FiguresSaved()
    create, update, delete = [], [], []
    for key, cells in writes.items():
        figure = current.get(key)
        for cell, new in cells.items():
            old = getattr(figure, cell) if figure is not None else None
            saved.changes.append(
                {
                    "measure": key[0],
                    "product_group": key[1],
                    "region": key[2],
                    "field": cell,
                    "old": None if old is None else str(old),
                    "new": None if new is None else str(new),
                }
            )
        if figure is None:
            if any(value is not None for value in cells.values()):
                create.append(
                    AnnualFigure(
                        account=account,
                        year=year,
                        measure=key[0],
                        product_group=key[1],
                        region=key[2],
                        updated_by=user,
                        **cells,
                    )
                )
            continue
        for cell, new in cells.items():
            setattr(figure, cell, new)
        if figure.actual is None and figure.target is None:
            delete.append(figure.pk)
        else:
            figure.updated_by = user
            update.append(figure)
    if delete:
        AnnualFigure.objects.filter(pk__in=delete).delete()
    now = timezone.now()
    for figure in update:
        figure.updated_at = now  # bulk_update skips auto_now
    AnnualFigure.objects.bulk_update(update, ["actual", "target", "updated_by", "updated_at"])
    AnnualFigure.objects.bulk_create(create)
    saved.created, saved.updated, saved.deleted = len(create), len(update), len(delete)
    return saved


def _recompute_on_commit(account_id: int, year: int) -> None:
    from kpis.tasks import kpis_recompute

    transaction.on_commit(lambda: kpis_recompute.delay([account_id], [year, year + 1]))
