"""The plan page from the browser's side: who may open and change what, htmx pieces and the
whole page without JavaScript, conflicts, the locked plan, and a constant number of queries."""

import datetime
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Contact, Relationship
from plans import services
from plans.models import Action, Objective, Plan, PlanStatus, Risk, Target
from tests.access import EDIT, READ_ALL, ROLES, Row, check_access

HTMX = {"HX-Request": "true"}
EDITORS = ("leadership", "admin", "kam", "team_member")
OUTSIDE = {"outsider_kam": 404, "no_role": 404}
BAD_REQUEST = {**dict.fromkeys(EDITORS, 400), "finance": 403, "viewer": 403}
REDIRECT = {**dict.fromkeys(EDITORS, 302), "finance": 403, "viewer": 403}

MATRIX = (
    Row("account plan tab", "get", "accounts:account-plan {account}", 404, READ_ALL),
    Row("plan create page", "get", "plans:plan-create {account}", 404, EDIT),
    Row("plan create", "post", "plans:plan-create {account}", 404, EDIT),
    Row("plan detail", "get", "plans:plan-detail {plan}", 404, READ_ALL),
    Row("plan detail missing", "get", "plans:plan-detail {missing}", 404),
    Row("section form", "get", "plans:section-edit {plan} situation", 404, EDIT),
    Row("section save", "post", "plans:section-edit {plan} swot", 404, EDIT),
    Row("unknown section", "get", "plans:section-edit {plan} budget", 404),
    Row("item add form", "get", "plans:item-create {plan} risk", 404, EDIT),
    Row("item add", "post", "plans:item-create {plan} resource", 404, EDIT),
    Row("unknown kind", "get", "plans:item-create {plan} budget", 404),
    Row("item form", "get", "plans:item-edit {plan} target {target}", 404, EDIT),
    Row("item save", "post", "plans:item-edit {plan} objective {objective}", 404, EDIT),
    Row("item of another plan", "get", "plans:item-edit {plan} target {other_target}", 404,
        {"finance": 403, "viewer": 403}),
    Row("delete question", "get", "plans:item-delete {plan} action {action}", 404, EDIT),
    Row("delete without revision", "post", "plans:item-delete {plan} target {target}", 404,
        BAD_REQUEST),
    Row("move without direction", "post", "plans:item-move {plan} target {target}", 404,
        BAD_REQUEST),
    Row("move by GET", "get", "plans:item-move {plan} target {target}", 405),
    Row("section save on a submitted plan", "post",
        "plans:section-edit {submitted} situation", 404, EDIT),
)  # fmt: skip


