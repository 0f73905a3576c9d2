"""The plan's workflow through the real services: transitions and who may take them, frozen
versions, the roll-forward, mentor reviews with their overdue flags, and the comparison of
two snapshots."""

import copy
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from accounts.models import TeamRole
from kam.models import Notification
from plans import selectors, services
from plans.models import (
    ActionStatus,
    Metric,
    ObjectiveStatus,
    Plan,
    PlanEvent,
    PlanEventKind,
    PlanStatus,
    PlanVersion,
    Review,
)
from plans.selectors.compare import Segment, snapshot_compare, word_diff
from plans.selectors.sections import snapshot_sections
from tests.factories import TeamMemberFactory, UserFactory


def _status(plan: Plan) -> str:
    return Plan.objects.values_list("status", flat=True).get(pk=plan.pk)


def _code(error: ValidationError) -> str:
    return error.error_list[0].code


def _fields(error: ValidationError) -> set[str]:
    return set(error.error_dict)


# Transitions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["kam", "team_member", "leadership", "admin"])
def test_the_team_and_leadership_submit_a_draft(cast, plan, who) -> None:
    user = getattr(cast, who)

    services.plan_submit(plan=plan, user=user)

    assert _status(plan) == PlanStatus.SUBMITTED
    event = plan.events.first()
    assert (event.kind, event.user) == (PlanEventKind.SUBMITTED, user)
    assert Notification.objects.filter(user=cast.leadership).exists()


@pytest.mark.parametrize("who", ["finance", "viewer", "outsider_kam", "no_role"])
def test_others_may_not_submit(cast, plan, who) -> None:
    with pytest.raises(PermissionDenied):
        services.plan_submit(plan=plan, user=getattr(cast, who))
    assert _status(plan) == PlanStatus.DRAFT


def test_a_plan_without_objectives_cannot_be_submitted(cast) -> None:
    empty = services.plan_create(account=cast.other_account, start_year=2027, user=cast.leadership)

    with pytest.raises(ValidationError) as raised:
        services.plan_submit(plan=empty, user=cast.leadership)

    assert _code(raised.value) == "no_objectives"
    assert _status(empty) == PlanStatus.DRAFT


@pytest.mark.parametrize(
    ("step", "who"),
    [
        ("submit", "kam"),
        ("approve", "leadership"),
    ],
)
def test_a_submitted_plan_cannot_be_submitted_again_and_a_draft_not_approved(
    cast, plan, step, who
) -> None:
    if step == "submit":
        services.plan_submit(plan=plan, user=cast.kam)
        call = services.plan_submit
    else:
        call = services.plan_approve

    with pytest.raises(ValidationError) as raised:
        call(plan=plan, user=getattr(cast, who))

    assert _code(raised.value) == "invalid_transition"


def test_the_team_withdraws_a_submitted_plan(cast, submitted_plan) -> None:
    services.plan_withdraw(plan=submitted_plan, user=cast.team_member)

    assert _status(submitted_plan) == PlanStatus.DRAFT
    assert submitted_plan.events.first().kind == PlanEventKind.WITHDRAWN


def test_a_draft_cannot_be_withdrawn_and_read_only_users_may_not(cast, plan) -> None:
    with pytest.raises(ValidationError) as raised:
        services.plan_withdraw(plan=plan, user=cast.kam)
    assert _code(raised.value) == "invalid_transition"

    services.plan_submit(plan=plan, user=cast.kam)
    for user in (cast.finance, cast.viewer, cast.outsider_kam):
        with pytest.raises(PermissionDenied):
            services.plan_withdraw(plan=plan, user=user)
    assert _status(plan) == PlanStatus.SUBMITTED


def test_leadership_requests_changes_with_a_comment(cast, submitted_plan) -> None:
    services.plan_request_changes(
        plan=submitted_plan, user=cast.leadership, comment="  Add the service targets.  "
    )

    assert _status(submitted_plan) == PlanStatus.DRAFT
    event = submitted_plan.events.first()
    assert (event.kind, event.comment) == (
        PlanEventKind.CHANGES_REQUESTED,
        "Add the service targets.",
    )
    assert Notification.objects.filter(user=cast.kam).exists()
    submitted_plan.refresh_from_db()
    assert selectors.plan_page(plan=submitted_plan).requested_changes == event


