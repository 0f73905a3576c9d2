"""Selection services on the real database: versions, runs, overrides, approval."""

from decimal import Decimal

import numpy as np
import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import Account, Contact, PotentialYear, Region, Relationship, TeamRole
from kam.models import Job, Notification
from kam.services import job_execute, notification_send_email
from selection import services
from selection.models import (
    AccountAttribute,
    AttributeType,
    KnockoutOutcome,
    Movement,
    RunState,
    SelectionResult,
    SelectionRun,
    TierChange,
    VersionState,
)
from selection.sources import SourceValues
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.selection.conftest import compute


def _result(run, account) -> SelectionResult:
    return SelectionResult.objects.get(run=run, account=account)


def test_a_run_scores_every_account_and_explains_itself(cast, ready_run) -> None:
    gold = _result(ready_run, cast.account)
    excluded = _result(ready_run, cast.other_account)

    # 10 points × 3/4 (revenue potential) + 6 points × 1/4 (2,000 workplaces) = 9.
    assert gold.total == Decimal("9.00")
    assert (gold.proposed_rank, gold.proposed_tier, gold.movement) == (1, "Gold", Movement.NEW)
    assert gold.details == {"knockouts": [2000], "scores": [6000000, 2000]}
    assert excluded.knockout == KnockoutOutcome.FAILED
    assert excluded.failed_knockout.name == "More than 1,000 IT workplaces"
    assert excluded.proposed_rank is None
    assert excluded.movement == Movement.NONE
    assert ready_run.state == RunState.READY
    assert ready_run.account_count == 2
    assert ready_run.summary["movements"] == {"new": 1, "none": 1}


def test_a_missing_value_is_unknown_not_a_pass_or_a_fail(cast, released_version) -> None:
    unknown = AccountFactory(name="Ohne Angaben AG")

    run = compute(services.selection_run_start(version=released_version, user=cast.leadership))

    result = _result(run, unknown)
    assert result.knockout == KnockoutOutcome.UNKNOWN
    assert result.proposed_rank is None  # the set's rule: unknown excludes
    assert result.details["knockouts"] == [None]
    assert run.summary["knockout"]["unknown"] == 1


def test_computing_twice_changes_nothing_and_an_interrupted_run_is_redone(cast, ready_run) -> None:
    assert job_execute(job_id=ready_run.job_id, work=services.selection_run_compute) is None

    # A worker died mid-run: the job is claimed again and the run computed from scratch.
    SelectionRun.objects.filter(pk=ready_run.pk).update(state=RunState.COMPUTING)
    Job.objects.filter(pk=ready_run.job_id).update(
        state=Job.State.RUNNING, finished_at=None, heartbeat_at=None
    )
    job_execute(job_id=ready_run.job_id, work=services.selection_run_compute)

    assert SelectionResult.objects.filter(run=ready_run).count() == 2
    ready_run.refresh_from_db()
    assert ready_run.state == RunState.READY


def test_a_segment_run_covers_only_the_segment(cast, released_version) -> None:
    AccountFactory(region=Region.NORTH)

    run = compute(
        services.selection_run_start(
            version=released_version, user=cast.leadership, segment={"region": Region.NORTH}
        )
    )

    assert run.account_count == 1
    assert run.results.get().account.region == Region.NORTH


def test_only_a_released_version_runs_and_a_released_version_is_frozen(
    cast, released_version
) -> None:
    draft = services.version_draft_start(version=released_version, user=cast.leadership)

    with pytest.raises(ValidationError) as not_released:
        services.selection_run_start(version=draft, user=cast.leadership)
    with pytest.raises(ValidationError) as frozen:
        services.weights_update(
            version=released_version,
            revision=released_version.revision,
            weights={released_version.criteria.first().pk: Decimal(9)},
        )

    assert not_released.value.code == "not_released"
    assert frozen.value.code == "frozen"
    assert released_version.criteria.first().weight == Decimal(3)


def test_a_new_draft_copies_the_version_once(cast, released_version) -> None:
    draft = services.version_draft_start(version=released_version, user=cast.leadership)
    again = services.version_draft_start(version=released_version, user=cast.leadership)

    assert again == draft
    assert (draft.number, draft.state) == (2, VersionState.DRAFT)
    assert [t.name for t in draft.tiers.order_by("rank")] == ["Gold", "Silver", "Bronze"]
    assert draft.knockouts.get().threshold == Decimal(1000)
    copied = draft.criteria.order_by("position").first()
    assert [(b.min_value, b.points) for b in copied.bands.order_by("min_value")] == [
        (Decimal(0), Decimal(0)),
        (Decimal(1_000_000), Decimal(5)),
        (Decimal(5_000_000), Decimal(10)),
    ]


