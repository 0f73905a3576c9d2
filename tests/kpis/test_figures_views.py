"""The figure grid and the export in the browser's terms: who may open and save, what the
page shows (German and English), and saving through the form as rendered."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation

from kpis.models import AnnualFigure, ClosedYear, FigureCorrection
from kpis.services import figures_save
from plans.models import Plan, Target
from tests.access import EDIT, READ_ALL, Row, check_access, url_of
from tests.access import ROLES as ALL_ROLES

YEAR = 2025
D = Decimal
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

ROWS = [
    Row("grid", "get", "kpis:figure-grid {account} 2025", 404, READ_ALL),
    Row("grid save", "post", "kpis:figure-grid {account} 2025", 404, EDIT),
    Row("grid of a closed year", "get", "kpis:figure-grid {account} 2020", 404, READ_ALL),
    Row(
        "closed year save",
        "post",
        "kpis:figure-grid {account} 2020",
        404,
        {**EDIT, "kam": 403, "team_member": 403, "leadership": 403},
    ),
    Row("export csv", "get", "kpis:figure-export {account} csv", 404, READ_ALL),
    Row("export xlsx", "get", "kpis:figure-export {account} xlsx", 404, READ_ALL),
    Row("export of another format", "get", "kpis:figure-export {account} pdf", 404),
    Row("year out of range", "get", "kpis:figure-grid {account} 1999", 404),
]


@pytest.fixture
def objects(cast):
    ClosedYear.objects.create(year=2020)
    return {"account": cast.account.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_access(client, cast, objects, row, role):
    check_access(client, cast, objects, row, role)


class _Form(HTMLParser):
    """The values a browser would submit for the form ``form_id`` as rendered."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.in_template = 0
        self.data: dict[str, str] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if tag == "template":
            self.in_template += 1
        if not self.inside or self.in_template:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            if attrs.get("type") == "checkbox":
                if "checked" in attrs:
                    self.data[name] = attrs.get("value") or "on"
            else:
                self.data[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self.select = name
            self.data[name] = ""
        elif tag == "option" and self.select and "selected" in attrs:
            self.data[self.select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self.textarea = name
            self.data[name] = ""

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "template":
            self.in_template -= 1
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_data(response) -> dict[str, str]:
    parser = _Form("figure-grid-form")
    parser.feed(response.content.decode())
    assert parser.data, "the page has the grid form"
    return parser.data


def grid_url(cast, year=YEAR):
    return reverse("kpis:figure-grid", args=[cast.account.pk, year])


@pytest.mark.django_db
def test_the_grid_saves_german_input_and_shows_it_again(client, cast):
    client.force_login(cast.kam)
    data = form_data(client.get(grid_url(cast)))
    data["total-revenue-actual"] = "1.234.567,50"
    data["total-market_share-actual"] = "12,5"
    data["total-market_share-target"] = "15"
    data["breakdown-0-measure"] = "revenue"
    data["breakdown-0-product_group"] = "Pumpen"
    data["breakdown-0-region"] = "Nord"
    data["breakdown-0-actual"] = "400.000"
    data["breakdown-0-target"] = "450.000"

    response = client.post(grid_url(cast), data)

    assert response.status_code == 302
    values = {
        (f.measure, f.product_group, f.region): (f.actual, f.target)
        for f in AnnualFigure.objects.filter(account=cast.account, year=YEAR)
    }
    assert values == {
        ("revenue", "", ""): (D("1234567.50"), None),
        ("market_share", "", ""): (D("12.50"), D("15.00")),
        ("revenue", "Pumpen", "Nord"): (D("400000.00"), D("450000.00")),
    }
    page = client.get(grid_url(cast)).content.decode()
    assert 'value="1.234.567,5"' in page
    assert "Pumpen" in page

    # Removing the breakdown row and emptying a cell deletes what they held.
    data = form_data(client.get(grid_url(cast)))
    data["breakdown-0-DELETE"] = "on"
    data["total-market_share-target"] = ""
    assert client.post(grid_url(cast), data).status_code == 302
    assert set(
        AnnualFigure.objects.filter(account=cast.account).values_list(
            "measure", "product_group", "target"
        )
    ) == {("revenue", "", None), ("market_share", "", None)}


@pytest.mark.django_db
def test_invalid_values_re_render_with_the_input_and_translated_errors(client, cast):
    client.force_login(cast.kam)
    data = form_data(client.get(grid_url(cast)))
    data["total-market_share-actual"] = "120"
    data["total-volume-actual"] = "viele"
    data["total-returns-actual"] = "3"
    data["breakdown-1-product_group"] = "Ventile"
    data["breakdown-1-actual"] = "5"

    response = client.post(grid_url(cast), data)

    assert response.status_code == 200
    page = response.content.decode()
    for kept in ('value="120"', 'value="viele"', 'value="3"'):
        assert kept in page
    assert "Ventile" in page
    assert "Dieser Wert muss kleiner oder gleich 100 sein." in page
    assert "Bitte eine Zahl eingeben." in page
    assert page.count("is-invalid") == 3
    assert not AnnualFigure.objects.exists()

    with translation.override("en"):
        page = client.post(grid_url(cast), data, **EN).content.decode()
    assert "Ensure this value is less than or equal to 100." in page
    assert "Enter a number." in page
    assert "Choose a measure." in page


@pytest.mark.django_db
def test_a_duplicate_or_incomplete_breakdown_row_is_an_error(client, cast):
    client.force_login(cast.kam)
    data = form_data(client.get(grid_url(cast)))
    for index in (0, 1):
        data[f"breakdown-{index}-measure"] = "volume"
        data[f"breakdown-{index}-product_group"] = "Pumpen"
        data[f"breakdown-{index}-actual"] = "5"
    data["breakdown-2-measure"] = "volume"
    data["breakdown-2-actual"] = "5"

    with translation.override("en"):
        response = client.post(grid_url(cast), data, **EN)

    page = response.content.decode()
    assert response.status_code == 200
    assert "This measure already has a row for this product group and region above." in page
    assert "A breakdown row needs a product group, a region or both." in page
    assert not AnnualFigure.objects.exists()


@pytest.mark.django_db
def test_a_conflict_shows_both_values_keeps_the_input_and_writes_nothing(client, cast):
    figures_save(
        account=cast.account,
        year=YEAR,
        rows={("returns", "", ""): {"actual": D("1")}, ("promotions", "", ""): {"actual": D("4")}},
        started_from={},
        user=cast.kam,
    )
    client.force_login(cast.kam)
    data = form_data(client.get(grid_url(cast)))
    # Meanwhile leadership changes returns and promotions' target.
    figures_save(
        account=cast.account,
        year=YEAR,
        rows={("returns", "", ""): {"actual": D("3")}, ("promotions", "", ""): {"target": D("9")}},
        started_from={("returns", "", ""): {"actual": D("1")}},
        user=cast.leadership,
    )
    data["total-returns-actual"] = "2"
    data["total-assortment-actual"] = "250"

    with translation.override("en"):
        response = client.post(grid_url(cast), data, **EN)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert "What the other person changed" in page
    assert "Returns: actual" in page
    assert "<td>1.00</td><td>3.00</td>" in page
    assert 'name="total-returns-actual" value="2"' in page
    assert 'name="total-assortment-actual" value="250"' in page
    # The other person's target is shown, not the stale empty cell.
    assert 'name="total-promotions-target" value="9"' in page
    assert not AnnualFigure.objects.filter(measure="assortment").exists()

    # Saving the shown form again, having seen the change, goes through.
    again = form_data(response)
    with translation.override("en"):
        assert client.post(grid_url(cast), again).status_code == 302
    values = dict(
        AnnualFigure.objects.filter(account=cast.account).values_list("measure", "actual")
    )
    assert values["returns"] == D("2")
    assert values["assortment"] == D("250")
    assert AnnualFigure.objects.get(measure="promotions").target == D("9")


@pytest.mark.django_db
def test_plan_measures_show_the_plans_target_read_only(client, cast):
    plan = Plan.objects.create(account=cast.account, start_year=YEAR - 1)
    Target.objects.create(plan=plan, metric="revenue", year_2=D("1500000"))
    client.force_login(cast.kam)

    with translation.override("en"):
        page = client.get(grid_url(cast), **EN).content.decode()
        uncovered = client.get(grid_url(cast, YEAR + 5), **EN).content.decode()

    assert 'name="total-revenue-target"' not in page
    assert 'name="total-volume-target"' not in page
    assert 'name="total-returns-target"' in page
    assert "1,500,000" in page
    assert reverse("plans:plan-detail", args=[plan.pk]) in page
    assert "From the plan 2024–2026" in page
    assert "Set it in the plan 2024–2026" in page  # volume has no target in the plan
    assert "No key account plan covers this year" in uncovered
    assert reverse("accounts:account-plan", args=[cast.account.pk]) in uncovered


@pytest.mark.django_db
def test_a_closed_year_is_read_only_for_the_team(client, cast):
    ClosedYear.objects.create(year=YEAR)
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="volume", actual=12)
    client.force_login(cast.kam)

    with translation.override("en"):
        page = client.get(grid_url(cast), **EN).content.decode()

    assert "The year 2025 is closed" in page
    assert "Only an administrator can correct them" in page
    assert "figure-grid-form" not in page
    assert '<td class="text-end text-nowrap">12</td>' in page


@pytest.mark.django_db
def test_an_administrator_corrects_a_closed_year_with_a_reason(client, cast):
    ClosedYear.objects.create(year=YEAR)
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="volume", actual=12)
    client.force_login(cast.admin)
    data = form_data(client.get(grid_url(cast)))
    assert "reason" in data
    data["total-volume-actual"] = "13"

    with translation.override("en"):
        response = client.post(grid_url(cast), data, **EN)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert AnnualFigure.objects.get().actual == 12

    data["reason"] = "Returns were booked twice."
    assert client.post(grid_url(cast), data).status_code == 302
    assert AnnualFigure.objects.get().actual == 13
    correction = FigureCorrection.objects.get()
    assert correction.reason == "Returns were booked twice."
    assert correction.changes[0]["old"] == "12.00"
    with translation.override("en"):
        page = client.get(grid_url(cast), **EN).content.decode()
    assert "Corrections of the closed year" in page
    assert "Returns were booked twice." in page