@pytest.fixture
def objects(cast, plan):
    other = services.plan_create(account=cast.other_account, start_year=2027, user=cast.admin)
    submitted = services.plan_create(account=cast.account, start_year=2030, user=cast.kam)
    services.item_create(
        plan=submitted,
        kind="objective",
        values={"title": "o", "measure": "m", "target_year": 2030},
        user=cast.kam,
    )
    services.plan_submit(plan=submitted, user=cast.kam)
    return {
        "account": cast.account.pk,
        "plan": plan.pk,
        "submitted": submitted.pk,
        "missing": 999_999,
        "target": plan.targets.first().pk,
        "objective": plan.objectives.get().pk,
        "action": plan.actions.get().pk,
        "other_target": other.targets.first().pk,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


@pytest.fixture
def kam_client(client, cast):
    cast.kam.language = "en"
    cast.kam.save(update_fields=["language"])
    client.force_login(cast.kam)
    return client


def _page(client, plan: Plan) -> str:
    response = client.get(reverse("plans:plan-detail", args=[plan.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _edit_links(html: str) -> list[str]:
    return re.findall(r'href="(/plans/\d+/(?:sections|items)/[^"]*)"', html)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.label_for: set[str] = set()
        self.controls: list[str] = []
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] += 1
        if tag == "label" and "for" in attrs:
            self.label_for.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs.get("id", ""))
        if tag == "script":
            self.scripts.append(attrs)


def _check_markup(html: str) -> None:
    parser = _Ids()
    parser.feed(html)
    assert [i for i, n in parser.ids.items() if n > 1] == []
    assert [c for c in parser.controls if c not in parser.label_for] == []
    assert all(script.get("src") for script in parser.scripts)  # CSP: no inline scripts


# Reading -------------------------------------------------------------------------------------


def test_the_plan_page_shows_the_whole_plan(kam_client, cast, plan, contact) -> None:
    Relationship.objects.create(contact=contact, user=cast.kam, strength=2)
    services.item_create(
        plan=plan,
        kind="contact-strategy",
        values={"contact": contact, "target_strength": 5, "owner": cast.kam,
                "approach": "Quarterly dinner"},
        user=cast.kam,
    )  # fmt: skip
    services.item_create(
        plan=plan,
        kind="risk",
        values={"description": "Buyer changes", "likelihood": "high", "impact": "high",
                "mitigation": "Talk to *engineering*"},
        user=cast.kam,
    )  # fmt: skip
    cast.account.competitors.create(name="Rheinfels Solutions GmbH")

    html = _page(kam_client, plan)

    assert "double its <strong>export</strong> business" in html  # Markdown, rendered
    assert "Rheinfels Solutions GmbH" in html
    assert (
        html.index('id="section-situation"')
        < html.index('id="section-swot"')
        < html.index('id="section-strategy"')
        < html.index('id="items-target"')
        < html.index('id="items-objective"')
        < html.index('id="items-risk"')
        < html.index('id="items-resource"')
        < html.index('id="items-contact-strategy"')
    )
    assert "Workshop with purchasing" in html
    assert "Petra Brandt" in html
    assert "Quarterly dinner" in html
    assert "<em>engineering</em>" in html
    assert 'id="workflow-heading"' in html
    assert 'id="reviews-heading"' in html
    assert "js/plan-editor.js" in html
    _check_markup(html)


def test_an_overdue_open_action_is_marked(kam_client, cast, plan) -> None:
    Action.objects.filter(plan=plan).update(due_date=datetime.date(2020, 1, 1))

    assert "overdue</span>" in _page(kam_client, plan)


@pytest.mark.parametrize("role", ["finance", "viewer", "leadership", "team_member"])
def test_readers_see_the_page_and_only_editors_the_edit_buttons(client, cast, plan, role):
    client.force_login(getattr(cast, role))

    html = _page(client, plan)

    assert bool(_edit_links(html)) == (role in EDITORS)


def test_a_submitted_plan_shows_no_edit_buttons(kam_client, submitted_plan) -> None:
    assert _edit_links(_page(kam_client, submitted_plan)) == []


def test_the_page_reads_a_constant_number_of_queries(kam_client, cast, plan, contact) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            _page(kam_client, plan)
        return len(context)

    objective = plan.objectives.get()

    def add(number: int) -> None:
        other = Contact.objects.create(account=cast.account, last_name=f"C{number}")
        Relationship.objects.create(contact=other, user=cast.kam, strength=3)
        services.item_create(
            plan=plan, kind="objective",
            values={"title": f"O{number}", "measure": "m", "target_year": 2028,
                    "target": plan.targets.first()},
            user=cast.kam,
        )  # fmt: skip
        services.item_create(
            plan=plan, kind="action",
            values={"objective": objective, "title": f"A{number}", "owner": cast.kam,
                    "contacts": [contact, other]},
            user=cast.kam,
        )  # fmt: skip
        services.item_create(
            plan=plan, kind="risk",
            values={"description": f"R{number}", "likelihood": "low", "impact": "high"},
            user=cast.kam,
        )  # fmt: skip
        services.item_create(
            plan=plan, kind="resource",
            values={"department": "service", "description": "d", "requested_from": "x"},
            user=cast.kam,
        )  # fmt: skip
        services.item_create(
            plan=plan, kind="contact-strategy",
            values={"contact": other, "target_strength": 4, "owner": cast.kam},
            user=cast.kam,
        )  # fmt: skip

    add(0)  # one of each: every list's prefetches run from here on
    small = count()
    for number in range(1, 7):
        add(number)

    assert count() == small
    assert small <= 40


# Sections ------------------------------------------------------------------------------------


def test_a_section_opens_in_place_with_htmx_and_as_a_page_without(kam_client, plan) -> None:
    url = reverse("plans:section-edit", args=[plan.pk, "swot"])

    piece = kam_client.get(url, headers=HTMX).content.decode()
    page = kam_client.get(url).content.decode()

    assert piece.startswith('<section id="section-swot"')
    assert "<html" not in piece
    assert 'name="strengths"' in piece
    assert f'name="revision" value="{plan.revision}"' in piece
    assert "<html" in page
    assert 'name="strengths"' in page
    assert 'id="section-situation"' in page  # the rest of the plan around the open form
    _check_markup(page)


def test_saving_a_section_with_htmx_returns_it_read_only(kam_client, plan) -> None:
    response = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "swot"]),
        {"revision": plan.revision, "strengths": "**Service** in 24 hours"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert html.startswith('<section id="section-swot"')
    assert "<form" not in html
    assert "<strong>Service</strong> in 24 hours" in html
    assert response["HX-Trigger"] == "plan-saved"
    plan.refresh_from_db()
    assert plan.strengths == "**Service** in 24 hours"


def test_saving_a_section_without_javascript_returns_to_it(kam_client, plan) -> None:
    response = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "strategy"]),
        {"revision": plan.revision, "account_strategy": "Grow", "phase": "delivery"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/plans/{plan.pk}/#section-strategy"
    plan.refresh_from_db()
    assert (plan.account_strategy, plan.phase) == ("Grow", "delivery")


def test_an_invalid_section_keeps_the_input_and_names_the_error(kam_client, plan) -> None:
    response = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "settings"]),
        {"revision": plan.revision, "language": "en", "review_interval_months": "99"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert "less than or equal to 24" in html
    assert 'value="99"' in html
    plan.refresh_from_db()
    assert plan.review_interval_months == 3


def test_a_conflict_shows_theirs_next_to_the_users_kept_input(kam_client, cast, plan) -> None:
    started = plan.revision
    theirs = services.plan_section_update(
        plan=plan, section="situation", revision=started,
        values={"business_goals": "Leadership rewrote the goals."}, user=cast.leadership,
    )  # fmt: skip

    response = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "situation"]),
        {"revision": started, "business_goals": "My goals, carefully written.",
         "market_trends": "My trends"},
        headers=HTMX,
    )  # fmt: skip

    html = response.content.decode()
    assert "data-plan-merge" in html
    assert "Saved by someone else" in html
    assert "Leadership rewrote the goals." not in html.split("<textarea")[1]
    assert re.search(r"<del[^>]*>(<span[^>]*>[^<]*</span>)?Leadership rewrote the</del>", html)
    assert ">\nMy goals, carefully written.</textarea>" in html
    assert re.search(r"<ins[^>]*>(<span[^>]*>[^<]*</span>)?My</ins>", html)
    assert f'name="revision" value="{theirs.revision}"' in html
    assert "Discard mine and reload" in html
    plan.refresh_from_db()
    assert plan.business_goals == "Leadership rewrote the goals."
    assert plan.market_trends == ""
    _check_markup(html)

    again = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "situation"]),
        {"revision": theirs.revision, "business_goals": "Merged goals", "market_trends": "T"},
        headers=HTMX,
    )
    assert again["HX-Trigger"] == "plan-saved"
    plan.refresh_from_db()
    assert plan.business_goals == "Merged goals"