def test_requesting_changes_needs_a_comment(cast, submitted_plan) -> None:
    with pytest.raises(ValidationError) as raised:
        services.plan_request_changes(plan=submitted_plan, user=cast.leadership, comment=" \n ")

    assert _fields(raised.value) == {"comment"}
    assert _status(submitted_plan) == PlanStatus.SUBMITTED
    assert not PlanEvent.objects.filter(kind=PlanEventKind.CHANGES_REQUESTED).exists()


@pytest.mark.parametrize("who", ["kam", "team_member", "finance", "viewer", "outsider_kam"])
def test_only_leadership_approves_or_requests_changes(cast, submitted_plan, who) -> None:
    user = getattr(cast, who)

    with pytest.raises(PermissionDenied):
        services.plan_approve(plan=submitted_plan, user=user)
    with pytest.raises(PermissionDenied):
        services.plan_request_changes(plan=submitted_plan, user=user, comment="No.")

    assert _status(submitted_plan) == PlanStatus.SUBMITTED
    assert not PlanVersion.objects.exists()


# Versions ------------------------------------------------------------------------------------


def test_approval_freezes_the_whole_plan_as_version_1(cast, plan, contact) -> None:
    services.item_create(
        plan=plan,
        kind="contact-strategy",
        values={"contact": contact, "target_strength": 4, "owner": cast.kam},
        user=cast.kam,
    )
    services.plan_submit(plan=plan, user=cast.kam)

    version = services.plan_approve(plan=plan, user=cast.admin)

    assert version.number == 1
    assert (version.approved_by, _status(plan)) == (cast.admin, PlanStatus.APPROVED)
    snapshot = version.snapshot
    assert snapshot["texts"]["business_goals"] == "Brandt wants to double its **export** business."
    revenue = next(t for t in snapshot["targets"] if t["metric"] == "revenue")
    assert revenue["values"] == ["1200000.00", "1500000.00", "1800000.00"]
    assert snapshot["objectives"][0]["actions"][0]["contacts"] == ["Petra Brandt"]
    strategy = snapshot["contact_strategies"][0]
    assert (strategy["contact"], strategy["target_strength"]) == ("Petra Brandt", 4)
    assert snapshot["approval"]["number"] == 1
    assert snapshot["approval"]["by"] == str(cast.admin)


def test_editing_after_approval_reopens_the_plan_and_leaves_the_version_as_it_was(
    cast, approved_version
) -> None:
    plan = approved_version.plan
    frozen = copy.deepcopy(approved_version.snapshot)

    plan.refresh_from_db()
    services.plan_section_update(
        plan=plan,
        section="situation",
        revision=plan.revision,
        values={"business_goals": "Everything is different now."},
        user=cast.kam,
    )
    revenue = plan.targets.get(metric="revenue")
    services.item_update(
        item=revenue, revision=revenue.revision, values={"year_1": 9}, user=cast.kam
    )

    approved_version.refresh_from_db()
    assert approved_version.snapshot == frozen
    assert _status(plan) == PlanStatus.DRAFT
    assert plan.events.first().kind == PlanEventKind.REOPENED


def test_each_approval_adds_the_next_version_number(cast, approved_version) -> None:
    plan = Plan.objects.get(pk=approved_version.plan_id)
    services.plan_section_update(
        plan=plan,
        section="situation",
        revision=plan.revision,
        values={"market_trends": "Consolidation."},
        user=cast.kam,
    )
    services.plan_submit(plan=plan, user=cast.kam)

    second = services.plan_approve(plan=plan, user=cast.leadership)

    assert second.number == 2
    assert list(plan.versions.values_list("number", flat=True)) == [2, 1]
    first = PlanVersion.objects.get(plan=plan, number=1)
    assert first.snapshot["texts"]["market_trends"] == ""
    assert second.snapshot["texts"]["market_trends"] == "Consolidation."


# Roll-forward --------------------------------------------------------------------------------


