"""Reads of an account's KPI tab: actuals and targets per measure and year, the plan's targets
through the KPI rows, and the breakdowns by product group and region, in two queries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Region
from kpis.catalogue import MEASURES, Measure, MeasureDefinition
from kpis.models import AccountKpi, AnnualFigure
from kpis.selectors.common import choice_labels, percent


@dataclass(frozen=True)
class Cell:
    """One year of one measure: actual, target and their ratio."""

    year: int
    actual: Decimal | None = None
    target: Decimal | None = None

    @property
    def attainment(self) -> Decimal | None:
        return percent(self.actual, self.target)


@dataclass
class MeasureRow:
    """A measure over the years; ``label`` names a product group or region in breakdowns."""

    definition: MeasureDefinition
    label: str
    cells: list[Cell]


@dataclass
class Breakdown:
    """A table of the figures broken down by product group, region or both."""

    key: str
    title: str
    column: str
    rows: list[MeasureRow]


@dataclass(frozen=True)
class YearKpis:
    """An account's KPIs in one year."""

    year: int
    revenue: Decimal | None
    revenue_target: Decimal | None
    attainment: Decimal | None
    growth: Decimal | None
    share_of_wallet: Decimal | None
    margin: Decimal | None
    margin_target: Decimal | None
    margin_attainment: Decimal | None


@dataclass
class AccountKpis:
    """An account's figures and KPI rows over the years, read in two queries."""

    account: Account
    years: list[int]
    measures: list[MeasureRow]
    kpis: dict[int, dict[str, Any]]
    breakdowns: list[Breakdown]

    @property
    def revenue(self) -> MeasureRow | None:
        return next((row for row in self.measures if row.definition.measure == "revenue"), None)

    def summary(self, year: int | None) -> YearKpis | None:
        """The account's KPIs of ``year`` (None without a KPI row for it)."""
        row = self.kpis.get(year) if year is not None else None
        if row is None:
            return None
        revenue, prior = row["revenue"], row["revenue_prior"]
        return YearKpis(
            year=year,
            revenue=revenue,
            revenue_target=row["revenue_target"],
            attainment=percent(revenue, row["revenue_target"]),
            growth=percent(revenue - prior, prior) if revenue is not None and prior else None,
            share_of_wallet=percent(revenue, row["potential_revenue"]),
            margin=row["contribution_margin"],
            margin_target=row["margin_target"],
            margin_attainment=percent(row["contribution_margin"], row["margin_target"]),
        )

    @property
    def year_rows(self) -> list[YearKpis]:
        """The KPIs of every year with a KPI row, oldest first."""
        return [kpis for year in self.years if (kpis := self.summary(year)) is not None]

    @property
    def latest_year(self) -> int | None:
        """The latest year with any actual."""
        years = [
            cell.year for row in self.measures for cell in row.cells if cell.actual is not None
        ]
        return max(years, default=None)


KPI_FIELDS = (
    "year",
    "revenue",
    "revenue_target",
    "revenue_prior",
    "contribution_margin",
    "margin_target",
    "volume",
    "volume_target",
    "potential_revenue",
)
PLAN_TARGET_FIELDS = {
    Measure.REVENUE.value: "revenue_target",
    Measure.CONTRIBUTION_MARGIN.value: "margin_target",
    Measure.VOLUME.value: "volume_target",
}


def account_kpis(*, account: Account) -> AccountKpis:
    """The account's actuals and targets per measure and year, the account totals' targets of
    the plan measures from the key account plan (through the KPI rows), and the breakdowns by
    product group and region. Two queries, whatever the number of figures."""
    kpis = {
        row["year"]: row for row in AccountKpi.objects.filter(account=account).values(*KPI_FIELDS)
    }
    figures = list(
        AnnualFigure.objects.filter(account=account)
        .order_by()
        .values_list("year", "measure", "product_group", "region", "actual", "target")
    )
    years = sorted({row[0] for row in figures} | set(kpis))
    values: dict[tuple[str, str, str], dict[int, list]] = {}
    for year, measure, group, region, actual, target in figures:
        values.setdefault((measure, group, region), {})[year] = [actual, target]
    for measure, target_field in PLAN_TARGET_FIELDS.items():
        for year, row in kpis.items():
            if row[target_field] is not None:
                values.setdefault((measure, "", ""), {}).setdefault(year, [None, None])[1] = row[
                    target_field
                ]

    def row_of(key: tuple[str, str, str], label: str) -> MeasureRow:
        by_year = values[key]
        return MeasureRow(
            definition=MEASURES[key[0]],
            label=label,
            cells=[Cell(year, *by_year.get(year, (None, None))) for year in years],
        )

    order = {key: index for index, key in enumerate(MEASURES)}
    keys = sorted(values, key=lambda key: (order.get(key[0], 99), key[1], key[2]))
    regions = choice_labels(Region.choices)
    breakdowns = [
        Breakdown("product_group", str(_("By product group")), str(_("Product group")), []),
        Breakdown("region", str(_("By region")), str(_("Region")), []),
        Breakdown(
            "both",
            str(_("By product group and region")),
            str(_("Product group · region")),
            [],
        ),
    ]
    measures = []
    for key in keys:
        if key[0] not in MEASURES:
            continue
        _measure, group, region = key
        if not group and not region:
            measures.append(row_of(key, ""))
        elif group and not region:
            breakdowns[0].rows.append(row_of(key, group))
        elif region and not group:
            breakdowns[1].rows.append(row_of(key, regions.get(region, region)))
        else:
            breakdowns[2].rows.append(row_of(key, f"{group} · {regions.get(region, region)}"))
    return AccountKpis(
        account=account,
        years=years,
        measures=measures,
        kpis=kpis,
        breakdowns=[b for b in breakdowns if b.rows],
    )
