"""Editing a plan's working copy: sections and items, concurrent saves, the locked and the
approved plan, and the forms that keep choices inside the plan's account."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.models import Contact
from kam.concurrency import EditConflict
from plans import services
from plans.forms import ITEM_FORMS, SECTION_FORMS, prepare_merge, split_diff
from plans.models import (
    Action,
    ContactStrategy,
    Objective,
    Plan,
    PlanEvent,
    PlanEventKind,
    PlanStatus,
    Risk,
    Target,
)


def _section(plan: Plan, user, section: str, revision: int, **values) -> Plan:
    return services.plan_section_update(
        plan=plan, section=section, revision=revision, values=values, user=user
    )


# Sections ------------------------------------------------------------------------------------


def test_a_save_over_another_section_is_no_conflict(cast, plan) -> None:
    started = plan.revision
    _section(plan, cast.leadership, "swot", started, strengths="Service in 24 hours")

    saved = _section(plan, cast.kam, "situation", started, market_trends="Consolidating")

    assert saved.strengths == "Service in 24 hours"
    assert saved.market_trends == "Consolidating"
    assert saved.revision == started + 2


def test_a_save_over_the_same_section_conflicts_and_writes_nothing(cast, plan) -> None:
    started = plan.revision
    _section(plan, cast.leadership, "situation", started, business_goals="Theirs")

    with pytest.raises(EditConflict) as caught:
        _section(plan, cast.kam, "situation", started, business_goals="Mine", competition="X")

    assert [change.name for change in caught.value.changes] == ["business_goals"]
    assert caught.value.changes[0].current == "Theirs"
    plan.refresh_from_db()
    assert (plan.business_goals, plan.competition) == ("Theirs", "")


def test_a_section_saved_at_the_new_revision_overrides_deliberately(cast, plan) -> None:
    started = plan.revision
    theirs = _section(plan, cast.leadership, "situation", started, business_goals="Theirs")

    saved = _section(plan, cast.kam, "situation", theirs.revision, business_goals="Merged")

    assert saved.business_goals == "Merged"


@pytest.mark.parametrize(
    "write",
    [
        lambda plan, user: _section(plan, user, "situation", plan.revision, market_trends="x"),
        lambda plan, user: services.item_create(
            plan=plan, kind="risk", values={"description": "x", "likelihood": "low",
                                             "impact": "low"}, user=user
        ),
        lambda plan, user: services.item_update(
            item=plan.targets.first(), revision=plan.targets.first().revision,
            values={"unit": "t"}, user=user
        ),
        lambda plan, user: services.item_delete(
            item=plan.targets.first(), revision=plan.targets.first().revision, user=user
        ),
        lambda plan, user: services.item_move(item=plan.targets.last(), direction=-1, user=user),
    ],
    ids=["section", "item create", "item update", "item delete", "item move"],
)  # fmt: skip
def test_a_submitted_plan_is_locked(cast, submitted_plan, write) -> None:
    before = list(submitted_plan.targets.values_list("pk", "unit", "position"))

    with pytest.raises(ValidationError) as caught:
        write(submitted_plan, cast.kam)

    assert caught.value.code == "plan_locked"
    assert list(submitted_plan.targets.values_list("pk", "unit", "position")) == before
    assert not submitted_plan.risks.exists()


def test_editing_an_approved_plan_reopens_it_and_keeps_the_version(cast, approved_version) -> None:
    plan = approved_version.plan
    frozen = dict(approved_version.snapshot)

    _section(plan, cast.kam, "strategy", plan.revision, account_strategy="Next round")

    plan.refresh_from_db()
    approved_version.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    assert PlanEvent.objects.filter(plan=plan, kind=PlanEventKind.REOPENED).count() == 1
    assert approved_version.snapshot == frozen


def test_moving_an_item_of_an_approved_plan_reopens_it(cast, approved_version) -> None:
    plan = approved_version.plan

    services.item_move(item=plan.targets.last(), direction=-1, user=cast.kam)

    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


# Items ---------------------------------------------------------------------------------------


def test_an_item_saved_by_someone_else_meanwhile_conflicts(cast, plan) -> None:
    target = plan.targets.get(metric="revenue")
    started = target.revision
    services.item_update(
        item=target, revision=started, values={"unit": "EUR"}, user=cast.leadership
    )

    with pytest.raises(EditConflict) as caught:
        services.item_update(
            item=target, revision=started, values={"year_1": Decimal("1")}, user=cast.kam
        )

    assert [change.name for change in caught.value.changes] == ["unit"]
    target.refresh_from_db()
    assert target.year_1 == Decimal("1200000")


def test_deleting_an_item_someone_changed_meanwhile_conflicts(cast, plan) -> None:
    objective = plan.objectives.get()
    started = objective.revision
    services.item_update(
        item=objective, revision=started, values={"status": "achieved"}, user=cast.leadership
    )

    with pytest.raises(EditConflict):
        services.item_delete(item=objective, revision=started, user=cast.kam)

    assert Objective.objects.filter(pk=objective.pk).exists()


def test_moving_swaps_neighbours_and_keeps_actions_under_their_objective(cast, plan) -> None:
    first, second = plan.targets.all()[:2]

    services.item_move(item=second, direction=-1, user=cast.kam)

    assert list(plan.targets.all()[:2]) == [second, first]
    action = plan.actions.get()
    services.item_move(item=action, direction=1, user=cast.kam)  # already the last: no change
    assert plan.actions.get().objective == plan.objectives.get()


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        ("action", {"title": "x", "owner": "outsider_kam"}, "owner"),
        ("action", {"title": "x", "contacts": ["other_contact"]}, "contacts"),
        ("action", {"title": "x", "objective": "other_objective"}, "objective"),
        ("objective", {"title": "x", "measure": "y", "target_year": 2027,
                       "target": "other_target"}, "target"),
        ("objective", {"title": "x", "measure": "y", "target_year": 2031}, "target_year"),
        ("contact-strategy", {"contact": "other_contact", "target_strength": 3}, "contact"),
        ("contact-strategy", {"contact": "contact", "target_strength": 3,
                              "owner": "outsider_kam"}, "owner"),
    ],
)  # fmt: skip
def test_items_point_only_inside_the_plans_account(cast, plan, contact, kind, values, field):
    other_plan = services.plan_create(account=cast.other_account, start_year=2027, user=cast.admin)
    other_objective = services.item_create(
        plan=other_plan,
        kind="objective",
        values={"title": "Other", "measure": "m", "target_year": 2027},
        user=cast.admin,
    )
    other_contact = Contact.objects.create(account=cast.other_account, last_name="Lorenz")
    things = {
        "outsider_kam": cast.outsider_kam,
        "other_contact": other_contact,
        "other_objective": other_objective,
        "other_target": other_plan.targets.first(),
        "contact": contact,
    }
    resolved = {}
    for name, value in values.items():
        if isinstance(value, list):
            resolved[name] = [things[v] for v in value]
        else:
            resolved[name] = things.get(value, value) if isinstance(value, str) else value
    if kind == "action":
        resolved.setdefault("objective", plan.objectives.get())
    model = services.ITEM_MODELS[kind]
    before = model.objects.count()

    with pytest.raises(ValidationError) as caught:
        services.item_create(plan=plan, kind=kind, values=resolved, user=cast.kam)

    assert field in caught.value.error_dict
    assert model.objects.count() == before


# Forms ---------------------------------------------------------------------------------------


def test_item_forms_offer_only_the_plans_choices(cast, plan, contact) -> None:
    Contact.objects.create(account=cast.account, last_name="Gone", has_left=True)
    Contact.objects.create(account=cast.other_account, last_name="Elsewhere")
    services.plan_create(account=cast.other_account, start_year=2027, user=cast.admin)

    action = ITEM_FORMS["action"](instance=Action(plan=plan), plan=plan)
    objective = ITEM_FORMS["objective"](instance=Objective(plan=plan), plan=plan)
    strategy = ITEM_FORMS["contact-strategy"](instance=ContactStrategy(plan=plan), plan=plan)

    assert set(action.fields["owner"].queryset) == {cast.kam, cast.team_member}
    assert list(action.fields["contacts"].queryset) == [contact]
    assert list(action.fields["objective"].queryset) == list(plan.objectives.all())
    assert list(objective.fields["target"].queryset) == list(plan.targets.all())
    assert [year for year, _ in objective.fields["target_year"].choices] == [2027, 2028, 2029]
    assert list(strategy.fields["contact"].queryset) == [contact]


def test_a_departed_contact_stays_selectable_on_the_action_that_names_them(
    cast, plan, contact
) -> None:
    contact.has_left = True
    contact.save()
    action = plan.actions.get()

    form = ITEM_FORMS["action"](instance=action, plan=plan)

    assert contact in form.fields["contacts"].queryset


def test_the_target_form_names_the_years_and_refuses_a_second_revenue_row(cast, plan) -> None:
    with translation.override("en"):
        form = ITEM_FORMS["target"](
            {"metric": "revenue", "year_1": "1.000,50"}, instance=Target(plan=plan), plan=plan
        )
        label = str(form.fields["year_1"].label)

    assert not form.is_valid()
    assert form.errors.as_data()["metric"][0].code == "duplicate_metric"
    assert label == "Target 2027"
    assert form.cleaned_data["year_1"] == Decimal("1000.50")


def test_an_own_kpi_needs_a_name(cast, plan) -> None:
    form = ITEM_FORMS["target"]({"metric": "custom"}, instance=Target(plan=plan), plan=plan)

    assert not form.is_valid()
    assert form.errors.as_data()["custom_name"][0].code == "custom_name_required"


def test_a_contact_gets_one_strategy(cast, plan, contact) -> None:
    services.item_create(
        plan=plan,
        kind="contact-strategy",
        values={"contact": contact, "target_strength": 4},
        user=cast.kam,
    )
    form = ITEM_FORMS["contact-strategy"](
        {"contact": contact.pk, "target_strength": "5"},
        instance=ContactStrategy(plan=plan),
        plan=plan,
    )

    assert contact not in form.fields["contact"].queryset
    assert not form.is_valid()
    assert form.errors.as_data()["contact"][0].code == "invalid_choice"
    existing = plan.contact_strategies.get()
    editing = ITEM_FORMS["contact-strategy"](instance=existing, plan=plan)
    assert contact in editing.fields["contact"].queryset


def test_the_merge_diff_shows_each_side_with_its_own_changes_marked() -> None:
    saved, mine = split_diff("We grow <b>fast</b> abroad", "We grow slowly abroad")

    assert [(s.text, s.change) for s in saved] == [
        ("We grow ", ""),
        ("<b>fast</b>", "delete"),
        (" abroad", ""),
    ]
    assert [(s.text, s.change) for s in mine] == [
        ("We grow ", ""),
        ("slowly", "insert"),
        (" abroad", ""),
    ]


def test_the_merge_view_escapes_what_it_marks(cast, plan) -> None:
    from django.template.loader import render_to_string

    saved, _mine = split_diff("We grow <b>fast</b> abroad", "We grow slowly abroad")
    html = render_to_string("plans/includes/_diff.html", {"segments": saved})

    assert "&lt;b&gt;fast&lt;/b&gt;" in html
    assert "<b>" not in html


def test_the_merge_keeps_the_users_text_and_takes_over_fields_they_did_not_touch(
    cast, plan
) -> None:
    started = plan.revision
    _section(
        plan, cast.leadership, "situation", started,
        business_goals="Theirs goals", market_trends="Theirs trends",
    )  # fmt: skip
    form = SECTION_FORMS["situation"](
        {
            "revision": str(started),
            "business_goals": "My goals",
            "market_trends": "",  # as the user saw it: unchanged
            "purchasing_strategy": "",
            "competition": "",
        },
        instance=plan,
    )
    assert form.is_valid()
    with pytest.raises(EditConflict) as caught:
        _section(plan, cast.kam, "situation", started, **form.values())

    merged = {m.field.name: m for m in prepare_merge(form, caught.value)}

    assert set(merged) == {"business_goals", "market_trends"}
    assert not merged["business_goals"].taken_over
    assert merged["business_goals"].field.value() == "My goals"
    assert merged["business_goals"].saved == "Theirs goals"
    assert merged["market_trends"].taken_over
    assert merged["market_trends"].field.value() == "Theirs trends"
    assert form.data["revision"] == str(caught.value.current.revision)


def test_a_merged_item_keeps_localised_numbers_and_the_new_revision(cast, plan) -> None:
    target = plan.targets.get(metric="revenue")
    started = target.revision
    services.item_update(
        item=target,
        revision=started,
        values={"year_2": Decimal("2000000.50")},
        user=cast.leadership,
    )
    form = ITEM_FORMS["target"](
        {"revision": str(started), "metric": "revenue", "unit": "", "year_1": "5",
         "year_2": "1.500.000,00", "year_3": "1.800.000,00"},
        instance=target,
        plan=plan,
    )  # fmt: skip
    assert form.is_valid(), form.errors
    with pytest.raises(EditConflict) as caught:
        services.item_update(item=target, revision=started, values=form.values(), user=cast.kam)

    merged = prepare_merge(form, caught.value)

    assert [m.field.name for m in merged] == ["year_2"]
    assert merged[0].taken_over
    # Written as the German form expects it, so saving the merge form keeps the value.
    assert form.data["year_2"] == "2.000.000,50"
    assert form.fields["year_2"].clean(form.data["year_2"]) == Decimal("2000000.50")


def test_risk_severity_orders_the_register(cast, plan) -> None:
    for likelihood, impact in (("low", "low"), ("high", "high"), ("medium", "high")):
        services.item_create(
            plan=plan,
            kind="risk",
            values={"description": f"{likelihood}×{impact}", "likelihood": likelihood,
                    "impact": impact},
            user=cast.kam,
        )  # fmt: skip

    from plans.selectors import plan_page

    assert [r.severity for r in plan_page(plan=plan).risks] == [9, 6, 1]
    assert Risk.objects.filter(plan=plan).count() == 3


def test_a_new_action_lands_under_its_objective_with_its_contacts(cast, plan, contact) -> None:
    objective = plan.objectives.get()

    action = services.item_create(
        plan=plan,
        kind="action",
        values={
            "objective": objective,
            "title": "Visit the plant",
            "owner": cast.team_member,
            "due_date": datetime.date(2027, 6, 1),
            "contacts": [contact],
        },
        user=cast.kam,
    )

    assert list(objective.actions.order_by("position"))[-1] == action
    assert list(action.contacts.all()) == [contact]
