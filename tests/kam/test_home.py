"""The start page's work list and each account's KPIs against plan (kpis.selectors.home
``my_work``), in both languages and at a constant number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, Influence, Relationship, TeamRole
from kpis.selectors.home import my_work
from kpis.services import kpis_recompute
from plans.models import Action, ActionStatus, Objective, Plan, Review
from tests.factories import AccountFactory, TeamMemberFactory
from tests.kpis.test_dashboard_selectors import figure, plan

TODAY = datetime.date(2025, 6, 30)


@pytest.fixture
def work(cast):
    """``cast.account`` (the KAM's, a Gold key account) with figures below target, a plan
    with actions, stale and fresh contacts; ``team_member`` is its mentor."""
    account = cast.account
    account.tier, account.tier_rank = "Gold", 1
    account.save()
    figure(account, 2024, "revenue", "800")
    figure(account, 2025, "revenue", "1000")
    current = plan(account, 2025, revenue=(1250,), created=datetime.date(2025, 1, 10))
    objective = Objective.objects.create(
        plan=current, title="Grow", measure="Revenue", target_year=2025
    )
    for title, due, status in (
        ("Overdue", datetime.date(2025, 6, 1), ActionStatus.OPEN),
        ("Soon", datetime.date(2025, 7, 10), ActionStatus.IN_PROGRESS),
        ("Later", datetime.date(2025, 9, 1), ActionStatus.OPEN),
        ("Done", datetime.date(2025, 6, 2), ActionStatus.DONE),
    ):
        Action.objects.create(
            plan=current, objective=objective, title=title, owner=cast.kam, due_date=due,
            status=status,
        )  # fmt: skip
    stale = Contact.objects.create(
        account=account, last_name="Alt", influence=Influence.HIGH,
        last_contact_date=datetime.date(2025, 1, 5),
    )  # fmt: skip
    known = Contact.objects.create(account=account, last_name="Frisch")
    Relationship.objects.create(
        contact=known, user=cast.kam, strength=3, last_touched=datetime.date(2025, 6, 1)
    )
    Contact.objects.create(account=account, last_name="Weg", has_left=True)
    kpis_recompute()
    return current, stale


def test_the_kams_work_list(cast, work) -> None:
    current, stale = work

    mine = my_work(user=cast.kam, today=TODAY)

    assert [a.title for a in mine.actions] == ["Overdue", "Soon"]
    assert mine.actions_due == 2
    # The plan was started on 10 January with a review every three months: due 10 April.
    assert mine.reviews == [(current, datetime.date(2025, 4, 10))]
    assert mine.stale_contacts == [stale]  # "Frisch" was touched in June, "Weg" has left
    assert mine.stale_contact_count == 1
    assert mine.year == 2025
    (row,) = mine.accounts
    assert (row.revenue, row.revenue_target) == (Decimal(1000), Decimal(1250))
    assert row.attainment == Decimal("80.0")
    assert row.growth == Decimal("25.0")
    assert row.below_target
    assert not row.no_manager
    assert [r.pk for r in mine.flagged] == [cast.account.pk]
    assert mine.escalations == []  # no overdue invoice in escalation


def test_the_mentor_sees_the_review_and_not_the_kams_actions(cast, work) -> None:
    current, _stale = work
    Review.objects.create(plan=current, reviewed_on=datetime.date(2025, 4, 20), notes="ok")

    mine = my_work(user=cast.team_member, today=TODAY)

    assert mine.actions == []
    assert mine.reviews == []  # due 20 July: more than 14 days ahead
    assert my_work(user=cast.team_member, today=datetime.date(2025, 7, 10)).reviews == [
        (current, datetime.date(2025, 7, 20))
    ]


def test_a_superseded_plan_is_not_reviewed(cast, work) -> None:
    Plan.objects.create(account=cast.account, start_year=2026)

    assert my_work(user=cast.kam, today=TODAY).reviews == []


def _home(client, user, language: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(reverse("kam:home"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("language", "words"), [("de", ("Willkommen", "Umsatz")), ("en", ("Welcome", "Revenue"))]
)
def test_the_start_page_in_both_languages(client, cast, work, language, words) -> None:
    html = _home(client, cast.kam, language)

    for word in words:
        assert word in html
    for section in ("work-actions", "work-reviews", "work-contacts", "work-flags"):
        assert f'id="{section}"' in html
    assert 'id="work-escalations"' not in html
    assert reverse("accounts:account-kpis", args=[cast.account.pk]) in html
    assert reverse("kpis:dashboard-export", args=["my-accounts", "csv"]) in html
    assert "style=" not in html


def test_without_accounts_the_work_list_is_left_out(client, cast, work) -> None:
    html = _home(client, cast.leadership, "en")

    assert 'id="today"' not in html
    assert 'id="my-accounts"' not in html


def _grow(user, count: int) -> None:
    year = timezone.localdate().year
    for index in range(count):
        account = AccountFactory(tier="Silver", tier_rank=2)
        TeamMemberFactory(account=account, user=user, role=TeamRole.KEY_ACCOUNT_MANAGER)
        figure(account, year - 1, "revenue", str(100 + index))
        current = plan(account, year - 1, revenue=(200,))
        objective = Objective.objects.create(
            plan=current, title="Grow", measure="x", target_year=year
        )
        Action.objects.create(
            plan=current, objective=objective, title=f"Call {index}", owner=user,
            due_date=timezone.localdate(),
        )  # fmt: skip
        Contact.objects.create(account=account, last_name=f"Kontakt {index}")
    kpis_recompute()


def test_the_start_pages_queries_do_not_grow_with_accounts(client, cast) -> None:
    client.force_login(cast.kam)
    _grow(cast.kam, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("kam:home")).status_code == 200

    _grow(cast.kam, 20)
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("kam:home")).content.decode()

    assert len(many.captured_queries) <= len(few.captured_queries)
    assert html.count(">Call ") == 10  # the first ten actions due, not all 22
