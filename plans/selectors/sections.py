"""The plan's sections as frozen versions show them: which fields and lists a snapshot has,
with codes turned into labels and numbers and dates localised in the active language.

Reads plain snapshot dicts (see ``plans/selectors/snapshot.py``); a code the choices no longer
know is shown as is. :func:`plan_snapshot_at` loads the snapshot a page asks for, and
:mod:`plans.selectors.compare` compares two of them section by section.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import TextChoices
from django.utils import formats
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import BuyingRole, Influence, PartnershipStrategy
from plans.models import (
    ActionStatus,
    Department,
    Level,
    Metric,
    ObjectiveStatus,
    Plan,
    RelationshipPhase,
    ResourceStatus,
)
from plans.selectors.snapshot import plan_snapshot
from selection.models import Quadrant

Snapshot = dict[str, Any]
Row = dict[str, Any]


def choice_label(choices: type[TextChoices], code: str | None) -> str:
    """The label of a snapshot's ``code`` in the active language; an unknown code (an older
    snapshot's) is shown as it is."""
    if not code:
        return ""
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code)


def _number(value: str | int | None) -> str:
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    places = 0 if number == number.to_integral_value() else 2
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def _date(value: str | None) -> str:
    if not value:
        return ""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return str(value)
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _yes_no(value: object) -> str:
    return _("yes") if value else _("no")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _plan_label(name: str) -> str:
    return capfirst(str(Plan._meta.get_field(name).verbose_name))


def _horizon(snapshot: Snapshot) -> str:
    years = snapshot.get("plan", {}).get("years") or []
    return f"{years[0]}–{years[-1]}" if years else ""


def _language(code: str | None) -> str:
    return str(dict(settings.LANGUAGES).get(code or "", code or ""))


@dataclass(frozen=True)
class FieldSpec:
    """One value of a section: ``text`` marks long Markdown texts (diffed word by word)."""

    label: str | Promise
    value: Callable[[Snapshot], str]
    text: bool = False


@dataclass(frozen=True)
class Column:
    """One column of a list section; ``markdown`` cells hold long texts."""

    label: str | Promise
    value: Callable[[Row], str]
    markdown: bool = False
    numeric: bool = False
    nowrap: bool = False  # dates and numbers stay on one line


@dataclass(frozen=True)
class SectionSpec:
    """A section of the plan: either fields of the plan, or a list of rows.

    ``identity`` says which rows of two snapshots are the same row (so a changed row is
    shown as changed, not as removed and added again).
    """

    key: str
    title: str | Promise
    fields: tuple[FieldSpec, ...] = ()
    columns: tuple[Column, ...] = ()
    rows: Callable[[Snapshot], list[Row]] | None = None
    identity: Callable[[Row], Hashable] | None = None


def _texts(*names: str) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(
            _plan_label(name),
            lambda s, name=name: _text(s.get("texts", {}).get(name)),
            text=True,
        )
        for name in names
    )


def _choice(name: str, choices: type[TextChoices]) -> FieldSpec:
    return FieldSpec(
        _plan_label(name), lambda s: choice_label(choices, s.get("choices", {}).get(name))
    )


def _actions(snapshot: Snapshot) -> list[Row]:
    return [
        {**action, "objective": objective.get("title", "")}
        for objective in snapshot.get("objectives", [])
        for action in objective.get("actions", [])
    ]


def _target_name(row: Row) -> str:
    if row.get("metric") == Metric.CUSTOM:
        return _text(row.get("name"))
    return choice_label(Metric, row.get("metric"))


def _year_value(index: int) -> Callable[[Row], str]:
    def value(row: Row) -> str:
        values = row.get("values") or []
        return _number(values[index]) if index < len(values) else ""

    return value


def _strength(value: object) -> str:
    return _text(value) if value else ""


