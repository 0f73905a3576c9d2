"""Pages cost the same number of queries however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import TeamRole
from tests.factories import AccountFactory, JobFactory, TeamMemberFactory, UserFactory


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def _add_accounts(count: int) -> None:
    for _ in range(count):
        TeamMemberFactory(
            account=AccountFactory(), user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER
        )


@pytest.mark.parametrize("role", ["leadership", "kam"])
def test_account_list_queries_do_not_grow_with_rows(client, cast, role) -> None:
    client.force_login(cast.by_name(role))
    _add_accounts(2)
    few = _queries(client, "/accounts/")

    _add_accounts(30)

    assert _queries(client, "/accounts/") == few


def test_job_list_queries_do_not_grow_with_rows(client, cast) -> None:
    client.force_login(cast.admin)
    JobFactory(created_by=cast.kam)
    few = _queries(client, "/jobs/")

    JobFactory.create_batch(20, created_by=cast.kam)

    assert _queries(client, "/jobs/") == few


def _add_buying_center(account, user, count: int) -> None:
    from accounts import services

    for index in range(count):
        contact = services.contact_create(
            account=account, values={"last_name": f"Kontakt{index}"}, roles=["user", "buyer"]
        )
        services.relationship_save(contact=contact, user=user, strength=3, last_touched=None)


@pytest.mark.parametrize(
    "tab", ["", "potential/", "buying-center/", "relationships/", "team/", "history/"]
)
def test_account_tabs_cost_the_same_with_3_or_30_contacts(client, cast, tab) -> None:
    client.force_login(cast.kam)
    _add_buying_center(cast.account, cast.kam, 3)
    url = f"/accounts/{cast.account.pk}/{tab}"
    few = _queries(client, url)

    _add_buying_center(cast.account, cast.team_member, 27)

    assert _queries(client, url) == few
