"""The scoring engine: K.O. criteria first, then weighted points, then tiers, for many accounts.

Pure functions over numpy arrays (one element per account, NaN for an unknown value), so a run
over 100,000 accounts is a handful of vector operations and the rules can be tested as maths.

The rules (shared/DOMAIN.md, steps 1–3):
- K.O. criteria sharing a group number are alternatives; an account must pass every group.
  A group passes when any of its criteria passes, is unknown when none passes but one is
  unknown, and fails otherwise. The overall check fails when any group fails, is unknown when
  no group fails but one is unknown, and passes otherwise. The scheme's ``unknown_passes``
  decides whether an unknown outcome keeps the account in the selection.
- A scored criterion gives 0–10 points (bands: the points of the highest band whose minimum the
  value reaches; direct: the value itself, clipped to 0–10); an unknown value gives 0 points.
  The total is the weighted mean of the points, rounded to two decimals.
- An account that passed the K.O. check gets the best tier whose minimum score its total
  reaches (inclusive); failing the K.O. check excludes it whatever it scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_POINTS = 10.0
PASSED, FAILED, UNKNOWN = 1, 0, -1
NO_TIER = 0


@dataclass(frozen=True)
class KnockoutRule:
    group: int
    operator: str  # one of selection.models.Operator
    threshold: float | None = None


@dataclass(frozen=True)
class ScoreRule:
    weight: float
    method: str = "bands"  # or "direct"
    bands: tuple[tuple[float, float], ...] = ()  # (minimum value, points), any order


@dataclass(frozen=True)
class TierRule:
    rank: int
    min_score: float


@dataclass(frozen=True)
class Scheme:
    knockouts: tuple[KnockoutRule, ...] = ()
    scores: tuple[ScoreRule, ...] = ()
    tiers: tuple[TierRule, ...] = ()
    unknown_passes: bool = False

    @property
    def shares(self) -> np.ndarray:
        """Each scored criterion's weight as a share of all weights (sums to 1)."""
        weights = np.array([rule.weight for rule in self.scores], dtype=np.float64)
        total = weights.sum()
        return weights / total if total > 0 else weights


@dataclass
class Evaluation:
    """Arrays over accounts (last axis); per-rule arrays have one row per rule."""

    knockout_outcomes: np.ndarray  # (rules, n) int8 of PASSED/FAILED/UNKNOWN
    knockout: np.ndarray  # (n,) int8 overall outcome, before the unknown rule
    knockout_passed: np.ndarray  # (n,) bool, after the unknown rule
    failed_rule: np.ndarray  # (n,) index of the rule that excluded (or left unknown), or -1
    points: np.ndarray  # (criteria, n)
    contributions: np.ndarray  # (criteria, n) points × share
    total: np.ndarray  # (n,) rounded to 2 decimals
    rank: np.ndarray  # (n,) tier rank, NO_TIER when none


def knockout_outcome(operator: str, threshold: float | None, values: np.ndarray) -> np.ndarray:
    """PASSED/FAILED/UNKNOWN per value for one rule; NaN is always UNKNOWN."""
    t = np.nan if threshold is None else float(threshold)
    with np.errstate(invalid="ignore"):
        test = {
            "gt": lambda v: v > t,
            "gte": lambda v: v >= t,
            "lt": lambda v: v < t,
            "lte": lambda v: v <= t,
            "eq": lambda v: v == t,
            "ne": lambda v: v != t,
            "yes": lambda v: v != 0,
            "no": lambda v: v == 0,
        }[operator](values)
    outcome = np.where(test, PASSED, FAILED).astype(np.int8)
    outcome[np.isnan(values)] = UNKNOWN
    return outcome