def test_a_conflict_without_javascript_shows_the_merge_in_the_page(kam_client, cast, plan):
    started = plan.revision
    services.plan_section_update(
        plan=plan, section="situation", revision=started,
        values={"competition": "Theirs"}, user=cast.leadership,
    )  # fmt: skip

    response = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "situation"]),
        {"revision": started, "competition": "Mine"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "data-plan-merge" in html
    _check_markup(html)


def test_a_submitted_plan_refuses_section_edits_with_the_locked_message(
    kam_client, submitted_plan
) -> None:
    url = reverse("plans:section-edit", args=[submitted_plan.pk, "swot"])

    opened = kam_client.get(url, headers=HTMX).content.decode()
    saved = kam_client.post(
        url, {"revision": submitted_plan.revision, "strengths": "x"}, headers=HTMX
    ).content.decode()

    for html in (opened, saved):
        assert "has been submitted and waits for leadership" in html
        assert "<form" not in html
    submitted_plan.refresh_from_db()
    assert submitted_plan.strengths == ""


def test_editing_an_approved_plan_updates_the_workflow_box_too(
    kam_client, approved_version
) -> None:
    plan = approved_version.plan
    response = kam_client.post(
        reverse("plans:section-edit", args=[plan.pk, "swot"]),
        {"revision": plan.revision, "threats": "Price pressure"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert '<div id="plan-workflow" data-hx-swap-oob="true">' in html
    assert "Submit for approval" in html
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


# Items ---------------------------------------------------------------------------------------


def test_an_item_row_opens_in_place_and_saves_back_into_its_list(kam_client, plan) -> None:
    target = plan.targets.get(metric="share_of_wallet")
    url = reverse("plans:item-edit", args=[plan.pk, "target", target.pk])

    form = kam_client.get(url, headers=HTMX).content.decode()
    assert form.startswith(f'<tr id="item-target-{target.pk}"')
    assert 'colspan="8"' in form
    assert "Target 2027" in form
    assert 'name="year_1"' in form

    response = kam_client.post(
        url,
        {"revision": target.revision, "metric": "share_of_wallet", "unit": "%",
         "year_1": "25", "year_2": "30", "year_3": "35.5"},
        headers=HTMX,
    )  # fmt: skip

    assert response["HX-Retarget"] == "#items-target"
    assert response["HX-Reswap"] == "outerHTML"
    assert response["HX-Trigger"] == "plan-saved"
    assert response.content.decode().startswith('<section id="items-target"')
    target.refresh_from_db()
    assert [str(v) for v in target.values] == ["25.00", "30.00", "35.50"]


def test_adding_an_action_under_an_objective(kam_client, cast, plan, contact) -> None:
    objective = plan.objectives.get()
    url = reverse("plans:item-create", args=[plan.pk, "action"]) + f"?objective={objective.pk}"

    form = kam_client.get(url, headers=HTMX).content.decode()
    assert form.startswith(f'<div id="new-action-{objective.pk}"')
    assert f'<option value="{objective.pk}" selected>' in form

    response = kam_client.post(
        url,
        {"objective": objective.pk, "title": "Plant visit", "owner": cast.team_member.pk,
         "due_date": "2027-05-04", "status": "open", "contacts": [contact.pk]},
        headers=HTMX,
    )  # fmt: skip

    assert response["HX-Retarget"] == "#items-objective"
    action = Action.objects.get(title="Plant visit")
    assert action.objective == objective
    assert list(action.contacts.all()) == [contact]
    assert "Plant visit" in response.content.decode()


def test_a_new_action_needs_an_objective_of_the_plan(kam_client, cast, plan) -> None:
    url = reverse("plans:item-create", args=[plan.pk, "action"])

    assert kam_client.get(url).status_code == 404
    assert kam_client.get(f"{url}?objective=999999").status_code == 404


def test_choices_from_another_account_are_refused_with_an_inline_error(
    kam_client, cast, plan
) -> None:
    stranger = Contact.objects.create(account=cast.other_account, last_name="Lorenz")
    objective = plan.objectives.get()
    url = reverse("plans:item-create", args=[plan.pk, "action"]) + f"?objective={objective.pk}"

    response = kam_client.post(
        url,
        {"objective": objective.pk, "title": "x", "status": "open",
         "owner": cast.outsider_kam.pk, "contacts": [stranger.pk]},
        headers=HTMX,
    )  # fmt: skip

    html = response.content.decode()
    assert html.startswith(f'<div id="new-action-{objective.pk}"')
    assert html.count("Select a valid choice") == 2
    assert not Action.objects.filter(title="x").exists()


def test_adding_an_item_without_javascript_returns_to_the_list(kam_client, plan) -> None:
    page = kam_client.get(reverse("plans:item-create", args=[plan.pk, "risk"]))
    assert 'id="new-risk"' in page.content.decode()
    assert "<html" in page.content.decode()
    _check_markup(page.content.decode())

    response = kam_client.post(
        reverse("plans:item-create", args=[plan.pk, "risk"]),
        {"description": "Buyer leaves", "likelihood": "medium", "impact": "high"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/plans/{plan.pk}/#items-risk"
    assert Risk.objects.get(plan=plan).severity == 6


def test_an_item_conflict_shows_the_merge_with_the_users_input(kam_client, cast, plan) -> None:
    objective = plan.objectives.get()
    started = objective.revision
    services.item_update(
        item=objective, revision=started, values={"measure": "Contract countersigned"},
        user=cast.leadership,
    )  # fmt: skip

    response = kam_client.post(
        reverse("plans:item-edit", args=[plan.pk, "objective", objective.pk]),
        {"revision": started, "title": "Framework contract", "measure": "Contract signed by us",
         "target_year": "2027", "status": "open"},
        headers=HTMX,
    )  # fmt: skip

    html = response.content.decode()
    assert "data-plan-merge" in html
    assert 'value="Contract signed by us"' in html
    assert "countersigned</del>" in html
    objective.refresh_from_db()
    assert objective.measure == "Contract countersigned"
    assert objective.title != "Framework contract"


def test_deleting_asks_first_and_then_deletes_at_the_revision_seen(kam_client, plan) -> None:
    action = plan.actions.get()
    url = reverse("plans:item-delete", args=[plan.pk, "action", action.pk])

    question = kam_client.get(url, headers=HTMX).content.decode()
    assert question.startswith(f'<tr id="item-action-{action.pk}"')
    assert "Delete the action “Workshop with purchasing”?" in question

    response = kam_client.post(url, {"revision": action.revision}, headers=HTMX)

    assert response["HX-Retarget"] == "#items-objective"
    assert not Action.objects.filter(pk=action.pk).exists()


def test_deleting_an_item_changed_meanwhile_asks_again(kam_client, cast, plan) -> None:
    target = plan.targets.get(metric="revenue")
    started = target.revision
    services.item_update(item=target, revision=started, values={"unit": "T€"}, user=cast.admin)
    url = reverse("plans:item-delete", args=[plan.pk, "target", target.pk])

    response = kam_client.post(url, {"revision": started}, headers=HTMX)

    html = response.content.decode()
    assert "Someone changed this entry" in html
    assert f'name="revision" value="{started + 1}"' in html
    assert Target.objects.filter(pk=target.pk).exists()


def test_deleting_without_javascript_redirects_to_the_list(kam_client, plan) -> None:
    objective = plan.objectives.get()

    response = kam_client.post(
        reverse("plans:item-delete", args=[plan.pk, "objective", objective.pk]),
        {"revision": objective.revision},
    )

    assert response["Location"] == f"/plans/{plan.pk}/#items-objective"
    assert not Objective.objects.filter(pk=objective.pk).exists()
    assert not plan.actions.exists()


def test_moving_an_item_with_and_without_javascript(kam_client, plan) -> None:
    first, second, third = plan.targets.all()
    url = reverse("plans:item-move", args=[plan.pk, "target", third.pk])

    response = kam_client.post(url, {"direction": "-1"}, headers=HTMX)
    assert response["HX-Retarget"] == "#items-target"
    assert list(plan.targets.all()) == [first, third, second]

    response = kam_client.post(url, {"direction": "-1"})
    assert response["Location"] == f"/plans/{plan.pk}/#item-target-{third.pk}"
    assert list(plan.targets.all()) == [third, first, second]


def test_item_edits_on_a_submitted_plan_answer_with_the_locked_message(
    kam_client, submitted_plan
) -> None:
    target = submitted_plan.targets.first()
    edit = reverse("plans:item-edit", args=[submitted_plan.pk, "target", target.pk])
    move = reverse("plans:item-move", args=[submitted_plan.pk, "target", target.pk])

    saved = kam_client.post(edit, {"revision": target.revision, "metric": "revenue"}, headers=HTMX)
    moved = kam_client.post(move, {"direction": "1"}, follow=True)

    assert "has been submitted and waits for leadership" in saved.content.decode()
    assert "has been submitted and waits for leadership" in moved.content.decode()
    assert submitted_plan.targets.first() == target


# The account's plan tab ---------------------------------------------------------------------


def test_the_plan_tab_lists_the_plans_and_offers_editors_a_new_one(kam_client, cast, plan):
    older = services.plan_create(account=cast.account, start_year=2026, user=cast.kam)

    html = kam_client.get(reverse("accounts:account-plan", args=[cast.account.pk])).content.decode()

    assert plan.get_absolute_url() in html
    assert older.get_absolute_url() in html
    assert html.index(plan.get_absolute_url()) < html.index(older.get_absolute_url())
    next_year = datetime.date.today().year + 1
    assert f'name="start_year" value="{next_year}"' in html
    _check_markup(html)


def test_readers_get_the_tab_without_the_form(client, cast, plan) -> None:
    client.force_login(cast.viewer)

    html = client.get(reverse("accounts:account-plan", args=[cast.account.pk])).content.decode()

    assert plan.get_absolute_url() in html
    assert 'name="start_year"' not in html


def test_starting_a_plan_opens_it_and_a_taken_year_is_named_on_the_form(kam_client, cast, plan):
    url = reverse("plans:plan-create", args=[cast.account.pk])

    response = kam_client.post(url, {"start_year": "2030", "language": "en"})
    created = Plan.objects.get(account=cast.account, start_year=2030)
    assert response["Location"] == created.get_absolute_url()
    assert created.language == "en"
    assert created.status == PlanStatus.DRAFT

    taken = kam_client.post(url, {"start_year": "2027", "language": "de"})
    assert taken.status_code == 200
    assert "already has a plan starting in 2027" in taken.content.decode()