@pytest.mark.django_db
def test_read_only_roles_see_values_without_a_form(client, cast):
    AnnualFigure.objects.create(
        account=cast.account, year=YEAR, measure="volume", product_group="Pumpen", actual=5
    )
    client.force_login(cast.viewer)
    page = client.get(grid_url(cast), **EN).content.decode()
    assert "figure-grid-form" not in page
    assert "Pumpen" in page
    assert "You can read these figures" in page


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "en"])
def test_the_grid_renders_in_german_and_english(client, cast, language):
    client.force_login(cast.kam)
    with translation.override(language):
        page = client.get(grid_url(cast), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    expected = {
        "de": ('lang="de"', "Umsatz", "Absatz", "Einheit", "Soll"),
        "en": ("Annual figures 2025", "Revenue", "Breakdown by product group and region"),
    }[language]
    for text in expected:
        assert text in page, text


@pytest.mark.django_db
def test_query_count_does_not_grow_with_breakdown_rows(client, cast, django_assert_max_num_queries):
    client.force_login(cast.kam)
    client.get(grid_url(cast))
    with django_assert_max_num_queries(30) as few:
        client.get(grid_url(cast))
    AnnualFigure.objects.bulk_create(
        AnnualFigure(
            account=cast.account, year=YEAR, measure="volume", product_group=f"G{i}", actual=i
        )
        for i in range(60)
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(grid_url(cast))
    assert response.content.decode().count("breakdown-row") >= 60


@pytest.mark.django_db
def test_export_has_every_figure_with_the_plans_targets(client, cast):
    plan = Plan.objects.create(account=cast.account, start_year=YEAR)
    Target.objects.create(plan=plan, metric="revenue", year_1=D("900"))
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="revenue", actual=1000)
    AnnualFigure.objects.create(
        account=cast.account, year=YEAR - 1, measure="returns", actual=2, target=D("1.5")
    )
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="volume", actual=3)
    AnnualFigure.objects.create(account=cast.other_account, year=YEAR, measure="volume", actual=9)
    client.force_login(cast.kam)

    with translation.override("en"):
        response = client.get(url_of(ROWS[4], {"account": cast.account.pk}), **EN)

    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert body[0] == "Year;Measure;Product group;Region;Unit;Actual;Target"
    assert body[1:] == [
        "2024;Returns;;;%;2.00;1.50",
        "2025;Volume;;;pieces;3.00;",
        "2025;Revenue;;;EUR;1000.00;900.00",
    ]
    xlsx = client.get(reverse("kpis:figure-export", args=[cast.account.pk, "xlsx"]))
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