def test_a_stale_revision_is_refused_without_writing(cast, released_version) -> None:
    draft = services.version_draft_start(version=released_version, user=cast.leadership)
    opened_at = draft.revision
    criterion = draft.criteria.first()
    services.weights_update(version=draft, revision=opened_at, weights={criterion.pk: Decimal(5)})

    with pytest.raises(ValidationError) as conflict:
        services.weights_update(
            version=draft, revision=opened_at, weights={criterion.pk: Decimal(7)}
        )

    assert conflict.value.code == "edit_conflict"
    criterion.refresh_from_db()
    assert criterion.weight == Decimal(5)


@pytest.mark.parametrize(
    ("tiers", "code"),
    [
        ([], "no_tiers"),
        (
            [
                {"name": "A", "min_score": "5", "colour": "#000000"},
                {"name": "a", "min_score": "4", "colour": "#000000"},
            ],
            "tier_names",
        ),
        (
            [
                {"name": "A", "min_score": "5", "colour": "#000000"},
                {"name": "B", "min_score": "5", "colour": "#000000"},
            ],
            "tier_order",
        ),
    ],
)
def test_tiers_need_names_and_falling_minimums(cast, released_version, tiers, code) -> None:
    draft = services.version_draft_start(version=released_version, user=cast.leadership)

    with pytest.raises(ValidationError) as error:
        services.tiers_save(version=draft, revision=draft.revision, tiers=tiers)

    assert error.value.code == code
    assert draft.tiers.count() == 3


def test_operators_must_fit_the_value(cast, released_version) -> None:
    draft = services.version_draft_start(version=released_version, user=cast.leadership)

    with pytest.raises(ValidationError) as error:
        services.knockout_save(
            version=draft,
            revision=draft.revision,
            name="Blocker",
            group=2,
            source="potential_revenue",
            operator="no",
            threshold=None,
        )

    assert "operator" in error.value.message_dict


def test_an_override_needs_a_reason_and_wins_on_approval(cast, ready_run) -> None:
    result = _result(ready_run, cast.account)

    with pytest.raises(ValidationError):
        services.tier_override_set(result=result, rank=2, reason="  ", user=cast.leadership)
    services.tier_override_set(
        result=result, rank=2, reason="Rahmenvertrag läuft aus", user=cast.leadership
    )
    services.selection_run_approve(run=ready_run, user=cast.leadership)

    cast.account.refresh_from_db()
    assert (cast.account.tier, cast.account.tier_rank) == ("Silver", 2)
    change = TierChange.objects.get(account=cast.account)
    assert (change.from_tier, change.to_tier, change.reason) == (
        "",
        "Silver",
        "Rahmenvertrag läuft aus",
    )
    assert change.changed_by == cast.leadership


def test_an_override_can_take_an_account_out(cast, ready_run) -> None:
    result = _result(ready_run, cast.account)
    services.tier_override_set(
        result=result, rank=None, reason="Insolvenzverfahren", user=cast.leadership
    )

    services.selection_run_approve(run=ready_run, user=cast.leadership)

    cast.account.refresh_from_db()
    assert (cast.account.tier, cast.account.tier_rank) == ("", None)
    assert not TierChange.objects.filter(account=cast.account).exists()


def test_approval_applies_tiers_once_and_tells_the_key_account_manager(cast, ready_run) -> None:
    changed = services.selection_run_approve(run=ready_run, user=cast.leadership)

    ready_run.refresh_from_db()
    cast.account.refresh_from_db()
    assert changed == 1
    assert (cast.account.tier, ready_run.state, ready_run.is_current) == (
        "Gold",
        RunState.APPROVED,
        True,
    )
    notification = Notification.objects.get(user=cast.kam)
    assert "1" in notification.message
    assert f"?run={ready_run.pk}" in notification.url
    with pytest.raises(ValidationError) as again:
        services.selection_run_approve(run=ready_run, user=cast.leadership)
    assert again.value.code == "not_ready"
    assert TierChange.objects.count() == 1


def test_a_later_approval_replaces_the_current_run_and_refuses_stale_runs(
    cast, approved_run
) -> None:
    stale = compute(
        services.selection_run_start(version=approved_run.version, user=cast.leadership)
    )
    fresh = compute(
        services.selection_run_start(version=approved_run.version, user=cast.leadership)
    )
    services.selection_run_approve(run=fresh, user=cast.leadership)

    with pytest.raises(ValidationError) as error:
        services.selection_run_approve(run=stale, user=cast.leadership)

    assert error.value.code == "stale"
    assert list(SelectionRun.objects.filter(is_current=True)) == [fresh]
    # The second run found the account already Gold: nothing moved, no history row.
    assert _result(fresh, cast.account).movement == Movement.SAME
    assert TierChange.objects.count() == 1


