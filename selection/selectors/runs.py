"""Reads of the run pages: a run's results, its tier distribution and movement matrix.

Counts come from the run's stored summary where it suffices and from one aggregation in the
database otherwise, so a page costs the same few queries for 20 or 100,000 accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, QuerySet
from django.http import QueryDict

from selection.filters import SelectionResultFilterSet, default_result_order
from selection.models import (
    CriteriaVersion,
    Movement,
    RunState,
    SelectionResult,
    SelectionRun,
    Tier,
    TierOverride,
    VersionState,
)

MOVEMENT_ORDER = (
    Movement.NEW,
    Movement.UP,
    Movement.SAME,
    Movement.DOWN,
    Movement.OUT,
    Movement.NONE,
)


def result_filterset(*, run: SelectionRun, data: QueryDict | None) -> SelectionResultFilterSet:
    """The run's results, filtered and sorted by ``data``, ready for the table and exports."""
    queryset = default_result_order(
        SelectionResult.objects.filter(run=run).select_related(
            "account", "failed_knockout", "override__created_by"
        )
    )
    return SelectionResultFilterSet(data, queryset=queryset, version=run.version)


@dataclass
class TierCount:
    """One bar of the distribution: a tier (None: not a key account) and its accounts."""

    tier: Tier | None
    count: int
    share: Decimal  # percent of the run's accounts
    after_overrides: int


@dataclass
class MatrixRow:
    """Accounts by tier before (a row) and proposed tier (the cells, in the columns' order)."""

    rank: int | None
    name: str
    cells: list[int] = field(default_factory=list)
    total: int = 0


@dataclass
class RunOverview:
    tiers: list[Tier]
    distribution: list[TierCount]
    movements: list[tuple[Movement, int]]
    matrix: list[MatrixRow]
    key_accounts: int
    knockout: dict[str, int]
    overrides: int


def _share(count: int, total: int) -> Decimal:
    if not total:
        return Decimal(0)
    return (Decimal(count) * 100 / total).quantize(Decimal("0.1"))


def run_overview(*, run: SelectionRun) -> RunOverview:
    """The run page's summary: distribution per tier, movements and the from × to matrix."""
    tiers = list(run.version.tiers.order_by("rank"))
    summary = run.summary or {}
    by_rank = {int(rank): count for rank, count in summary.get("tiers", {}).items()}
    overrides = TierOverride.objects.filter(result__run=run)
    override_count = overrides.count()
    after = dict(by_rank)
    if override_count:
        # An override moves its account from the proposed tier to the chosen one.
        for proposed, chosen, count in (
            overrides.values_list("result__proposed_rank", "rank")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            after[proposed or 0] = after.get(proposed or 0, 0) - count
            after[chosen or 0] = after.get(chosen or 0, 0) + count
    total = run.account_count
    distribution = [
        TierCount(
            tier=tier,
            count=by_rank.get(tier.rank, 0),
            share=_share(by_rank.get(tier.rank, 0), total),
            after_overrides=after.get(tier.rank, 0),
        )
        for tier in tiers
    ]
    distribution.append(
        TierCount(
            tier=None,
            count=by_rank.get(0, 0),
            share=_share(by_rank.get(0, 0), total),
            after_overrides=after.get(0, 0),
        )
    )
    moves = summary.get("movements", {})
    columns = [tier.rank for tier in tiers]
    rows: dict[tuple[int | None, str], MatrixRow] = {}
    cells = (
        SelectionResult.objects.filter(run=run)
        .values_list("previous_rank", "previous_tier", "proposed_rank")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for previous_rank, previous_tier, proposed_rank, count in cells:
        row = rows.setdefault(
            (previous_rank, previous_tier),
            MatrixRow(rank=previous_rank, name=previous_tier, cells=[0] * (len(columns) + 1)),
        )
        index = columns.index(proposed_rank) if proposed_rank in columns else len(columns)
        row.cells[index] += count
        row.total += count
    matrix = sorted(
        rows.values(), key=lambda row: (row.rank is None, row.rank or 0, row.name.casefold())
    )
    return RunOverview(
        tiers=tiers,
        distribution=distribution,
        movements=[(movement, moves.get(movement.value, 0)) for movement in MOVEMENT_ORDER],
        matrix=matrix,
        key_accounts=sum(count for rank, count in by_rank.items() if rank),
        knockout=summary.get("knockout", {}),
        overrides=override_count,
    )


def released_versions() -> QuerySet[CriteriaVersion]:
    """Versions a run may use, newest first."""
    return (
        CriteriaVersion.objects.filter(state=VersionState.RELEASED)
        .select_related("criteria_set")
        .order_by(F("released_at").desc(), "-number", "-pk")
    )


def approved_runs() -> QuerySet[SelectionRun]:
    """Runs whose tiers were applied, newest first (the tier-change list's run filter)."""
    return SelectionRun.objects.filter(state=RunState.APPROVED).order_by("-approved_at", "-pk")