def section_specs(years: list[int]) -> tuple[SectionSpec, ...]:
    """The plan's sections in the order the plan page shows them; ``years`` name the
    target columns."""
    year_columns = tuple(
        Column(str(year), _year_value(index), numeric=True, nowrap=True)
        for index, year in enumerate(years)
    )
    return (
        SectionSpec(
            "account",
            gettext_lazy("Account and settings"),
            fields=(
                FieldSpec(gettext_lazy("Horizon"), _horizon),
                FieldSpec(gettext_lazy("Tier"), lambda s: _text(s.get("account", {}).get("tier"))),
                FieldSpec(
                    gettext_lazy("Key account manager"),
                    lambda s: _text(s.get("account", {}).get("key_account_manager")),
                ),
                FieldSpec(
                    gettext_lazy("Portfolio quadrant"),
                    lambda s: choice_label(Quadrant, (s.get("portfolio") or {}).get("quadrant")),
                ),
                FieldSpec(
                    _plan_label("language"),
                    lambda s: _language(s.get("plan", {}).get("language")),
                ),
                FieldSpec(
                    _plan_label("review_interval_months"),
                    lambda s: _text(s.get("plan", {}).get("review_interval_months")),
                ),
            ),
        ),
        SectionSpec(
            "situation",
            gettext_lazy("Situation"),
            fields=_texts("business_goals", "market_trends", "purchasing_strategy", "competition"),
        ),
        SectionSpec(
            "swot",
            gettext_lazy("SWOT"),
            fields=_texts("strengths", "weaknesses", "opportunities", "threats"),
        ),
        SectionSpec(
            "strategy",
            gettext_lazy("Value proposition and strategy"),
            fields=(
                *_texts("value_proposition", "account_strategy"),
                _choice("partnership_level", PartnershipStrategy),
                _choice("development_strategy", Quadrant),
                _choice("phase", RelationshipPhase),
            ),
        ),
        SectionSpec(
            "targets",
            gettext_lazy("Targets"),
            columns=(
                Column(gettext_lazy("KPI"), _target_name),
                Column(gettext_lazy("Unit"), lambda r: _text(r.get("unit"))),
                *year_columns,
            ),
            rows=lambda s: s.get("targets", []),
            identity=lambda r: (r.get("metric"), r.get("name") or ""),
        ),
        SectionSpec(
            "objectives",
            gettext_lazy("Objectives"),
            columns=(
                Column(gettext_lazy("Objective"), lambda r: _text(r.get("title"))),
                Column(gettext_lazy("Measured by"), lambda r: _text(r.get("measure"))),
                Column(gettext_lazy("Target year"), lambda r: _text(r.get("target_year"))),
                Column(
                    gettext_lazy("KPI it moves"), lambda r: choice_label(Metric, r.get("target"))
                ),
                Column(
                    gettext_lazy("Status"), lambda r: choice_label(ObjectiveStatus, r.get("status"))
                ),
            ),
            rows=lambda s: s.get("objectives", []),
            identity=lambda r: r.get("title"),
        ),
        SectionSpec(
            "actions",
            gettext_lazy("Actions"),
            columns=(
                Column(gettext_lazy("Objective"), lambda r: _text(r.get("objective"))),
                Column(gettext_lazy("Action"), lambda r: _text(r.get("title"))),
                Column(gettext_lazy("Owner"), lambda r: _text(r.get("owner"))),
                Column(gettext_lazy("Due"), lambda r: _date(r.get("due_date")), nowrap=True),
                Column(
                    gettext_lazy("Status"), lambda r: choice_label(ActionStatus, r.get("status"))
                ),
                Column(
                    gettext_lazy("Phase"), lambda r: choice_label(RelationshipPhase, r.get("phase"))
                ),
                Column(
                    gettext_lazy("Contacts involved"),
                    lambda r: ", ".join(r.get("contacts") or []),
                ),
            ),
            rows=_actions,
            identity=lambda r: (r.get("objective"), r.get("title")),
        ),
        SectionSpec(
            "risks",
            gettext_lazy("Risks"),
            columns=(
                Column(gettext_lazy("Risk"), lambda r: _text(r.get("description"))),
                Column(
                    gettext_lazy("Likelihood"), lambda r: choice_label(Level, r.get("likelihood"))
                ),
                Column(gettext_lazy("Impact"), lambda r: choice_label(Level, r.get("impact"))),
                Column(
                    gettext_lazy("Mitigation"), lambda r: _text(r.get("mitigation")), markdown=True
                ),
            ),
            rows=lambda s: s.get("risks", []),
            identity=lambda r: r.get("description"),
        ),
        SectionSpec(
            "resources",
            gettext_lazy("Resources needed"),
            columns=(
                Column(
                    gettext_lazy("Department"),
                    lambda r: choice_label(Department, r.get("department")),
                ),
                Column(gettext_lazy("What is needed"), lambda r: _text(r.get("description"))),
                Column(gettext_lazy("Person asked"), lambda r: _text(r.get("requested_from"))),
                Column(
                    gettext_lazy("Status"), lambda r: choice_label(ResourceStatus, r.get("status"))
                ),
            ),
            rows=lambda s: s.get("resources", []),
            identity=lambda r: (r.get("department"), r.get("description")),
        ),
        SectionSpec(
            "contact_strategies",
            gettext_lazy("Buying-center strategy"),
            columns=(
                Column(gettext_lazy("Contact"), lambda r: _text(r.get("contact"))),
                Column(gettext_lazy("Position"), lambda r: _text(r.get("position"))),
                Column(
                    gettext_lazy("Buying-center roles"),
                    lambda r: ", ".join(
                        choice_label(BuyingRole, role) for role in r.get("roles") or []
                    ),
                ),
                Column(
                    gettext_lazy("Influence"), lambda r: choice_label(Influence, r.get("influence"))
                ),
                Column(
                    gettext_lazy("Relationship today (1–5)"),
                    lambda r: _strength(r.get("strength")),
                    numeric=True,
                ),
                Column(
                    gettext_lazy("Intended relationship (1–5)"),
                    lambda r: _strength(r.get("target_strength")),
                    numeric=True,
                ),
                Column(gettext_lazy("Relationship owner"), lambda r: _text(r.get("owner"))),
                Column(gettext_lazy("How we get there"), lambda r: _text(r.get("approach"))),
            ),
            rows=lambda s: s.get("contact_strategies", []),
            identity=lambda r: r.get("contact"),
        ),
        SectionSpec(
            "reviews",
            gettext_lazy("Mentor reviews"),
            columns=(
                Column(
                    gettext_lazy("Reviewed on"), lambda r: _date(r.get("reviewed_on")), nowrap=True
                ),
                Column(gettext_lazy("Reviewer"), lambda r: _text(r.get("reviewer"))),
                Column(gettext_lazy("Signed off"), lambda r: _yes_no(r.get("signed_off"))),
                Column(gettext_lazy("Notes"), lambda r: _text(r.get("notes")), markdown=True),
            ),
            rows=lambda s: s.get("reviews", []),
            identity=lambda r: (r.get("reviewed_on"), r.get("reviewer")),
        ),
    )


