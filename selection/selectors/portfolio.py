"""Reads of the tiered account list, the portfolio matrix and the allocation ranking.

Every read costs a constant number of queries however many accounts it returns: scores,
revenue potential and buying-center coverage are aggregated in the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.filters import cached_for_query, with_kam_name
from accounts.models import Account, PotentialYear, Region, Relationship
from kam import access
from kam.models import User
from selection.filters import PortfolioFilterSet, TierListFilterSet
from selection.models import MAX_POINTS, PortfolioSettings, Quadrant, SelectionRun

DEFAULT_COLOUR = "#ffffff"
SCORE_FIELD = DecimalField(max_digits=4, decimal_places=2)
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def tier_colours(run: SelectionRun | None) -> dict[str, str]:
    """Tier name → colour in the scheme of the run's criteria version (one query)."""
    if run is None:
        return {}
    return dict(run.version.tiers.order_by("rank").values_list("name", "colour"))


def _with_score(accounts: QuerySet[Account], run: SelectionRun | None) -> QuerySet[Account]:
    """Annotate ``score``: the account's total in ``run``, NULL when it was not scored there.

    One LEFT JOIN: an account has at most one result per run.
    """
    if run is None:
        return accounts.annotate(score=Value(None, output_field=SCORE_FIELD))
    return accounts.annotate(
        run_result=FilteredRelation("selection_results", condition=Q(selection_results__run=run)),
        score=F("run_result__total"),
    )


def _revenue_potential() -> Subquery:
    """The average expected revenue per year of the potential analysis, NULL without one."""
    averages = (
        PotentialYear.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(average=Avg("expected_revenue"))
        .values("average")
    )
    return Subquery(averages, output_field=MONEY_FIELD)


def _openable(user: User) -> Value | Exists:
    if access.reads_all_accounts(user):
        return Value(True)
    return Exists(access.scope(user, Account.objects.filter(pk=OuterRef("pk"))))


def _account_url(account: Account) -> str:
    return reverse("accounts:account-detail", args=[account.pk]) if account.openable else ""


def _region_labels() -> dict[str, str]:
    return {key: str(label) for key, label in Region.choices}


# The tiered account list ---------------------------------------------------------------------


def tier_list_filterset(
    *, user: User, data: QueryDict | None, run: SelectionRun | None
) -> TierListFilterSet:
    """The key accounts, best tier first and by score within a tier, with their score in
    ``run``, revenue potential and key account manager.

    Each row carries ``openable``, ``score``, ``revenue_potential``, ``kam_first``,
    ``kam_last`` and ``kam_username``. Users who may not list accounts get no rows.
    """
    if not access.may_list_accounts(user):
        return TierListFilterSet(data, queryset=Account.objects.none())
    accounts = (
        _with_score(with_kam_name(Account.objects.exclude(tier="")), run)
        .annotate(
            openable=_openable(user),
            revenue_potential=_revenue_potential(),
            kam_first=F("kam_first_name"),
            kam_last=F("kam_last_name"),
            kam_username=F("kam_membership__user__username"),
        )
        .order_by(
            F("tier_rank").asc(nulls_last=True),
            "tier",
            F("score").desc(nulls_last=True),
            "name",
            "pk",
        )
    )
    return TierListFilterSet(data, queryset=accounts)


@dataclass
class TierSummary:
    """One tier of the (filtered) list: how many accounts and their revenue potential."""

    tier: str
    rank: int | None
    count: int
    revenue_potential: Decimal | None
    colour: str
    offset: int = 0  # accounts of better tiers before this one in the list


@dataclass
class TierGroup:
    summary: TierSummary
    rows: list[Account]
    continued: bool = False  # the tier began on an earlier page


def tier_summaries(accounts: QuerySet[Account], colours: dict[str, str]) -> list[TierSummary]:
    """Count and revenue potential per tier of ``accounts``, in the list's order (one query,
    cached per filter in the account list's cache: ``cached_for_query``)."""
    rows = cached_for_query(
        "tier-summaries",
        accounts,
        lambda: list(
            accounts.order_by()
            .values("tier", "tier_rank")
            .annotate(count=Count("pk"), potential=Sum("revenue_potential"))
            .order_by(F("tier_rank").asc(nulls_last=True), "tier")
        ),
    )
    summaries, offset = [], 0
    for row in rows:
        summaries.append(
            TierSummary(
                tier=row["tier"],
                rank=row["tier_rank"],
                count=row["count"],
                revenue_potential=row["potential"],
                colour=colours.get(row["tier"], DEFAULT_COLOUR),
                offset=offset,
            )
        )
        offset += row["count"]
    return summaries


