"""An account's KPI tab: actuals against targets over the years, per measure and breakdown, and
the plan's actuals (``plans.selectors.plan_actuals``) read from the same KPI rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import PotentialYear
from kpis.selectors.account import account_kpis
from kpis.services import kpis_recompute
from plans.selectors import plan_actuals
from tests.kpis.test_dashboard_selectors import figure, plan


@pytest.fixture
def figures(cast):
    account = cast.account
    figure(account, 2024, "revenue", "800")
    figure(account, 2025, "revenue", "1000")
    figure(account, 2025, "contribution_margin", "200")
    figure(account, 2025, "returns", "4", "3")
    figure(account, 2025, "revenue", "600", "500", product_group="Pumps")
    figure(account, 2025, "revenue", "400", "500", product_group="Valves")
    figure(account, 2025, "revenue", "700", region="south")
    figure(account, 2025, "revenue", "300", None, product_group="Pumps", region="north")
    PotentialYear.objects.create(
        account=account, year=2025, expected_revenue=Decimal(5000), expected_margin=Decimal(0)
    )
    plan(account, 2025, revenue=(1250, 1400, 1600), margin=(250,))
    kpis_recompute()
    return account


def test_measures_over_the_years_with_the_plans_targets(figures) -> None:
    kpis = account_kpis(account=figures)

    assert kpis.years == [2024, 2025, 2026, 2027]
    rows = {row.definition.measure.value: row for row in kpis.measures}
    assert list(rows) == ["revenue", "contribution_margin", "returns"]  # catalogue order
    revenue = {cell.year: cell for cell in rows["revenue"].cells}
    assert (revenue[2024].actual, revenue[2024].target) == (Decimal(800), None)
    assert (revenue[2025].actual, revenue[2025].target) == (Decimal(1000), Decimal(1250))
    assert revenue[2025].attainment == Decimal("80.0")
    assert (revenue[2027].actual, revenue[2027].target) == (None, Decimal(1600))
    margin = {cell.year: cell for cell in rows["contribution_margin"].cells}
    assert margin[2025].attainment == Decimal("80.0")
    returns = {cell.year: cell for cell in rows["returns"].cells}
    assert (returns[2025].actual, returns[2025].target) == (Decimal(4), Decimal(3))
    assert kpis.latest_year == 2025


def test_the_years_kpis(figures) -> None:
    summary = account_kpis(account=figures).summary(2025)

    assert summary.revenue == Decimal(1000)
    assert summary.attainment == Decimal("80.0")
    assert summary.growth == Decimal("25.0")
    assert summary.share_of_wallet == Decimal("20.0")
    assert summary.margin_attainment == Decimal("80.0")
    assert account_kpis(account=figures).summary(2020) is None


def test_breakdowns_by_product_group_region_and_both(figures) -> None:
    with translation.override("en"):
        breakdowns = {b.key: b for b in account_kpis(account=figures).breakdowns}

    assert list(breakdowns) == ["product_group", "region", "both"]
    groups = {row.label: row.cells for row in breakdowns["product_group"].rows}
    assert list(groups) == ["Pumps", "Valves"]
    pumps = {cell.year: cell for cell in groups["Pumps"]}
    assert pumps[2025].attainment == Decimal("120.0")
    assert [row.label for row in breakdowns["region"].rows] == ["South"]
    assert [row.label for row in breakdowns["both"].rows] == ["Pumps · North"]


def test_an_account_without_figures(cast) -> None:
    kpis = account_kpis(account=cast.other_account)

    assert (kpis.years, kpis.measures, kpis.breakdowns) == ([], [], [])


def test_plan_actuals_come_from_the_kpi_rows(cast, figures, django_assert_num_queries) -> None:
    current = figures.plans.get(start_year=2025)

    with django_assert_num_queries(1):
        actuals = plan_actuals(current)

    assert actuals["revenue"] == ["1000.00", None, None]
    assert actuals["contribution_margin"] == ["200.00", None, None]
    assert actuals["volume"] == [None, None, None]
    assert actuals["share_of_wallet"] == ["20.00", None, None]
    assert "custom" not in actuals


def _tab(client, user, account, language="en") -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(reverse("accounts:account-kpis", args=[account.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("language", "word"), [("de", "Umsatz"), ("en", "Revenue")])
def test_the_tab_shows_figures_chart_and_tables(client, cast, figures, language, word) -> None:
    html = _tab(client, cast.kam, figures, language)

    assert word in html
    assert 'id="chart-account-years-title"' in html
    assert html.index('id="chart-account-years-title"') < html.index('id="table-years"')
    assert 'id="table-measures"' in html
    assert 'id="table-product_group"' in html
    assert 'id="table-region"' in html
    assert "style=" not in html
    assert reverse("kpis:figure-export", args=[figures.pk, "csv"]) in html
    assert reverse("kpis:figure-export", args=[figures.pk, "xlsx"]) in html
    assert reverse("kpis:figure-grid", args=[figures.pk, 2025]) in html


def test_readers_get_no_edit_links(client, cast, figures) -> None:
    html = _tab(client, cast.viewer, figures)

    assert reverse("kpis:figure-grid", args=[figures.pk, 2025]) not in html
    assert reverse("kpis:figure-export", args=[figures.pk, "csv"]) in html


def test_an_empty_tab_invites_the_team_to_enter_figures(client, cast) -> None:
    html = _tab(client, cast.kam, cast.account)

    assert "No figures yet" in html
    assert "/kpis/figures/" in html


def test_the_tabs_queries_do_not_grow_with_figures(client, cast, figures) -> None:
    client.force_login(cast.kam)
    url = reverse("accounts:account-kpis", args=[figures.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)

    for index in range(20):
        figure(figures, 2025, "volume", str(index + 1), str(index), product_group=f"Group {index}")
    for region in ("north", "east", "west"):
        figure(figures, 2024, "returns", "1", "2", region=region)
    with CaptureQueriesContext(connection) as many:
        client.get(url)

    assert len(many.captured_queries) <= len(few.captured_queries)
