"""The account list: filters, sorting, paging, links by access, exports and query counts."""

import csv
import io
import re

import openpyxl
import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django.core.paginator import Paginator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import (
    Account,
    AccountStatus,
    AccountType,
    Industry,
    PartnershipStrategy,
    Region,
    TeamRole,
)
from accounts.selectors import AccountListPaginator, account_filterset
from kam import exports as kam_exports
from kam.templatetags.kam import filter_field
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory

LIST_URL = reverse("accounts:account-list")
ENGLISH_HEADER = [
    "Name",
    "ERP customer number",
    "Tier",
    "Account type",
    "Status",
    "Key account manager",
    "Industry",
    "Region",
    "Country",
]


def export_url(fmt: str) -> str:
    return reverse("accounts:account-export", args=[fmt])


@pytest.fixture
def world(cast):
    """Besides the cast's two accounts (south, DE, direct, active, no tier): a group of two
    tiered accounts and one international account, each with its own key account manager."""
    group = AccountFactory(
        name="Aachen Automotive AG",
        erp_number="E-100",
        tier="A",
        tier_rank=1,
        industry=Industry.AUTOMOTIVE,
        region=Region.WEST,
        strategy=PartnershipStrategy.STRATEGIC,
    )
    member = AccountFactory(
        name="Zeller Chemie GmbH",
        erp_number="E-200",
        tier="B",
        tier_rank=2,
        account_type=AccountType.CUSTOMERS_CUSTOMER,
        status=AccountStatus.PROSPECT,
        industry=Industry.CHEMICALS,
        region=Region.NORTH,
        country="AT",
        strategy=PartnershipStrategy.OPERATIONAL,
        parent=group,
    )
    abroad = AccountFactory(
        name="Mödling Energie AG",
        erp_number="E-300",
        account_type=AccountType.ASSOCIATION,
        status=AccountStatus.INACTIVE,
        industry=Industry.ENERGY,
        region=Region.INTERNATIONAL,
        country="CH",
        strategy=PartnershipStrategy.LEAN,
    )
    zimmermann = UserFactory(username="zimmermann", first_name="Zora", last_name="Zimmermann")
    albers = UserFactory(username="albers", first_name="Anna", last_name="Albers")
    TeamMemberFactory(account=group, user=zimmermann, role=TeamRole.KEY_ACCOUNT_MANAGER)
    TeamMemberFactory(account=abroad, user=albers, role=TeamRole.KEY_ACCOUNT_MANAGER)
    TeamMemberFactory(account=member, user=albers, role=TeamRole.SALES)
    return {
        "cast": cast,
        "group": group,
        "member": member,
        "abroad": abroad,
        "brandt": cast.account,
        "lorenz": cast.other_account,
        "zimmermann": zimmermann,
        "albers": albers,
    }


def names(response) -> list[str]:
    return [account.name for account in response.context["accounts"]]


def all_names_in_order() -> list[str]:
    return list(Account.objects.order_by("name", "pk").values_list("name", flat=True))


# query parameters (placeholders name objects of ``world``) → the accounts expected
FILTER_CASES = [
    ({"q": "aachen"}, {"group"}),
    ({"q": "  CHEMIE "}, {"member"}),
    ({"q": "e-200"}, {"member"}),
    ({"q": "E-20"}, set()),  # the ERP number matches only whole
    ({"tier": "A"}, {"group"}),
    ({"tier": "B"}, {"member"}),
    ({"account_type": "association"}, {"abroad"}),
    ({"status": "prospect"}, {"member"}),
    ({"kam": "{zimmermann}"}, {"group"}),
    ({"kam": "{kam}"}, {"brandt"}),
    ({"industry": "energy"}, {"abroad"}),
    ({"region": "north"}, {"member"}),
    ({"country": "CH"}, {"abroad"}),
    ({"country": "DE"}, {"group", "brandt", "lorenz"}),
    ({"strategy": "lean"}, {"abroad"}),
    ({"parent": "{group}"}, {"group", "member"}),
    ({"region": "south", "q": "brandt"}, {"brandt"}),
    ({}, {"group", "member", "abroad", "brandt", "lorenz"}),
]


