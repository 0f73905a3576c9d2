"""The tiered account list and its exports, the portfolio matrix and allocation priority."""

import csv
import io
import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import (
    Account,
    Contact,
    Industry,
    PotentialYear,
    Region,
    Relationship,
    TeamRole,
)
from selection.models import (
    KnockoutOutcome,
    Movement,
    PortfolioSettings,
    SelectionResult,
    SelectionRun,
)
from selection.selectors.portfolio import POINT_LIMIT, Quadrant, quadrant, strength
from tests.access import ROLES, Row, check_access
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory

TIER_LIST_URL = reverse("selection:tier-list")
PORTFOLIO_URL = reverse("selection:portfolio")
SETTINGS_URL = reverse("selection:portfolio-settings")
ALLOCATION_URL = reverse("selection:allocation")
ALLOCATION_JSON_URL = reverse("selection:allocation-json")


def export_url(fmt: str) -> str:
    return reverse("selection:tier-list-export", args=[fmt])


# Access --------------------------------------------------------------------------------------

LISTERS = {"no_role": 403}
SELECTION_READERS = {"leadership": 200, "finance": 200, "viewer": 200, "admin": 200}
MANAGERS = {"leadership": 200, "admin": 200}

MATRIX = (
    Row("tier list", "get", "selection:tier-list", 200, LISTERS),
    Row("tier list CSV", "get", "selection:tier-list-export csv", 200, LISTERS),
    Row("tier list XLSX", "get", "selection:tier-list-export xlsx", 200, LISTERS),
    Row("tier list PDF", "get", "selection:tier-list-export pdf", 200, LISTERS),
    Row("tier list other format", "get", "selection:tier-list-export doc", 404, LISTERS),
    Row("portfolio", "get", "selection:portfolio", 403, SELECTION_READERS),
    Row("portfolio settings page", "get", "selection:portfolio-settings", 403, MANAGERS),
    # An empty POST re-renders the form with its errors.
    Row("portfolio settings save", "post", "selection:portfolio-settings", 403, MANAGERS),
    Row("allocation", "get", "selection:allocation", 200, LISTERS),
    # Without numbers the endpoint answers 400 to everyone who may ask it.
    Row("allocation JSON", "get", "selection:allocation-json", 400, LISTERS),
)


@pytest.fixture
def objects(cast):
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    return {"account": cast.account.pk}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


def test_settings_refused_to_others_change_nothing(client, cast) -> None:
    client.force_login(cast.finance)

    response = client.post(SETTINGS_URL, {"coverage_weight": 1, "share_of_wallet_weight": 9})

    assert response.status_code == 403
    assert not PortfolioSettings.objects.exists()


# The tiered account list ---------------------------------------------------------------------


def _potential(account: Account, *revenues: int) -> None:
    for year, revenue in enumerate(revenues, start=2026):
        PotentialYear.objects.create(
            account=account, year=year, expected_revenue=revenue, expected_margin=revenue // 5
        )


@pytest.fixture
def tiers(cast):
    """Three Gold accounts (one in the west, one managed by Zora), two Silver and an account
    without a tier, each with a revenue potential."""
    zora = UserFactory(username="zora", first_name="Zora", last_name="Zimmermann")
    gold = [
        AccountFactory(name="Alpha Antriebe AG", tier="Gold", tier_rank=1, region=Region.WEST),
        AccountFactory(name="Beta Bau GmbH", tier="Gold", tier_rank=1, erp_number="E-777"),
        AccountFactory(
            name="Gamma Chemie SE", tier="Gold", tier_rank=1, industry=Industry.CHEMICALS
        ),
    ]
    silver = [
        AccountFactory(name="Delta Druck KG", tier="Silver", tier_rank=2, share_of_wallet=25),
        AccountFactory(name="Epsilon Energie AG", tier="Silver", tier_rank=2),
    ]
    TeamMemberFactory(account=gold[2], user=zora, role=TeamRole.KEY_ACCOUNT_MANAGER)
    for account, revenues in zip(
        [*gold, *silver], [(100, 300), (1000,), (500,), (40, 60), (10,)], strict=True
    ):
        _potential(account, *revenues)
    _potential(cast.other_account, 999_999)
    return {"gold": gold, "silver": silver, "zora": zora}


