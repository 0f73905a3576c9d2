"""The workflow pages: the access matrix of every URL, the steps through the browser's
requests, the plan list and "my actions" (filters, order, query counts), versions and their
comparison, and the workflow partials the plan page includes."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import TeamRole
from kam import access
from plans import selectors, services
from plans.filters import PLAN_SORT_COLUMNS
from plans.models import (
    ActionStatus,
    Plan,
    PlanEventKind,
    PlanStatus,
    PlanVersion,
    Review,
)
from tests.access import READ_ALL, ROLES, Row, check_access
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
TEAM_REDIRECT = {
    "leadership": 302,
    "admin": 302,
    "kam": 302,
    "team_member": 302,
    "finance": 403,
    "viewer": 403,
}
LEADERSHIP_REDIRECT = {
    "leadership": 302,
    "admin": 302,
    "kam": 403,
    "team_member": 403,
    "finance": 403,
    "viewer": 403,
}
LEADERSHIP_PAGE = {**LEADERSHIP_REDIRECT, "leadership": 200, "admin": 200}
REVIEWERS_PAGE = {**LEADERSHIP_PAGE, "team_member": 200}  # team_member is the mentor

MATRIX = (
    Row("plan list", "get", "plans:plan-list", 200),
    Row("action list", "get", "plans:action-list", 200),
    Row("submit", "post", "plans:plan-submit {plan}", 404, TEAM_REDIRECT),
    Row("submit by GET", "get", "plans:plan-submit {plan}", 405),
    Row("withdraw", "post", "plans:plan-withdraw {submitted}", 404, TEAM_REDIRECT),
    Row("withdraw by GET", "get", "plans:plan-withdraw {submitted}", 405),
    Row("approve", "post", "plans:plan-approve {submitted}", 404, LEADERSHIP_REDIRECT),
    Row("approve by GET", "get", "plans:plan-approve {submitted}", 405),
    Row("roll forward", "post", "plans:plan-roll-forward {plan}", 404, TEAM_REDIRECT),
    Row("roll forward by GET", "get", "plans:plan-roll-forward {plan}", 405),
    Row("request changes page", "get", "plans:plan-request-changes {submitted}", 404,
        LEADERSHIP_PAGE),
    Row("request changes", "post", "plans:plan-request-changes {submitted}", 404,
        LEADERSHIP_PAGE),
    Row("review page", "get", "plans:review-create {plan}", 404, REVIEWERS_PAGE),
    Row("review", "post", "plans:review-create {plan}", 404, REVIEWERS_PAGE),
    Row("version", "get", "plans:version-detail {approved} 1", 404, READ_ALL),
    Row(
        "version missing",
        "get",
        "plans:version-detail {approved} 99",
        404,
    ),
    Row("compare", "get", "plans:version-compare {approved}", 404, READ_ALL),
    Row("compare without versions", "get", "plans:version-compare {plan}", 404, READ_ALL),
    Row("plan missing", "get", "plans:version-compare {missing}", 404),
)  # fmt: skip


def _plan_with_objective(cast, start_year: int) -> Plan:
    plan = services.plan_create(account=cast.account, start_year=start_year, user=cast.kam)
    services.item_create(
        plan=plan,
        kind="objective",
        values={"title": "Grow", "measure": "Revenue up", "target_year": start_year},
        user=cast.kam,
    )
    return plan


@pytest.fixture
def objects(cast, plan) -> dict[str, int]:
    # Three plans of one account in different horizons: a draft, a submitted, an approved one.
    submitted = _plan_with_objective(cast, 2020)
    services.plan_submit(plan=submitted, user=cast.kam)
    approved = _plan_with_objective(cast, 2017)
    services.plan_submit(plan=approved, user=cast.kam)
    services.plan_approve(plan=approved, user=cast.leadership)
    return {
        "plan": plan.pk,
        "submitted": submitted.pk,
        "approved": approved.pk,
        "missing": 999_999,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _detail(plan: Plan) -> str:
    return reverse("plans:plan-detail", args=[plan.pk])


def _status(plan: Plan) -> str:
    return Plan.objects.values_list("status", flat=True).get(pk=plan.pk)


# The workflow steps --------------------------------------------------------------------------


def test_submit_hands_the_plan_to_leadership(client, cast, plan) -> None:
    client.force_login(cast.team_member)

    response = client.post(reverse("plans:plan-submit", args=[plan.pk]), **EN)

    assert response.status_code == 302
    assert response["Location"] == _detail(plan)
    assert _status(plan) == PlanStatus.SUBMITTED
    assert _messages(response) == ["The plan has been submitted for approval."]


def test_a_refused_step_comes_back_as_an_error_message(client, cast) -> None:
    empty = services.plan_create(account=cast.account, start_year=2027, user=cast.kam)
    client.force_login(cast.kam)

    response = client.post(reverse("plans:plan-submit", args=[empty.pk]), **EN)

    assert response["Location"] == _detail(empty)
    assert _messages(response) == ["Add at least one objective before submitting the plan."]
    assert _status(empty) == PlanStatus.DRAFT


def test_withdraw_returns_the_plan_to_draft(client, cast, submitted_plan) -> None:
    client.force_login(cast.kam)

    response = client.post(reverse("plans:plan-withdraw", args=[submitted_plan.pk]), **EN)

    assert response["Location"] == _detail(submitted_plan)
    assert _status(submitted_plan) == PlanStatus.DRAFT


def test_approve_freezes_a_version(client, cast, submitted_plan) -> None:
    client.force_login(cast.leadership)

    response = client.post(reverse("plans:plan-approve", args=[submitted_plan.pk]), **EN)

    assert response["Location"] == _detail(submitted_plan)
    version = PlanVersion.objects.get(plan=submitted_plan)
    assert (version.number, version.approved_by) == (1, cast.leadership)
    assert _messages(response) == ["The plan has been approved and frozen as version 1."]


def test_approving_a_draft_is_refused_with_a_message(client, cast, plan) -> None:
    client.force_login(cast.leadership)

    response = client.post(reverse("plans:plan-approve", args=[plan.pk]), **EN)

    assert response.status_code == 302
    assert len(_messages(response)) == 1
    assert "this step is not possible now" in _messages(response)[0]
    assert not PlanVersion.objects.exists()


def test_request_changes_sends_the_plan_back_with_the_comment(client, cast, submitted_plan):
    client.force_login(cast.leadership)
    url = reverse("plans:plan-request-changes", args=[submitted_plan.pk])

    page = client.get(url, **EN)
    response = client.post(url, {"comment": "Add the **service** targets."}, **EN)

    assert 'name="comment"' in page.text
    assert "required" in re.search(r"<textarea[^>]*>", page.text).group(0)
    assert response["Location"] == _detail(submitted_plan)
    assert _status(submitted_plan) == PlanStatus.DRAFT
    event = submitted_plan.events.first()
    assert (event.kind, event.comment) == (
        PlanEventKind.CHANGES_REQUESTED,
        "Add the **service** targets.",
    )


def test_request_changes_requires_a_comment(client, cast, submitted_plan) -> None:
    client.force_login(cast.leadership)

    response = client.post(
        reverse("plans:plan-request-changes", args=[submitted_plan.pk]), {"comment": "  "}, **EN
    )

    assert response.status_code == 200
    assert response.context["form"].errors["comment"] == ["Say what should change."]
    assert _status(submitted_plan) == PlanStatus.SUBMITTED


def test_a_refused_request_keeps_the_comment(client, cast, plan) -> None:
    client.force_login(cast.leadership)

    response = client.post(
        reverse("plans:plan-request-changes", args=[plan.pk]),
        {"comment": "Rework the SWOT."},
        **EN,
    )

    assert response.status_code == 200
    assert "this step is not possible now" in response.text
    assert "Rework the SWOT.</textarea>" in response.text
    assert _status(plan) == PlanStatus.DRAFT


def test_roll_forward_opens_next_years_plan(client, cast, plan) -> None:
    client.force_login(cast.kam)

    response = client.post(reverse("plans:plan-roll-forward", args=[plan.pk]), **EN)
    again = client.post(reverse("plans:plan-roll-forward", args=[plan.pk]), **EN)

    new = Plan.objects.get(account=plan.account, start_year=2028)
    assert response["Location"] == again["Location"] == _detail(new)
    assert Plan.objects.filter(account=plan.account).count() == 2


# Mentor reviews ------------------------------------------------------------------------------


def test_the_mentor_records_a_review(client, cast, plan) -> None:
    client.force_login(cast.team_member)
    url = reverse("plans:review-create", args=[plan.pk])
    today = timezone.localdate()

    page = client.get(url, **EN)
    response = client.post(
        url,
        {"reviewed_on": today.isoformat(), "notes": "On track.", "signed_off": "on"},
        **EN,
    )

    assert f'value="{today.isoformat()}"' in page.text
    assert response["Location"] == _detail(plan)
    review = Review.objects.get()
    assert (review.reviewer, review.reviewed_on, review.signed_off) == (
        cast.team_member,
        today,
        True,
    )


def test_a_review_in_the_future_is_refused_and_the_input_kept(client, cast, plan) -> None:
    client.force_login(cast.leadership)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client.post(
        reverse("plans:review-create", args=[plan.pk]),
        {"reviewed_on": tomorrow.isoformat(), "notes": "Looks good."},
        **EN,
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reviewed_on"] == ["A review cannot lie in the future."]
    assert "Looks good.</textarea>" in response.text
    assert not Review.objects.exists()


# Versions and their comparison ---------------------------------------------------------------


def _edit_goals(cast, plan: Plan, text: str) -> Plan:
    plan.refresh_from_db()
    return services.plan_section_update(
        plan=plan,
        section="situation",
        revision=plan.revision,
        values={"business_goals": text},
        user=cast.kam,
    )


def test_a_version_shows_the_plan_as_it_was_approved(client, cast, approved_version) -> None:
    _edit_goals(cast, approved_version.plan, "Brandt now wants to **triple** everything.")
    client.force_login(cast.viewer)

    response = client.get(reverse("plans:version-detail", args=[approved_version.plan_id, 1]), **EN)

    assert response.status_code == 200
    assert "double its <strong>export</strong> business" in response.text
    assert "triple" not in response.text
    assert "Workshop with purchasing" in response.text
    assert "Revenue" in response.text


def test_compare_highlights_a_changed_text(client, cast, approved_version) -> None:
    _edit_goals(cast, approved_version.plan, "Brandt wants to triple its **export** business.")
    client.force_login(cast.kam)

    response = client.get(reverse("plans:version-compare", args=[approved_version.plan_id]), **EN)

    assert response.status_code == 200
    assert (response.context["label_a"], response.context["label_b"]) == (
        response.context["form"].fields["a"].choices[1][1],
        "Working copy",
    )
    text = response.text
    assert re.search(r"<del[^>]*>(<span[^>]*>[^<]*</span>)?double</del>", text)
    assert re.search(r"<ins[^>]*>(<span[^>]*>[^<]*</span>)?triple</ins>", text)
    assert "(right): one change." in text


def test_compare_two_versions_by_number(client, cast, approved_version) -> None:
    plan = _edit_goals(cast, approved_version.plan, "Second round.")
    services.plan_submit(plan=plan, user=cast.kam)
    services.plan_approve(plan=plan, user=cast.leadership)
    client.force_login(cast.leadership)
    url = reverse("plans:version-compare", args=[plan.pk])

    response = client.get(url, {"a": "1", "b": "2", "changes": "on"}, **EN)
    unknown = client.get(url, {"a": "7"}, **EN)

    comparison = response.context["comparison"]
    assert comparison.changes == 1
    assert "Second round" in response.text
    assert "Unchanged" not in response.text  # only the changes are shown
    assert "comparison" not in unknown.context
    assert unknown.context["form"].errors["a"]


# The plan list -------------------------------------------------------------------------------


def _plan_for(name: str, start_year: int, *, kam=None, tier: str = "", user=None) -> Plan:
    account = AccountFactory(name=name, tier=tier, tier_rank=1 if tier else None)
    if kam is not None:
        TeamMemberFactory(account=account, user=kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    return services.plan_create(account=account, start_year=start_year, user=user or kam)


def _list(client, **params):
    return client.get(reverse("plans:plan-list"), params, **EN)


def _names(response) -> list[str]:
    return [plan.account.name for plan in response.context["plans"]]


def test_the_list_shows_the_plans_the_user_may_see(client, cast, approved_version) -> None:
    _plan_for("Zeta AG", 2026, kam=cast.outsider_kam)

    client.force_login(cast.kam)
    mine = _list(client)
    client.force_login(cast.finance)
    everything = _list(client)
    client.force_login(cast.no_role)
    nothing = _list(client)

    assert _names(mine) == ["Brandt Maschinenbau GmbH"]
    row = mine.context["plans"][0]
    assert (row.last_version, row.open_actions, row.kam_name) == (
        1,
        1,
        cast.kam.get_full_name(),
    )
    assert reverse("plans:version-detail", args=[row.pk, 1]) in mine.text
    assert _names(everything) == ["Brandt Maschinenbau GmbH", "Zeta AG"]
    assert _names(nothing) == []
    assert "No plans match these filters" in nothing.text


def test_the_list_filters_by_year_status_tier_manager_and_name(client, cast, plan) -> None:
    cast.kam.last_name = "Becker"
    cast.kam.save()
    other_kam = UserFactory(username="kam2", first_name="Olga", last_name="Wolf")
    _plan_for("Alpha GmbH", 2025, kam=other_kam, tier="A")
    submitted = _plan_for("Beta KG", 2029, kam=other_kam)
    services.item_create(
        plan=submitted,
        kind="objective",
        values={"title": "x", "measure": "y", "target_year": 2029},
        user=other_kam,
    )
    services.plan_submit(plan=submitted, user=other_kam)
    client.force_login(cast.leadership)

    assert _names(_list(client, year=2027)) == ["Alpha GmbH", "Brandt Maschinenbau GmbH"]
    assert _names(_list(client, year=2030)) == ["Beta KG"]
    assert _names(_list(client, status="submitted")) == ["Beta KG"]
    assert _names(_list(client, tier="A")) == ["Alpha GmbH"]
    assert _names(_list(client, kam=other_kam.pk)) == ["Alpha GmbH", "Beta KG"]
    assert _names(_list(client, kam=cast.kam.pk)) == ["Brandt Maschinenbau GmbH"]
    assert _names(_list(client, q="brandt")) == ["Brandt Maschinenbau GmbH"]
    assert _names(_list(client, sort="-horizon")) == [
        "Beta KG",
        "Brandt Maschinenbau GmbH",
        "Alpha GmbH",
    ]
    assert _names(_list(client, sort="kam")) == [
        "Brandt Maschinenbau GmbH",
        "Alpha GmbH",
        "Beta KG",
    ]


@pytest.mark.parametrize("sort", [*PLAN_SORT_COLUMNS, *(f"-{c}" for c in PLAN_SORT_COLUMNS)])
def test_every_column_sorts(client, cast, approved_version, sort) -> None:
    _plan_for("Zeta AG", 2026, kam=cast.outsider_kam, tier="A")
    client.force_login(cast.leadership)

    response = _list(client, sort=sort)

    assert response.status_code == 200
    assert sorted(_names(response)) == ["Brandt Maschinenbau GmbH", "Zeta AG"]


def _created_on(plan: Plan, day: datetime.date) -> None:
    Plan.objects.filter(pk=plan.pk).update(
        created_at=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    )


def test_the_list_flags_and_filters_overdue_reviews(client, cast, plan) -> None:
    today = timezone.localdate()
    _created_on(plan, today - datetime.timedelta(days=200))  # 3-month cadence: overdue
    fresh = _plan_for("Fresh AG", 2027, kam=cast.kam)
    reviewed = _plan_for("Reviewed AG", 2027, kam=cast.kam)
    _created_on(reviewed, today - datetime.timedelta(days=400))
    services.review_record(
        plan=reviewed, user=cast.leadership, reviewed_on=today, notes="Fine.", signed_off=True
    )
    old = _plan_for("Superseded AG", 2020, kam=cast.kam)
    _created_on(old, today - datetime.timedelta(days=900))
    services.plan_roll_forward(plan=old, user=cast.kam)
    Plan.objects.filter(pk=fresh.pk).update(review_interval_months=1)
    client.force_login(cast.leadership)

    overdue = _list(client, review_overdue="yes")
    not_overdue = _list(client, review_overdue="no")

    assert _names(overdue) == ["Brandt Maschinenbau GmbH"]
    assert _names(not_overdue) == ["Fresh AG", "Reviewed AG", "Superseded AG", "Superseded AG"]
    row = overdue.context["plans"][0]
    assert row.review_overdue
    assert row.next_review < today
    assert "Overdue" in overdue.text
    superseded = next(p for p in not_overdue.context["plans"] if p.superseded)
    assert (superseded.next_review, superseded.review_overdue) == (None, False)


def test_the_review_overdue_filter_agrees_with_the_plan_page_at_month_ends(cast) -> None:
    plan = _plan_for("Edge AG", 2027, kam=cast.kam)
    for created, today in (
        (datetime.date(2026, 11, 30), datetime.date(2027, 2, 28)),
        (datetime.date(2026, 11, 30), datetime.date(2027, 3, 1)),
        (datetime.date(2026, 8, 31), datetime.date(2026, 11, 30)),
        (datetime.date(2026, 8, 31), datetime.date(2026, 12, 1)),
        (datetime.date(2025, 11, 29), datetime.date(2026, 2, 28)),
    ):
        _created_on(plan, created)
        plan.refresh_from_db()
        expected = selectors.plan_page(plan=plan, today=today).review.overdue
        filterset = selectors.plan_filterset(
            user=cast.leadership, data={"review_overdue": "yes"}, today=today
        )
        assert (plan in filterset.qs) == expected, (created, today)


def test_leadership_gets_the_annual_printout_link(client, cast) -> None:
    printout = reverse("plans:printout-create")
    client.force_login(cast.leadership)
    assert printout in _list(client).text
    client.force_login(cast.kam)
    assert printout not in _list(client).text


def test_the_list_costs_the_same_queries_for_more_plans(client, cast, approved_version) -> None:
    client.force_login(cast.leadership)
    params = {"sort": "kam", "review_overdue": "no", "year": 2027}

    def make(start: int, count: int) -> None:
        for index in range(start, start + count):
            kam = UserFactory(username=f"k{index}")
            plan = _plan_for(f"Account {index:02d}", 2027, kam=kam, tier="B")
            objective = services.item_create(
                plan=plan,
                kind="objective",
                values={"title": "x", "measure": "y", "target_year": 2027},
                user=kam,
            )
            services.item_create(
                plan=plan,
                kind="action",
                values={"objective": objective, "title": "Call", "owner": kam},
                user=kam,
            )
            services.review_record(
                plan=plan,
                user=cast.leadership,
                reviewed_on=timezone.localdate(),
                notes="ok",
                signed_off=False,
            )

    make(0, 1)
    with CaptureQueriesContext(connection) as few:
        _list(client, **params)
    make(1, 6)
    with CaptureQueriesContext(connection) as many:
        response = _list(client, **params)

    assert len(response.context["plans"]) == 8
    assert len(many) == len(few)


# My actions ----------------------------------------------------------------------------------


def _action(cast, plan: Plan, title: str, due: datetime.date | None, **values):
    objective = plan.objectives.first() or services.item_create(
        plan=plan,
        kind="objective",
        values={"title": "Grow", "measure": "y", "target_year": plan.start_year},
        user=cast.kam,
    )
    return services.item_create(
        plan=plan,
        kind="action",
        values={"objective": objective, "title": title, "owner": cast.kam, "due_date": due,
                **values},
        user=cast.kam,
    )  # fmt: skip


def _actions(client, **params):
    return client.get(reverse("plans:action-list"), params, **EN)


def test_my_actions_lists_open_ones_overdue_first(client, cast, plan) -> None:
    today = timezone.localdate()
    plan.actions.update(due_date=today + datetime.timedelta(days=30))
    _action(cast, plan, "Late call", today - datetime.timedelta(days=3))
    _action(cast, plan, "Very late call", today - datetime.timedelta(days=9))
    _action(cast, plan, "Some day", None)
    _action(cast, plan, "Soon", today + datetime.timedelta(days=2), status=ActionStatus.IN_PROGRESS)
    _action(cast, plan, "Done", today - datetime.timedelta(days=9), status=ActionStatus.DONE)
    theirs = _action(cast, plan, "Not mine", today)
    plan.actions.filter(pk=theirs.pk).update(owner=cast.team_member)
    client.force_login(cast.kam)

    response = _actions(client)
    overdue_only = _actions(client, overdue="on")

    titles = [a.title for a in response.context["actions"]]
    assert titles == [
        "Very late call",
        "Late call",
        "Soon",
        "Workshop with purchasing",
        "Some day",
    ]
    assert response.context["overdue"] == 2
    assert "2 of them overdue" in response.text
    assert _detail(plan) in response.text
    assert [a.title for a in overdue_only.context["actions"]] == ["Very late call", "Late call"]


def test_my_actions_skip_superseded_plans_and_have_an_empty_state(client, cast, plan) -> None:
    services.plan_roll_forward(plan=plan, user=cast.kam)
    client.force_login(cast.kam)

    response = _actions(client)

    assert [a.plan.start_year for a in response.context["actions"]] == [2028]
    client.force_login(cast.finance)
    empty = _actions(client)
    assert "No open actions" in empty.text


def test_my_actions_cost_the_same_queries_for_more_actions(client, cast, plan) -> None:
    client.force_login(cast.kam)
    with CaptureQueriesContext(connection) as few:
        _actions(client)
    for index in range(8):
        other = _plan_for(f"Other {index}", 2027, kam=cast.kam)
        _action(cast, other, f"Call {index}", timezone.localdate())
    with CaptureQueriesContext(connection) as many:
        response = _actions(client)

    assert len(response.context["actions"]) == 9
    assert len(many) == len(few)


# The partials on the plan page ---------------------------------------------------------------


def _partials(cast, plan: Plan, user, today: datetime.date | None = None) -> str:
    plan = Plan.objects.select_related("account").get(pk=plan.pk)
    request = RequestFactory().get("/", **EN)
    request.user = user
    context = {
        "page": selectors.plan_page(plan=plan, today=today),
        "plan": plan,
        "can_edit": access.can_edit(user, plan.account),
        "may_approve": access.may_approve_plans(user),
        "may_review": access.may_review_plan(user, plan.account),
    }
    return "".join(
        render_to_string(f"plans/includes/{name}.html", context, request=request)
        for name in ("_workflow", "_reviews", "_versions")
    )


def _buttons(html: str) -> set[str]:
    actions = re.findall(r'action="/plans/\d+/([a-z-]+)/"', html)
    links = re.findall(r'href="/plans/\d+/(request-changes|reviews/new|compare)/', html)
    return set(actions) | set(links)


def test_the_workflow_partial_offers_the_steps_allowed_now(cast, plan, submitted_plan) -> None:
    draft = _plan_with_objective(cast, 2030)
    with translation.override("en"):
        assert _buttons(_partials(cast, draft, cast.kam)) == {"submit", "roll-forward", "pdf"}
        assert _buttons(_partials(cast, draft, cast.team_member)) == {
            "submit",
            "roll-forward",
            "pdf",
            "reviews/new",
        }
        assert _buttons(_partials(cast, draft, cast.finance)) == {"pdf"}
        assert _buttons(_partials(cast, submitted_plan, cast.leadership)) == {
            "withdraw",
            "approve",
            "request-changes",
            "pdf",
            "reviews/new",
        }
        # The 2027 plan has a newer one (2030): no roll-forward, a link to the newer plan.
        html = _partials(cast, submitted_plan, cast.kam)
        assert _buttons(html) == {"withdraw", "pdf"}
        assert _detail(draft) in html


def test_the_partials_show_requested_changes_overdue_reviews_and_versions(
    cast, submitted_plan
) -> None:
    services.plan_request_changes(
        plan=submitted_plan, user=cast.leadership, comment="Add the *service* targets."
    )
    services.plan_submit(plan=submitted_plan, user=cast.kam)
    services.plan_approve(plan=submitted_plan, user=cast.leadership)
    services.plan_section_update(
        plan=Plan.objects.get(pk=submitted_plan.pk),
        section="swot",
        revision=Plan.objects.get(pk=submitted_plan.pk).revision,
        values={"strengths": "Service"},
        user=cast.kam,
    )
    later = timezone.localdate() + datetime.timedelta(days=400)

    with translation.override("en"):
        reopened = _partials(cast, submitted_plan, cast.kam, today=later)
        fresh = _partials(cast, submitted_plan, cast.kam)

    assert "Overdue" in reopened
    assert "Overdue" not in fresh
    assert "Every 3 months" in reopened
    assert reverse("plans:version-detail", args=[submitted_plan.pk, 1]) in reopened
    assert "Compare versions" in reopened
    # The banner belongs to the round that was sent back, not to the reopened plan.
    assert "<em>service</em>" not in reopened

    services.plan_submit(plan=Plan.objects.get(pk=submitted_plan.pk), user=cast.kam)
    services.plan_request_changes(
        plan=submitted_plan, user=cast.leadership, comment="Add the *service* targets."
    )
    with translation.override("en"):
        sent_back = _partials(cast, submitted_plan, cast.kam)
    assert "Changes requested by" in sent_back
    assert "<em>service</em>" in sent_back


def test_the_filter_choices_come_from_the_cache_and_a_new_plans_manager_filters_at_once(
    client, cast, approved_version
) -> None:
    newcomer = UserFactory(username="newcomer", first_name="Nora", last_name="Neu")
    account = AccountFactory(name="Neu AG", tier="Gold", tier_rank=1)
    TeamMemberFactory(account=account, user=newcomer, role=TeamRole.KEY_ACCOUNT_MANAGER)
    client.force_login(cast.leadership)

    # The counts are taken at once: the next request starts a new query log.
    with CaptureQueriesContext(connection) as cold:
        _list(client)
    cold_queries = len(cold)
    with CaptureQueriesContext(connection) as warm:
        listed = _list(client)
    warm_queries = len(warm)
    services.plan_create(account=account, start_year=2027, user=newcomer)
    filtered = _list(client, kam=newcomer.pk)

    assert warm_queries < cold_queries
    assert "Nora Neu" not in listed.text
    assert _names(filtered) == ["Neu AG"]
    assert f'<option value="{newcomer.pk}" selected>Nora Neu</option>' in filtered.text