def tier_list_rows(accounts: Iterable[Account]) -> list[Account]:
    """The rows with ``url`` (when openable), ``kam_name`` and ``region_label``."""
    regions = _region_labels()
    rows = list(accounts)
    for account in rows:
        account.url = _account_url(account)
        account.kam_name = (
            " ".join(filter(None, (account.kam_first, account.kam_last))) or account.kam_username
        )
        account.region_label = regions.get(account.region, account.region)
    return rows


def tier_groups(
    rows: list[Account], summaries: list[TierSummary], *, start: int = 0
) -> list[TierGroup]:
    """The rows of one page (starting at list position ``start``) grouped by tier."""
    by_key = {(s.rank, s.tier): s for s in summaries}
    groups: list[TierGroup] = []
    for account in rows:
        key = (account.tier_rank, account.tier)
        if not groups or (groups[-1].summary.rank, groups[-1].summary.tier) != key:
            summary = by_key.get(key) or TierSummary(
                tier=account.tier,
                rank=account.tier_rank,
                count=0,
                revenue_potential=None,
                colour=DEFAULT_COLOUR,
            )
            groups.append(TierGroup(summary=summary, rows=[], continued=summary.offset < start))
        groups[-1].rows.append(account)
    return groups


def tier_list_table(accounts: QuerySet[Account]) -> list[list[Any]]:
    """The header, then one row per account with plain values (text, Decimal or None).

    Texts are translated when this is called, in the active language.
    """
    header = [
        str(_("Tier")),
        str(_("Name")),
        str(_("ERP customer number")),
        str(_("Score")),
        str(_("Revenue potential per year")),
        str(_("Share of wallet (%)")),
        str(_("Key account manager")),
        str(_("Region")),
    ]
    return [
        header,
        *(
            [
                account.tier,
                account.name,
                account.erp_number,
                account.score,
                account.revenue_potential,
                account.share_of_wallet,
                account.kam_name or "",
                account.region_label,
            ]
            for account in tier_list_rows(accounts)
        ),
    ]


# The portfolio matrix -------------------------------------------------------------------------

MIDPOINT = Decimal(5)
POINT_LIMIT = 300
TEN = Decimal(10)
HUNDRED = Decimal(100)


QUADRANT_NICKNAMES = {
    Quadrant.INVEST: _("Stars"),
    Quadrant.SELECTIVE: _("Question marks"),
    Quadrant.MAINTAIN: _("Cash cows"),
    Quadrant.REDUCE: _("Dogs"),
}


def portfolio_settings() -> PortfolioSettings:
    """The weights of the position; the model's defaults until leadership saves their own."""
    return PortfolioSettings.objects.order_by("pk").first() or PortfolioSettings()


def strength(
    *, coverage: Decimal | None, share_of_wallet: Decimal | None, settings: PortfolioSettings
) -> Decimal | None:
    """Our position with an account on 0–10: the weighted mean of coverage and share of wallet.

    Both are percentages scaled to 0–10. A missing value leaves its weight out; without any
    known, weighted value the position is unknown (None).
    """
    parts = [
        (Decimal(weight), value / TEN)
        for weight, value in (
            (settings.coverage_weight, coverage),
            (settings.share_of_wallet_weight, share_of_wallet),
        )
        if weight and value is not None
    ]
    total_weight = sum((weight for weight, _value in parts), Decimal(0))
    if not total_weight:
        return None
    mean = sum((weight * value for weight, value in parts), Decimal(0)) / total_weight
    return mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def quadrant(*, attractiveness: Decimal, position: Decimal) -> Quadrant:
    """The quadrant of a point; the midpoint 5 counts as high (attractive, strong)."""
    if attractiveness >= MIDPOINT:
        return Quadrant.INVEST if position >= MIDPOINT else Quadrant.SELECTIVE
    return Quadrant.MAINTAIN if position >= MIDPOINT else Quadrant.REDUCE


# The chart's geometry in SVG user units: a square plot with room for the axes' labels.
PLOT_LEFT, PLOT_TOP, PLOT_SIZE = 70, 20, 480


def _chart_x(value: Decimal) -> str:
    return f"{PLOT_LEFT + float(value / MAX_POINTS) * PLOT_SIZE:.1f}"


def _chart_y(value: Decimal) -> str:
    return f"{PLOT_TOP + float((MAX_POINTS - value) / MAX_POINTS) * PLOT_SIZE:.1f}"


@dataclass
class PortfolioPoint:
    account: Account
    url: str
    colour: str
    attractiveness: Decimal | None
    coverage: Decimal | None  # percent of the active contacts with a relationship
    share_of_wallet: Decimal | None
    position: Decimal | None
    quadrant: Quadrant | None = None
    x: str = ""  # chart coordinates, formatted for SVG (never localised)
    y: str = ""

    @property
    def plotted(self) -> bool:
        return self.quadrant is not None

    @property
    def nickname(self) -> str:
        return str(QUADRANT_NICKNAMES[self.quadrant]) if self.quadrant else ""


