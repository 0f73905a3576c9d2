"""The programme dashboard, its exports and the definitions through the browser's eyes: who
may see them, both languages, constant query counts, and exports with the page's rows."""

import csv
import io
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import TeamRole
from kpis.catalogue import KPIS, MEASURES
from kpis.selectors.escalations import EscalationGroup, EscalationKpis
from kpis.services import kpis_recompute
from kpis.views.dashboards import MANAGERS_PER_PAGE, escalation_section
from tests.access import READ_ALL, Row, check_access
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.kpis.test_dashboard_selectors import build_programme, figure, plan

PROGRAMME = {"leadership": 200, "finance": 200, "viewer": 200, "admin": 200}

ROWS = [
    Row("dashboard", "get", "kpis:dashboard", 403, PROGRAMME),
    Row("export", "get", "kpis:dashboard-export tiers csv", 403, PROGRAMME),
    Row("export xlsx", "get", "kpis:dashboard-export off-target xlsx", 403, PROGRAMME),
    Row("my accounts export", "get", "kpis:dashboard-export my-accounts csv", 200),
    Row("unknown table", "get", "kpis:dashboard-export nothing csv", 404),
    Row("unknown format", "get", "kpis:dashboard-export tiers pdf", 404),
    Row("definitions", "get", "kpis:definitions", 200),
    Row("account tab", "get", "accounts:account-kpis {account}", 404, READ_ALL),
]


@pytest.fixture
def objects(cast) -> dict[str, int]:
    build_programme(cast)
    return {"account": cast.account.pk}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
@pytest.mark.parametrize(
    "role",
    ["anonymous", "leadership", "kam", "team_member", "outsider_kam", "finance", "viewer", "admin",
     "no_role"],
)  # fmt: skip
def test_access(client, cast, objects, row, role) -> None:
    check_access(client, cast, objects, row, role)


def _page(client, user, url: str, language: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", ("Umsatz", "Soll", "Stufe")), ("en", ("Revenue", "Target", "Tier"))],
)
def test_dashboard_renders_in_both_languages(client, cast, language, words) -> None:
    build_programme(cast)

    html = _page(client, cast.leadership, reverse("kpis:dashboard"), language)

    for word in words:
        assert word in html
    assert 'role="img"' in html
    assert 'aria-labelledby="chart-trend-title chart-trend-desc"' in html
    assert 'id="table-trend"' in html
    assert 'id="table-tiers"' in html
    assert "style=" not in html  # the Content-Security-Policy allows no inline styles
    for key in KPIS:
        assert f'id="kpi-{key}"' in html
    if language == "de":
        assert "1.750,00" in html  # the key accounts' revenue, German number format
    else:
        assert "€1,750.00" in html


def test_dashboard_charts_are_followed_by_their_tables(client, cast) -> None:
    build_programme(cast)

    html = _page(client, cast.leadership, reverse("kpis:dashboard") + "?tier=all", "en")

    for table in ("trend", "tiers", "regions", "industries"):
        chart = html.index(f'id="chart-{table}-title"')
        assert chart < html.index(f'id="table-{table}"')
    assert html.count("<figure") == html.count('class="chart-legend"') == 4


def test_definitions_list_every_kpi_and_measure(client, cast) -> None:
    html = _page(client, cast.kam, reverse("kpis:definitions"), "en")

    for key, kpi in KPIS.items():
        assert f'id="kpi-{key}"' in html
        assert str(kpi.name) in html
    for key, measure in MEASURES.items():
        assert f'id="measure-{key}"' in html
        assert measure.label in html


def _grow(cast, count: int) -> None:
    """``count`` more key accounts with figures, a target and a key account manager each."""
    for index in range(count):
        account = AccountFactory(tier="Gold", tier_rank=1, region="north" if index % 2 else "east")
        TeamMemberFactory(account=account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER)
        figure(account, 2024, "revenue", "100")
        figure(account, 2025, "revenue", str(50 + index))
        figure(account, 2025, "revenue", "10", "20", product_group="Pumps")
        plan(account, 2025, revenue=(200,))
    kpis_recompute()


