"""Reads of the annual figures: one account's grid for a year, the plan targets that stand in
for the account-level targets of the plan measures, and the export rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch

from accounts.models import Account
from kpis.catalogue import MEASURES, PLAN_MEASURES, MeasureDefinition, Unit
from kpis.models import AnnualFigure, ClosedYear, FigureCorrection
from plans.models import HORIZON_YEARS, Plan, Target

RowKey = tuple[str, str, str]
"""A row of the grid: (measure, product group, region); empty dimensions are the total."""

CELLS = ("actual", "target")
MEASURE_ORDER = {key: index for index, key in enumerate(MEASURES)}
CORRECTIONS_SHOWN = 20


def unit_label(definition: MeasureDefinition, currency: str) -> str:
    """The unit as the grid shows it: the account's currency for money."""
    if definition.unit == Unit.CURRENCY:
        return currency
    return str(definition.unit.label)


@dataclass
class GridMeasure:
    """One measure of the account total: its values, and where the target comes from."""

    definition: MeasureDefinition
    unit: str
    actual: Decimal | None = None
    target: Decimal | None = None
    prior_actual: Decimal | None = None
    # For the plan measures: the target of the key account plan covering the year.
    plan_target: Decimal | None = None

    @property
    def key(self) -> str:
        return self.definition.measure.value

    @property
    def is_plan_measure(self) -> bool:
        return self.key in PLAN_MEASURES

    @property
    def is_money(self) -> bool:
        return self.definition.unit == Unit.CURRENCY


@dataclass
class FigureGrid:
    """Everything the grid page of one account and year reads."""

    account: Account
    year: int
    measures: list[GridMeasure]
    breakdowns: list[AnnualFigure]
    plan: Plan | None
    closed: ClosedYear | None
    corrections: list[FigureCorrection] = field(default_factory=list)
    product_groups: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)

    @property
    def is_closed(self) -> bool:
        return self.closed is not None

    def values(self) -> dict[RowKey, dict[str, Decimal | None]]:
        """The values the grid shows, per row: what an editor starts from."""
        rows: dict[RowKey, dict[str, Decimal | None]] = {}
        for measure in self.measures:
            cells = {"actual": measure.actual}
            if not measure.is_plan_measure:
                cells["target"] = measure.target
            rows[(measure.key, "", "")] = cells
        for figure in self.breakdowns:
            rows[(figure.measure, figure.product_group, figure.region)] = {
                "actual": figure.actual,
                "target": figure.target,
            }
        return rows


def covering_plan(account: Account, year: int) -> Plan | None:
    """The key account plan whose targets hold for ``year``: the newest whose horizon
    (``start_year`` and the two years after it) contains the year, with its targets."""
    return (
        Plan.objects.filter(
            account=account,
            start_year__lte=year,
            start_year__gt=year - HORIZON_YEARS,
        )
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.filter(metric__in=list(PLAN_MEASURES)))
        )
        .order_by("-start_year")
        .first()
    )


def plan_target(plan: Plan | None, measure: str, year: int) -> Decimal | None:
    """The plan's target of a plan measure for ``year`` (None: not set in the plan)."""
    if plan is None or measure not in PLAN_MEASURES:
        return None
    offset = year - plan.start_year
    for target in plan.targets.all():
        if target.metric == PLAN_MEASURES[measure]:
            return getattr(target, f"year_{offset + 1}")
    return None


def _sort_key(figure: AnnualFigure) -> tuple:
    # Product groups first, then the rows of a region alone.
    return (
        not figure.product_group,
        figure.product_group.casefold(),
        figure.region.casefold(),
        MEASURE_ORDER.get(figure.measure, 99),
    )


def figure_grid(*, account: Account, year: int) -> FigureGrid:
    """The grid of ``account`` (already scoped to the user) for ``year``: every measure of the
    account total with the year before's actual, the breakdown rows, the covering plan, and
    whether the year is closed. A constant number of queries."""
    figures = list(AnnualFigure.objects.filter(account=account, year__in=(year - 1, year)))
    totals = {f.measure: f for f in figures if f.year == year and f.is_total}
    prior = {f.measure: f.actual for f in figures if f.year == year - 1 and f.is_total}
    plan = covering_plan(account, year)
    measures = []
    for key, definition in MEASURES.items():
        figure = totals.get(key)
        measures.append(
            GridMeasure(
                definition=definition,
                unit=unit_label(definition, account.currency),
                actual=figure.actual if figure else None,
                target=figure.target if figure else None,
                prior_actual=prior.get(key),
                plan_target=plan_target(plan, key, year),
            )
        )
    breakdowns = sorted((f for f in figures if f.year == year and not f.is_total), key=_sort_key)
    closed = ClosedYear.objects.filter(year=year).first()
    corrections = (
        list(
            FigureCorrection.objects.filter(account=account, year=year).select_related("user")[
                :CORRECTIONS_SHOWN
            ]
        )
        if closed
        else []
    )
    dimensions = AnnualFigure.objects.filter(account=account).exclude(product_group="", region="")
    pairs = set(dimensions.values_list("product_group", "region").distinct())
    years = set(
        AnnualFigure.objects.filter(account=account).values_list("year", flat=True).distinct()
    )
    return FigureGrid(
        account=account,
        year=year,
        measures=measures,
        breakdowns=breakdowns,
        plan=plan,
        closed=closed,
        corrections=corrections,
        product_groups=sorted({pg for pg, _region in pairs if pg}, key=str.casefold),
        regions=sorted({region for _pg, region in pairs if region}, key=str.casefold),
        years=sorted(y for y in years | {year - 1, year, year + 1} if 2000 <= y <= 2100),
    )


EXPORT_FIELDS = ("year", "measure", "product_group", "region", "actual", "target")


def figure_export_rows(*, account: Account) -> Iterator[tuple]:
    """Every figure of the account (already scoped to the user) for the export, by year and
    measure; the account-level targets of the plan measures come from the covering plans."""
    plans = list(
        Plan.objects.filter(account=account)
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.filter(metric__in=list(PLAN_MEASURES)))
        )
        .order_by("-start_year")
    )

    def plan_for(year: int) -> Plan | None:
        return next((p for p in plans if p.start_year <= year < p.start_year + HORIZON_YEARS), None)

    rows = AnnualFigure.objects.filter(account=account).values_list(*EXPORT_FIELDS)
    ordered = sorted(
        rows.iterator(), key=lambda r: (r[0], r[2].casefold(), r[3].casefold(), MEASURE_ORDER[r[1]])
    )
    for year, measure, product_group, region, actual, target in ordered:
        if measure in PLAN_MEASURES and not product_group and not region:
            target = plan_target(plan_for(year), measure, year)
        yield year, measure, product_group, region, actual, target
