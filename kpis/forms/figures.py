"""The figure grid of one account and year: the account total (one row per measure) and the
breakdown rows by product group and region.

Every cell carries, in a hidden ``…was`` field, the value the user started from, so the save
changes only what the user changed and reports a conflict where someone else changed the same
cell in the meantime (see ``kpis.services.figures``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from kpis.catalogue import MEASURES, MeasureDefinition
from kpis.selectors.figures import CELLS, FigureGrid, GridMeasure, RowKey
from kpis.services.figures import DIMENSION_LENGTH, cell_name

BREAKDOWN_PREFIX = "breakdown"
BREAKDOWN_EXTRA = 3
BREAKDOWN_MAX = 500
AMOUNT = {"max_digits": 16, "decimal_places": 2, "required": False, "localize": True}
INPUT_CLASS = "form-control form-control-sm text-end"


def canonical(value: Decimal | None) -> str:
    """A value as a hidden field carries it: locale-free, so it survives a language switch."""
    return "" if value is None else str(value)


def plain(value: Decimal | None) -> Decimal | None:
    """A stored value without trailing zeros for an input: 6810.00 → 6810, 8.50 → 8.5."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def shown(value: Decimal | None) -> str:
    """A value as an input shows it in the active locale."""
    return "" if value is None else str(formats.localize_input(plain(value)))


def _amount_field(definition: MeasureDefinition | None, label: str) -> forms.DecimalField:
    limits: dict[str, Any] = {}
    if definition is not None:
        if definition.minimum is not None:
            limits["min_value"] = definition.minimum
        if definition.maximum is not None:
            limits["max_value"] = definition.maximum
    return forms.DecimalField(
        label=label,
        widget=forms.TextInput(attrs={"class": INPUT_CLASS, "inputmode": "decimal"}),
        **AMOUNT,
        **limits,
    )


