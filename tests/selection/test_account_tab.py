"""The selection tab of an account: tier, explanation, tier history, custom attribute values."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from selection import services
from selection.models import AccountAttribute, AccountAttributeValue, AttributeType
from tests.access import EDIT, READ_ALL, ROLES, Row, check_access
from tests.selection.conftest import compute

MATRIX = (
    Row("selection tab", "get", "accounts:account-selection {account}", 404, READ_ALL),
    Row(
        "other account's tab",
        "get",
        "accounts:account-selection {other}",
        404,
        {"leadership": 200, "admin": 200, "finance": 200, "viewer": 200},
    ),
    Row("values edit page", "get", "selection:attribute-values-edit {account}", 404, EDIT),
    Row(
        "values edit",
        "post",
        "selection:attribute-values-edit {account}",
        404,
        {**EDIT, "leadership": 302, "admin": 302, "kam": 302, "team_member": 302},
    ),
    Row("values of a missing account", "get", "selection:attribute-values-edit {missing}", 404),
)


@pytest.fixture
def objects(cast, approved_run):
    return {"account": cast.account.pk, "other": cast.other_account.pk, "missing": 999_999}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


def _tab(client, account):
    return client.get(reverse("accounts:account-selection", args=[account.pk]))


def test_kam_sees_tier_explanation_and_history(client, cast, approved_run):
    client.force_login(cast.kam)

    response = _tab(client, cast.account)

    page = response.content.decode()
    explanation = response.context["explanation"]
    assert explanation.result.run == approved_run
    assert explanation.result.proposed_tier == "Gold"
    assert 'id="current-tier"><span class="badge text-bg-warning">Gold' in page
    assert "More than 1,000 IT workplaces" in page  # the K.O. rule and the value seen
    assert "2.000 seats" in page
    [change] = response.context["changes"]
    assert (change.from_tier, change.to_tier, change.changed_by) == ("", "Gold", cast.leadership)
    assert f"?run={approved_run.pk}#explanation" in page
    # A key account manager cannot open runs: no links to them.
    assert approved_run.get_absolute_url() not in page
    assert reverse("selection:attribute-values-edit", args=[cast.account.pk]) in page


def test_a_failed_knockout_is_explained_with_its_value(client, cast, approved_run):
    client.force_login(cast.leadership)

    response = _tab(client, cast.other_account)

    page = response.content.decode()
    assert response.context["explanation"].result.knockout == "failed"
    assert 'class="table-danger"' in page
    assert "500 seats" in page
    assert approved_run.get_absolute_url() in page


def test_an_older_run_is_explained_on_request(client, cast, approved_run, released_version):
    newer = compute(services.selection_run_start(version=released_version, user=cast.leadership))
    services.selection_run_approve(run=newer, user=cast.leadership)
    client.force_login(cast.viewer)

    current = _tab(client, cast.account)
    older = client.get(
        reverse("accounts:account-selection", args=[cast.account.pk]), {"run": approved_run.pk}
    )

    assert current.context["result"].run_id == newer.pk
    assert older.context["result"].run_id == approved_run.pk


def test_an_account_without_runs_shows_an_empty_state(client, cast, workplaces):
    client.force_login(cast.kam)

    response = _tab(client, cast.account)

    assert response.status_code == 200
    assert response.context["explanation"] is None
    assert list(response.context["changes"]) == []


def test_readers_get_no_edit_link(client, cast, workplaces):
    client.force_login(cast.finance)

    page = _tab(client, cast.account).content.decode()

    assert reverse("selection:attribute-values-edit", args=[cast.account.pk]) not in page


def test_tab_queries_do_not_grow_with_attributes(client, cast, approved_run):
    client.force_login(cast.kam)

    def make(start: int, count: int) -> None:
        for index in range(start, start + count):
            attribute = AccountAttribute.objects.create(key=f"a{index}", name=f"Attribute {index}")
            AccountAttributeValue.objects.create(
                account=cast.account, attribute=attribute, number=index, updated_by=cast.kam
            )

    make(0, 2)
    with CaptureQueriesContext(connection) as few:
        _tab(client, cast.account)
    make(2, 18)
    with CaptureQueriesContext(connection) as many:
        response = _tab(client, cast.account)

    assert len(response.context["attribute_rows"]) == 21
    assert len(many) == len(few)


@pytest.fixture
def blocker(db) -> AccountAttribute:
    return AccountAttribute.objects.create(
        key="exclusive", name="Exclusive contract", data_type=AttributeType.YES_NO
    )


@pytest.fixture
def rating(db) -> AccountAttribute:
    return AccountAttribute.objects.create(
        key="strategic", name="Strategic importance", data_type=AttributeType.RATING
    )


def test_kam_edits_values_of_their_account(client, cast, workplaces, blocker, rating):
    services.attribute_value_set(
        account=cast.account, attribute=rating, number=Decimal(4), user=cast.leadership
    )
    client.force_login(cast.kam)

    response = client.post(
        reverse("selection:attribute-values-edit", args=[cast.account.pk]),
        {
            f"value_{workplaces.pk}": "1.250",
            f"comment_{workplaces.pk}": "Counted by IT",
            f"value_{blocker.pk}": "no",
            f"comment_{blocker.pk}": "",
            f"value_{rating.pk}": "",
            f"comment_{rating.pk}": "",
        },
    )

    assert response["Location"] == reverse("accounts:account-selection", args=[cast.account.pk])
    values = {v.attribute_id: v for v in cast.account.attribute_values.all()}
    assert values[workplaces.pk].number == Decimal(1250)
    assert values[workplaces.pk].comment == "Counted by IT"
    assert values[workplaces.pk].updated_by == cast.kam
    assert values[blocker.pk].flag is False
    assert rating.pk not in values  # emptied: unknown again


def test_unchanged_values_are_not_rewritten(client, cast, workplaces):
    services.attribute_value_set(
        account=cast.account, attribute=workplaces, number=Decimal(10), user=cast.leadership
    )
    client.force_login(cast.kam)

    client.post(
        reverse("selection:attribute-values-edit", args=[cast.account.pk]),
        {f"value_{workplaces.pk}": "10", f"comment_{workplaces.pk}": ""},
    )

    assert AccountAttributeValue.objects.get().updated_by == cast.leadership


def test_a_rating_beyond_ten_is_refused_with_the_input_kept(client, cast, workplaces, rating):
    client.force_login(cast.kam)

    response = client.post(
        reverse("selection:attribute-values-edit", args=[cast.account.pk]),
        {
            f"value_{workplaces.pk}": "300",
            f"comment_{workplaces.pk}": "",
            f"value_{rating.pk}": "12",
            f"comment_{rating.pk}": "very important",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].has_error(f"value_{rating.pk}")
    assert 'value="very important"' in response.content.decode()
    assert not AccountAttributeValue.objects.exists()  # all or nothing