def _resolve(world, params: dict[str, str]) -> dict[str, str]:
    objects = {"zimmermann": world["zimmermann"], "kam": world["cast"].kam, "group": world["group"]}
    resolved = {}
    for key, value in params.items():
        match = re.fullmatch(r"\{(\w+)\}", value)
        resolved[key] = str(objects[match[1]].pk) if match else value
    return resolved


@pytest.mark.parametrize(
    ("params", "expected"),
    FILTER_CASES,
    # Sorted: a set's order changes between processes, and the parallel test processes must
    # all collect the same names.
    ids=lambda case: str(sorted(case)) if isinstance(case, set) else str(case),
)
def test_each_filter_narrows_the_list(client, world, params, expected) -> None:
    client.force_login(world["cast"].leadership)

    response = client.get(LIST_URL, _resolve(world, params))

    assert response.status_code == 200
    assert set(names(response)) == {world[key].name for key in expected}
    assert response.context["filterset"].form.errors == {}


def test_tier_and_kam_choices_list_what_is_in_use(world) -> None:
    form = account_filterset(user=world["cast"].leadership, data={}).form

    assert [value for value, _label in form.fields["tier"].choices] == ["", "A", "B"]
    managers = sorted(
        [world["zimmermann"], world["albers"], world["cast"].kam],
        key=lambda user: (user.last_name, user.first_name),
    )
    kam_labels = [str(label) for _value, label in form.fields["kam"].choices][1:]
    assert kam_labels == [str(user) for user in managers]
    assert [str(label) for _value, label in form.fields["parent"].choices][1:] == [
        world["group"].name
    ]


def _kam_key(account: Account) -> tuple:
    manager = account.team_members.filter(role=TeamRole.KEY_ACCOUNT_MANAGER).first()
    return (manager is None, manager.user.last_name if manager else "")


SORT_KEYS = {
    "name": lambda a: (a.name,),
    "erp_number": lambda a: (a.erp_number,),
    "tier": lambda a: (a.tier_rank is None, a.tier_rank or 0),
    "account_type": lambda a: (a.account_type,),
    "status": lambda a: (a.status,),
    "kam": _kam_key,
    "industry": lambda a: (a.industry,),
    "region": lambda a: (a.region,),
    "country": lambda a: (str(a.country),),
}


