"""Reads of the selection app, scoped to the user, shaped for the pages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Account
from kam import access
from kam.models import User
from selection import scoring
from selection.models import (
    MAX_POINTS,
    CriteriaVersion,
    KnockoutCriterion,
    KnockoutOutcome,
    Movement,
    ScoredCriterion,
    ScoringMethod,
    SelectionResult,
    SelectionRun,
    Tier,
    TierChange,
)
from selection.services.runs import evaluate_accounts, scheme_from
from selection.sources import Source, sources_by_key

KNOCKOUT_BY_CODE = {
    1: KnockoutOutcome.PASSED,
    0: KnockoutOutcome.FAILED,
    -1: KnockoutOutcome.UNKNOWN,
}


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def runs_for(*, user: User) -> QuerySet[SelectionRun]:
    """The runs a user may read (none for roles outside the selection)."""
    if not access.may_read_selection(user):
        return SelectionRun.objects.none()
    return SelectionRun.objects.select_related(
        "version__criteria_set", "created_by", "approved_by", "job"
    )


def run_get(*, user: User, pk: int) -> SelectionRun:
    """A run the user may read: 403 for roles outside the selection, 404 when missing."""
    _require(access.may_read_selection(user))
    try:
        return runs_for(user=user).get(pk=pk)
    except SelectionRun.DoesNotExist as exc:
        raise Http404 from exc


def current_run() -> SelectionRun | None:
    """The approved run whose tiers the accounts carry now."""
    return (
        SelectionRun.objects.select_related("version__criteria_set").filter(is_current=True).first()
    )


def version_get(*, user: User, pk: int) -> CriteriaVersion:
    _require(access.may_read_selection(user))
    try:
        return CriteriaVersion.objects.select_related("criteria_set").get(pk=pk)
    except CriteriaVersion.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class KnockoutLine:
    criterion: KnockoutCriterion
    source: Source | None
    value: float | None
    outcome: KnockoutOutcome


@dataclass
class ScoreLine:
    criterion: ScoredCriterion
    source: Source | None
    share: Decimal  # the weight as a share of all weights, in percent
    value: float | None
    points: Decimal
    contribution: Decimal
    gain: Decimal  # what the total would gain with full points on this criterion
    next_band: tuple[Decimal, Decimal] | None  # (value needed, points there)


@dataclass
class Explanation:
    """Why an account got its tier in a run, and what it would take to reach the next one."""

    result: SelectionResult
    knockouts: list[KnockoutLine]
    scores: list[ScoreLine]
    tiers: list[Tier]
    next_tier: Tier | None = None
    missing_points: Decimal | None = None
    opportunities: list[ScoreLine] = field(default_factory=list)

    @property
    def failed(self) -> list[KnockoutLine]:
        return [line for line in self.knockouts if line.outcome != KnockoutOutcome.PASSED]


def _next_band(criterion: ScoredCriterion, points: Decimal) -> tuple[Decimal, Decimal] | None:
    if criterion.method != ScoringMethod.BANDS:
        return None
    better = [b for b in criterion.bands.all() if b.points > points]
    if not better:
        return None
    band = min(better, key=lambda b: b.min_value)
    return band.min_value, band.points


def _one(value: float | None) -> np.ndarray:
    return np.array([np.nan if value is None else value], dtype=np.float64)


def explanation(result: SelectionResult) -> Explanation:
    """The explanation of one stored result, read back against its frozen version."""
    version = result.run.version
    knockouts = list(version.knockouts.order_by("group", "position", "pk"))
    criteria = list(version.criteria.prefetch_related("bands").order_by("position", "pk"))
    tiers = list(version.tiers.order_by("rank"))
    scheme = scheme_from(version, knockouts, criteria, tiers)
    sources = sources_by_key()
    details = result.details or {}
    knockout_lines = [
        KnockoutLine(
            criterion=k,
            source=sources.get(k.source),
            value=value,
            outcome=KNOCKOUT_BY_CODE[
                int(scoring.knockout_outcome(rule.operator, rule.threshold, _one(value))[0])
            ],
        )
        for k, rule, value in zip(
            knockouts, scheme.knockouts, details.get("knockouts", []), strict=False
        )
    ]
    total_weight = sum((c.weight for c in criteria), Decimal(0)) or Decimal(1)
    score_lines = []
    for criterion, rule, value in zip(
        criteria, scheme.scores, details.get("scores", []), strict=False
    ):
        share = criterion.weight / total_weight
        points = Decimal(str(round(float(scoring.points_of(rule, _one(value))[0]), 2)))
        score_lines.append(
            ScoreLine(
                criterion=criterion,
                source=sources.get(criterion.source),
                share=(share * 100).quantize(Decimal("0.1")),
                value=value,
                points=points,
                contribution=(points * share).quantize(Decimal("0.01")),
                gain=((MAX_POINTS - points) * share).quantize(Decimal("0.01")),
                next_band=_next_band(criterion, points),
            )
        )
    explained = Explanation(
        result=result, knockouts=knockout_lines, scores=score_lines, tiers=tiers
    )
    rank = result.proposed_rank
    reachable = [t for t in tiers if rank is None or t.rank < rank]
    if reachable:
        explained.next_tier = max(reachable, key=lambda t: t.rank)
        explained.missing_points = max(explained.next_tier.min_score - result.total, Decimal(0))
        explained.opportunities = sorted(
            (line for line in score_lines if line.gain > 0), key=lambda line: -line.gain
        )
    return explained


def result_get(*, user: User, run: SelectionRun, account_pk: int) -> SelectionResult:
    """One account's result in a run the user may read."""
    try:
        return (
            SelectionResult.objects.select_related("account", "run__version", "failed_knockout")
            .prefetch_related("override")
            .get(run=run, account_id=account_pk)
        )
    except SelectionResult.DoesNotExist as exc:
        raise Http404 from exc


