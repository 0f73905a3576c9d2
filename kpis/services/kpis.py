"""The derived KPI rows (:class:`kpis.models.AccountKpi`): rebuilt in the database, in one
statement per scope, from the figures, the key account plans and the potential analysis."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import PotentialYear
from kpis.catalogue import Measure
from kpis.models import AccountKpi, AnnualFigure
from plans.models import Metric, Plan, Target

# One SQL statement: portable between PostgreSQL and SQLite (3.24+), identifiers from the
# models' metadata, every value a parameter.
_KEYS = """
figures AS (
    SELECT account_id, year,
        MAX(CASE WHEN measure = %(revenue)s THEN actual END) AS revenue,
        MAX(CASE WHEN measure = %(margin)s THEN actual END) AS margin,
        MAX(CASE WHEN measure = %(volume)s THEN actual END) AS volume
    FROM {figure} WHERE product_group = '' AND region = '' {figure_scope}
    GROUP BY account_id, year
),
offsets AS (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2),
targets AS (
    SELECT p.account_id, p.start_year + o.n AS year,
        MAX(CASE WHEN t.metric = %(plan_revenue)s THEN
            CASE o.n WHEN 0 THEN t.year_1 WHEN 1 THEN t.year_2 ELSE t.year_3 END END) AS revenue,
        MAX(CASE WHEN t.metric = %(plan_margin)s THEN
            CASE o.n WHEN 0 THEN t.year_1 WHEN 1 THEN t.year_2 ELSE t.year_3 END END) AS margin,
        MAX(CASE WHEN t.metric = %(plan_volume)s THEN
            CASE o.n WHEN 0 THEN t.year_1 WHEN 1 THEN t.year_2 ELSE t.year_3 END END) AS volume
    FROM {plan} p CROSS JOIN offsets o
    LEFT JOIN {target} t ON t.plan_id = p.id
    WHERE NOT EXISTS (
        SELECT 1 FROM {plan} newer WHERE newer.account_id = p.account_id
        AND newer.start_year > p.start_year AND newer.start_year <= p.start_year + o.n
    ) {plan_scope}
    GROUP BY p.account_id, p.start_year + o.n
),
keys AS (
    SELECT account_id, year FROM figures UNION SELECT account_id, year FROM targets
)"""

_UPSERT = """
WITH {keys}
INSERT INTO {kpi} (account_id, year, revenue, revenue_target, revenue_prior,
    contribution_margin, margin_target, volume, volume_target, potential_revenue, computed_at)
SELECT k.account_id, k.year, f.revenue, t.revenue, prior.actual, f.margin, t.margin,
    f.volume, t.volume, pot.expected_revenue, %(now)s
FROM keys k
LEFT JOIN figures f ON f.account_id = k.account_id AND f.year = k.year
LEFT JOIN targets t ON t.account_id = k.account_id AND t.year = k.year
LEFT JOIN {figure} prior ON prior.account_id = k.account_id AND prior.year = k.year - 1
    AND prior.measure = %(revenue)s AND prior.product_group = '' AND prior.region = ''
LEFT JOIN {potential} pot ON pot.account_id = k.account_id AND pot.year = k.year
WHERE 1 = 1
ON CONFLICT (account_id, year) DO UPDATE SET
    revenue = excluded.revenue, revenue_target = excluded.revenue_target,
    revenue_prior = excluded.revenue_prior, contribution_margin = excluded.contribution_margin,
    margin_target = excluded.margin_target, volume = excluded.volume,
    volume_target = excluded.volume_target, potential_revenue = excluded.potential_revenue,
    computed_at = excluded.computed_at
"""

_DELETE_ORPHANS = """
WITH {keys}
DELETE FROM {kpi} WHERE 1 = 1 {kpi_scope}
AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.account_id = {kpi}.account_id AND k.year = {kpi}.year)
"""


def _in(column: str, name: str, values: list[int] | None, params: dict) -> str:
    if values is None:
        return ""
    if not values:
        return "AND 1 = 0"
    names = []
    for index, value in enumerate(values):
        params[f"{name}{index}"] = value
        names.append(f"%({name}{index})s")
    return f"AND {column} IN ({', '.join(names)})"


def kpis_recompute(
    *, account_ids: Iterable[int] | None = None, years: Iterable[int] | None = None
) -> None:
    """Rebuild the KPI rows of these accounts and years (None: all), idempotently.

    A year's row also reads the year before (growth), so callers that changed year ``Y``
    pass ``Y`` and ``Y + 1``.
    """
    accounts = sorted(set(account_ids)) if account_ids is not None else None
    year_list = sorted(set(years)) if years is not None else None
    params: dict = {
        "revenue": Measure.REVENUE.value,
        "margin": Measure.CONTRIBUTION_MARGIN.value,
        "volume": Measure.VOLUME.value,
        "plan_revenue": Metric.REVENUE.value,
        "plan_margin": Metric.CONTRIBUTION_MARGIN.value,
        "plan_volume": Metric.VOLUME.value,
        "now": timezone.now(),
    }
    figure_scope = (
        _in("account_id", "a", accounts, params) + " " + _in("year", "y", year_list, params)
    )
    plan_scope = (
        _in("p.account_id", "a", accounts, params)
        + " "
        + _in("p.start_year + o.n", "y", year_list, params)
    )
    kpi_table = _q(AccountKpi._meta.db_table)
    kpi_scope = _in("account_id", "a", accounts, params) + " " + _in("year", "y", year_list, params)
    keys = _KEYS.format(
        figure=_q(AnnualFigure._meta.db_table),
        plan=_q(Plan._meta.db_table),
        target=_q(Target._meta.db_table),
        figure_scope=figure_scope,
        plan_scope=plan_scope,
    )
    tables = {
        "keys": keys,
        "kpi": kpi_table,
        "figure": _q(AnnualFigure._meta.db_table),
        "potential": _q(PotentialYear._meta.db_table),
        "kpi_scope": kpi_scope,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        if accounts is None and connection.vendor == "postgresql":
            # Fresh statistics first: with a year's 100,000 rows unknown to the planner, the
            # orphan check picks a nested loop and runs for minutes instead of seconds.
            cursor.execute(f"ANALYZE {kpi_table}")
        cursor.execute(_DELETE_ORPHANS.format(**tables), params)
        cursor.execute(_UPSERT.format(**tables), params)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)