def points_of(rule: ScoreRule, values: np.ndarray) -> np.ndarray:
    """0–10 points per value for one criterion; unknown values give 0."""
    if rule.method == "direct":
        points = np.clip(values, 0, MAX_POINTS)
    else:
        bands = sorted(rule.bands)
        minimums = np.array([b[0] for b in bands], dtype=np.float64)
        band_points = np.array([b[1] for b in bands], dtype=np.float64)
        index = np.searchsorted(minimums, values, side="right") - 1
        points = np.where(index >= 0, band_points[np.clip(index, 0, None)] if bands else 0, 0)
    return np.where(np.isnan(values), 0.0, points).astype(np.float64)


def _combine(outcomes: np.ndarray) -> np.ndarray:
    """Any PASSED passes; otherwise any UNKNOWN is unknown; otherwise FAILED (axis 0)."""
    return np.where(
        (outcomes == PASSED).any(axis=0),
        PASSED,
        np.where((outcomes == UNKNOWN).any(axis=0), UNKNOWN, FAILED),
    ).astype(np.int8)


def evaluate(
    scheme: Scheme,
    knockout_values: Sequence[np.ndarray],
    score_values: Sequence[np.ndarray],
    n: int,
) -> Evaluation:
    """Apply ``scheme`` to ``n`` accounts given each rule's values (aligned with the rules)."""
    rules = scheme.knockouts
    outcomes = (
        np.stack(
            [
                knockout_outcome(r.operator, r.threshold, v)
                for r, v in zip(rules, knockout_values, strict=True)
            ]
        )
        if rules
        else np.empty((0, n), dtype=np.int8)
    )
    overall = np.full(n, PASSED, dtype=np.int8)
    failed_rule = np.full(n, -1, dtype=np.int64)
    if rules:
        groups = np.array([r.group for r in rules])
        group_ids = sorted(set(groups.tolist()))
        group_outcomes = np.stack([_combine(outcomes[groups == g]) for g in group_ids])
        overall = np.where(
            (group_outcomes == FAILED).any(axis=0),
            FAILED,
            np.where((group_outcomes == UNKNOWN).any(axis=0), UNKNOWN, PASSED),
        ).astype(np.int8)
        # Name the first rule (in rule order) of a failed group, else of an unknown one.
        group_index = np.array([group_ids.index(g) for g in groups])
        for kind in (UNKNOWN, FAILED):
            in_bad_group = (group_outcomes[group_index] == kind) & (outcomes == kind)
            failed_rule = np.where(
                in_bad_group.any(axis=0), np.argmax(in_bad_group, axis=0), failed_rule
            )
    passed = (overall == PASSED) | ((overall == UNKNOWN) & scheme.unknown_passes)

    if scheme.scores:
        points = np.stack(
            [points_of(r, v) for r, v in zip(scheme.scores, score_values, strict=True)]
        )
        contributions = points * scheme.shares[:, None]
        total = np.round(contributions.sum(axis=0), 2)
    else:
        points = contributions = np.empty((0, n))
        total = np.zeros(n)

    rank = np.full(n, NO_TIER, dtype=np.int16)
    # From the lowest tier up, so the best tier an account reaches wins.
    for tier in sorted(scheme.tiers, key=lambda t: t.rank, reverse=True):
        rank = np.where(total >= round(tier.min_score, 2), tier.rank, rank).astype(np.int16)
    rank = np.where(passed, rank, NO_TIER).astype(np.int16)
    return Evaluation(
        knockout_outcomes=outcomes,
        knockout=overall,
        knockout_passed=passed,
        failed_rule=failed_rule,
        points=points,
        contributions=contributions,
        total=total,
        rank=rank,
    )


def movement(previous_rank: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The movement per account from its previous tier rank to the new one (0 = no tier)."""
    return np.select(
        [
            (previous_rank == NO_TIER) & (rank == NO_TIER),
            previous_rank == NO_TIER,
            rank == NO_TIER,
            rank < previous_rank,
            rank > previous_rank,
        ],
        ["none", "new", "out", "up", "down"],
        default="same",
    )