@dataclass
class Portfolio:
    run: SelectionRun | None
    settings: PortfolioSettings
    filterset: PortfolioFilterSet
    points: list[PortfolioPoint] = field(default_factory=list)
    total: int = 0  # accounts matching the filters, of which at most POINT_LIMIT are shown
    colours: dict[str, str] = field(default_factory=dict)

    @property
    def capped(self) -> bool:
        return self.total > len(self.points)

    @property
    def plotted(self) -> list[PortfolioPoint]:
        return [p for p in self.points if p.plotted]

    @property
    def unplotted(self) -> list[PortfolioPoint]:
        return [p for p in self.points if not p.plotted]

    @property
    def weight_shares(self) -> tuple[int, int]:
        """The weights of coverage and share of wallet as whole percentages of their sum."""
        coverage, wallet = self.settings.coverage_weight, self.settings.share_of_wallet_weight
        total = coverage + wallet or 1
        share = round(coverage * 100 / total)
        return share, 100 - share

    @property
    def chart(self) -> dict[str, Any]:
        """The plot's frame and ticks in SVG user units."""
        right, bottom = PLOT_LEFT + PLOT_SIZE, PLOT_TOP + PLOT_SIZE
        ticks = [Decimal(v) for v in (0, 2.5, 5, 7.5, 10)]
        return {
            "left": PLOT_LEFT,
            "top": PLOT_TOP,
            "size": PLOT_SIZE,
            "right": right,
            "bottom": bottom,
            "mid_x": PLOT_LEFT + PLOT_SIZE // 2,
            "mid_y": PLOT_TOP + PLOT_SIZE // 2,
            "width": right + 20,
            "height": bottom + 60,
            "x_ticks": [(tick, _chart_x(tick)) for tick in ticks],
            "y_ticks": [(tick, _chart_y(tick)) for tick in ticks],
            "x_label_y": bottom + 48,
            "y_label_x": 18,
        }

    def quadrants(self) -> list[dict[str, Any]]:
        """The four quadrants with their labels and counts, for the chart and its legend."""
        counts = dict.fromkeys(Quadrant, 0)
        for point in self.plotted:
            counts[point.quadrant] += 1
        half = PLOT_SIZE // 2
        corners = {
            Quadrant.SELECTIVE: (PLOT_LEFT, PLOT_TOP, "#fff3cd"),
            Quadrant.INVEST: (PLOT_LEFT + half, PLOT_TOP, "#d1e7dd"),
            Quadrant.REDUCE: (PLOT_LEFT, PLOT_TOP + half, "#e9ecef"),
            Quadrant.MAINTAIN: (PLOT_LEFT + half, PLOT_TOP + half, "#cfe2ff"),
        }
        return [
            {
                "key": q.value,
                "label": q.label,
                "nickname": QUADRANT_NICKNAMES[q],
                "count": counts[q],
                "x": x,
                "y": y,
                "size": half,
                "fill": fill,
                "text_x": x + half // 2,
                # Labels sit on the outer edges, away from the midlines where points crowd.
                "label_y": y + 20 if y == PLOT_TOP else y + half - 26,
            }
            for q, (x, y, fill) in corners.items()
        ]


def _positioned(accounts: QuerySet[Account], run: SelectionRun) -> QuerySet[Account]:
    """``accounts`` with their score in ``run`` and what their position needs."""
    covered = Exists(Relationship.objects.filter(contact=OuterRef("contacts")))
    active = Q(contacts__has_left=False)
    return _with_score(accounts, run).annotate(
        contacts_active=Count("contacts", filter=active),
        contacts_covered=Count("contacts", filter=active & covered),
    )


def _portfolio_accounts(user: User, run: SelectionRun) -> QuerySet[Account]:
    """Key accounts and the accounts scored in ``run`` with what their position needs."""
    return (
        _positioned(Account.objects.all(), run)
        .filter(~Q(tier="") | Q(score__isnull=False))
        .annotate(openable=_openable(user))
        .order_by(F("score").desc(nulls_last=True), "name", "pk")
    )


def account_position(*, account: Account) -> PortfolioPoint | None:
    """The account's point in the portfolio of the current approved run, or None without one.

    The point's quadrant is None when the account was not scored or its position is unknown.
    The caller has checked that the user may open the account.
    """
    from selection.selectors import current_run

    run = current_run()
    if run is None:
        return None
    row = (
        _positioned(Account.objects.filter(pk=account.pk), run)
        .annotate(openable=Value(True))
        .first()
    )
    if row is None:
        return None
    return _point(row, portfolio_settings(), tier_colours(run))


