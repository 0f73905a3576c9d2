"""The demo's annual figures: three years that make every dashboard and chart look real.

Used by ``seed_demo`` after the plans; idempotent (each part is skipped once it exists). For the
three years before the current one it writes (in bulk) every measure of the key accounts'
totals, their breakdowns by product group and by sales region, and revenue, volume and margin
of the other accounts; an approved key account plan for those years sets the account-level
targets (some accounts miss them). The last year's region breakdown arrives as a real import
of a German ERP extract; the two older years are closed, and the last one by a real annual
refresh, which leaves a draft selection run for leadership to review.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from accounts.models import Account, AccountStatus, AccountTeamMember, TeamRole
from kam.models import Notification, User
from kam.services import job_execute
from kpis import services
from kpis.catalogue import MEASURES, PLAN_MEASURES
from kpis.models import AnnualFigure, AnnualRefresh, ClosedYear, ImportBatch, ImportSource
from plans import services as plan_services
from plans.models import Plan
from selection.services import selection_run_compute

YEARS_OF_FIGURES = 3
PRODUCT_GROUPS = ("Antriebstechnik", "Ersatzteile", "Service")
PRODUCT_GROUP_SHARES = (Decimal("0.55"), Decimal("0.30"), Decimal("0.15"))
SALES_REGIONS = ("Inland", "Export")
ERP_SOURCE = "ERP"
ERP_MAPPING = {
    "account": "Kundennummer",
    "year": "Geschäftsjahr",
    "region": "Vertriebsgebiet",
    "revenue.actual": "Umsatz Ist",
    "revenue.target": "Umsatz Soll",
    "volume.actual": "Absatz Ist",
}
CONTROLLING_SOURCE = "Controlling (Excel)"
CONTROLLING_MAPPING = {
    "account": "Debitor",
    "year": "GJ",
    "product_group": "Warengruppe",
    "contribution_margin.actual": "DB I",
    "contribution_margin.target": "DB I Plan",
}
CENT = Decimal("0.01")
# Measures where less is better: their targets lie below the actuals.
LOWER_IS_BETTER = frozenset({"returns", "service_effort", "processing_intensity"})


def _money(value: float) -> Decimal:
    return Decimal(round(value, -2)).quantize(CENT)


def _number(value: float, places: int = 0) -> Decimal:
    return Decimal(round(value, places)).quantize(CENT)


class _AccountSeries:
    """One account's figures over the years; every draw comes from a generator seeded by the
    account and what is drawn, so the same value comes out whenever and however often asked."""

    def __init__(self, account: Account, first_year: int, potential: Decimal | None) -> None:
        self.erp_number = account.erp_number
        rng = self.rng_for("base")
        share = float(account.share_of_wallet or rng.randint(8, 25)) / 100
        # The potential of the current year, scaled back over the years of figures.
        base = float(potential) * share if potential else rng.uniform(2e5, 1.5e6)
        self.growth = [rng.uniform(0.97, 1.12) for _ in range(YEARS_OF_FIGURES)]
        shrink = 1.0
        for growth in self.growth:
            shrink /= growth
        self.revenue = []
        value = base * shrink
        for growth in self.growth:
            self.revenue.append(value)
            value *= growth
        self.first_year = first_year
        self.unit_price = rng.uniform(40, 400)
        self.margin_rate = rng.uniform(0.18, 0.32)
        self.off_target = rng.random() < 0.3
        self.orders = rng.randint(120, 2400)
        # The other measures: a level per account that drifts a little from year to year.
        self.levels = {
            "distribution": rng.uniform(45, 85),
            "market_share": rng.uniform(6, 40),
            "minimum_price": self.unit_price * rng.uniform(0.72, 0.85),
            "special_price": self.unit_price * rng.uniform(0.85, 0.95),
            "assortment": rng.randint(60, 700),
            "article_structure": rng.randint(30, 400),
            "promotion_articles": rng.randint(5, 60),
            "minimum_order_size": rng.choice((250, 500, 750, 1000, 1500)),
            "turnover_rate": rng.uniform(3, 10),
            "returns": rng.uniform(0.5, 5),
            "promotions": rng.randint(2, 15),
            "service_effort": rng.uniform(40, 600),
        }
        self.drift = {measure: rng.uniform(-0.04, 0.08) for measure in self.levels}
        self.scores = {
            "processing_intensity": rng.randint(1, 4),
            "willingness_to_cooperate": rng.randint(2, 4),
        }

    def rng_for(self, *parts: object) -> random.Random:
        key = ":".join(str(part) for part in parts)
        return random.Random(f"seed-demo:figures:{self.erp_number}:{key}")  # noqa: S311 (demo data)  # nosec B311

    def year(self, offset: int) -> dict[str, float]:
        """Every measure's actual in year ``first_year + offset``."""
        rng = self.rng_for("year", offset)
        revenue = self.revenue[offset]
        orders = self.orders * (1 + 0.05 * offset)
        values = {
            measure: level * (1 + self.drift[measure]) ** offset * rng.uniform(0.97, 1.03)
            for measure, level in self.levels.items()
        }
        values["minimum_order_size"] = self.levels["minimum_order_size"]
        values.update(
            {
                "volume": revenue / self.unit_price,
                "revenue": revenue,
                "contribution_margin": revenue * (self.margin_rate + rng.uniform(-0.02, 0.02)),
                "average_customer_revenue": revenue / orders,
                "order_structure": orders,
                # Scores move by at most one point a year.
                **{
                    measure: score + (offset and rng.choice((-1, 0, 0, 1)))
                    for measure, score in self.scores.items()
                },
            }
        )
        return values

    def plan_factor(self, offset: int) -> float:
        """Plan target ÷ actual: above 1.12 for the accounts that miss their targets."""
        rng = self.rng_for("plan", offset)
        if self.off_target:
            return rng.uniform(1.13, 1.3)
        return rng.uniform(0.92, 1.06)

    def target(self, measure: str, actual: Decimal, *where: object) -> Decimal:
        """A target near ``actual``: a little above it, or below where less is better."""
        if measure == "minimum_order_size":
            return actual  # a threshold the account keeps, not a goal
        rng = self.rng_for("target", measure, *where)
        factor = rng.uniform(0.85, 0.97) if measure in LOWER_IS_BETTER else rng.uniform(1.0, 1.1)
        return _value(measure, float(actual) * factor)

    def regions(self, year: int, revenue: float) -> list[tuple[str, Decimal]]:
        """The year's revenue split into the domestic and the export region."""
        domestic = self.rng_for("regions", year).uniform(0.55, 0.85)
        return [
            (SALES_REGIONS[0], _money(revenue * domestic)),
            (SALES_REGIONS[1], _money(revenue * (1 - domestic))),
        ]


