"""The scoring engine's rules as properties (shared/DOMAIN.md, steps 1–3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selection.scoring import (
    FAILED,
    NO_TIER,
    PASSED,
    UNKNOWN,
    KnockoutRule,
    Scheme,
    ScoreRule,
    TierRule,
    evaluate,
    knockout_outcome,
    movement,
    points_of,
)

points = st.integers(min_value=0, max_value=1000).map(lambda n: n / 100)  # 0.00–10.00
weights = st.integers(min_value=1, max_value=500).map(lambda n: n / 10)
maybe_value = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
TIERS = (
    TierRule(rank=1, min_score=7.5),
    TierRule(rank=2, min_score=5.0),
    TierRule(rank=3, min_score=2.5),
)


def _array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _direct_scheme(weight_list, **kwargs) -> Scheme:
    return Scheme(scores=tuple(ScoreRule(weight=w, method="direct") for w in weight_list), **kwargs)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(points, points, points), min_size=1, max_size=20),
    weight_list=st.tuples(weights, weights, weights),
)
def test_a_knockout_failure_excludes_whatever_the_score(rows, weight_list) -> None:
    scheme = _direct_scheme(
        weight_list, knockouts=(KnockoutRule(group=1, operator="gt", threshold=0),), tiers=TIERS
    )
    n = len(rows)
    columns = [np.array(column) for column in zip(*rows, strict=True)]

    evaluation = evaluate(scheme, [np.zeros(n)], columns, n)

    assert (evaluation.knockout == FAILED).all()
    assert (evaluation.rank == NO_TIER).all()
    assert (evaluation.failed_rule == 0).all()


@settings(max_examples=300, deadline=None)
@given(
    row=st.tuples(points, points, points, points),
    weight_list=st.tuples(weights, weights, weights, weights),
    which=st.integers(min_value=0, max_value=3),
    extra=weights,
)
def test_raising_a_weight_where_the_account_is_above_its_total_never_lowers_it(
    row, weight_list, which, extra
) -> None:
    columns = [np.array([p]) for p in row]
    before = evaluate(_direct_scheme(weight_list), [], columns, 1).total[0]
    if row[which] <= before:
        return
    raised = list(weight_list)
    raised[which] += extra

    after = evaluate(_direct_scheme(raised), [], columns, 1).total[0]

    assert after >= before


@settings(max_examples=200, deadline=None)
@given(total=points)
def test_tier_thresholds_are_inclusive_and_ordered(total) -> None:
    scheme = _direct_scheme([1.0], tiers=TIERS)

    rank = evaluate(scheme, [], [np.array([total])], 1).rank[0]

    expected = next(
        (t.rank for t in sorted(TIERS, key=lambda t: t.rank) if total >= t.min_score), NO_TIER
    )
    assert rank == expected
    # A better total never gets a worse tier.
    higher = evaluate(scheme, [], [np.array([min(total + 0.01, 10)])], 1).rank[0]
    assert (higher or 99) <= (rank or 99)


def test_exactly_the_minimum_reaches_the_tier() -> None:
    scheme = _direct_scheme([1.0, 2.0], tiers=TIERS)
    # (6 × 1 + 8.25 × 2) / 3 = 7.5 exactly: Gold, not Silver.
    evaluation = evaluate(scheme, [], [np.array([6.0]), np.array([8.25])], 1)

    assert evaluation.total[0] == 7.5
    assert evaluation.rank[0] == 1


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.tuples(maybe_value, maybe_value), min_size=1, max_size=15),
    unknown_passes=st.booleans(),
)
def test_unknown_values_follow_the_sets_rule(values, unknown_passes) -> None:
    # Group 1: a > 10 OR b > 10. Any pass passes; no pass but an unknown is unknown.
    scheme = Scheme(
        knockouts=(KnockoutRule(1, "gt", 10), KnockoutRule(1, "gt", 10)),
        scores=(ScoreRule(weight=1, method="direct"),),
        tiers=(TierRule(rank=1, min_score=0),),
        unknown_passes=unknown_passes,
    )
    a, b = (_array(column) for column in zip(*values, strict=True))
    n = len(values)

    evaluation = evaluate(scheme, [a, b], [np.full(n, 5.0)], n)

    for i, (va, vb) in enumerate(values):
        if (va is not None and va > 10) or (vb is not None and vb > 10):
            assert evaluation.knockout[i] == PASSED
        elif va is None or vb is None:
            assert evaluation.knockout[i] == UNKNOWN
            assert evaluation.rank[i] == (1 if unknown_passes else NO_TIER)
            assert evaluation.failed_rule[i] == (0 if va is None else 1)
        else:
            assert evaluation.knockout[i] == FAILED
            assert evaluation.rank[i] == NO_TIER


def test_a_failed_group_outweighs_an_unknown_one_and_is_named() -> None:
    scheme = Scheme(
        knockouts=(KnockoutRule(1, "gt", 10), KnockoutRule(2, "no")),
        tiers=(TierRule(1, 0),),
        unknown_passes=True,
    )

    evaluation = evaluate(scheme, [_array([None]), _array([1.0])], [], 1)

    assert evaluation.knockout[0] == FAILED
    assert evaluation.failed_rule[0] == 1
    assert evaluation.rank[0] == NO_TIER


@pytest.mark.parametrize(
    ("operator", "threshold", "value", "expected"),
    [
        ("gt", 5, 5, FAILED),
        ("gte", 5, 5, PASSED),
        ("lt", 5, 4.99, PASSED),
        ("lte", 5, 5.01, FAILED),
        ("eq", 5, 5, PASSED),
        ("ne", 5, 5, FAILED),
        ("yes", None, 1, PASSED),
        ("no", None, 1, FAILED),
        ("gt", 5, None, UNKNOWN),
        ("no", None, None, UNKNOWN),
    ],
)
def test_knockout_operators(operator, threshold, value, expected) -> None:
    assert knockout_outcome(operator, threshold, _array([value]))[0] == expected


def test_bands_give_the_points_of_the_highest_band_reached_and_unknown_gives_none() -> None:
    rule = ScoreRule(weight=1, bands=((1000, 6), (0, 0), (5000, 10)))

    result = points_of(rule, _array([-1, 0, 999.99, 1000, 4999, 5000, 1e9, None]))

    assert result.tolist() == [0, 0, 0, 6, 6, 10, 10, 0]


def test_direct_points_are_clipped_to_the_scale() -> None:
    assert points_of(ScoreRule(weight=1, method="direct"), _array([-3, 4.5, 12])).tolist() == [
        0,
        4.5,
        10,
    ]


def test_movements() -> None:
    previous = np.array([0, 0, 1, 2, 2, 3])
    proposed = np.array([0, 2, 0, 1, 2, 3 + 0])
    proposed[5] = 1

    assert movement(previous, proposed).tolist() == ["none", "new", "out", "up", "same", "up"]
    assert movement(np.array([1]), np.array([3])).tolist() == ["down"]
