"""The derived KPI rows against hand-computed values: figures, the newest covering plan's
targets, the year before and the potential analysis."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from accounts.models import PotentialYear
from kpis.models import AccountKpi, AnnualFigure
from kpis.services import kpis_recompute
from plans.models import Plan, Target


def _figure(account, year, measure, actual, **extra):
    return AnnualFigure.objects.create(
        account=account, year=year, measure=measure, actual=Decimal(actual), **extra
    )


def _plan(account, start_year, revenue):
    plan = Plan.objects.create(account=account, start_year=start_year)
    Target.objects.create(
        plan=plan, metric="revenue", year_1=revenue[0], year_2=revenue[1], year_3=revenue[2]
    )
    return plan


@pytest.mark.django_db
def test_rows_join_figures_targets_prior_year_and_potential(cast):
    account = cast.account
    _figure(account, 2025, "revenue", "800000")
    _figure(account, 2026, "revenue", "1000000")
    _figure(account, 2026, "contribution_margin", "-5000")
    _figure(account, 2026, "revenue", "400000", product_group="Pumps")  # not the total
    _plan(account, 2025, (Decimal(900000), Decimal(1100000), Decimal(1300000)))
    _plan(account, 2026, (Decimal(1200000), Decimal(1400000), Decimal(1600000)))
    PotentialYear.objects.create(
        account=account, year=2026, expected_revenue=Decimal(4000000), expected_margin=Decimal(0)
    )

    kpis_recompute()

    row = AccountKpi.objects.get(account=account, year=2026)
    assert row.revenue == Decimal(1000000)
    # 2026 is covered by both plans; the newer one (starting 2026) sets the target.
    assert row.revenue_target == Decimal(1200000)
    assert row.revenue_prior == Decimal(800000)
    assert row.contribution_margin == Decimal(-5000)
    assert row.potential_revenue == Decimal(4000000)
    assert AccountKpi.objects.get(account=account, year=2025).revenue_target == Decimal(900000)
    # The plan's horizon yields rows with targets only for the years still to come.
    assert AccountKpi.objects.get(account=account, year=2028).revenue_target == Decimal(1600000)
    assert AccountKpi.objects.get(account=account, year=2028).revenue is None
    assert not AccountKpi.objects.filter(account=cast.other_account).exists()


@pytest.mark.django_db
def test_recompute_is_idempotent_and_drops_rows_without_sources(cast):
    figure = _figure(cast.account, 2026, "revenue", "10")
    _figure(cast.other_account, 2026, "revenue", "20")
    kpis_recompute()
    kpis_recompute()
    assert AccountKpi.objects.count() == 2

    figure.delete()
    kpis_recompute(account_ids=[cast.account.pk], years=[2026, 2027])
    assert list(AccountKpi.objects.values_list("account_id", flat=True)) == [cast.other_account.pk]


@pytest.mark.django_db
def test_scope_leaves_other_accounts_and_years_alone(cast):
    _figure(cast.account, 2026, "revenue", "10")
    _figure(cast.other_account, 2026, "revenue", "20")
    kpis_recompute(account_ids=[cast.account.pk])
    assert list(AccountKpi.objects.values_list("account_id", flat=True)) == [cast.account.pk]
    kpis_recompute(years=[2025])
    assert AccountKpi.objects.count() == 1


@pytest.mark.django_db
def test_account_level_target_of_a_plan_measure_cannot_be_stored(cast):
    with pytest.raises(IntegrityError):
        AnnualFigure.objects.create(
            account=cast.account, year=2026, measure="revenue", target=Decimal(1)
        )