def test_roll_forward_shifts_the_horizon_and_carries_only_what_is_open(cast, plan) -> None:
    objective = plan.objectives.get()
    open_action = objective.actions.get()
    done = services.item_create(
        plan=plan,
        kind="action",
        values={"objective": objective, "title": "Kick-off", "status": ActionStatus.DONE},
        user=cast.kam,
    )
    achieved = services.item_create(
        plan=plan,
        kind="objective",
        values={
            "title": "Reference visit",
            "measure": "Visit held",
            "target_year": 2027,
            "status": ObjectiveStatus.ACHIEVED,
        },
        user=cast.kam,
    )

    new = services.plan_roll_forward(plan=plan, user=cast.kam)

    assert (new.start_year, new.status, new.account) == (2028, PlanStatus.DRAFT, plan.account)
    assert new.business_goals == plan.business_goals
    revenue = new.targets.get(metric="revenue")
    assert [revenue.year_1, revenue.year_2, revenue.year_3] == [
        Decimal("1500000.00"),
        Decimal("1800000.00"),
        None,
    ]
    carried = new.objectives.get()
    assert carried.title == objective.title
    assert carried.target_year == 2028
    assert carried.target == revenue
    assert not new.objectives.filter(title=achieved.title).exists()
    actions = list(carried.actions.all())
    assert [a.title for a in actions] == [open_action.title]
    assert done.title not in [a.title for a in new.actions.all()]
    assert list(actions[0].contacts.all()) == list(open_action.contacts.all())
    assert new.events.first().kind == PlanEventKind.ROLLED_FORWARD
    # The old plan is left as it was.
    assert plan.objectives.count() == 2
    assert plan.start_year == 2027


def test_roll_forward_is_idempotent(cast, plan) -> None:
    first = services.plan_roll_forward(plan=plan, user=cast.kam)
    counts = (Plan.objects.count(), first.objectives.count(), first.actions.count())

    second = services.plan_roll_forward(plan=plan, user=cast.kam)

    assert second.pk == first.pk
    assert (Plan.objects.count(), second.objectives.count(), second.actions.count()) == counts


# Mentor reviews ------------------------------------------------------------------------------


def _created_on(plan: Plan, day: datetime.date) -> None:
    Plan.objects.filter(pk=plan.pk).update(
        created_at=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    )
    plan.refresh_from_db()


def test_a_mentor_records_a_review_and_the_next_falls_due_a_cadence_later(cast, plan) -> None:
    Plan.objects.filter(pk=plan.pk).update(review_interval_months=4)
    plan.refresh_from_db()
    day = timezone.localdate() - datetime.timedelta(days=10)

    review = services.review_record(
        plan=plan, user=cast.team_member, reviewed_on=day, notes="Good plan.", signed_off=True
    )

    assert (review.reviewer, review.signed_off) == (cast.team_member, True)
    status = selectors.plan_page(plan=plan).review
    assert status.last == review
    assert status.due == plan.review_due(day)
    assert status.due.month == (day.month + 3) % 12 + 1
    assert not status.overdue


def test_the_cadence_counts_from_the_plan_start_and_month_ends_are_kept(cast, plan) -> None:
    _created_on(plan, datetime.date(2026, 11, 30))

    assert plan.review_due(None) == datetime.date(2027, 2, 28)
    assert plan.review_due(datetime.date(2027, 1, 31)) == datetime.date(2027, 4, 30)


@pytest.mark.parametrize("who", ["kam", "finance", "viewer", "outsider_kam"])
def test_only_mentors_and_leadership_record_reviews(cast, plan, who) -> None:
    with pytest.raises(PermissionDenied):
        services.review_record(
            plan=plan,
            user=getattr(cast, who),
            reviewed_on=timezone.localdate(),
            notes="Fine.",
            signed_off=False,
        )
    assert not Review.objects.exists()


def test_a_review_needs_notes_and_cannot_lie_in_the_future(cast, plan) -> None:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as raised:
        services.review_record(
            plan=plan, user=cast.leadership, reviewed_on=tomorrow, notes="x", signed_off=False
        )
    assert _fields(raised.value) == {"reviewed_on"}
    with pytest.raises(ValidationError) as raised:
        services.review_record(
            plan=plan,
            user=cast.leadership,
            reviewed_on=timezone.localdate(),
            notes="  ",
            signed_off=False,
        )
    assert _fields(raised.value) == {"notes"}


