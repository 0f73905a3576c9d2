"""Saving the figure grid: cell by cell against what the user started from, validation,
conflicts that write nothing, closed years and the plan's targets as their one source."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kam.concurrency import EditConflict
from kpis.models import AccountKpi, AnnualFigure, ClosedYear, FigureCorrection
from kpis.selectors.figures import figure_grid
from kpis.services import figures_save
from plans.models import Plan, Target

YEAR = 2025
D = Decimal


def _values(account, year=YEAR):
    return {
        (f.measure, f.product_group, f.region): (f.actual, f.target)
        for f in AnnualFigure.objects.filter(account=account, year=year)
    }


def _save(cast, rows, started=None, user=None, **kwargs):
    return figures_save(
        account=cast.account,
        year=kwargs.pop("year", YEAR),
        rows=rows,
        started_from=started or {},
        user=user or cast.kam,
        **kwargs,
    )


@pytest.mark.django_db
def test_save_creates_updates_and_deletes_rows_and_records_who(cast):
    saved = _save(
        cast,
        {
            ("revenue", "", ""): {"actual": D("1000000")},
            ("returns", "", ""): {"actual": D("2.5"), "target": D("2")},
            ("revenue", "Pumps", "North"): {"actual": D("400000"), "target": D("450000")},
        },
    )
    assert (saved.created, saved.updated, saved.deleted) == (3, 0, 0)
    assert _values(cast.account) == {
        ("revenue", "", ""): (D("1000000.00"), None),
        ("returns", "", ""): (D("2.50"), D("2.00")),
        ("revenue", "Pumps", "North"): (D("400000.00"), D("450000.00")),
    }
    assert AnnualFigure.objects.filter(updated_by=cast.kam).count() == 3

    started = {
        ("returns", "", ""): {"actual": D("2.5"), "target": D("2")},
        ("revenue", "Pumps", "North"): {"actual": D("400000"), "target": D("450000")},
    }
    saved = _save(
        cast,
        {
            ("returns", "", ""): {"actual": D("3"), "target": D("2")},
            ("revenue", "Pumps", "North"): {"actual": None, "target": None},
        },
        started,
        user=cast.team_member,
    )
    assert (saved.created, saved.updated, saved.deleted) == (0, 1, 1)
    assert _values(cast.account) == {
        ("revenue", "", ""): (D("1000000.00"), None),
        ("returns", "", ""): (D("3.00"), D("2.00")),
    }
    assert {c["field"] for c in saved.changes} == {"actual", "target"}
    assert {
        "measure": "returns",
        "product_group": "",
        "region": "",
        "field": "actual",
        "old": "2.50",
        "new": "3.00",
    } in saved.changes


@pytest.mark.django_db
def test_unchanged_cells_write_nothing(cast):
    _save(cast, {("volume", "", ""): {"actual": D("10")}})
    saved = _save(
        cast,
        {("volume", "", ""): {"actual": D("10.00")}},
        {("volume", "", ""): {"actual": D("10")}},
    )
    assert not saved.changed
    assert (saved.created, saved.updated, saved.deleted) == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_save_recomputes_the_kpis_of_the_year_and_the_next(cast, eager_jobs):
    AnnualFigure.objects.create(
        account=cast.account, year=YEAR + 1, measure="revenue", actual=D("110")
    )
    _save(cast, {("revenue", "", ""): {"actual": D("100")}})
    assert AccountKpi.objects.get(account=cast.account, year=YEAR).revenue == D("100")
    assert AccountKpi.objects.get(account=cast.account, year=YEAR + 1).revenue_prior == D("100")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "value", "code"),
    [
        (("market_share", "", ""), {"actual": D("101")}, "max_value"),
        (("volume", "", ""), {"actual": D("-1")}, "min_value"),
        (("processing_intensity", "", ""), {"target": D("0")}, "min_value"),
        (("volume", "", ""), {"actual": D("1e15")}, "invalid"),
        (("volume", "", ""), {"actual": D("NaN")}, "invalid"),
        (("no_such_measure", "", ""), {"actual": D("1")}, "unknown_measure"),
        (("volume", "x" * 61, ""), {"actual": D("1")}, "dimension_length"),
    ],
)
def test_values_outside_the_measure_are_refused(cast, row, value, code):
    with pytest.raises(ValidationError) as caught:
        _save(cast, {row: value})
    assert code in {error.code for error in caught.value.error_list}
    assert not AnnualFigure.objects.exists()


@pytest.mark.django_db
def test_a_negative_contribution_margin_is_a_value(cast):
    _save(cast, {("contribution_margin", "", ""): {"actual": D("-5000")}})
    assert _values(cast.account)[("contribution_margin", "", "")] == (D("-5000.00"), None)


@pytest.mark.django_db
@pytest.mark.parametrize("measure", ["revenue", "contribution_margin", "volume"])
def test_account_level_targets_of_plan_measures_are_refused(cast, measure):
    with pytest.raises(ValidationError) as caught:
        _save(cast, {(measure, "", ""): {"actual": D("1"), "target": D("2")}})
    assert caught.value.error_list[0].code == "plan_target"
    assert not AnnualFigure.objects.exists()
    # A breakdown's target of the same measure is the grid's to keep.
    _save(cast, {(measure, "Pumps", ""): {"target": D("2")}})
    assert _values(cast.account) == {(measure, "Pumps", ""): (None, D("2.00"))}


@pytest.mark.django_db
def test_the_grid_shows_the_covering_plans_target(cast):
    old = Plan.objects.create(account=cast.account, start_year=YEAR - 2)
    Target.objects.create(plan=old, metric="revenue", year_1=1, year_2=2, year_3=D("900"))
    new = Plan.objects.create(account=cast.account, start_year=YEAR)
    Target.objects.create(plan=new, metric="revenue", year_1=D("1200"))
    Plan.objects.create(account=cast.account, start_year=YEAR + 1)  # starts after the year

    grid = figure_grid(account=cast.account, year=YEAR)

    assert grid.plan == new
    by_key = {m.key: m for m in grid.measures}
    assert by_key["revenue"].plan_target == D("1200")
    assert by_key["volume"].plan_target is None
    assert figure_grid(account=cast.account, year=YEAR - 1).plan == old
    assert figure_grid(account=cast.account, year=YEAR - 3).plan is None


@pytest.mark.django_db
def test_others_changes_to_other_cells_are_kept(cast):
    _save(cast, {("returns", "", ""): {"actual": D("1"), "target": D("1")}})
    started = {("returns", "", ""): {"actual": D("1"), "target": D("1")}}
    # Someone else changes the target (and adds a breakdown) after the user opened the grid.
    _save(
        cast,
        {("returns", "", ""): {"target": D("5")}, ("volume", "Pumps", ""): {"actual": D("7")}},
        {("returns", "", ""): {"target": D("1")}},
        user=cast.leadership,
    )

    _save(cast, {("returns", "", ""): {"actual": D("2"), "target": D("1")}}, started)

    assert _values(cast.account) == {
        ("returns", "", ""): (D("2.00"), D("5.00")),
        ("volume", "Pumps", ""): (D("7.00"), None),
    }


@pytest.mark.django_db
def test_a_conflict_writes_nothing_and_names_each_cell(cast):
    _save(cast, {("returns", "", ""): {"actual": D("1")}, ("promotions", "", ""): {"actual": 4}})
    started = {("returns", "", ""): {"actual": D("1")}, ("promotions", "", ""): {"actual": 4}}
    _save(cast, {("returns", "", ""): {"actual": D("3")}}, started, user=cast.leadership)

    with pytest.raises(EditConflict) as caught:
        _save(
            cast,
            {
                ("returns", "", ""): {"actual": D("2")},  # changed by both: conflict
                ("promotions", "", ""): {"actual": D("6")},  # changed by the user only
                ("volume", "Pumps", ""): {"actual": D("5")},  # a new row
            },
            started,
        )

    assert [(c.name, c.theirs, c.current) for c in caught.value.changes] == [
        ("returns|||actual", "1,00", "3,00")
    ]
    assert _values(cast.account) == {
        ("returns", "", ""): (D("3.00"), None),
        ("promotions", "", ""): (D("4.00"), None),
    }


@pytest.mark.django_db
def test_a_row_added_meanwhile_by_someone_else_conflicts_with_a_new_row_of_the_same_key(cast):
    _save(cast, {("volume", "Pumps", ""): {"actual": D("5")}}, user=cast.leadership)
    with pytest.raises(EditConflict):
        _save(cast, {("volume", "Pumps", ""): {"actual": D("6")}}, {})
    # The same value entered by both is no conflict.
    saved = _save(cast, {("volume", "Pumps", ""): {"actual": D("5")}}, {})
    assert not saved.changed


@pytest.mark.django_db
def test_read_only_and_outside_users_cannot_save(cast):
    for user in (cast.viewer, cast.finance, cast.outsider_kam, cast.no_role):
        with pytest.raises(PermissionDenied):
            _save(cast, {("volume", "", ""): {"actual": D("1")}}, user=user)
    assert not AnnualFigure.objects.exists()


@pytest.mark.django_db
def test_a_closed_year_is_refused_for_everyone_but_administrators(cast):
    ClosedYear.objects.create(year=YEAR)
    for user in (cast.kam, cast.leadership, cast.team_member):
        with pytest.raises(PermissionDenied):
            _save(cast, {("volume", "", ""): {"actual": D("1")}}, user=user, reason="Fix")
    assert not AnnualFigure.objects.exists()
    # The year before and after stay open.
    _save(cast, {("volume", "", ""): {"actual": D("1")}}, year=YEAR + 1)


@pytest.mark.django_db
def test_an_administrators_correction_needs_a_reason_and_is_recorded(cast):
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="volume", actual=D("1"))
    ClosedYear.objects.create(year=YEAR)
    rows = {("volume", "", ""): {"actual": D("2")}, ("returns", "Pumps", ""): {"target": D("3")}}
    started = {("volume", "", ""): {"actual": D("1")}}

    with pytest.raises(ValidationError) as caught:
        _save(cast, rows, started, user=cast.admin, reason="  ")
    assert caught.value.error_dict["reason"][0].code == "reason_required"
    assert not FigureCorrection.objects.exists()

    _save(cast, rows, started, user=cast.admin, reason="ERP export was wrong")

    correction = FigureCorrection.objects.get()
    assert (correction.account, correction.year, correction.user) == (
        cast.account,
        YEAR,
        cast.admin,
    )
    assert correction.reason == "ERP export was wrong"
    assert sorted(correction.changes, key=lambda c: c["measure"]) == [
        {
            "measure": "returns",
            "product_group": "Pumps",
            "region": "",
            "field": "target",
            "old": None,
            "new": "3.00",
        },
        {
            "measure": "volume",
            "product_group": "",
            "region": "",
            "field": "actual",
            "old": "1.00",
            "new": "2.00",
        },
    ]
    assert _values(cast.account)[("volume", "", "")] == (D("2.00"), None)
