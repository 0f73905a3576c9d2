"""The grouped sums of the KPI dashboards: the SQL over the filtered accounts' KPI rows (or a
product group's figures). One grouped query per table; every amount is summed in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from accounts.models import (
    Account,
    AccountTeamMember,
    BuyingRole,
    Contact,
    ContactRole,
    Influence,
    Relationship,
    TeamRole,
)
from kam.models import User
from kpis.catalogue import RED_FLAG_ATTAINMENT, Measure
from kpis.models import AccountKpi, AnnualFigure
from kpis.selectors.common import amount, percent

MOVERS = 10
OFF_TARGET_PER_PAGE = 25


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@dataclass
class Sums:
    """Additive sums over a set of accounts in one year; every KPI of a table is a ratio of
    them, so groups roll up exactly (a tier's sums are the sums of its regions' sums).

    ``accounts`` counts the accounts, ``with_revenue`` those with revenue in the year. The
    ``*_paired`` sums cover only the accounts that have both values a ratio needs, as the
    KPI definitions say (attainment over accounts with actual and target, and so on).
    """

    accounts: int = 0
    with_revenue: int = 0
    revenue: Decimal | None = None
    revenue_target: Decimal | None = None
    revenue_paired: Decimal | None = None
    revenue_target_paired: Decimal | None = None
    margin: Decimal | None = None
    margin_target: Decimal | None = None
    margin_paired: Decimal | None = None
    margin_target_paired: Decimal | None = None
    growth_revenue: Decimal | None = None
    growth_prior: Decimal | None = None
    wallet_revenue: Decimal | None = None
    wallet_potential: Decimal | None = None
    off_target: int = 0

    @classmethod
    def from_row(cls, values: Sequence[Any]) -> Sums:
        counts = {"accounts", "with_revenue", "off_target"}
        return cls(
            **{
                f.name: int(value or 0) if f.name in counts else amount(value)
                for f, value in zip(fields(cls), values, strict=True)
            }
        )

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            **{f.name: _add(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)}
        )

    @property
    def attainment(self) -> Decimal | None:
        return percent(self.revenue_paired, self.revenue_target_paired)

    @property
    def margin_attainment(self) -> Decimal | None:
        return percent(self.margin_paired, self.margin_target_paired)

    @property
    def growth(self) -> Decimal | None:
        if self.growth_revenue is None or self.growth_prior is None:
            return None
        return percent(self.growth_revenue - self.growth_prior, self.growth_prior)

    @property
    def share_of_wallet(self) -> Decimal | None:
        return percent(self.wallet_revenue, self.wallet_potential)


# The sums of :class:`Sums` (after ``accounts``) over the rows ``s`` of a source, in field order.
_SUMS_SQL = """
    SUM(CASE WHEN s.revenue IS NOT NULL THEN 1 ELSE 0 END),
    SUM(s.revenue), SUM(s.revenue_target),
    SUM(CASE WHEN s.revenue_target IS NOT NULL THEN s.revenue END),
    SUM(CASE WHEN s.revenue IS NOT NULL THEN s.revenue_target END),
    SUM(s.margin), SUM(s.margin_target),
    SUM(CASE WHEN s.margin_target IS NOT NULL THEN s.margin END),
    SUM(CASE WHEN s.margin IS NOT NULL THEN s.margin_target END),
    SUM(CASE WHEN s.revenue_prior IS NOT NULL THEN s.revenue END),
    SUM(CASE WHEN s.revenue IS NOT NULL THEN s.revenue_prior END),
    SUM(CASE WHEN s.potential IS NOT NULL THEN s.revenue END),
    SUM(CASE WHEN s.revenue IS NOT NULL THEN s.potential END),
    SUM(CASE WHEN s.revenue_target > 0 AND s.revenue < s.revenue_target THEN 1 ELSE 0 END)"""

Sql = tuple[str, list]


def _sql(*pieces: str | Sql) -> Sql:
    """Concatenate SQL text and ``(sql, params)`` pieces, keeping the parameters in order."""
    text, params = [], []
    for piece in pieces:
        if isinstance(piece, str):
            text.append(piece)
        else:
            text.append(piece[0])
            params.extend(piece[1])
    return "".join(text), params


def _value(value: Any) -> Sql:
    return "%s", [value]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


@dataclass(frozen=True)
class Source:
    """Where the figures come from: the KPI rows, or the figures of one product group.

    Its rows (``source_sql``) have the columns ``account_id, year, revenue, revenue_target,
    revenue_prior, margin, margin_target, potential``, one row per account and year.
    """

    product_group: str = ""

    def sql(self, year: int | None) -> Sql:
        """The rows of ``year`` (None: every year)."""
        if not self.product_group:
            where = _sql(" WHERE k.year = ", _value(year)) if year is not None else ("", [])
            return _sql(
                # Identifiers come from the models' metadata; every value is a parameter.
                "SELECT k.account_id, k.year, k.revenue, k.revenue_target, k.revenue_prior, "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
                "k.contribution_margin AS margin, k.margin_target, "
                f"k.potential_revenue AS potential FROM {_table(AccountKpi)} k",
                where,
            )
        # A product group has its own targets in the figures (the plan sets account totals
        # only) and no potential analysis.
        return _sql(
            "SELECT c.account_id, c.year, c.revenue, c.revenue_target, p.revenue AS revenue_prior, "
            "c.margin, c.margin_target, CAST(NULL AS NUMERIC) AS potential FROM (",
            self._pivot(year),
            ") c LEFT JOIN (",
            self._pivot(year - 1 if year is not None else None),
            ") p ON p.account_id = c.account_id AND p.year = c.year - 1",
        )

    def _pivot(self, year: int | None) -> Sql:
        revenue, margin = Measure.REVENUE.value, Measure.CONTRIBUTION_MARGIN.value
        return _sql(
            "SELECT f.account_id, f.year, ",
            "MAX(CASE WHEN f.measure = ",
            _value(revenue),
            " THEN f.actual END) AS revenue, MAX(CASE WHEN f.measure = ",
            _value(revenue),
            " THEN f.target END) AS revenue_target, MAX(CASE WHEN f.measure = ",
            _value(margin),
            " THEN f.actual END) AS margin, MAX(CASE WHEN f.measure = ",
            _value(margin),
            f" THEN f.target END) AS margin_target FROM {_table(AnnualFigure)} f ",
            "WHERE f.product_group = ",
            _value(self.product_group),
            " AND f.region = '' AND f.measure IN (",
            _value(revenue),
            ", ",
            _value(margin),
            ")",
            _sql(" AND f.year = ", _value(year)) if year is not None else "",
            " GROUP BY f.account_id, f.year",
        )


ACCOUNT_COLUMNS = ("id", "name", "tier", "tier_rank", "region", "industry", "currency")


def accounts_sql(accounts: QuerySet[Account]) -> Sql | None:
    """The filtered accounts as a derived table with ``ACCOUNT_COLUMNS``; None if none match."""
    try:
        return accounts.order_by().values(*ACCOUNT_COLUMNS).query.sql_with_params()
    except EmptyResultSet:
        return None


def _fetch(query: Sql) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return cursor.fetchall()


@dataclass(frozen=True)
class GroupRow:
    """One row of a table per tier, region, industry or key account manager."""

    key: str
    label: str
    sums: Sums


@dataclass(frozen=True)
class AccountRow:
    """One account in the movers and off-target tables."""

    pk: int
    name: str
    tier: str
    currency: str
    kam: str
    revenue: Decimal | None
    revenue_target: Decimal | None
    revenue_prior: Decimal | None

    @property
    def attainment(self) -> Decimal | None:
        return percent(self.revenue, self.revenue_target)

    @property
    def change(self) -> Decimal | None:
        if self.revenue is None or self.revenue_prior is None:
            return None
        return self.revenue - self.revenue_prior

    @property
    def growth(self) -> Decimal | None:
        change = self.change
        return percent(change, self.revenue_prior) if change is not None else None

    @property
    def gap(self) -> Decimal | None:
        """Revenue less target: what the account is short of its target (negative)."""
        if self.revenue is None or self.revenue_target is None:
            return None
        return self.revenue - self.revenue_target


class OffTargetRows:
    """The off-target accounts for :class:`Paginator`: the count is known from the sums, the
    shown page was read with the movers; any other slice is read with LIMIT and OFFSET."""

    def __init__(
        self, query: ProgrammeQuery, year: int, count: int, offset: int, rows: list[AccountRow]
    ) -> None:
        self.query, self.year, self._count = query, year, count
        self.offset, self.rows = offset, rows

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list[AccountRow]:
        if index.start == self.offset:
            return self.rows
        return self.query.off_target(self.year, limit=index.stop - index.start, offset=index.start)


class ProgrammeQuery:
    """The SQL of the programme dashboard for one set of filters."""

    def __init__(self, *, accounts: Sql, source: Source, filtered: bool) -> None:
        self.accounts, self.source, self.filtered = accounts, source, filtered

    def grouped(self) -> list[tuple]:
        """Sums per year, tier, region, industry and currency of the filtered accounts (one
        query, one pass over their KPI rows): the trend and the year's tables add them up."""
        return _fetch(
            _sql(
                "SELECT s.year, a.tier, a.tier_rank, a.region, a.industry, a.currency, COUNT(*), ",
                _SUMS_SQL,
                " FROM (",
                self.source.sql(None),
                ") s JOIN (",
                self.accounts,
                ") a ON a.id = s.account_id",
                " GROUP BY s.year, a.tier, a.tier_rank, a.region, a.industry, a.currency",
            )
        )

    def managers(self, year: int) -> list[GroupRow]:
        """Sums per key account manager over the key accounts they manage (one query)."""
        user = User._meta
        rows = _fetch(
            _sql(
                "SELECT t.user_id, u.first_name, u.last_name, u.username, COUNT(*), ",
                _SUMS_SQL,
                " FROM (",
                self.accounts,
                f") a JOIN {_table(AccountTeamMember)} t ON t.account_id = a.id AND t.role = ",
                _value(TeamRole.KEY_ACCOUNT_MANAGER.value),
                f" JOIN {_q(user.db_table)} u ON u.{_q(user.pk.column)} = t.user_id",
                " LEFT JOIN (",
                self.source.sql(year),
                ") s ON s.account_id = a.id WHERE a.tier <> ''",
                " GROUP BY t.user_id, u.first_name, u.last_name, u.username",
                " ORDER BY u.last_name, u.first_name, t.user_id",
            )
        )
        return [
            GroupRow(
                key=str(row[0]),
                label=f"{row[1]} {row[2]}".strip() or row[3],
                sums=Sums.from_row(row[4:]),
            )
            for row in rows
        ]

    def key_accounts(self, year: int) -> tuple[int, int, int, int, int]:
        """Over the filtered key accounts: how many, their distinct key account managers,
        active high-influence contacts and those of them someone on our team knows, and the
        red-flagged accounts (see ``catalogue.KPIS["red_flags"]``). One query."""
        high, decider, approver = (
            Influence.HIGH.value,
            BuyingRole.DECIDER.value,
            BuyingRole.APPROVER.value,
        )
        # Identifiers come from the models' metadata; every value is a parameter.
        known = f"EXISTS (SELECT 1 FROM {_table(Relationship)} r WHERE r.contact_id = c.id)"  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
        rows = _fetch(
            _sql(
                "SELECT COUNT(*), COUNT(DISTINCT t.user_id), SUM(COALESCE(cs.high, 0)), "
                "SUM(COALESCE(cs.high_known, 0)), SUM(CASE WHEN t.user_id IS NULL "
                "OR k.account_id IS NOT NULL OR cs.uncovered = 1 THEN 1 ELSE 0 END) FROM (",
                self.accounts,
                f") a LEFT JOIN {_table(AccountTeamMember)} t ON t.account_id = a.id AND t.role = ",
                _value(TeamRole.KEY_ACCOUNT_MANAGER.value),
                f" LEFT JOIN {_table(AccountKpi)} k ON k.account_id = a.id AND k.year = ",
                _value(year),
                " AND k.revenue_target > 0 AND k.revenue * 100 < k.revenue_target * ",
                _value(RED_FLAG_ATTAINMENT),
                " LEFT JOIN (SELECT c.account_id, SUM(CASE WHEN c.high THEN 1 ELSE 0 END) AS high, "
                "SUM(CASE WHEN c.high AND c.known THEN 1 ELSE 0 END) AS high_known, "
                "MAX(CASE WHEN (c.high OR c.decides) AND NOT c.known THEN 1 ELSE 0 END) "
                "AS uncovered FROM (SELECT c.account_id, c.influence = ",
                _value(high),
                f" AS high, {known} AS known, EXISTS (SELECT 1 FROM {_table(ContactRole)} cr "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
                "WHERE cr.contact_id = c.id AND cr.role IN (",
                _value(decider),
                ", ",
                _value(approver),
                f")) AS decides FROM {_table(Contact)} c JOIN (",
                self.accounts,
                ") ka ON ka.id = c.account_id WHERE NOT c.has_left AND ka.tier <> '' "
                # OFFSET 0 keeps the subquery apart, so each contact's EXISTS runs once rather
                # than once per use above.
                "OFFSET 0) c GROUP BY c.account_id) cs ON cs.account_id = a.id WHERE a.tier <> ''",
            )
        )
        key_accounts, managers, high_count, high_known, red_flags = rows[0]
        return (
            key_accounts,
            managers,
            int(high_count or 0),
            int(high_known or 0),
            int(red_flags or 0),
        )

    def _account_rows(self, query: Sql) -> list[tuple[str, AccountRow]]:
        """The accounts ``query`` selects (kind, id, name, tier, currency, revenue, target,
        revenue of the year before), with their key account manager's name."""
        user = User._meta
        rows = _fetch(
            _sql(
                "SELECT x.kind, x.id, x.name, x.tier, x.currency, x.revenue, x.revenue_target, "
                "x.revenue_prior, u.first_name, u.last_name, u.username FROM (",
                query,
                f") x LEFT JOIN {_table(AccountTeamMember)} t ON t.account_id = x.id AND t.role = ",
                _value(TeamRole.KEY_ACCOUNT_MANAGER.value),
                f" LEFT JOIN {_q(user.db_table)} u ON u.{_q(user.pk.column)} = t.user_id",
            )
        )
        return [
            (
                row[0],
                AccountRow(
                    pk=row[1],
                    name=row[2],
                    tier=row[3],
                    currency=row[4],
                    revenue=amount(row[5]),
                    revenue_target=amount(row[6]),
                    revenue_prior=amount(row[7]),
                    kam=f"{row[8] or ''} {row[9] or ''}".strip() or row[10] or "",
                ),
            )
            for row in rows
        ]

    def _year_rows(self, year: int) -> Sql:
        return _sql(
            "SELECT a.id, a.name, a.tier, a.currency, s.revenue, s.revenue_target, "
            "s.revenue_prior FROM (",
            self.source.sql(year),
            ") s JOIN (",
            self.accounts,
            ") a ON a.id = s.account_id",
        )

    def accounts_of_year(
        self, year: int, *, offset: int
    ) -> tuple[list[AccountRow], list[AccountRow], list[AccountRow]]:
        """The top movers up and down (the largest change in revenue against the year before)
        and one page of the accounts off target (lowest attainment first), in one query over
        the year's rows."""
        rows = self._account_rows(
            _sql(
                "WITH r AS (",
                self._year_rows(year),
                ") SELECT 'up' AS kind, * FROM (SELECT * FROM r "
                "WHERE revenue > revenue_prior "
                "ORDER BY revenue - revenue_prior DESC, name, id LIMIT ",
                _value(MOVERS),
                ") up UNION ALL SELECT 'down', * FROM (SELECT * FROM r "
                "WHERE revenue < revenue_prior "
                "ORDER BY revenue - revenue_prior, name, id LIMIT ",
                _value(MOVERS),
                ") down UNION ALL SELECT 'off', * FROM (SELECT * FROM r "
                "WHERE revenue_target > 0 AND revenue < revenue_target "
                "ORDER BY revenue * 1.0 / revenue_target, name, id LIMIT ",
                _value(OFF_TARGET_PER_PAGE),
                " OFFSET ",
                _value(offset),
                ") off",
            )
        )
        up = sorted(
            (r for kind, r in rows if kind == "up"), key=lambda r: (-r.change, r.name, r.pk)
        )
        down = sorted(
            (r for kind, r in rows if kind == "down"), key=lambda r: (r.change, r.name, r.pk)
        )
        off = sorted(
            (r for kind, r in rows if kind == "off"),
            key=lambda r: (r.revenue / r.revenue_target, r.name, r.pk),
        )
        return up, down, off

    def off_target(self, year: int, *, limit: int | None, offset: int = 0) -> list[AccountRow]:
        """Accounts below their revenue target, the lowest attainment first (all of them
        without ``limit``)."""
        paging = _sql(" LIMIT ", _value(limit), " OFFSET ", _value(offset)) if limit else ""
        rows = self._account_rows(
            _sql(
                "SELECT 'off' AS kind, y.* FROM (",
                self._year_rows(year),
                ") y WHERE y.revenue_target > 0 AND y.revenue < y.revenue_target "
                "ORDER BY y.revenue * 1.0 / y.revenue_target, y.name, y.id",
                paging,
            )
        )
        return sorted(
            (r for _kind, r in rows), key=lambda r: (r.revenue / r.revenue_target, r.name, r.pk)
        )