def test_a_run_of_an_older_version_is_approved_only_deliberately(cast, ready_run) -> None:
    draft = services.version_draft_start(version=ready_run.version, user=cast.leadership)
    services.version_release(version=draft, revision=draft.revision, user=cast.leadership)

    with pytest.raises(ValidationError) as error:
        services.selection_run_approve(run=ready_run, user=cast.leadership)
    services.selection_run_approve(
        run=ready_run, user=cast.leadership, older_version_confirmed=True
    )

    assert error.value.code == "older_version"
    ready_run.refresh_from_db()
    assert ready_run.is_current


def test_approval_is_all_or_nothing(cast, released_version, workplaces) -> None:
    accounts = [cast.account, *(AccountFactory() for _ in range(3))]
    for account in accounts[1:]:
        services.attribute_value_set(
            account=account, attribute=workplaces, number=Decimal(3000), user=cast.leadership
        )
        PotentialYear.objects.create(
            account=account, year=2027, expected_revenue=2_000_000, expected_margin=300_000
        )
    run = compute(services.selection_run_start(version=released_version, user=cast.leadership))
    last = max(a.pk for a in accounts)
    # A real failure half-way: the database refuses to update the last account.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_update() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE UPDATE ON accounts_account FOR EACH ROW "
                f"WHEN (NEW.id = {last}) EXECUTE FUNCTION refuse_update()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE UPDATE ON accounts_account "
                f"WHEN NEW.id = {last} BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )

    assert run.summary["tiers"] == {"1": 1, "3": 3, "0": 1}  # the Bronze ones come last
    with pytest.raises(Exception, match="refused"):
        services.selection_run_approve(run=run, user=cast.leadership)

    assert not TierChange.objects.exists()
    assert not Notification.objects.exists()
    run.refresh_from_db()
    assert (run.state, run.is_current) == (RunState.READY, False)
    for account in accounts:
        account.refresh_from_db()
        assert account.tier == ""


def test_a_notification_is_mailed_once(cast, ready_run) -> None:
    cast.kam.email = "kam@example.com"
    cast.kam.save()
    services.selection_run_approve(run=ready_run, user=cast.leadership)
    notification = Notification.objects.get(user=cast.kam)

    notification_send_email(notification=notification)
    notification_send_email(notification=notification)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["kam@example.com"]
    assert notification.url in mail.outbox[0].body


def test_only_the_key_account_manager_is_notified(cast, ready_run) -> None:
    TeamMemberFactory(account=cast.account, role=TeamRole.SALES)

    services.selection_run_approve(run=ready_run, user=cast.leadership)

    assert list(Notification.objects.values_list("user", flat=True)) == [cast.kam.pk]


def test_attribute_values_fit_their_type(cast, workplaces) -> None:
    rating = AccountAttribute.objects.create(
        key="strategic", name="Strategic", data_type=AttributeType.RATING
    )

    with pytest.raises(ValidationError):
        services.attribute_value_set(
            account=cast.account, attribute=rating, number=Decimal(11), user=cast.kam
        )
    value = services.attribute_value_set(
        account=cast.account, attribute=workplaces, number=Decimal(10), flag=True, user=cast.kam
    )
    assert (value.number, value.flag, value.updated_by) == (Decimal(10), None, cast.kam)
    assert (
        services.attribute_value_set(account=cast.account, attribute=workplaces, user=cast.kam)
        is None
    )
    assert not workplaces.values.exists()


@pytest.mark.django_db(transaction=True)
def test_reading_in_parallel_gives_what_reading_in_turn_gives() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Only PostgreSQL reads the buying center through a second connection.")
    owner = UserFactory(username="owner")
    for people, related in ((4, 3), (2, 0), (0, 0)):
        account = AccountFactory()
        for n in range(people):
            contact = Contact.objects.create(account=account, last_name=f"Person {n}")
            if n < related:
                Relationship.objects.create(contact=contact, user=owner, strength=3)
    keys = ["buying_center_size", "relationship_coverage", "share_of_wallet"]

    parallel = SourceValues(Account.objects.all())
    parallel.read(keys)  # outside a transaction: the second connection sees the rows
    with transaction.atomic():
        in_turn = SourceValues(Account.objects.all())
        in_turn.read(keys)

    assert parallel.array("buying_center_size").tolist() == [4, 2, 0]
    assert parallel.array("relationship_coverage")[:2].tolist() == [75, 0]
    for key in keys:
        assert np.array_equal(parallel.array(key), in_turn.array(key), equal_nan=True)
