"""The programme dashboard's KPIs against hand-computed values, and its filters.

The programme (``build_programme``), year 2025, amounts in EUR:

| account | tier (rank) | region | industry   | KAM   | revenue 24 → 25  | target | margin/target |
| A       | Gold (1)    | south  | automotive | kam   | 800 → 1000       | 1250   | 200 / 250     |
| B       | Gold (1)    | north  | retail     | other | 500 → 450        | 400    | 90 / 100      |
| C       | Silver (2)  | south  | automotive | kam   | – → 300          | 600    |               |
| D       | –           | south  | mechanical | –     | 1000 → 2000      |        |               |
| E       | Bronze (3)  | west   | mechanical | –     | no figures       |        |               |

A's potential in 2025 is 4000; A also has an older plan (2024) with a target of 700 for 2024.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest

from accounts.models import (
    Account,
    AccountTeamMember,
    Contact,
    ContactRole,
    Influence,
    PotentialYear,
    Relationship,
    TeamRole,
)
from kam.models import User
from kam.roles import Role
from kpis.models import AnnualFigure
from kpis.selectors.common import review_overdue, with_review_start
from kpis.selectors.programme import programme_dashboard
from kpis.selectors.sums import Sums
from kpis.services import kpis_recompute
from plans.models import Action, ActionStatus, Objective, Plan, Review, Target, add_months
from selection.models import CriteriaSet, CriteriaVersion, SelectionRun, TierChange
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory

YEAR = 2025
TODAY = datetime.date(2025, 6, 30)


@dataclass
class Programme:
    a: Account
    b: Account
    c: Account
    d: Account
    e: Account
    kam: User
    other_kam: User


def figure(account, year, measure, actual, target=None, **dimensions) -> AnnualFigure:
    return AnnualFigure.objects.create(
        account=account,
        year=year,
        measure=measure,
        actual=Decimal(actual) if actual is not None else None,
        target=Decimal(target) if target is not None else None,
        **dimensions,
    )


def plan(account, start_year, revenue=(), margin=(), created=None, interval=3) -> Plan:
    plan = Plan.objects.create(
        account=account, start_year=start_year, review_interval_months=interval
    )
    for metric, values in (("revenue", revenue), ("contribution_margin", margin)):
        if values:
            Target.objects.create(
                plan=plan, metric=metric, **{f"year_{i + 1}": v for i, v in enumerate(values)}
            )
    if created is not None:
        Plan.objects.filter(pk=plan.pk).update(
            created_at=datetime.datetime.combine(created, datetime.time(12), tzinfo=datetime.UTC)
        )
        plan.refresh_from_db()
    return plan


def actions(plan, *specs) -> None:
    objective = Objective.objects.create(
        plan=plan, title="Grow", measure="Revenue", target_year=2025
    )
    for status, due in specs:
        Action.objects.create(
            plan=plan, objective=objective, title=status, status=status, due_date=due
        )


def contact(account, influence=Influence.HIGH, *, known_by=None, roles=(), has_left=False):
    person = Contact.objects.create(
        account=account, last_name=f"Kontakt {Contact.objects.count()}", influence=influence,
        has_left=has_left,
    )  # fmt: skip
    for role in roles:
        ContactRole.objects.create(contact=person, role=role)
    if known_by is not None:
        Relationship.objects.create(contact=person, user=known_by, strength=3)
    return person


def tier_change(account, year, from_rank, to_rank) -> None:
    names = {None: "", 1: "Gold", 2: "Silver", 3: "Bronze"}
    criteria, _created = CriteriaSet.objects.get_or_create(name="Test")
    version, _created = CriteriaVersion.objects.get_or_create(criteria_set=criteria, number=1)
    TierChange.objects.create(
        account=account,
        run=SelectionRun.objects.create(version=version),
        from_tier=names[from_rank], from_rank=from_rank,
        to_tier=names[to_rank], to_rank=to_rank,
        score=Decimal(5),
        changed_at=datetime.datetime(year, 3, 1, 12, tzinfo=datetime.UTC),
    )  # fmt: skip


def build_programme(cast) -> Programme:
    kam, other = cast.kam, UserFactory(username="kam.other", roles=[Role.KEY_ACCOUNT_MANAGER])
    a, b = cast.account, cast.other_account
    Account.objects.filter(pk=a.pk).update(
        tier="Gold", tier_rank=1, region="south", industry="automotive"
    )
    Account.objects.filter(pk=b.pk).update(
        tier="Gold", tier_rank=1, region="north", industry="retail"
    )
    a.refresh_from_db()
    b.refresh_from_db()
    c = AccountFactory(tier="Silver", tier_rank=2, region="south", industry="automotive")
    d = AccountFactory(region="south", industry="mechanical_engineering")
    e = AccountFactory(tier="Bronze", tier_rank=3, region="west", industry="mechanical_engineering")
    TeamMemberFactory(account=b, user=other, role=TeamRole.KEY_ACCOUNT_MANAGER)
    TeamMemberFactory(account=c, user=kam, role=TeamRole.KEY_ACCOUNT_MANAGER)

    figure(a, 2024, "revenue", "800")
    figure(a, 2025, "revenue", "1000")
    figure(a, 2025, "contribution_margin", "200")
    figure(b, 2024, "revenue", "500")
    figure(b, 2025, "revenue", "450")
    figure(b, 2025, "contribution_margin", "90")
    figure(c, 2025, "revenue", "300")
    figure(d, 2024, "revenue", "1000")
    figure(d, 2025, "revenue", "2000")
    PotentialYear.objects.create(
        account=a, year=2025, expected_revenue=Decimal(4000), expected_margin=Decimal(0)
    )

    old = plan(a, 2024, revenue=(700,), created=datetime.date(2023, 1, 1))
    actions(old, (ActionStatus.DONE, None), (ActionStatus.DONE, None))
    plan_a = plan(a, 2025, revenue=(1250,), margin=(250,), created=datetime.date(2024, 1, 1))
    Review.objects.create(plan=plan_a, reviewed_on=datetime.date(2025, 5, 1), notes="ok")
    actions(
        plan_a,
        (ActionStatus.DONE, datetime.date(2025, 1, 1)),
        (ActionStatus.OPEN, datetime.date(2025, 6, 1)),
        (ActionStatus.IN_PROGRESS, datetime.date(2025, 12, 31)),
    )
    plan(b, 2025, revenue=(400,), margin=(100,), created=datetime.date(2024, 1, 1))
    plan_c = plan(c, 2025, revenue=(600,), created=datetime.date(2025, 3, 15), interval=6)
    actions(plan_c, (ActionStatus.CANCELLED, datetime.date(2025, 1, 1)))

    contact(a, known_by=kam)
    contact(a)  # high influence, nobody knows them
    contact(b, known_by=other)
    contact(b, Influence.MEDIUM, roles=["user"])
    contact(b, has_left=True)
    contact(d)  # not a key account

    tier_change(c, 2025, 3, 2)
    tier_change(a, 2025, None, 1)
    tier_change(d, 2025, 3, None)
    tier_change(b, 2024, 2, 1)
    kpis_recompute()
    return Programme(a=a, b=b, c=c, d=d, e=e, kam=kam, other_kam=other)


def dashboard(cast, **data):
    return programme_dashboard(user=cast.leadership, data=data, today=TODAY)


@pytest.fixture
def programme(cast) -> Programme:
    return build_programme(cast)


def test_totals_and_the_kpis_of_the_year_over_the_key_accounts(cast, programme) -> None:
    board = dashboard(cast)

    assert board.year == YEAR  # the latest year with actuals, not the plans' later years
    total = board.total
    assert (total.accounts, total.with_revenue) == (3, 3)  # A, B, C; E has no figures
    assert total.revenue == Decimal(1750)
    assert total.revenue_target == Decimal(2250)
    # Over the accounts with actual and target: (1000 + 450 + 300) ÷ (1250 + 400 + 600).
    assert total.attainment == Decimal("77.8")
    # Over the accounts with revenue in both years: (1450 − 1300) ÷ 1300.
    assert total.growth == Decimal("11.5")
    assert total.share_of_wallet == Decimal("25.0")  # A only: 1000 ÷ 4000
    assert (total.margin, total.margin_target) == (Decimal(290), Decimal(350))
    assert total.margin_attainment == Decimal("82.9")
    assert total.off_target == 2
    assert board.currencies == ["EUR"]


def test_all_accounts(cast, programme) -> None:
    total = dashboard(cast, tier="all").total

    assert (total.accounts, total.with_revenue) == (4, 4)
    assert total.revenue == Decimal(3750)
    assert total.attainment == Decimal("77.8")  # D has no target
    assert total.growth == Decimal("50.0")  # (3450 − 2300) ÷ 2300


def test_tables_per_tier_region_and_industry_add_up(cast, programme) -> None:
    board = dashboard(cast, tier="all")

    tiers = {row.key: row.sums for row in board.tiers}
    assert [row.key for row in board.tiers] == ["Gold", "Silver", ""]
    assert (tiers["Gold"].accounts, tiers["Gold"].revenue) == (2, Decimal(1450))
    assert tiers["Gold"].attainment == Decimal("87.9")  # 1450 ÷ 1650
    assert tiers["Gold"].growth == Decimal("11.5")  # (1450 − 1300) ÷ 1300
    assert tiers["Silver"].attainment == Decimal("50.0")
    assert tiers["Silver"].growth is None
    assert tiers[""].growth == Decimal("100.0")

    regions = {row.key: row.sums.revenue for row in board.regions}
    assert [row.key for row in board.regions] == ["north", "south"]
    assert regions == {"north": Decimal(450), "south": Decimal(3300)}
    industries = {row.key: row.sums.revenue for row in board.industries}
    assert industries == {
        "automotive": Decimal(1300),
        "mechanical_engineering": Decimal(2000),
        "retail": Decimal(450),
    }
    assert sum((row.sums for row in board.regions), Sums()) == board.total
    assert sum((row.sums for row in board.tiers), Sums()) == board.total


def test_managers_trend_movers_and_accounts_off_target(cast, programme) -> None:
    board = dashboard(cast)

    managers = {row.key: (row.sums.accounts, row.sums.revenue) for row in board.managers}
    assert managers == {
        str(programme.kam.pk): (2, Decimal(1300)),
        str(programme.other_kam.pk): (1, Decimal(450)),
    }
    trend = {row.year: row.sums for row in board.trend}
    assert sorted(trend) == [2024, 2025, 2026, 2027]
    assert trend[2024].revenue == Decimal(1300)
    assert trend[2024].attainment == Decimal("114.3")  # A: 800 ÷ 700
    assert (trend[2026].revenue, trend[2026].with_revenue) == (None, 0)
    assert [(r.name, r.change) for r in board.movers_up] == [(programme.a.name, Decimal(200))]
    assert [(r.name, r.growth) for r in board.movers_down] == [(programme.b.name, Decimal("-10.0"))]
    rows = list(board.off_target.object_list)
    assert [(r.name, r.attainment, r.gap) for r in rows] == [
        (programme.c.name, Decimal("50.0"), Decimal(-300)),
        (programme.a.name, Decimal("80.0"), Decimal(-250)),
    ]
    assert rows[1].kam == str(programme.kam)
    everyone = dashboard(cast, tier="all")
    assert [r.name for r in everyone.movers_up] == [programme.d.name, programme.a.name]


def test_key_account_health(cast, programme) -> None:
    health = dashboard(cast).health

    assert (health.key_accounts, health.managers) == (4, 2)
    assert health.key_accounts_per_manager == Decimal("2.0")
    # Current plans only (A's 2024 plan is superseded): done, overdue, in progress; cancelled.
    assert (health.actions, health.actions_done, health.actions_overdue) == (4, 1, 1)
    assert health.action_completion == Decimal("25.0")
    # B's plan was started in 2024 and never reviewed; A was reviewed in May; C's is due in
    # September (every six months from March).
    assert health.reviews_overdue == 1
    # Active high-influence contacts of key accounts: two of A's, one of B's (the one who
    # left and D's do not count).
    assert (health.high_influence, health.high_influence_covered) == (3, 2)
    assert health.coverage == Decimal("66.7")
    # A below 90 % of target, C below it, E without a key account manager.
    assert health.red_flags == 3
    assert (health.tier_movements, health.tiers_up, health.tiers_down) == (3, 2, 1)


def test_cards_show_every_kpi_with_its_value(cast, programme) -> None:
    cards = {card.definition.key: card.value for card in dashboard(cast).cards}

    assert cards["revenue"] == Decimal(1750)
    assert cards["revenue_attainment"] == Decimal("77.8")
    assert cards["red_flags"] == 3
    assert cards["key_accounts_per_kam"] == Decimal("2.0")
    assert len(cards) == 14


def test_a_decision_maker_nobody_knows_is_a_red_flag(cast, programme) -> None:
    contact(programme.b, Influence.LOW, roles=["decider"])

    assert dashboard(cast).health.red_flags == 4


@pytest.mark.parametrize(
    ("data", "revenue", "accounts"),
    [
        ({"tier": "Gold"}, Decimal(1450), 2),
        ({"tier": "all"}, Decimal(3750), 4),
        ({"tier": "none"}, Decimal(2000), 1),
        ({"region": "north"}, Decimal(450), 1),
        ({"industry": "automotive"}, Decimal(1300), 2),
        ({"tier": "Gold", "region": "south"}, Decimal(1000), 1),
        ({"tier": "unknown"}, Decimal(1750), 3),  # an invalid choice is ignored
    ],
)
def test_filters_narrow_the_accounts(cast, programme, data, revenue, accounts) -> None:
    board = dashboard(cast, **data)

    assert (board.total.revenue, board.total.accounts) == (revenue, accounts)
    assert sum(row.sums.revenue or 0 for row in board.tiers) == revenue


def test_the_kam_filter_counts_their_accounts(cast, programme) -> None:
    board = dashboard(cast, kam=str(programme.kam.pk))

    assert board.total.revenue == Decimal(1300)
    assert (board.health.key_accounts, board.health.managers) == (2, 1)
    assert [row.key for row in board.managers] == [str(programme.kam.pk)]


def test_an_earlier_year(cast, programme) -> None:
    board = dashboard(cast, year="2024")

    assert board.year == 2024
    assert board.total.revenue == Decimal(1300)
    assert board.total.attainment == Decimal("114.3")
    assert board.total.growth is None
    assert board.health.tier_movements == 1


def test_a_product_group_reads_its_own_figures(cast, programme) -> None:
    figure(programme.a, 2024, "revenue", "400", product_group="Pumps")
    figure(programme.a, 2025, "revenue", "600", "500", product_group="Pumps")
    figure(programme.b, 2025, "revenue", "100", "200", product_group="Pumps")
    figure(programme.b, 2025, "revenue", "999", "1", product_group="Valves")
    figure(programme.b, 2025, "revenue", "999", "1", product_group="Pumps", region="north")

    board = dashboard(cast, product_group="Pumps")

    assert board.product_group == "Pumps"
    total = board.total
    assert (total.revenue, total.revenue_target) == (Decimal(700), Decimal(700))
    assert total.attainment == Decimal("100.0")
    assert total.growth == Decimal("50.0")  # A: 600 against 400
    assert total.share_of_wallet is None
    assert total.off_target == 1
    assert [r.name for r in board.off_target.object_list] == [programme.b.name]


def test_without_figures_the_dashboard_is_empty(cast) -> None:
    board = dashboard(cast)

    assert board.year is None
    assert board.total == Sums()
    assert len(board.cards) == 7  # the figures' KPIs, without values


def test_only_the_read_all_roles_read_the_programme(cast) -> None:
    from django.core.exceptions import PermissionDenied

    for user in (cast.kam, cast.no_role):
        with pytest.raises(PermissionDenied):
            programme_dashboard(user=user, data={})


def test_reviews_overdue_match_the_plans_own_due_date(db) -> None:
    """The database's "overdue" equals ``Plan.review_due(start) < today`` for every start day
    and interval, month ends included."""
    account = AccountFactory()
    starts = [datetime.date(2024, 10, 1) + datetime.timedelta(days=n) for n in range(0, 160, 3)]
    for today in (datetime.date(2025, 2, 28), datetime.date(2025, 3, 31), TODAY):
        for months in (1, 3, 6):
            Plan.objects.all().delete()
            plans = []
            for index, start in enumerate(starts):
                plans.append(plan(account, 2030 + index, created=start, interval=months))
            overdue = set(
                with_review_start(Plan.objects.all())
                .filter(review_overdue(today))
                .values_list("pk", flat=True)
            )
            expected = {p.pk for p in plans if add_months(p.created_at.date(), months) < today}
            assert overdue == expected, (today, months)


def test_team_membership_changes_show_at_once(cast, programme) -> None:
    AccountTeamMember.objects.filter(account=programme.b).delete()

    assert dashboard(cast).health.red_flags == 4  # B: a key account without a manager