class WasField(forms.CharField):
    """The hidden value a cell started from; a tampered value is an error, not a guess."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise forms.ValidationError(
                _("The form was changed outside the app; open it again."), code="invalid"
            ) from None
        if not number.is_finite():
            raise forms.ValidationError(
                _("The form was changed outside the app; open it again."), code="invalid"
            )
        return number


def total_name(measure: str, cell: str) -> str:
    return f"total-{measure}-{cell}"


def was_name(measure: str, cell: str) -> str:
    return f"total-{measure}-{cell}-was"


@dataclass
class TotalRow:
    """One measure of the account total as the grid renders it."""

    measure: GridMeasure
    actual: forms.BoundField
    target: forms.BoundField | None
    was_actual: forms.BoundField
    was_target: forms.BoundField | None


class FigureTotalsForm(forms.Form):
    """The account total: actual and target per measure (no target for the plan measures,
    whose account-level target the key account plan sets), and the reason of a correction."""

    def __init__(self, *args: Any, grid: FigureGrid, with_reason: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.grid = grid
        self.conflict_changes: list = []
        for measure in grid.measures:
            label = measure.definition.label
            self.fields[total_name(measure.key, "actual")] = _amount_field(
                measure.definition, _("%(measure)s, actual") % {"measure": label}
            )
            self.fields[was_name(measure.key, "actual")] = WasField()
            self.initial[total_name(measure.key, "actual")] = plain(measure.actual)
            self.initial[was_name(measure.key, "actual")] = canonical(measure.actual)
            if not measure.is_plan_measure:
                self.fields[total_name(measure.key, "target")] = _amount_field(
                    measure.definition, _("%(measure)s, target") % {"measure": label}
                )
                self.fields[was_name(measure.key, "target")] = WasField()
                self.initial[total_name(measure.key, "target")] = plain(measure.target)
                self.initial[was_name(measure.key, "target")] = canonical(measure.target)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs["aria-label"] = str(field.label)
        if with_reason:
            self.fields["reason"] = forms.CharField(
                label=_("Reason for the correction"),
                help_text=_(
                    "The year is closed. Say why its figures change; the reason is recorded "
                    "with the changes."
                ),
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
            )

    def rows(self) -> list[TotalRow]:
        result = []
        for measure in self.grid.measures:
            has_target = not measure.is_plan_measure
            result.append(
                TotalRow(
                    measure=measure,
                    actual=self[total_name(measure.key, "actual")],
                    target=self[total_name(measure.key, "target")] if has_target else None,
                    was_actual=self[was_name(measure.key, "actual")],
                    was_target=self[was_name(measure.key, "target")] if has_target else None,
                )
            )
        return result

    def cells(self) -> Iterator[tuple[RowKey, str, str, str]]:
        """Each editable cell: its row, which cell, its field and its started-from field."""
        for measure in self.grid.measures:
            for cell in CELLS:
                if cell == "target" and measure.is_plan_measure:
                    continue
                yield (
                    (measure.key, "", ""),
                    cell,
                    total_name(measure.key, cell),
                    was_name(measure.key, cell),
                )


class BreakdownForm(forms.Form):
    """One breakdown row: a measure for a product group and/or region, actual and target."""

    existing = forms.BooleanField(required=False, widget=forms.HiddenInput)
    measure = forms.ChoiceField(
        label=_("Measure"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    product_group = forms.CharField(
        label=_("Product group"),
        max_length=DIMENSION_LENGTH,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "list": "figure-product-groups"}
        ),
    )
    region = forms.CharField(
        label=_("Region"),
        max_length=DIMENSION_LENGTH,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "list": "figure-regions"}
        ),
    )
    actual = _amount_field(None, _("Actual"))
    target = _amount_field(None, _("Target"))
    was_actual = WasField()
    was_target = WasField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = [("", "–")] + [
            (key, definition.label) for key, definition in MEASURES.items()
        ]
        for name in ("measure", "product_group", "region", "actual", "target"):
            self.fields[name].widget.attrs["aria-label"] = str(self.fields[name].label)

    @property
    def is_existing(self) -> bool:
        value = self["existing"].value()
        return value in (True, "True", "true", "on", "1")

    @property
    def measure_label(self) -> str:
        definition = MEASURES.get(self["measure"].value() or "")
        return definition.label if definition else ""

    def key(self) -> RowKey:
        data = self.cleaned_data
        return (data["measure"], data["product_group"].strip(), data["region"].strip())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if data.get("DELETE"):
            return data
        measure = data.get("measure")
        if not measure:
            self.add_error(
                "measure", forms.ValidationError(_("Choose a measure."), code="required")
            )
            return data
        if not data.get("product_group", "").strip() and not data.get("region", "").strip():
            self.add_error(
                "product_group",
                forms.ValidationError(
                    _("A breakdown row needs a product group, a region or both."),
                    code="no_dimension",
                ),
            )
        definition = MEASURES[measure]
        for cell in CELLS:
            value = data.get(cell)
            if value is None:
                continue
            if definition.minimum is not None and value < definition.minimum:
                self.add_error(
                    cell,
                    forms.ValidationError(
                        _("%(measure)s cannot be below %(minimum)s.")
                        % {"measure": definition.label, "minimum": shown(definition.minimum)},
                        code="min_value",
                    ),
                )
            if definition.maximum is not None and value > definition.maximum:
                self.add_error(
                    cell,
                    forms.ValidationError(
                        _("%(measure)s cannot be above %(maximum)s.")
                        % {"measure": definition.label, "maximum": shown(definition.maximum)},
                        code="max_value",
                    ),
                )
        if not self.is_existing and data.get("actual") is None and data.get("target") is None:
            self.add_error(
                "actual",
                forms.ValidationError(
                    _("Enter an actual or a target value, or leave the row empty."),
                    code="no_value",
                ),
            )
        return data


class BaseBreakdownFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        seen: set[RowKey] = set()
        for form in self.forms:
            if form.errors or (not form.has_changed() and not form.is_existing):
                continue
            if form.cleaned_data.get("DELETE") or not form.cleaned_data.get("measure"):
                continue
            key = form.key()
            if key in seen:
                form.add_error(
                    None,
                    forms.ValidationError(
                        _(
                            "This measure already has a row for this product group and region "
                            "above."
                        ),
                        code="duplicate_row",
                    ),
                )
            seen.add(key)


BreakdownFormSet = forms.formset_factory(
    BreakdownForm,
    formset=BaseBreakdownFormSet,
    extra=BREAKDOWN_EXTRA,
    can_delete=True,
    max_num=BREAKDOWN_MAX,
    validate_max=True,
    absolute_max=BREAKDOWN_MAX,
)


def breakdown_initial(grid: FigureGrid) -> list[dict[str, Any]]:
    return [
        {
            "existing": True,
            "measure": figure.measure,
            "product_group": figure.product_group,
            "region": figure.region,
            "actual": plain(figure.actual),
            "target": plain(figure.target),
            "was_actual": canonical(figure.actual),
            "was_target": canonical(figure.target),
        }
        for figure in grid.breakdowns
    ]


class FigureGridForm:
    """The totals form and the breakdown formset of one grid, validated and read together."""

    def __init__(self, data: Any = None, *, grid: FigureGrid, with_reason: bool = False) -> None:
        self.grid = grid
        self.totals = FigureTotalsForm(data, grid=grid, with_reason=with_reason)
        self.breakdowns = BreakdownFormSet(
            data,
            prefix=BREAKDOWN_PREFIX,
            initial=None if data is not None else breakdown_initial(grid),
        )
        self.conflict_cells: set[str] = set()

    @property
    def conflict_changes(self) -> list:
        return self.totals.conflict_changes

    def is_valid(self) -> bool:
        valid = self.totals.is_valid() & self.breakdowns.is_valid()
        self._mark_invalid()
        return valid

    @property
    def has_errors(self) -> bool:
        return bool(
            self.totals.errors
            or self.breakdowns.non_form_errors()
            or any(form.errors for form in self.breakdowns.forms)
        )

    def add_error(self, error: forms.ValidationError) -> None:
        self.totals.add_error(None, error)

    @property
    def reason(self) -> str:
        return self.totals.cleaned_data.get("reason", "") if self.totals.is_bound else ""

    def _breakdown_forms(self) -> Iterator[BreakdownForm]:
        """The existing rows and the new rows the user filled in (and did not remove)."""
        for form in self.breakdowns.forms:
            added = form.has_changed() and not form.cleaned_data.get("DELETE")
            if form.is_existing or added:
                yield form

    def rows(self) -> dict[RowKey, dict[str, Decimal | None]]:
        """The user's values per row (a removed breakdown row: no values)."""
        rows: dict[RowKey, dict[str, Decimal | None]] = {}
        data = self.totals.cleaned_data
        for key, cell, name, _was in self.totals.cells():
            rows.setdefault(key, {})[cell] = data.get(name)
        for form in self._breakdown_forms():
            if not form.cleaned_data.get("measure"):
                continue
            removed = bool(form.cleaned_data.get("DELETE"))
            rows[form.key()] = {
                cell: None if removed else form.cleaned_data.get(cell) for cell in CELLS
            }
        return rows

    def started_from(self) -> dict[RowKey, dict[str, Decimal | None]]:
        """The values the user saw when the form was opened, per row."""
        started: dict[RowKey, dict[str, Decimal | None]] = {}
        data = self.totals.cleaned_data
        for key, cell, _name, was in self.totals.cells():
            started.setdefault(key, {})[cell] = data.get(was)
        for form in self._breakdown_forms():
            if not form.cleaned_data.get("measure"):
                continue
            started[form.key()] = {
                cell: form.cleaned_data.get(f"was_{cell}") if form.is_existing else None
                for cell in CELLS
            }
        return started

    def _mark_invalid(self) -> None:
        forms_ = [self.totals, *self.breakdowns.forms]
        for form in forms_:
            for name in form.errors:
                if name in form.fields:
                    widget = form.fields[name].widget
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                    widget.attrs["aria-invalid"] = "true"

    def rebased(self, grid: FigureGrid, conflicts: list) -> FigureGridForm:
        """After a conflict: a form on today's values that keeps every cell the user changed,
        marks the conflicting ones and lists what the other person saved."""
        rows, started = self.rows(), self.started_from()
        changed = {
            (key, cell)
            for key, cells in rows.items()
            for cell, value in cells.items()
            if value != (started.get(key) or {}).get(cell)
        }
        raw = self.totals.data
        values = grid.values()
        data: dict[str, Any] = {}
        for key, cell, name, was in self.totals.cells():
            current = (values.get(key) or {}).get(cell)
            data[name] = raw.get(name, "") if (key, cell) in changed else shown(current)
            data[was] = canonical(current)
        if "reason" in self.totals.fields:
            data["reason"] = raw.get("reason", "")
        mine = {
            form.key(): form for form in self._breakdown_forms() if form.cleaned_data.get("measure")
        }
        rows_out: list[dict[str, Any]] = []
        for figure in grid.breakdowns:
            key = (figure.measure, figure.product_group, figure.region)
            form = mine.pop(key, None)
            row = {
                "existing": "True",
                "measure": figure.measure,
                "product_group": figure.product_group,
                "region": figure.region,
                "was_actual": canonical(figure.actual),
                "was_target": canonical(figure.target),
            }
            for cell in CELLS:
                current = getattr(figure, cell)
                keep = form is not None and (key, cell) in changed
                row[cell] = form.data.get(form.add_prefix(cell), "") if keep else shown(current)
            if form is not None and form.cleaned_data.get("DELETE"):
                row["DELETE"] = "on"
            rows_out.append(row)
        for key, form in mine.items():
            # Rows the user added, or changed after someone else removed them.
            if not any((key, cell) in changed for cell in CELLS):
                continue
            rows_out.append(
                {
                    "existing": "",
                    "measure": key[0],
                    "product_group": key[1],
                    "region": key[2],
                    "actual": form.data.get(form.add_prefix("actual"), ""),
                    "target": form.data.get(form.add_prefix("target"), ""),
                    "was_actual": "",
                    "was_target": "",
                }
            )
        prefix = BREAKDOWN_PREFIX
        existing = sum(1 for row in rows_out if row["existing"])
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows_out) + BREAKDOWN_EXTRA)
        data[f"{prefix}-INITIAL_FORMS"] = str(existing)
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = str(BREAKDOWN_MAX)
        for index, row in enumerate(rows_out):
            for name, value in row.items():
                data[f"{prefix}-{index}-{name}"] = value
        rebased = FigureGridForm(data, grid=grid, with_reason="reason" in self.totals.fields)
        rebased.is_valid()
        rebased.totals.conflict_changes = conflicts
        rebased.conflict_cells = {change.name for change in conflicts}
        rebased.mark_conflicts()
        return rebased

    def mark_conflicts(self) -> None:
        for key, cell, name, _was in self.totals.cells():
            if cell_name(key, cell) in self.conflict_cells:
                _warn(self.totals.fields[name].widget)
        for form in self.breakdowns.forms:
            if not (form.is_existing or form.has_changed()) or not form.is_valid():
                continue
            if not form.cleaned_data.get("measure"):
                continue
            for cell in CELLS:
                if cell_name(form.key(), cell) in self.conflict_cells:
                    _warn(form.fields[cell].widget)


def _warn(widget: forms.Widget) -> None:
    widget.attrs["class"] = f"{widget.attrs.get('class', '')} border-warning border-2".strip()