def _value(measure: str, amount: float) -> Decimal:
    definition = MEASURES[measure]
    if definition.unit == "currency" and amount >= 1000:
        return _money(amount)
    places = 0 if definition.unit in ("pieces", "count", "score") else 2
    value = _number(amount, places)
    if definition.maximum is not None:
        value = min(value, definition.maximum)
    if definition.minimum is not None:
        value = max(value, definition.minimum)
    return value


def _figures(
    account: Account, series: _AccountSeries, *, key: bool, regions_up_to: int
) -> list[AnnualFigure]:
    """The bulk rows of one account: totals, and for key accounts the breakdowns."""
    rows = []
    prospect = account.status == AccountStatus.PROSPECT
    measures = list(MEASURES) if key else list(PLAN_MEASURES)
    for offset in range(YEARS_OF_FIGURES):
        year = series.first_year + offset
        actuals = series.year(offset)
        for measure in measures:
            if prospect and measure in PLAN_MEASURES:
                continue  # a prospect has no revenue yet
            actual = _value(measure, actuals[measure])
            target = None
            if key and measure not in PLAN_MEASURES:
                target = series.target(measure, actual, year)
            rows.append(
                AnnualFigure(
                    account=account, year=year, measure=measure, actual=actual, target=target
                )
            )
        if not key or prospect:
            continue
        for group, share in zip(PRODUCT_GROUPS, PRODUCT_GROUP_SHARES, strict=True):
            spread = series.rng_for("group", year, group)
            for measure in ("revenue", "volume", "contribution_margin"):
                amount = actuals[measure] * float(share) * spread.uniform(0.9, 1.1)
                actual = _value(measure, amount)
                rows.append(
                    AnnualFigure(
                        account=account,
                        year=year,
                        measure=measure,
                        product_group=group,
                        actual=actual,
                        target=series.target(measure, actual, year, group),
                    )
                )
        if year <= regions_up_to:
            for region, revenue in series.regions(year, actuals["revenue"]):
                rows.append(
                    AnnualFigure(
                        account=account,
                        year=year,
                        measure="revenue",
                        region=region,
                        actual=revenue,
                        target=series.target("revenue", revenue, year, region),
                    )
                )
    return rows


def _historic_plan(
    account: Account, kam: User, leadership: User, series: _AccountSeries, first_year: int
) -> Plan:
    """The approved plan whose horizon the years of figures are, with its three targets."""
    plan = plan_services.plan_create(account=account, start_year=first_year, user=kam)
    factors = [series.plan_factor(offset) for offset in range(YEARS_OF_FIGURES)]
    actuals = [series.year(offset) for offset in range(YEARS_OF_FIGURES)]
    rounding = {"revenue": -3, "contribution_margin": -3, "volume": -1}
    values = {
        metric: {
            f"year_{offset + 1}": Decimal(
                round(actuals[offset][metric] * factors[offset], rounding[metric])
            ).quantize(CENT)
            for offset in range(YEARS_OF_FIGURES)
        }
        for metric in rounding
    }
    targets = {target.metric: target for target in plan.targets.all()}
    for metric in ("revenue", "contribution_margin"):
        target = targets[metric]
        plan_services.item_update(
            item=target, revision=target.revision, values=values[metric], user=kam
        )
    plan_services.item_create(
        plan=plan, kind="target", values={"metric": "volume", **values["volume"]}, user=kam
    )
    plan_services.item_create(
        plan=plan,
        kind="objective",
        values={
            "title": "Umsatz mit Ersatzteilen steigern",
            "measure": "Umsatzziel der Warengruppe Ersatzteile erreicht",
            "target_year": first_year + YEARS_OF_FIGURES - 1,
            "target": targets["revenue"],
        },
        user=kam,
    )
    plan_services.plan_submit(plan=plan, user=kam)
    plan_services.plan_approve(plan=plan, user=leadership)
    return plan