def test_an_overdue_review_is_flagged_to_the_kam_and_mentors_once_per_due_date(cast, plan) -> None:
    second_mentor = UserFactory(username="mentor2")
    TeamMemberFactory(account=cast.account, user=second_mentor, role=TeamRole.MENTOR)
    _created_on(plan, datetime.date(2026, 1, 15))
    due = datetime.date(2026, 4, 15)
    told = [cast.kam, cast.team_member, second_mentor]

    assert services.reviews_flag_overdue(today=due) == 0  # due today: not yet overdue
    assert services.reviews_flag_overdue(today=due + datetime.timedelta(days=1)) == 1
    assert services.reviews_flag_overdue(today=due + datetime.timedelta(days=2)) == 0

    notified = list(Notification.objects.filter(url=plan.get_absolute_url()))
    assert sorted(n.user_id for n in notified) == sorted(u.pk for u in told)
    plan.refresh_from_db()
    assert plan.overdue_notified_for == due
    page = selectors.plan_page(plan=plan, today=due + datetime.timedelta(days=1))
    assert page.review.overdue

    # A review resets the cadence; when the next one is overdue, they are told again, once.
    services.review_record(
        plan=plan,
        user=cast.team_member,
        reviewed_on=datetime.date(2026, 5, 1),
        notes="Caught up.",
        signed_off=True,
    )
    assert services.reviews_flag_overdue(today=datetime.date(2026, 7, 31)) == 0
    assert services.reviews_flag_overdue(today=datetime.date(2026, 8, 2)) == 1
    assert services.reviews_flag_overdue(today=datetime.date(2026, 8, 3)) == 0
    assert Notification.objects.filter(url=plan.get_absolute_url()).count() == 2 * len(told)


def test_only_the_current_plan_is_flagged(cast, plan) -> None:
    newer = services.plan_roll_forward(plan=plan, user=cast.kam)
    _created_on(plan, datetime.date(2026, 1, 15))
    _created_on(newer, datetime.date(2026, 6, 1))

    assert services.reviews_flag_overdue(today=datetime.date(2026, 6, 2)) == 0
    assert services.reviews_flag_overdue(today=datetime.date(2026, 9, 2)) == 1
    newer.refresh_from_db()
    plan.refresh_from_db()
    assert (plan.overdue_notified_for, newer.overdue_notified_for) == (
        None,
        datetime.date(2026, 9, 1),
    )


# Comparing snapshots -------------------------------------------------------------------------


def _snapshot(**changes) -> dict:
    snapshot = {
        "schema": 1,
        "account": {"tier": "A", "key_account_manager": "Kim Becker"},
        "plan": {"years": [2027, 2028, 2029], "language": "de", "review_interval_months": 3},
        "texts": {"business_goals": "Brandt wants to double its export business."},
        "choices": {"partnership_level": "", "development_strategy": "invest", "phase": ""},
        "portfolio": None,
        "targets": [
            {"metric": "revenue", "name": "", "unit": "", "values": ["1200000.00", None, None]},
            {"metric": "custom", "name": "NPS", "unit": "", "values": ["40", "45", "50"]},
        ],
        "objectives": [
            {
                "title": "Framework contract",
                "measure": "Signed",
                "target_year": 2027,
                "target": "Revenue",
                "status": "open",
                "actions": [
                    {
                        "title": "Workshop",
                        "owner": "Kim Becker",
                        "due_date": "2027-03-31",
                        "status": "open",
                        "phase": "",
                        "contacts": [],
                    }
                ],
            }
        ],
        "risks": [
            {"description": "Price war", "likelihood": "high", "impact": "high", "mitigation": ""},
            {
                "description": "Buyer leaves",
                "likelihood": "low",
                "impact": "high",
                "mitigation": "",
            },
        ],
        "resources": [],
        "contact_strategies": [],
        "reviews": [],
    }
    snapshot.update(changes)
    return snapshot


def _section(comparison, key):
    return next(section for section in comparison.sections if section.key == key)


def test_word_diff_marks_deleted_and_inserted_words() -> None:
    segments = word_diff("double its export business.", "triple its export business!")

    assert segments == [
        Segment("double", "delete"),
        Segment("triple", "insert"),
        Segment(" its export business", ""),
        Segment(".", "delete"),
        Segment("!", "insert"),
    ]
    # A rewritten sentence is one replacement, not a patchwork around the shared spaces.
    assert word_diff("We grow fast.", "Margins first.") == [
        Segment("We grow fast", "delete"),
        Segment("Margins first", "insert"),
        Segment("."),
    ]
    assert word_diff("same", "same") == [Segment("same")]
    assert word_diff("", "") == []


def test_identical_snapshots_have_no_changes() -> None:
    comparison = snapshot_compare(_snapshot(), _snapshot())

    assert comparison.changes == 0
    assert all(row.state == "unchanged" for row in _section(comparison, "risks").rows)