def _listed(response) -> list[tuple[str, list[str]]]:
    return [(g.summary.tier, [a.name for a in g.rows]) for g in response.context["groups"]]


def test_tier_list_groups_key_accounts_by_tier_with_counts_and_totals(client, cast, tiers) -> None:
    client.force_login(cast.leadership)

    response = client.get(TIER_LIST_URL)

    assert response.status_code == 200
    assert _listed(response) == [
        ("Gold", ["Alpha Antriebe AG", "Beta Bau GmbH", "Gamma Chemie SE"]),
        ("Silver", ["Delta Druck KG", "Epsilon Energie AG"]),
    ]
    summaries = {s.tier: s for s in response.context["summaries"]}
    assert summaries["Gold"].count == 3
    assert summaries["Gold"].revenue_potential == Decimal(200 + 1000 + 500)
    assert summaries["Silver"].count == 2
    assert summaries["Silver"].revenue_potential == Decimal(50 + 10)
    assert response.context["total_potential"] == Decimal(1760)
    alpha = response.context["groups"][0].rows[0]
    assert alpha.revenue_potential == Decimal(200)  # the average of its years
    assert "Lorenz Logistik SE" not in response.text  # no tier, not on the list


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"tier": "Silver"}, ["Delta Druck KG", "Epsilon Energie AG"]),
        ({"region": "west"}, ["Alpha Antriebe AG"]),
        ({"industry": "chemicals"}, ["Gamma Chemie SE"]),
        ({"q": "E-777"}, ["Beta Bau GmbH"]),
        ({"q": "druck"}, ["Delta Druck KG"]),
    ],
)
def test_tier_list_filters(client, cast, tiers, query, expected) -> None:
    client.force_login(cast.kam)

    response = client.get(TIER_LIST_URL, query)

    assert [name for _tier, names in _listed(response) for name in names] == expected


def test_tier_list_filters_by_key_account_manager(client, cast, tiers) -> None:
    client.force_login(cast.leadership)

    response = client.get(TIER_LIST_URL, {"kam": tiers["zora"].pk})

    assert _listed(response) == [("Gold", ["Gamma Chemie SE"])]
    assert response.context["groups"][0].rows[0].kam_name == "Zora Zimmermann"
    assert response.context["summaries"][0].count == 1