def account_results(*, account: Account) -> QuerySet[SelectionResult]:
    """An account's results in approved runs (for its selection tab), newest first."""
    return (
        SelectionResult.objects.filter(account=account, run__state="approved")
        .select_related("run__version__criteria_set")
        .order_by("-run__approved_at")
    )


def tier_changes(*, user: User, account: Account | None = None) -> QuerySet[TierChange]:
    """Tier changes of the accounts the user may open, newest first."""
    changes = TierChange.objects.select_related("account", "run", "changed_by")
    if account is not None:
        changes = changes.filter(account=account)
    return access.scope(user, changes, account_path="account").order_by("-changed_at", "-pk")


@dataclass
class PreviewColumn:
    """A proposed tier (``tier`` None: not a key account) with its count of accounts."""

    tier: Tier | None
    count: int
    share: Decimal  # of all accounts, in percent


@dataclass
class PreviewRow:
    """Accounts of one current tier (``rank`` 0: none) by proposed tier, as the columns."""

    rank: int
    label: str
    counts: list[int]
    total: int


@dataclass
class PreviewChange:
    account_id: int
    name: str
    current: str
    proposed: str
    total: Decimal
    movement: Movement


@dataclass
class VersionPreview:
    """What a version would do to all accounts today, against their current tiers."""

    account_count: int
    columns: list[PreviewColumn]
    rows: list[PreviewRow]
    movements: list[tuple[Movement, int]]
    knockout_failed: int
    knockout_unknown: int
    unknown_kept: int
    change_count: int
    changes: list[PreviewChange]


PREVIEW_CHANGES = 50


def version_preview(version: CriteriaVersion) -> VersionPreview:
    """Score every account with ``version`` (nothing stored) and compare with today's tiers.

    ``changes`` lists the accounts whose tier would change, the best scores first, at most
    ``PREVIEW_CHANGES``; ``change_count`` counts them all.
    """
    values, evaluation, _knockouts, _criteria, tiers = evaluate_accounts(
        version, Account.objects.all()
    )
    n = len(values)
    current = values.tier_ranks.astype(np.int16)
    proposed = evaluation.rank
    current_names: dict[int, list[str]] = {}
    for rank, name in (
        Account.objects.exclude(tier="")
        .order_by("tier_rank", "tier")
        .values_list("tier_rank", "tier")
        .distinct()
    ):
        current_names.setdefault(rank or 0, []).append(name)
    column_ranks = [t.rank for t in tiers] + [scoring.NO_TIER]
    per_column = Counter(proposed.tolist())
    columns = [
        PreviewColumn(
            tier=tier,
            count=per_column.get(rank, 0),
            share=Decimal(per_column.get(rank, 0) * 100 / n).quantize(Decimal("0.1"))
            if n
            else Decimal(0),
        )
        for rank, tier in zip(column_ranks, [*tiers, None], strict=True)
    ]
    pairs = Counter(zip(current.tolist(), proposed.tolist(), strict=True))
    row_ranks = [*sorted(set(current.tolist()) - {scoring.NO_TIER}), scoring.NO_TIER]
    rows = []
    for rank in row_ranks:
        counts = [pairs.get((rank, column), 0) for column in column_ranks]
        rows.append(
            PreviewRow(
                rank=rank,
                label=" / ".join(current_names.get(rank, [])) if rank else "",
                counts=counts,
                total=sum(counts),
            )
        )
    moves = scoring.movement(current, proposed)
    per_move = Counter(moves.tolist())
    changed = np.flatnonzero(current != proposed)
    changed = changed[np.argsort(-evaluation.total[changed], kind="stable")]
    top = changed[:PREVIEW_CHANGES]
    names = dict(Account.objects.filter(pk__in=values.ids[top].tolist()).values_list("pk", "name"))
    proposed_names = {t.rank: t.name for t in tiers}
    changes = [
        PreviewChange(
            account_id=int(values.ids[i]),
            name=names.get(int(values.ids[i]), ""),
            current=" / ".join(current_names.get(int(current[i]), [])),
            proposed=proposed_names.get(int(proposed[i]), ""),
            total=Decimal(f"{evaluation.total[i]:.2f}"),
            movement=Movement(str(moves[i])),
        )
        for i in top.tolist()
    ]
    unknown = evaluation.knockout == scoring.UNKNOWN
    return VersionPreview(
        account_count=n,
        columns=columns,
        rows=rows,
        movements=[(m, per_move.get(m.value, 0)) for m in Movement],
        knockout_failed=int((evaluation.knockout == scoring.FAILED).sum()),
        knockout_unknown=int(unknown.sum()),
        unknown_kept=int((unknown & evaluation.knockout_passed).sum()),
        change_count=len(changed),
        changes=changes,
    )