def test_compare_marks_changed_texts_and_choices_in_labels() -> None:
    after = _snapshot(
        texts={"business_goals": "Brandt wants to triple its export business."},
        choices={"partnership_level": "", "development_strategy": "maintain", "phase": "review"},
    )

    with translation.override("en"):
        comparison = snapshot_compare(_snapshot(), after)

    situation = _section(comparison, "situation")
    goals = next(f for f in situation.fields if f.changed)
    assert goals.text
    assert Segment("double", "delete") in goals.before_segments
    assert Segment("triple", "insert") not in goals.before_segments
    assert Segment("triple", "insert") in goals.after_segments
    strategy = {f.label: f for f in _section(comparison, "strategy").fields}
    assert (strategy["Development strategy"].before, strategy["Development strategy"].after) == (
        "Invest and grow",
        "Maintain / manage for profit",
    )
    assert strategy["Phase of the relationship"].after == "Review"
    assert not strategy["Partnership level"].changed
    assert situation.changes == 1
    assert comparison.changes == 3


def test_compare_pairs_rows_and_marks_added_removed_and_changed_ones() -> None:
    before = _snapshot()
    after = _snapshot()
    after["risks"] = [
        {"description": "Price war", "likelihood": "medium", "impact": "high", "mitigation": ""},
        {"description": "New rival", "likelihood": "low", "impact": "low", "mitigation": ""},
    ]
    after["targets"][0]["values"] = ["1300000.00", None, None]
    after["objectives"][0]["actions"].append(
        {"title": "Visit", "owner": "", "due_date": None, "status": "open", "phase": "",
         "contacts": []}
    )  # fmt: skip

    with translation.override("en"):
        comparison = snapshot_compare(before, after)

    risks = _section(comparison, "risks")
    assert [(row.state, row.cells[0].before, row.cells[0].after) for row in risks.rows] == [
        ("changed", "Price war", "Price war"),
        ("removed", "Buyer leaves", ""),
        ("added", "", "New rival"),
    ]
    likelihood = risks.rows[0].cells[1]
    assert (likelihood.before, likelihood.after, likelihood.changed) == ("High", "Medium", True)
    targets = _section(comparison, "targets")
    assert [row.state for row in targets.rows] == ["changed", "unchanged"]
    assert targets.rows[0].cells[2].before == "1,200,000"
    assert targets.rows[0].cells[2].after == "1,300,000"
    assert [c.label for c in targets.columns][2:] == ["2027", "2028", "2029"]
    actions = _section(comparison, "actions")
    assert [row.state for row in actions.rows] == ["unchanged", "added"]
    assert risks.changes == 3
    assert comparison.changes == 5


def test_rows_with_the_same_identity_pair_in_order() -> None:
    row = {"description": "Same", "likelihood": "low", "impact": "low", "mitigation": ""}
    before = _snapshot(risks=[row, {**row, "mitigation": "one"}])
    after = _snapshot(risks=[row, {**row, "mitigation": "two"}, row])

    rows = _section(snapshot_compare(before, after), "risks").rows

    assert [r.state for r in rows] == ["unchanged", "changed", "added"]


def test_snapshot_sections_show_labels_and_localised_values() -> None:
    with translation.override("de"):
        sections = {s.key: s for s in snapshot_sections(_snapshot())}
        revenue = str(Metric.REVENUE.label)

    targets = sections["targets"]
    assert [cell.value for cell in targets.rows[0]] == [revenue, "", "1.200.000", "", ""]
    assert targets.rows[1][0].value == "NPS"
    actions = sections["actions"]
    assert actions.rows[0][3].value == "31.03.2027"
    horizon = sections["account"].fields[0]
    assert horizon.value == "2027–2029"


def test_a_frozen_version_and_the_working_copy_compare(cast, approved_version) -> None:
    plan = Plan.objects.get(pk=approved_version.plan_id)
    services.plan_section_update(
        plan=plan,
        section="situation",
        revision=plan.revision,
        values={"business_goals": "Brandt wants to triple its **export** business."},
        user=cast.kam,
    )
    plan.refresh_from_db()

    comparison = snapshot_compare(
        selectors.plan_snapshot_at(plan, "1"), selectors.plan_snapshot_at(plan, "current")
    )

    goals = _section(comparison, "situation").fields[0]
    assert Segment("double", "delete") in goals.segments
    assert Segment("triple", "insert") in goals.segments
    assert comparison.changes == 1