def _queries(client, url: str) -> int:
    cache.clear()  # the cold page: choices and sums are read afresh
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "query", ["", "?tier=all", "?product_group=Pumps", "?tier=Gold&region=north&page=2"]
)
def test_dashboard_queries_do_not_grow_with_accounts(
    client, cast, django_assert_max_num_queries, query
) -> None:
    build_programme(cast)
    client.force_login(cast.leadership)
    url = reverse("kpis:dashboard") + query
    _grow(cast, 2)
    few = _queries(client, url)

    _grow(cast, 18)
    cache.clear()
    with django_assert_max_num_queries(few):
        assert client.get(url).status_code == 200


def test_export_has_the_tables_rows_and_no_formulas(client, cast) -> None:
    programme = build_programme(cast)
    programme.d.name = '=HYPERLINK("http://evil")'
    programme.d.save()
    client.force_login(cast.leadership)

    response = client.get(reverse("kpis:dashboard-export", args=["movers-up", "csv"]) + "?tier=all")

    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(lines), delimiter=";"))
    assert len(rows) == 3  # header, D and A
    assert rows[1][0] == '\'=HYPERLINK("http://evil")'
    assert rows[2][0] == programme.a.name

    response = client.get(reverse("kpis:dashboard-export", args=["off-target", "xlsx"]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[0] for row in values[1:]] == [programme.c.name, programme.a.name]
    assert values[1][4] == 300
    assert values[1][5] == 600
    assert not any(
        isinstance(value, str) and value.startswith("=") for row in values for value in row
    )


def test_export_honours_the_filters(client, cast) -> None:
    build_programme(cast)
    client.force_login(cast.finance)

    response = client.get(reverse("kpis:dashboard-export", args=["tiers", "csv"]) + "?tier=Gold")

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [row[0] for row in rows[1:]] == ["Gold"]


def test_the_kpi_export_lists_every_kpi(client, cast) -> None:
    build_programme(cast)
    client.force_login(cast.leadership)

    response = client.get(reverse("kpis:dashboard-export", args=["kpis", "xlsx"]))

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 1 + len(KPIS)


def test_my_accounts_export_has_only_the_users_accounts(client, cast) -> None:
    programme = build_programme(cast)
    client.force_login(cast.kam)

    response = client.get(reverse("kpis:dashboard-export", args=["my-accounts", "csv"]))

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    names = [row[0] for row in csv.reader(io.StringIO(text), delimiter=";")][1:]
    assert names == sorted([programme.a.name, programme.c.name])


def test_the_managers_table_is_paged_apart_from_the_accounts_off_target(client, cast) -> None:
    build_programme(cast)
    _grow(cast, MANAGERS_PER_PAGE + 3)
    client.force_login(cast.leadership)
    url = reverse("kpis:dashboard")

    first = client.get(url, {"page": "1"}, headers={"accept-language": "en"}).content.decode()
    second = client.get(url, {"page": "1", "managers_page": "2"}).content.decode()

    def managers(html: str) -> int:
        table = re.search(r'<table[^>]*id="table-managers".*?</table>', html, re.S).group()
        return table.count('<th scope="row"')

    managed = 2 + MANAGERS_PER_PAGE + 3  # the programme's two managers and the new ones
    assert managers(first) == MANAGERS_PER_PAGE
    assert managers(second) == managed - MANAGERS_PER_PAGE
    assert 'aria-label="Pages of the key account managers"' in first
    # Paging the managers keeps the other list's page, and lands on the table.
    assert 'href="?page=1&amp;managers_page=2#managers-heading"' in first


def test_the_escalations_per_manager_are_paged() -> None:
    groups = [EscalationGroup(key=str(n), label=f"Manager {n:02d}", open=1) for n in range(30)]
    kpis = EscalationKpis(
        total=EscalationGroup(key="", label="", open=30),
        tiers=[],
        managers=groups,
        clarified=0,
        median_days=None,
        closed=0,
        resolved=0,
        stops_decided=0,
    )

    first, last = escalation_section(kpis), escalation_section(kpis, managers_page="2")

    assert [row["label"] for row in first["managers"]] == [g.label for g in groups[:25]]
    assert [row["label"] for row in last["managers"]] == [g.label for g in groups[25:]]
    assert escalation_section(kpis, managers_page="x")["managers_page"].number == 1