def test_tier_list_shows_the_current_run_score_and_links_only_what_the_user_may_open(
    client, cast, approved_run
) -> None:
    result = SelectionResult.objects.get(run=approved_run, account=cast.account)
    AccountFactory(name="Fremd GmbH", tier="Gold", tier_rank=1)
    client.force_login(cast.outsider_kam)

    response = client.get(TIER_LIST_URL)

    rows = {a.name: a for g in response.context["groups"] for a in g.rows}
    assert rows[cast.account.name].score == result.total == Decimal("9.00")
    assert rows["Fremd GmbH"].score is None  # not in the run
    assert 'href="/accounts/' not in response.text.split("<tbody>", 1)[1]
    client.force_login(cast.kam)
    response = client.get(TIER_LIST_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert f'href="{cast.account.get_absolute_url()}"' in response.text
    assert "Fremd GmbH</td>" in response.text
    assert "current approved selection run (Key accounts, version 1" in response.text


def test_tier_list_pages_by_100_and_marks_a_tier_continued(client, cast) -> None:
    Account.objects.bulk_create(
        Account(name=f"Gold {i:03d}", erp_number=f"G{i:03d}", tier="Gold", tier_rank=1)
        for i in range(99)
    )
    Account.objects.bulk_create(
        Account(name=f"Silver {i}", erp_number=f"S{i}", tier="Silver", tier_rank=2)
        for i in range(3)
    )
    client.force_login(cast.leadership)

    first = client.get(TIER_LIST_URL)
    second = client.get(TIER_LIST_URL, {"page": 2})

    assert [(g.summary.tier, len(g.rows), g.continued) for g in first.context["groups"]] == [
        ("Gold", 99, False),
        ("Silver", 1, False),
    ]
    assert [(g.summary.tier, len(g.rows), g.continued) for g in second.context["groups"]] == [
        ("Silver", 2, True),
    ]
    assert second.context["groups"][0].summary.count == 3


def test_tier_list_without_key_accounts_shows_an_empty_state(client, cast) -> None:
    client.force_login(cast.viewer)

    response = client.get(TIER_LIST_URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["groups"] == []
    assert "No key accounts yet" in response.text


# Exports -------------------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def test_csv_export_holds_the_filtered_rows_with_localised_numbers(client, cast, tiers) -> None:
    tiers["gold"][0].share_of_wallet = Decimal("12.5")
    tiers["gold"][0].save()
    AccountFactory(name="=HYPERLINK(1)", tier="Gold", tier_rank=1, region=Region.WEST)
    client.force_login(cast.leadership)

    response = client.get(export_url("csv"), {"region": "west"}, HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="key-accounts-')
    rows = _csv_rows(response)
    assert rows[0][:4] == ["Stufe", "Name", "ERP-Kundennummer", "Punktzahl"]
    assert rows[1] == ["Gold", "'=HYPERLINK(1)", rows[1][2], "", "", "", "", "West"]
    assert rows[2][:2] == ["Gold", "Alpha Antriebe AG"]
    assert rows[2][4:6] == ["200,00", "12,50"]
    assert len(rows) == 3


def test_xlsx_export_writes_numbers_as_numbers(client, cast, approved_run, tiers) -> None:
    client.force_login(cast.leadership)

    response = client.get(export_url("xlsx"), HTTP_ACCEPT_LANGUAGE="en")

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == [
        "Tier",
        "Name",
        "ERP customer number",
        "Score",
        "Revenue potential per year",
        "Share of wallet (%)",
        "Key account manager",
        "Region",
    ]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name[cast.account.name][3] == pytest.approx(9.0)
    assert by_name["Beta Bau GmbH"][4] == pytest.approx(1000)
    assert by_name["Delta Druck KG"][5] == pytest.approx(25)
    assert [row[0] for row in rows[1:]] == ["Gold"] * 4 + ["Silver"] * 2


def _pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode()


def test_pdf_export_prints_the_grouped_list(client, cast, approved_run, tiers) -> None:
    client.force_login(cast.leadership)

    response = client.get(export_url("pdf"), {"tier": "Gold"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Tiered key accounts" in text
    assert f"Scores from selection run {approved_run.pk} (Key accounts, version 1)" in text
    assert "Filters: Tier: Gold" in text
    assert "Gold · 4 accounts" in text
    assert "Silver" not in text
    for name in ("Alpha Antriebe AG", "Beta Bau GmbH", "Gamma Chemie SE", cast.account.name):
        assert name in text
    assert "Zora Zimmermann" in text
    assert "Total: 4 key accounts" in text


def test_pdf_is_a4_landscape(client, cast, tiers) -> None:
    client.force_login(cast.leadership)

    response = client.get(export_url("pdf"))

    info = subprocess.run(
        ["pdfinfo", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "841.89 x 595.276 pts (A4)" in info


# The portfolio -------------------------------------------------------------------------------


def _weights(coverage: int, wallet: int) -> PortfolioSettings:
    return PortfolioSettings(coverage_weight=coverage, share_of_wallet_weight=wallet)


@pytest.mark.parametrize(
    ("coverage", "wallet", "weights", "expected"),
    [
        (Decimal(80), Decimal(20), (50, 50), Decimal("5.00")),
        (Decimal(80), Decimal(20), (100, 0), Decimal("8.00")),
        (Decimal(80), Decimal(20), (0, 7), Decimal("2.00")),
        (Decimal(80), Decimal(20), (1, 3), Decimal("3.50")),
        (Decimal("66.7"), Decimal(40), (50, 50), Decimal("5.34")),
        (None, Decimal(30), (50, 50), Decimal("3.00")),  # an unknown value leaves its weight out
        (Decimal(70), None, (20, 80), Decimal("7.00")),
        (None, None, (50, 50), None),
        (None, Decimal(30), (100, 0), None),  # the only known value has no weight
    ],
)
def test_strength_is_the_weighted_mean_on_0_to_10(coverage, wallet, weights, expected) -> None:
    assert strength(coverage=coverage, share_of_wallet=wallet, settings=_weights(*weights)) == (
        expected
    )


@pytest.mark.parametrize(
    ("attractiveness", "position", "expected"),
    [
        ("5", "5", Quadrant.INVEST),
        ("10", "9.99", Quadrant.INVEST),
        ("5", "4.99", Quadrant.SELECTIVE),
        ("4.99", "5", Quadrant.MAINTAIN),
        ("4.99", "4.99", Quadrant.REDUCE),
        ("0", "0", Quadrant.REDUCE),
    ],
)
def test_quadrant_counts_the_midpoint_as_high(attractiveness, position, expected) -> None:
    assert quadrant(attractiveness=Decimal(attractiveness), position=Decimal(position)) == expected


def _buying_center(account: Account, user, covered: int, uncovered: int) -> None:
    """``covered`` contacts with a relationship, ``uncovered`` without, and one who left (with a
    relationship that no longer counts)."""
    for index in range(covered + uncovered):
        contact = Contact.objects.create(account=account, last_name=f"Kontakt {index}")
        if index < covered:
            Relationship.objects.create(contact=contact, user=user, strength=3)
    departed = Contact.objects.create(account=account, last_name="Weg", has_left=True)
    Relationship.objects.create(contact=departed, user=user, strength=5)


def _point(response, account: Account):
    return next(p for p in response.context["portfolio"].points if p.account.pk == account.pk)


def test_portfolio_places_an_account_by_score_and_position(client, cast, approved_run) -> None:
    _buying_center(cast.account, cast.kam, covered=2, uncovered=1)
    Account.objects.filter(pk=cast.account.pk).update(share_of_wallet=40)
    client.force_login(cast.viewer)

    response = client.get(PORTFOLIO_URL, HTTP_ACCEPT_LANGUAGE="en")

    point = _point(response, cast.account)
    assert point.attractiveness == Decimal("9.00")
    assert point.coverage == Decimal("66.7")
    assert point.position == Decimal("5.34")  # (6.67 + 4.0) / 2
    assert point.quadrant == Quadrant.INVEST
    svg = response.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    link = f'<a href="{cast.account.get_absolute_url()}" class="portfolio-point">'
    assert link in svg
    assert f"<title>{cast.account.name} · Gold ·" in svg
    assert 'fill="#b8860b"' in svg  # Gold's colour in the preset
    assert "Invest and grow" in response.text
    assert [p.account for p in response.context["portfolio"].points] == [cast.account]


def test_portfolio_follows_the_weights_leadership_saves(client, cast, approved_run) -> None:
    _buying_center(cast.account, cast.kam, covered=2, uncovered=1)
    Account.objects.filter(pk=cast.account.pk).update(share_of_wallet=40)
    client.force_login(cast.leadership)

    response = client.post(SETTINGS_URL, {"coverage_weight": 0, "share_of_wallet_weight": 100})

    assert response.status_code == 302
    assert response["Location"] == PORTFOLIO_URL
    settings = PortfolioSettings.objects.get()
    assert (settings.coverage_weight, settings.share_of_wallet_weight) == (0, 100)
    point = _point(client.get(PORTFOLIO_URL), cast.account)
    assert point.position == Decimal("4.00")
    assert point.quadrant == Quadrant.SELECTIVE


def test_settings_save_updates_the_one_row(client, cast) -> None:
    PortfolioSettings.objects.create(coverage_weight=10, share_of_wallet_weight=20)
    client.force_login(cast.admin)

    assert 'value="10"' in client.get(SETTINGS_URL).text
    client.post(SETTINGS_URL, {"coverage_weight": 30, "share_of_wallet_weight": 70})

    settings = PortfolioSettings.objects.get()
    assert (settings.coverage_weight, settings.share_of_wallet_weight) == (30, 70)


def test_settings_page_shows_the_defaults_without_a_row(client, cast) -> None:
    client.force_login(cast.leadership)

    response = client.get(SETTINGS_URL)

    assert response.context["form"].initial == {
        "coverage_weight": 50,
        "share_of_wallet_weight": 50,
        "coverage_weight_was": 50,
        "share_of_wallet_weight_was": 50,
    }
    assert not PortfolioSettings.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"coverage_weight": 0, "share_of_wallet_weight": 0}, None, "At least one weight"),
        ({"coverage_weight": 101, "share_of_wallet_weight": 0}, "coverage_weight", "100"),
        ({"coverage_weight": -1, "share_of_wallet_weight": 5}, "coverage_weight", "0"),
        ({"coverage_weight": "viel", "share_of_wallet_weight": 5}, "coverage_weight", "number"),
        ({"coverage_weight": 5}, "share_of_wallet_weight", "required"),
    ],
)
def test_settings_refuse_bad_weights_and_keep_the_input(client, cast, data, field, message) -> None:
    client.force_login(cast.leadership)

    response = client.post(SETTINGS_URL, data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    form = response.context["form"]
    errors = form.non_field_errors() if field is None else form.errors[field]
    assert any(message in error for error in errors)
    assert f'value="{data["coverage_weight"]}"' in response.text
    assert not PortfolioSettings.objects.exists()


def test_portfolio_without_an_approved_run_plots_nothing(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)

    response = client.get(PORTFOLIO_URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["portfolio"].points == []
    assert "<svg xmlns" not in response.text
    assert "No approved selection run yet" in response.text


def test_portfolio_shows_key_accounts_unless_asked_for_every_scored_one(
    client, cast, approved_run
) -> None:
    client.force_login(cast.leadership)

    default = client.get(PORTFOLIO_URL, {"show": ""})
    scored = client.get(PORTFOLIO_URL, {"show": "scored"}, HTTP_ACCEPT_LANGUAGE="en")
    by_region = client.get(PORTFOLIO_URL, {"show": "scored", "region": "north"})

    assert [p.account for p in default.context["portfolio"].points] == [cast.account]
    assert {p.account for p in scored.context["portfolio"].points} == {
        cast.account,
        cast.other_account,
    }
    assert by_region.context["portfolio"].points == []
    other = _point(scored, cast.other_account)
    assert other.attractiveness is not None
    assert other.quadrant is None  # neither coverage nor share of wallet known
    assert "Not plotted: neither coverage nor share of wallet known" in scored.text


def test_portfolio_caps_the_points_with_a_note(client, cast, approved_run) -> None:
    Account.objects.bulk_create(
        Account(name=f"Key {i:03d}", erp_number=f"K{i:03d}", tier="Bronze", tier_rank=3)
        for i in range(POINT_LIMIT)
    )
    client.force_login(cast.leadership)

    response = client.get(PORTFOLIO_URL, HTTP_ACCEPT_LANGUAGE="en")

    portfolio = response.context["portfolio"]
    assert portfolio.total == POINT_LIMIT + 1
    assert len(portfolio.points) == POINT_LIMIT
    assert portfolio.points[0].account == cast.account  # the most attractive first
    assert "Narrow the filters" in response.text


# Allocation ----------------------------------------------------------------------------------


@pytest.fixture
def claims(cast, approved_run):
    """Seven competing customers; the expected order is the order of this list."""

    def make(erp, tier, rank, score, since):
        account = AccountFactory(name=f"Kunde {erp}", erp_number=erp, tier=tier, tier_rank=rank)
        Account.objects.filter(pk=account.pk).update(created_at=datetime(since, 1, 1, tzinfo=UTC))
        if score is not None:
            SelectionResult.objects.create(
                run=approved_run,
                account=account,
                knockout=KnockoutOutcome.PASSED,
                total=Decimal(score),
                proposed_rank=rank,
                proposed_tier=tier,
                movement=Movement.SAME,
            )
        return account

    return [
        make("B-1", "Gold", 1, "8.00", 2022),  # best score in the best tier
        make("D-1", "Gold", 1, "7.00", 2018),  # same score: the older customer first
        make("A-1", "Gold", 1, "7.00", 2020),  # same score and age: the ERP number decides
        make("A-2", "Gold", 1, "7.00", 2020),
        make("F-1", "Gold", 1, None, 2010),  # no score in the run: after the scored ones
        make("C-1", "Silver", 2, "9.50", 2015),  # a worse tier whatever the score
        make("E-1", "", None, "9.90", 2000),  # no tier: last
    ]


def test_allocation_ranks_by_tier_score_age_and_number(client, cast, claims) -> None:
    client.force_login(cast.kam)
    entered = "E-1, A-2\nNOPE\nC-1;F-1 A-1\n\nB-1,D-1,A-1,ALSO-NOPE"

    response = client.get(ALLOCATION_URL, {"erp": entered}, HTTP_ACCEPT_LANGUAGE="en")

    allocation = response.context["allocation"]
    assert [c.account for c in allocation.ranking] == claims
    assert [c.position for c in allocation.ranking] == [1, 2, 3, 4, 5, 6, 7]
    assert [c.decided_by for c in allocation.ranking] == [
        None,
        "score",
        "customer_since",
        "erp_number",
        "score",
        "tier",
        "tier",
    ]
    assert allocation.unknown == ["NOPE", "ALSO-NOPE"]
    assert "NOPE</code> – not found" in response.text
    assert "then by the score in the current approved selection run" in response.text
    assert response.context["form"]["erp"].value() == entered


def test_allocation_gives_the_same_answer_whatever_the_input_order(client, cast, claims) -> None:
    client.force_login(cast.leadership)
    numbers = [a.erp_number for a in claims]

    forward = client.get(ALLOCATION_URL, {"erp": ",".join(numbers)})
    backward = client.get(ALLOCATION_URL, {"erp": ",".join(reversed(numbers))})

    assert [c.account for c in forward.context["allocation"].ranking] == claims
    assert [c.account for c in backward.context["allocation"].ranking] == claims


@pytest.mark.parametrize(
    ("entered", "message"),
    [
        ("", "Enter at least one ERP customer number."),
        (" ,\n ; ", "Enter at least one ERP customer number."),
        (
            ",".join(f"N{i}" for i in range(201)),
            "at most 200 ERP customer numbers; you entered 201",
        ),
    ],
)
def test_allocation_refuses_bad_input_and_keeps_it(client, cast, entered, message) -> None:
    client.force_login(cast.leadership)

    response = client.get(ALLOCATION_URL, {"erp": entered}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["allocation"] is None
    assert any(message in error for error in response.context["form"].errors["erp"])
    assert response.context["form"]["erp"].value() == entered


def test_allocation_accepts_200_numbers(client, cast) -> None:
    client.force_login(cast.leadership)

    response = client.get(ALLOCATION_URL, {"erp": ",".join(f"N{i}" for i in range(200))})

    assert len(response.context["allocation"].unknown) == 200


def test_allocation_json_has_the_documented_shape(client, cast, claims) -> None:
    client.force_login(cast.finance)

    response = client.get(
        ALLOCATION_JSON_URL, {"erp": ["C-1,B-1", "E-1", "NOPE"]}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"rule", "ranking", "unknown"}
    assert body["rule"].startswith("Competing claims are ranked by tier first")
    assert body["ranking"] == [
        {
            "position": 1,
            "erp_number": "B-1",
            "name": "Kunde B-1",
            "tier": "Gold",
            "tier_rank": 1,
            "score": "8.00",
            "customer_since": "2022-01-01",
        },
        {
            "position": 2,
            "erp_number": "C-1",
            "name": "Kunde C-1",
            "tier": "Silver",
            "tier_rank": 2,
            "score": "9.50",
            "customer_since": "2015-01-01",
        },
        {
            "position": 3,
            "erp_number": "E-1",
            "name": "Kunde E-1",
            "tier": None,
            "tier_rank": None,
            "score": "9.90",
            "customer_since": "2000-01-01",
        },
    ]
    assert body["unknown"] == ["NOPE"]


def test_allocation_json_without_a_current_run_has_no_scores(client, cast) -> None:
    AccountFactory(erp_number="X-1", tier="Gold", tier_rank=1)
    client.force_login(cast.leadership)

    body = client.get(ALLOCATION_JSON_URL, {"erp": "X-1"}).json()

    assert body["ranking"][0]["score"] is None
    assert not SelectionRun.objects.exists()


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "required"),
        ({"erp": ""}, "required"),
        ({"erp": ",".join(f"N{i}" for i in range(201))}, "too_many"),
    ],
)
def test_allocation_json_answers_400_on_bad_input(client, cast, query, code) -> None:
    client.force_login(cast.kam)

    response = client.get(ALLOCATION_JSON_URL, query, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["error"]


def test_allocation_json_refuses_users_who_may_not_list_accounts(client, cast) -> None:
    client.force_login(cast.no_role)

    response = client.get(ALLOCATION_JSON_URL, {"erp": "T000001"})

    assert response.status_code == 403
    assert "error" in response.json()


def test_allocation_json_needs_a_login(client, cast) -> None:
    response = client.get(ALLOCATION_JSON_URL, {"erp": "T000001"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Query counts --------------------------------------------------------------------------------


def _queries(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
        assert response.status_code == 200
    return len(context.captured_queries)


def _key_accounts(run: SelectionRun, count: int, start: int) -> list[Account]:
    """Key accounts with a KAM, a potential, a buying center and a score in ``run``."""
    accounts = []
    for index in range(start, start + count):
        account = AccountFactory(
            erp_number=f"Q{index:04d}", tier="Gold", tier_rank=1, share_of_wallet=10
        )
        user = UserFactory()
        TeamMemberFactory(account=account, user=user, role=TeamRole.KEY_ACCOUNT_MANAGER)
        _potential(account, 100, 200)
        _buying_center(account, user, covered=1, uncovered=1)
        SelectionResult.objects.create(
            run=run,
            account=account,
            knockout=KnockoutOutcome.PASSED,
            total=Decimal("6.5"),
            proposed_rank=1,
            proposed_tier="Gold",
            movement=Movement.SAME,
        )
        accounts.append(account)
    return accounts


@pytest.mark.parametrize("role", ["leadership", "kam"])
@pytest.mark.parametrize(
    ("url", "params"),
    [
        (TIER_LIST_URL, {}),
        (TIER_LIST_URL, {"region": "south", "q": "Muster", "tier": "Gold"}),
        (export_url("csv"), {}),
        (export_url("xlsx"), {}),
        (export_url("pdf"), {}),
    ],
)
def test_tier_list_queries_do_not_grow_with_rows(
    client, cast, approved_run, role, url, params
) -> None:
    client.force_login(cast.by_name(role))
    _key_accounts(approved_run, 2, 0)
    few = _queries(client, url, params)

    _key_accounts(approved_run, 18, 2)

    assert _queries(client, url, params) == few


def test_portfolio_queries_do_not_grow_with_points(client, cast, approved_run) -> None:
    client.force_login(cast.leadership)
    _key_accounts(approved_run, 2, 0)
    few = _queries(client, PORTFOLIO_URL, {})

    _key_accounts(approved_run, 18, 2)

    portfolio = client.get(PORTFOLIO_URL).context["portfolio"]
    assert len(portfolio.points) == 21
    assert len(portfolio.plotted) == 20  # the cast's account has no buying center
    assert _queries(client, PORTFOLIO_URL, {}) == few


@pytest.mark.parametrize("url", [ALLOCATION_URL, ALLOCATION_JSON_URL])
def test_allocation_queries_do_not_grow_with_claims(client, cast, approved_run, url) -> None:
    client.force_login(cast.kam)
    accounts = _key_accounts(approved_run, 20, 0)
    few = _queries(client, url, {"erp": ",".join(a.erp_number for a in accounts[:2])})

    many = _queries(client, url, {"erp": ",".join(a.erp_number for a in accounts)})

    assert many == few