def _point(
    account: Account, settings: PortfolioSettings, colours: dict[str, str]
) -> PortfolioPoint:
    """One account's point: coverage, share of wallet, position and (when known) quadrant."""
    coverage = (
        (Decimal(account.contacts_covered) * HUNDRED / account.contacts_active).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        if account.contacts_active
        else None
    )
    point = PortfolioPoint(
        account=account,
        url=_account_url(account),
        colour=colours.get(account.tier, DEFAULT_COLOUR),
        attractiveness=account.score,
        coverage=coverage,
        share_of_wallet=account.share_of_wallet,
        position=strength(
            coverage=coverage, share_of_wallet=account.share_of_wallet, settings=settings
        ),
    )
    if point.attractiveness is not None and point.position is not None:
        point.quadrant = quadrant(attractiveness=point.attractiveness, position=point.position)
        point.x, point.y = _chart_x(point.position), _chart_y(point.attractiveness)
    return point


def portfolio(*, user: User, data: QueryDict | None, run: SelectionRun | None) -> Portfolio:
    """The accounts of the portfolio matrix, at most ``POINT_LIMIT``, most attractive first.

    Without a current run nothing is plotted: attractiveness is the run's score.
    """
    settings = portfolio_settings()
    colours = tier_colours(run)
    tiers = list(colours)
    filterset = PortfolioFilterSet(
        data,
        queryset=_portfolio_accounts(user, run) if run else Account.objects.none(),
        tiers=[(name, name) for name in tiers],
    )
    result = Portfolio(run=run, settings=settings, filterset=filterset, colours=colours)
    if run is None or not access.may_read_selection(user):
        return result
    accounts = filterset.qs
    result.total = accounts.count()
    for account in accounts[:POINT_LIMIT]:
        result.points.append(_point(account, settings, colours))
    return result


# Allocation priority ---------------------------------------------------------------------------

ALLOCATION_RULE = _(
    "Competing claims are ranked by tier first (the best tier first; accounts without a tier "
    "come last), then by the score in the current approved selection run (higher first), then "
    "by the length of the customer relationship (customer since longer first), and finally by "
    "ERP customer number, so the same claims always get the same order."
)


class DecidedBy(models.TextChoices):
    """What put a claim behind the one before it."""

    TIER = "tier", _("Tier")
    SCORE = "score", _("Score")
    CUSTOMER_SINCE = "customer_since", _("Customer since")
    ERP_NUMBER = "erp_number", _("ERP customer number")


@dataclass
class Claim:
    position: int
    account: Account
    url: str
    decided_by: DecidedBy | None  # None for the first claim

    @property
    def customer_since(self):
        return timezone.localdate(self.account.created_at)

    def as_json(self) -> dict[str, Any]:
        account = self.account
        return {
            "position": self.position,
            "erp_number": account.erp_number,
            "name": account.name,
            "tier": account.tier or None,
            "tier_rank": account.tier_rank,
            "score": None if account.score is None else str(account.score),
            "customer_since": self.customer_since.isoformat(),
        }


@dataclass
class Allocation:
    run: SelectionRun | None
    erp_numbers: list[str]  # as asked for
    ranking: list[Claim]
    unknown: list[str]
    rule: str = field(default_factory=lambda: str(ALLOCATION_RULE))

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "ranking": [claim.as_json() for claim in self.ranking],
            "unknown": self.unknown,
        }


def _decided_by(account: Account, before: Account | None) -> DecidedBy | None:
    if before is None:
        return None
    if account.tier_rank != before.tier_rank:
        return DecidedBy.TIER
    if account.score != before.score:
        return DecidedBy.SCORE
    if account.created_at != before.created_at:
        return DecidedBy.CUSTOMER_SINCE
    return DecidedBy.ERP_NUMBER


def allocation_ranking(
    *, user: User, erp_numbers: list[str], run: SelectionRun | None
) -> Allocation:
    """Rank the accounts with ``erp_numbers`` by the allocation rule (see ``ALLOCATION_RULE``).

    Numbers without an account are returned in ``unknown``, in the order given.
    """
    accounts = list(
        _with_score(Account.objects.filter(erp_number__in=erp_numbers), run)
        .annotate(openable=_openable(user))
        .order_by(
            F("tier_rank").asc(nulls_last=True),
            F("score").desc(nulls_last=True),
            "created_at",
            "erp_number",
        )
    )
    found = {account.erp_number for account in accounts}
    ranking, before = [], None
    for position, account in enumerate(accounts, start=1):
        ranking.append(
            Claim(
                position=position,
                account=account,
                url=_account_url(account),
                decided_by=_decided_by(account, before),
            )
        )
        before = account
    return Allocation(
        run=run,
        erp_numbers=erp_numbers,
        ranking=ranking,
        unknown=[n for n in erp_numbers if n not in found],
    )