def snapshot_years(*snapshots: Snapshot) -> list[int]:
    """The plan years of the last snapshot that names them."""
    for snapshot in reversed(snapshots):
        years = snapshot.get("plan", {}).get("years")
        if years:
            return list(years)
    return []


@dataclass(frozen=True)
class FieldView:
    label: str | Promise
    value: str
    text: bool


@dataclass(frozen=True)
class Cell:
    value: str
    column: Column


@dataclass(frozen=True)
class SectionView:
    key: str
    title: str | Promise
    fields: list[FieldView]
    columns: tuple[Column, ...]
    rows: list[list[Cell]]

    @property
    def is_list(self) -> bool:
        return bool(self.columns)


def snapshot_sections(snapshot: Snapshot) -> list[SectionView]:
    """The snapshot's sections with display values (labels, localised numbers and dates)."""
    sections = []
    for spec in section_specs(snapshot_years(snapshot)):
        rows = spec.rows(snapshot) if spec.rows else []
        sections.append(
            SectionView(
                key=spec.key,
                title=spec.title,
                fields=[FieldView(f.label, f.value(snapshot), f.text) for f in spec.fields],
                columns=spec.columns,
                rows=[[Cell(c.value(row), c) for c in spec.columns] for row in rows],
            )
        )
    return sections


CURRENT = "current"


def plan_snapshot_at(plan: Plan, which: str) -> Snapshot:
    """The frozen snapshot of version ``which`` (a number), or the working copy's snapshot
    for ``"current"``. Raises PlanVersion.DoesNotExist for a number the plan does not have."""
    if which == CURRENT:
        return plan_snapshot(plan)
    return plan.versions.only("snapshot").get(number=int(which)).snapshot