@pytest.mark.parametrize("column", list(SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_sorting_by_each_column_both_ways(client, world, column, descending) -> None:
    client.force_login(world["cast"].leadership)
    key = SORT_KEYS[column]
    by_name = sorted(Account.objects.all(), key=lambda a: a.name)
    # Empty values stay last in both directions; ties go by name.
    filled = [a for a in by_name if key(a)[0] is not True]
    empty = [a for a in by_name if key(a)[0] is True]
    expected = [a.name for a in sorted(filled, key=key, reverse=descending)]
    expected += [a.name for a in empty]

    param = f"-{column}" if descending else column
    response = client.get(LIST_URL, {"sort": param})

    assert names(response) == expected
    state = "descending" if descending else "ascending"
    assert re.search(rf'<th scope="col" aria-sort="{state}"><a [^>]*href="\?sort=', response.text)
    assert response.text.count("aria-sort=") == 1


def test_default_order_is_by_name_and_the_header_says_so(client, world) -> None:
    client.force_login(world["cast"].leadership)

    response = client.get(LIST_URL)

    assert names(response) == all_names_in_order()
    assert re.search(r'aria-sort="ascending"><a [^>]*href="\?sort=-name"', response.text)
    assert 'href="?sort=tier"' in response.text


def test_pages_keep_filters_and_sort_and_a_new_sort_starts_on_page_one(client, cast) -> None:
    client.force_login(cast.leadership)
    AccountFactory.create_batch(105, region=Region.EAST)

    first = client.get(LIST_URL, {"region": "east", "sort": "-name"})
    second = client.get(LIST_URL, {"region": "east", "sort": "-name", "page": 2})

    assert first.context["paginator"].count == 105
    assert len(first.context["accounts"]) == 100
    assert len(second.context["accounts"]) == 5
    expected = sorted(
        Account.objects.filter(region=Region.EAST).values_list("name", flat=True), reverse=True
    )
    assert names(first) + names(second) == expected
    assert 'href="?region=east&amp;sort=-name&amp;page=2" rel="next"' in first.text
    assert 'href="?region=east&amp;sort=-name&amp;page=1"' in second.text
    assert 'href="?region=east&amp;sort=name"' in second.text  # the header link drops the page
    assert "105 accounts" in first.text or "105 Accounts" in first.text


def test_result_count_and_export_links_carry_the_filters(client, world) -> None:
    client.force_login(world["cast"].leadership)

    response = client.get(LIST_URL, {"region": "north", "page": 1}, HTTP_ACCEPT_LANGUAGE="en")

    assert '<p class="mb-0" id="account-count">1 account</p>' in response.text
    assert f'href="{export_url("csv")}?region=north"' in response.text
    assert f'href="{export_url("xlsx")}?region=north"' in response.text


def test_more_filters_unfold_when_one_of_them_is_set(client, world) -> None:
    client.force_login(world["cast"].leadership)

    folded = client.get(LIST_URL, {"status": "active", "sort": "-name"}).text
    unfolded = client.get(LIST_URL, {"industry": "energy"}).text

    assert '<details class="filter-more mb-2">' in folded
    assert '<details class="filter-more mb-2" open>' in unfolded


def _detail_links(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/accounts/(\d+)/"', response.text)}


@pytest.mark.parametrize(
    ("role", "opens"),
    [
        ("kam", {"brandt"}),
        ("team_member", {"brandt"}),
        ("outsider_kam", set()),
        ("viewer", {"group", "member", "abroad", "brandt", "lorenz"}),
    ],
)
def test_everyone_sees_all_accounts_but_links_only_what_they_may_open(
    client, world, role, opens
) -> None:
    client.force_login(world["cast"].by_name(role))

    response = client.get(LIST_URL)

    assert len(names(response)) == 5
    assert _detail_links(response) == {world[key].pk for key in opens}


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _xlsx_rows(response) -> list[list[str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    return [[cell.value or "" for cell in row] for row in sheet.iter_rows()]


READERS = {"csv": _csv_rows, "xlsx": _xlsx_rows}


@pytest.mark.parametrize("fmt", list(READERS))
def test_export_holds_exactly_the_filtered_rows_in_the_list_order(client, world, fmt) -> None:
    client.force_login(world["cast"].leadership)
    query = {"country": "DE", "sort": "-tier"}

    listed = names(client.get(LIST_URL, query))
    response = client.get(export_url(fmt), query, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert re.search(
        rf'filename="accounts-\d{{4}}-\d{{2}}-\d{{2}}\.{fmt}"', response["Content-Disposition"]
    )
    rows = READERS[fmt](response)
    assert rows[0] == ENGLISH_HEADER
    assert [row[0] for row in rows[1:]] == listed
    assert rows[1] == [
        "Aachen Automotive AG",
        "E-100",
        "A",
        "Direct customer",
        "Active",
        "Zora Zimmermann",
        "Automotive",
        "West",
        "Germany",
    ]


@pytest.mark.parametrize("fmt", list(READERS))
def test_export_neutralises_formulas(client, cast, fmt) -> None:
    client.force_login(cast.leadership)
    dangerous = ['=HYPERLINK("https://evil.example","x")', "+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]
    for name in dangerous:
        AccountFactory(name=name, region=Region.EAST)
    AccountFactory(name="Harmless 1+1=2", region=Region.EAST)

    rows = READERS[fmt](client.get(export_url(fmt), {"region": "east"}))

    exported = {row[0].replace("\n", "\r") for row in rows[1:]}  # XML reads a lone CR as LF
    assert exported == {f"'{name}" for name in dangerous} | {"Harmless 1+1=2"}


def test_neutralise() -> None:
    assert kam_exports.neutralise("=1+1") == "'=1+1"
    assert kam_exports.neutralise("Müller = Meier") == "Müller = Meier"
    assert kam_exports.neutralise("") == ""


EXPORT_ACCESS = [
    ("leadership", 200),
    ("kam", 200),
    ("finance", 200),
    ("viewer", 200),
    ("admin", 200),
    ("no_role", 403),
]


@pytest.mark.parametrize("fmt", list(READERS))
@pytest.mark.parametrize(("role", "status"), EXPORT_ACCESS)
def test_export_access_follows_the_list(client, cast, fmt, role, status) -> None:
    client.force_login(cast.by_name(role))

    assert client.get(export_url(fmt)).status_code == status


def test_export_needs_login(client, cast) -> None:
    response = client.get(export_url("csv"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_unknown_export_format_is_404(client, cast) -> None:
    client.force_login(cast.leadership)

    assert client.get(export_url("pdf")).status_code == 404


def test_no_role_user_gets_403_on_the_list(client, cast) -> None:
    client.force_login(cast.no_role)

    assert client.get(LIST_URL).status_code == 403


def _add_accounts(count: int) -> None:
    for index in range(count):
        account = AccountFactory(tier="A" if index % 2 else "", tier_rank=1 if index % 2 else None)
        TeamMemberFactory(account=account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER)


def _queries(client, url: str, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(context.captured_queries)


@pytest.mark.parametrize("role", ["leadership", "kam"])
@pytest.mark.parametrize(
    ("url", "params"),
    [
        (LIST_URL, {}),
        (LIST_URL, {"sort": "-kam", "q": "GmbH", "country": "DE", "tier": "A"}),
        (export_url("csv"), {"sort": "kam"}),
        (export_url("xlsx"), {"sort": "kam"}),
    ],
)
def test_queries_do_not_grow_with_rows(client, cast, role, url, params) -> None:
    client.force_login(cast.by_name(role))
    _add_accounts(1)  # three accounts with the cast's two
    few = _queries(client, url, params)

    _add_accounts(27)

    assert Account.objects.count() == 30
    assert _queries(client, url, params) == few


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search indexes are PostgreSQL's")
def test_search_can_use_the_indexes_on_postgresql(world) -> None:
    queryset = account_filterset(user=world["cast"].leadership, data={"q": "chemie"}).qs
    # Without the ordering, so that the plan shows how the rows are found, not sorted.
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    assert 'UPPER("accounts_account"."name"::text) LIKE UPPER(' in sql
    assert 'UPPER("accounts_account"."erp_number"::text) = UPPER(' in sql

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "accounts_account_name_upper_trgm" in plan
    assert "accounts_account_erp_number_upper" in plan


def _tiered_accounts(count: int) -> None:
    """Accounts with mixed tiers and managers, some without either, for the sort orders."""
    for index in range(count):
        account = AccountFactory(
            name=f"Konto {index % 7}",  # names repeat: ties are broken by pk
            tier=("A", "B", "")[index % 3],
            tier_rank=(1, 2, None)[index % 3],
            status=(AccountStatus.ACTIVE, AccountStatus.PROSPECT)[index % 2],
        )
        if index % 4:
            TeamMemberFactory(
                account=account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER
            )


@pytest.mark.parametrize("sort", ["", "-name", "tier", "-tier", "kam", "-kam", "-status"])
def test_pages_read_from_the_end_are_the_pages_read_from_the_start(cast, sort) -> None:
    _tiered_accounts(23)
    queryset = account_filterset(user=cast.leadership, data={"sort": sort} if sort else {}).qs
    paginator = AccountListPaginator(queryset, 4)
    forward = Paginator(queryset.values_list("pk", flat=True), 4)

    assert paginator.count == forward.count == 25
    for number in forward.page_range:
        rows = paginator.page(number).object_list
        assert [row["pk"] for row in rows] == list(forward.page(number).object_list), number


def _list_sql(client, params: dict[str, str]) -> list[str]:
    with CaptureQueriesContext(connection) as context:
        assert client.get(LIST_URL, params).status_code == 200
    return [query["sql"] for query in context.captured_queries]


def test_a_repeated_view_counts_and_reads_the_choices_once(client, world) -> None:
    client.force_login(world["cast"].leadership)
    params = {"region": "north", "sort": "-name"}

    first = _list_sql(client, params)
    second = _list_sql(client, params)

    assert len(second) == len(first) - 4  # the count, tiers, managers and groups
    assert not [sql for sql in second if 'COUNT(*) AS "__count" FROM "accounts_account"' in sql]


def test_a_login_keeps_the_list_cache(client, world) -> None:
    """A login saves last_login, which the list does not show: it must neither empty the cache
    for everyone nor need it (tests/faults/test_restarts.py logs in while Redis is down)."""
    client.force_login(world["cast"].leadership)
    params = {"region": "north"}
    first = _list_sql(client, params)

    Client().force_login(world["cast"].kam)
    second = _list_sql(client, params)

    assert len(second) == len(first) - 4  # the count, tiers, managers and groups


def test_saved_accounts_and_managers_show_at_once(client, world) -> None:
    client.force_login(world["cast"].leadership)
    client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en")
    newcomer = UserFactory(first_name="Nora", last_name="Neumann")

    TeamMemberFactory(
        account=AccountFactory(tier="C", tier_rank=3),
        user=newcomer,
        role=TeamRole.KEY_ACCOUNT_MANAGER,
    )
    response = client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en")

    assert "6 accounts" in response.text
    form = response.context["filterset"].form
    assert (str(newcomer.pk), "Nora Neumann") in list(form.fields["kam"].choices)
    assert "C" in [value for value, _label in form.fields["tier"].choices]


def test_a_tier_written_without_signals_filters_at_once(client, world) -> None:
    client.force_login(world["cast"].leadership)
    client.get(LIST_URL)
    # The selection app approves tiers with update(), which sends no signal.
    Account.objects.filter(pk=world["abroad"].pk).update(tier="Platin", tier_rank=0)

    response = client.get(LIST_URL, {"tier": "Platin"})

    assert names(response) == [world["abroad"].name]
    assert response.context["filterset"].form.errors == {}


def _markup(html: str) -> str:
    """HTML without layout whitespace and with each tag's attributes in one order."""
    html = re.sub(r"\s+", " ", str(html)).replace(" >", ">")
    html = re.sub(r"\s*(<[^>]+>)\s*", r"\1", html.strip())
    return re.sub(
        r"<(\w+) ([^<>]*)>",
        lambda tag: "<{} {}>".format(
            tag[1], " ".join(sorted(re.findall(r'[\w-]+(?:="[^"]*")?', tag[2])))
        ),
        html,
    )


@pytest.mark.parametrize(
    "data",
    [{}, {"tier": "Z", "q": '<b>"x"</b>', "sort": "-kam", "country": "CH"}, {"sort": "name,-tier"}],
    ids=["empty", "invalid", "several-sorts"],
)
def test_the_filter_form_is_written_as_crispy_writes_it(world, data) -> None:
    form = account_filterset(user=world["cast"].leadership, data=data).form
    form.is_valid()

    for field in form:
        assert _markup(filter_field(field)) == _markup(as_crispy_field(field)), field.name
