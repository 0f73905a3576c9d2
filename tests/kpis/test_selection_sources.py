"""Last year's KPIs as sources the selection's criteria can score."""

import math
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account
from kpis.models import AnnualFigure
from kpis.services import kpis_recompute
from plans.models import Plan, Target
from selection.sources import SourceValues


@pytest.mark.django_db
def test_last_years_revenue_growth_and_attainment(cast):
    last = timezone.localdate().year - 1
    for year, revenue in ((last - 1, 800), (last, 1000)):
        AnnualFigure.objects.create(
            account=cast.account, year=year, measure="revenue", actual=Decimal(revenue)
        )
    AnnualFigure.objects.create(
        account=cast.account, year=last, measure="contribution_margin", actual=Decimal(-50)
    )
    plan = Plan.objects.create(account=cast.account, start_year=last)
    Target.objects.create(plan=plan, metric="revenue", year_1=Decimal(1250))
    kpis_recompute()

    values = SourceValues(Account.objects.all())
    position = list(values.ids).index(cast.account.pk)
    other = list(values.ids).index(cast.other_account.pk)
    assert values.array("revenue_last_year")[position] == 1000
    assert values.array("margin_last_year")[position] == -50
    assert values.array("revenue_growth")[position] == pytest.approx(25.0)
    assert values.array("revenue_attainment")[position] == pytest.approx(80.0)
    # No figures: unknown, which the criteria's rule for unknown values decides.
    assert math.isnan(values.array("revenue_growth")[other])
