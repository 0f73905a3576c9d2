"""Reads of the programme dashboard: each table is one ``GROUP BY`` over the KPI rows (or a
product group's figures) of the filtered accounts, a fixed number of queries at any number
of accounts. Amounts add up as stored, in one reporting currency; the page names those met."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q
from django.http import QueryDict
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.filters import cached_in_generation
from accounts.models import Account, Industry, Region
from kam import access
from kam.models import User
from kpis.catalogue import KPIS, KpiDefinition
from kpis.filters import ProgrammeFilterSet
from kpis.selectors.common import (
    TENTH,
    choice_labels,
    current_plans,
    percent,
    review_overdue,
    with_review_start,
)
from kpis.selectors.sums import (
    OFF_TARGET_PER_PAGE,
    AccountRow,
    GroupRow,
    OffTargetRows,
    ProgrammeQuery,
    Source,
    Sums,
    accounts_sql,
)
from plans.models import OPEN_ACTION_STATUSES, ActionStatus
from plans.models import Action as PlanAction
from selection.models import TierChange


@dataclass(frozen=True)
class TrendRow:
    year: int
    sums: Sums


@dataclass(frozen=True)
class KpiCard:
    """A KPI with its value and definition; ``detail`` says what it was computed over."""

    definition: KpiDefinition
    value: Decimal | int | None
    detail: str = ""


@dataclass(frozen=True)
class Health:
    """The key accounts' state today (plans, buying center, flags) and the year's tier moves."""

    key_accounts: int
    managers: int
    actions: int
    actions_done: int
    actions_overdue: int
    reviews_overdue: int
    high_influence: int
    high_influence_covered: int
    red_flags: int
    tier_movements: int
    tiers_up: int
    tiers_down: int
    as_of: datetime.datetime | None = None

    @property
    def action_completion(self) -> Decimal | None:
        return percent(Decimal(self.actions_done), Decimal(self.actions)) if self.actions else None

    @property
    def coverage(self) -> Decimal | None:
        if not self.high_influence:
            return None
        return percent(Decimal(self.high_influence_covered), Decimal(self.high_influence))

    @property
    def key_accounts_per_manager(self) -> Decimal | None:
        if not self.managers:
            return None
        return (Decimal(self.key_accounts) / self.managers).quantize(TENTH)


@dataclass
class ProgrammeDashboard:
    """Everything the programme dashboard shows for one year and one set of filters."""

    filterset: ProgrammeFilterSet
    year: int | None
    product_group: str
    currencies: list[str]
    total: Sums
    tiers: list[GroupRow]
    regions: list[GroupRow]
    industries: list[GroupRow]
    managers: list[GroupRow]
    trend: list[TrendRow]
    movers_up: list[AccountRow]
    movers_down: list[AccountRow]
    off_target: Page
    health: Health | None
    cards: list[KpiCard] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.currencies[0] if len(self.currencies) == 1 else ""


def _rollup(groups: list[tuple], key: int, labels: dict[str, str]) -> list[GroupRow]:
    """Add up the year's grouped rows (see :meth:`ProgrammeQuery.grouped`: a few hundred at
    most, tiers × regions × industries × currencies) by column ``key``, in the order of
    ``labels`` and then by label."""
    sums: dict[str, Sums] = {}
    for row in groups:
        sums[row[key]] = sums.get(row[key], Sums()) + Sums.from_row(row[6:])
    order = {code: index for index, code in enumerate(labels)}
    return [
        GroupRow(key=code, label=labels.get(code, code), sums=total)
        for code, total in sorted(sums.items(), key=lambda item: (order.get(item[0], 999), item[0]))
    ]


def _tier_rows(groups: list[tuple]) -> list[GroupRow]:
    """Per tier, best rank first; the accounts without a tier last."""
    ranks: dict[str, int] = {}
    for row in groups:
        if row[1]:
            ranks[row[1]] = min(ranks.get(row[1], 9999), row[2] if row[2] is not None else 9999)
    labels = {tier: tier for tier in sorted(ranks, key=lambda tier: (ranks[tier], tier))}
    labels[""] = str(_("Not a key account"))
    return _rollup(groups, 1, labels)


def _health(
    filterset: ProgrammeFilterSet, query: ProgrammeQuery, year: int, today: datetime.date
) -> Health:
    """The plan, buying-center and red-flag KPIs over the filtered key accounts today, and
    the tier movements of ``year`` (four queries).

    A movement counts for the tier it came from and the one it went to: the programme's
    movements include the accounts that left it, which no longer have a tier.
    """
    accounts = filterset.qs
    keyed = accounts.exclude(tier="")
    plans = current_plans().filter(account__in=keyed.values("pk"))
    actions = PlanAction.objects.filter(plan__in=plans.values("pk")).aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(status=ActionStatus.DONE)),
        overdue=Count("pk", filter=Q(status__in=OPEN_ACTION_STATUSES, due_date__lt=today)),
    )
    reviews_overdue = with_review_start(plans).filter(review_overdue(today)).count()
    key_accounts, managers, high, high_known, red_flags = query.key_accounts(year)
    up = Q(from_rank__isnull=True, to_rank__isnull=False) | Q(to_rank__lt=F("from_rank"))
    down = Q(from_rank__isnull=False, to_rank__isnull=True) | Q(to_rank__gt=F("from_rank"))
    moves = TierChange.objects.filter(
        filterset.tier_movement_condition(),
        account__in=filterset.accounts_of_any_tier().values("pk"),
        changed_at__year=year,
    ).aggregate(
        accounts=Count("account", distinct=True),
        up=Count("pk", filter=up),
        down=Count("pk", filter=down),
    )
    return Health(
        key_accounts=key_accounts,
        managers=managers,
        actions=actions["total"],
        actions_done=actions["done"],
        actions_overdue=actions["overdue"],
        reviews_overdue=reviews_overdue,
        high_influence=high,
        high_influence_covered=high_known,
        red_flags=red_flags,
        tier_movements=moves["accounts"],
        tiers_up=moves["up"],
        tiers_down=moves["down"],
        as_of=timezone.now(),
    )


def _count(value: int) -> str:
    return formats.number_format(value, force_grouping=True)


def _cards(total: Sums, health: Health | None) -> list[KpiCard]:
    """One card per KPI of the catalogue, in its order, with what it was computed over."""
    accounts = ngettext(
        "%(count)s account with revenue", "%(count)s accounts with revenue", total.with_revenue
    ) % {"count": _count(total.with_revenue)}
    values: dict[str, tuple[Any, str]] = {
        "revenue": (total.revenue, accounts),
        "revenue_target": (total.revenue_target, ""),
        "revenue_attainment": (total.attainment, ""),
        "contribution_margin": (total.margin, ""),
        "margin_attainment": (total.margin_attainment, ""),
        "growth": (total.growth, ""),
        "share_of_wallet": (total.share_of_wallet, ""),
    }
    if health is not None:
        values |= {
            "action_completion": (
                health.action_completion,
                gettext("%(done)s of %(total)s actions")
                % {"done": _count(health.actions_done), "total": _count(health.actions)},
            ),
            "actions_overdue": (health.actions_overdue, ""),
            "reviews_overdue": (health.reviews_overdue, ""),
            "coverage": (
                health.coverage,
                gettext("%(covered)s of %(total)s contacts")
                % {
                    "covered": _count(health.high_influence_covered),
                    "total": _count(health.high_influence),
                },
            ),
            "red_flags": (
                health.red_flags,
                gettext("of %(total)s key accounts") % {"total": _count(health.key_accounts)},
            ),
            "tier_movements": (
                health.tier_movements,
                gettext("%(up)s up, %(down)s down")
                % {"up": _count(health.tiers_up), "down": _count(health.tiers_down)},
            ),
            "key_accounts_per_kam": (
                health.key_accounts_per_manager,
                gettext("%(accounts)s key accounts, %(managers)s managers")
                % {"accounts": _count(health.key_accounts), "managers": _count(health.managers)},
            ),
        }
    return [
        KpiCard(definition=definition, value=values[key][0], detail=values[key][1])
        for key, definition in KPIS.items()
        if key in values
    ]


DASHBOARD_CACHE_SECONDS = 60
HEALTH_CACHE_SECONDS = 300
T = TypeVar("T")


def _cached(name: str, key: tuple, timeout: int, compute: Callable[[], T]) -> T:
    """``compute()``, kept ``timeout`` seconds per ``key`` under the account list's cache
    generation, so changed accounts and teams show at once.

    At 100,000 accounts a dashboard's sums cost a second of database time; leadership moves
    between filters and back, and figures change in batches (imports, the refresh). Other
    changes show after ``timeout`` seconds at the latest.
    """
    return cached_in_generation("kpis:dashboard", (name, key), compute, timeout=timeout)


def programme_dashboard(
    *, user: User, data: QueryDict | dict, page: int | str = 1, today: datetime.date | None = None
) -> ProgrammeDashboard:
    """The programme dashboard for ``data``'s filters (see :class:`ProgrammeFilterSet`).

    Without a year, the latest year with actuals. A fixed number of queries whatever the
    number of accounts. Raises PermissionDenied unless the user may read the programme.
    """
    if not access.may_read_programme(user):
        raise PermissionDenied
    today = today or timezone.localdate()
    filterset = ProgrammeFilterSet(data if data is not None else {}, queryset=Account.objects.all())
    filterset.is_valid()
    cleaned = getattr(filterset.form, "cleaned_data", {})
    source = Source(product_group=cleaned.get("product_group") or "")
    accounts = filterset.qs
    filtered_sql = accounts_sql(accounts)
    query = (
        ProgrammeQuery(
            accounts=filtered_sql, source=source, filtered=filterset.account_filters_active
        )
        if filtered_sql is not None
        else None
    )
    cache_key = (filtered_sql, source.product_group)
    grouped = _cached("grouped", cache_key, DASHBOARD_CACHE_SECONDS, query.grouped) if query else []
    by_year: dict[int, Sums] = {}
    for row in grouped:
        by_year[row[0]] = by_year.get(row[0], Sums()) + Sums.from_row(row[6:])
    trend = [TrendRow(year=year, sums=by_year[year]) for year in sorted(by_year)]
    with_actuals = [row.year for row in trend if row.sums.with_revenue]
    year = int(cleaned["year"]) if cleaned.get("year") else max(with_actuals, default=None)
    if query is None or year is None:
        return ProgrammeDashboard(
            filterset=filterset,
            year=year,
            product_group=source.product_group,
            currencies=[],
            total=Sums(),
            tiers=[],
            regions=[],
            industries=[],
            managers=[],
            trend=trend,
            movers_up=[],
            movers_down=[],
            off_target=Paginator([], OFF_TARGET_PER_PAGE).page(1),
            health=None,
            cards=_cards(Sums(), None),
        )
    groups = [row for row in grouped if row[0] == year]
    total = by_year.get(year, Sums())
    number = Paginator(range(total.off_target), OFF_TARGET_PER_PAGE).get_page(page).number
    offset = (number - 1) * OFF_TARGET_PER_PAGE
    up, down, off = _cached(
        "accounts",
        (*cache_key, year, offset),
        DASHBOARD_CACHE_SECONDS,
        lambda: query.accounts_of_year(year, offset=offset),
    )
    paginator = Paginator(
        OffTargetRows(query, year, total.off_target, offset, off), OFF_TARGET_PER_PAGE
    )
    health = _cached(
        "health",
        (*cache_key, year, today),
        HEALTH_CACHE_SECONDS,
        lambda: _health(filterset, query, year, today),
    )
    managers = _cached(
        "managers", (*cache_key, year), DASHBOARD_CACHE_SECONDS, lambda: query.managers(year)
    )
    return ProgrammeDashboard(
        filterset=filterset,
        year=year,
        product_group=source.product_group,
        currencies=sorted({row[5] for row in groups if row[7]}),
        total=total,
        tiers=_tier_rows(groups),
        regions=_rollup(groups, 3, choice_labels(Region.choices)),
        industries=_rollup(groups, 4, choice_labels(Industry.choices)),
        managers=managers,
        trend=trend,
        movers_up=up,
        movers_down=down,
        off_target=paginator.page(number),
        health=health,
        cards=_cards(total, health),
    )


def programme_off_target(dashboard: ProgrammeDashboard) -> Iterator[AccountRow]:
    """Every off-target account of the dashboard's year and filters, for the export."""
    rows = dashboard.off_target.paginator.object_list
    if not isinstance(rows, OffTargetRows):
        return iter(())
    return iter(rows.query.off_target(rows.year, limit=None))


def programme_movers(dashboard: ProgrammeDashboard, *, up: bool) -> list[AccountRow]:
    """The movers of the dashboard (the export has the same rows as the page)."""
    return dashboard.movers_up if up else dashboard.movers_down