def _erp_extract(series: dict[int, _AccountSeries], accounts: list[Account], year: int) -> bytes:
    """The ERP's annual extract as German ERPs write it: ``;``, decimal comma, Windows-1252."""
    lines = [";".join(ERP_MAPPING[key] for key in ERP_MAPPING)]
    for account in accounts:
        if account.status == AccountStatus.PROSPECT:
            continue
        own = series[account.pk]
        offset = year - own.first_year
        actuals = own.year(offset)
        for region, revenue in own.regions(year, actuals["revenue"]):
            target = own.target("revenue", revenue, year, region)
            volume = _value("volume", float(revenue) / own.unit_price)
            lines.append(
                ";".join(
                    (
                        account.erp_number,
                        str(year),
                        region,
                        _german(revenue),
                        _german(target),
                        _german(volume, places=0),
                    )
                )
            )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _german(value: Decimal, places: int = 2) -> str:
    text = f"{value:,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def seed_figures(
    *, accounts: list[Account], key_accounts: list[Account], leadership: User, today: datetime.date
) -> dict[str, int]:
    """Three years of figures, their plans, an import and a refresh; returns what it made."""
    created: dict[str, int] = {}
    first_year = today.year - YEARS_OF_FIGURES
    last_year = today.year - 1
    key_ids = {account.pk for account in key_accounts}
    potential = dict(
        Account.objects.filter(pk__in=key_ids, potential_years__year=today.year).values_list(
            "pk", "potential_years__expected_revenue"
        )
    )
    series = {a.pk: _AccountSeries(a, first_year, potential.get(a.pk)) for a in accounts}

    started = datetime.datetime.now(tz=datetime.UTC)
    plans = 0
    with_plan = set(
        Plan.objects.filter(account__in=key_ids, start_year=first_year).values_list(
            "account_id", flat=True
        )
    )
    managers = {
        member.account_id: member.user
        for member in AccountTeamMember.objects.filter(
            account__in=key_ids, role=TeamRole.KEY_ACCOUNT_MANAGER
        ).select_related("user")
    }
    for account in key_accounts:
        if account.pk in with_plan or account.pk not in managers:
            continue
        _historic_plan(account, managers[account.pk], leadership, series[account.pk], first_year)
        plans += 1
    # The history of those plans is not news (see plans.demo).
    Notification.objects.filter(created_at__gte=started, url__startswith="/plans/").delete()
    created["historic plans"] = plans

    if not AnnualFigure.objects.filter(account__in=[a.pk for a in accounts]).exists():
        rows = []
        for account in accounts:
            rows += _figures(
                account, series[account.pk], key=account.pk in key_ids, regions_up_to=last_year - 1
            )
        AnnualFigure.objects.bulk_create(rows, batch_size=1000)
        created["annual figures"] = len(rows)

    ImportSource.objects.get_or_create(
        name=CONTROLLING_SOURCE, defaults={"mapping": CONTROLLING_MAPPING}
    )
    source, _new = ImportSource.objects.get_or_create(
        name=ERP_SOURCE, defaults={"mapping": ERP_MAPPING}
    )
    if not ImportBatch.objects.filter(source=source).exists():
        batch = services.import_batch_upload(
            user=leadership,
            source_name=ERP_SOURCE,
            year=last_year,
            number_format="auto",
            file_name=f"ERP-Jahresextrakt-{last_year}.csv",
            data=_erp_extract(series, key_accounts, last_year),
        )
        services.import_batch_apply(batch=batch, user=leadership)
        created["imports"] = 1

    for year in range(first_year, last_year):
        _closed, new = ClosedYear.objects.get_or_create(
            year=year, defaults={"closed_by": leadership}
        )
        created["closed years"] = created.get("closed years", 0) + int(new)
    if not AnnualRefresh.objects.filter(year=last_year).exists():
        refresh = services.annual_refresh_start(year=last_year, user=leadership)
        # The demo runs without a worker: the refresh and the run it starts, in this process.
        job_execute(job_id=refresh.job_id, work=services.annual_refresh_job)
        refresh.refresh_from_db()
        if refresh.selection_run is not None and refresh.selection_run.job_id:
            job_execute(job_id=refresh.selection_run.job_id, work=selection_run_compute)
        created["annual refreshes"] = 1
    services.kpis_recompute()
    return created
