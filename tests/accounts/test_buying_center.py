"""Buying center: services keep the rules, selectors compute flags, coverage and the tree."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts import selectors, services
from accounts.models import AccountTeamMember, Contact, ContactRole, Relationship, TeamRole
from accounts.selectors import RedFlag
from tests.factories import AccountFactory, UserFactory

TODAY = date(2026, 11, 22)


def _contact(account, name, **values):
    roles = values.pop("roles", [])
    return services.contact_create(
        account=account, values={"last_name": name, **values}, roles=roles
    )


@pytest.fixture
def center(cast):
    """A small buying center: a hostile CEO who decides, a friendly buyer we know well."""
    account = cast.account
    ceo = _contact(account, "Vogt", influence="high", attitude=-4, roles=["decider"])
    buyer = _contact(
        account, "Lang", reports_to=ceo, influence="medium", attitude=5, roles=["buyer"]
    )
    user = _contact(account, "Roth", reports_to=buyer, influence="low", roles=["user"])
    services.relationship_save(
        contact=buyer, user=cast.kam, strength=4, last_touched=TODAY - timedelta(days=10)
    )
    return {"account": account, "ceo": ceo, "buyer": buyer, "user": user}


def test_flags_name_what_is_wrong(cast, center) -> None:
    result = selectors.buying_center(account=center["account"], today=TODAY)

    assert RedFlag.UNCOVERED_DECISION_MAKER in result.flags
    assert RedFlag.HOSTILE_INFLUENCER in result.flags
    assert RedFlag.SINGLE_POINT_OF_CONTACT in result.flags
    assert RedFlag.NO_DECIDER not in result.flags
    assert RedFlag.NO_CHAMPION not in result.flags
    assert RedFlag.STALE_RELATIONSHIPS not in result.flags
    ceo_card = next(card for card in result.cards if card.contact == center["ceo"])
    assert set(ceo_card.flags) == {RedFlag.UNCOVERED_DECISION_MAKER, RedFlag.HOSTILE_INFLUENCER}


def test_a_relationship_with_the_decider_clears_two_flags(cast, center) -> None:
    services.relationship_save(
        contact=center["ceo"], user=cast.team_member, strength=2, last_touched=TODAY
    )

    result = selectors.buying_center(account=center["account"], today=TODAY)

    assert RedFlag.UNCOVERED_DECISION_MAKER not in result.flags
    assert RedFlag.SINGLE_POINT_OF_CONTACT not in result.flags


def test_stale_and_missing_roles_are_flagged(cast, center) -> None:
    Relationship.objects.update(last_touched=TODAY - timedelta(days=91))
    ContactRole.objects.filter(role="decider").delete()
    Contact.objects.filter(attitude=5).update(attitude=3)

    result = selectors.buying_center(account=center["account"], today=TODAY)

    assert {RedFlag.STALE_RELATIONSHIPS, RedFlag.NO_DECIDER, RedFlag.NO_CHAMPION} <= set(
        result.flags
    )


def test_a_key_account_without_kam_is_flagged(cast) -> None:
    account = AccountFactory(tier="Gold", tier_rank=1)

    assert RedFlag.NO_KEY_ACCOUNT_MANAGER in selectors.buying_center(account=account).flags


def test_coverage_counts_roles_and_high_influence_people(cast, center) -> None:
    coverage = selectors.buying_center(account=center["account"], today=TODAY).coverage

    assert (coverage.roles_present, coverage.roles_covered) == (3, 1)
    assert (coverage.high_influence, coverage.high_influence_covered) == (1, 0)
    assert coverage.high_influence_share == 0


def test_org_chart_follows_reports_to_and_hides_who_left(cast, center) -> None:
    services.contact_update(
        contact=center["user"], version=1, values={"has_left": True}, roles=["user"]
    )

    result = selectors.buying_center(account=center["account"], today=TODAY)

    assert [card.contact for card in result.roots] == [center["ceo"]]
    assert [card.contact for card in result.roots[0].reports] == [center["buyer"]]
    assert result.roots[0].reports[0].reports == []
    assert result.departed == [Contact.objects.get(pk=center["user"].pk)]


def test_the_matrix_has_a_row_per_team_member_and_a_cell_per_contact(cast, center) -> None:
    result = selectors.buying_center(account=center["account"], today=TODAY)

    matrix = {member.user: cells for member, cells in result.matrix()}

    assert len(matrix[cast.kam]) == 3
    assert [cell.strength if cell else None for cell in matrix[cast.kam]] == [4, None, None]


def test_buying_center_reads_a_fixed_number_of_queries(
    cast, center, django_assert_max_num_queries
) -> None:
    for index in range(20):
        _contact(center["account"], f"Extra{index}", reports_to=center["ceo"], roles=["user"])

    with django_assert_max_num_queries(6):
        selectors.buying_center(account=center["account"])


def test_reports_to_may_not_form_a_cycle(cast, center) -> None:
    with pytest.raises(ValidationError) as error:
        services.contact_update(
            contact=center["ceo"], version=1, values={"reports_to": center["user"]}, roles=[]
        )

    assert error.value.error_dict["reports_to"][0].code == "reports_to_cycle"


def test_reports_to_must_be_of_the_same_account(cast, center) -> None:
    stranger = _contact(cast.other_account, "Fremd")

    with pytest.raises(ValidationError) as error:
        _contact(center["account"], "Neu", reports_to=stranger)

    assert error.value.error_dict["reports_to"][0].code == "other_account"


def test_a_stale_version_is_a_conflict_and_changes_nothing(cast, center) -> None:
    services.contact_update(
        contact=center["buyer"], version=1, values={"attitude": 2}, roles=["buyer"]
    )

    with pytest.raises(services.EditConflict) as conflict:
        services.contact_update(
            contact=center["buyer"], version=1, values={"attitude": -1}, roles=["buyer"]
        )

    buyer = Contact.objects.get(pk=center["buyer"].pk)
    assert (buyer.attitude, buyer.version) == (2, 2)
    changes = {change.label: (change.theirs, change.current) for change in conflict.value.changes}
    assert changes == {"Einstellung zu uns": ("5", "2")}


def test_account_update_refuses_a_group_cycle(cast) -> None:
    child = AccountFactory(parent=cast.account)

    with pytest.raises(ValidationError) as error:
        services.account_update(account=cast.account, version=1, values={"parent": child})

    assert error.value.error_dict["parent"][0].code == "parent_cycle"


def test_a_stale_relationship_form_is_refused_only_over_a_relationship(cast, center) -> None:
    buyer = center["buyer"]
    seen = selectors.relationships_seen(contact=buyer)
    # After the form opened, someone else changes the KAM's relationship with the buyer.
    services.relationship_save(contact=buyer, user=cast.kam, strength=2, last_touched=None)

    with pytest.raises(ValidationError) as error:
        services.relationship_save(
            contact=buyer, user=cast.kam, strength=5, last_touched=None, seen=seen
        )
    # Someone who holds none yet replaces nothing, however old the form.
    services.relationship_save(
        contact=buyer, user=cast.team_member, strength=3, last_touched=None, seen=seen
    )

    assert error.value.code == "edit_conflict"
    strengths = {r.user: r.strength for r in Relationship.objects.filter(contact=buyer)}
    assert strengths == {cast.kam: 2, cast.team_member: 3}


def test_only_team_members_hold_relationships(cast, center) -> None:
    with pytest.raises(ValidationError) as error:
        services.relationship_save(
            contact=center["ceo"], user=cast.outsider_kam, strength=3, last_touched=None
        )

    assert error.value.error_dict["user"][0].code == "not_on_team"


def test_a_second_key_account_manager_is_refused(cast) -> None:
    with pytest.raises(ValidationError) as error:
        services.team_member_add(
            account=cast.account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER
        )

    assert error.value.error_dict["role"][0].code == "second_kam"


def test_the_database_refuses_a_second_key_account_manager(cast) -> None:
    with pytest.raises(IntegrityError):
        AccountTeamMember.objects.create(
            account=cast.account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER
        )


def test_removing_a_team_member_ends_their_relationships(cast, center) -> None:
    member = AccountTeamMember.objects.get(account=center["account"], user=cast.kam)

    services.team_member_remove(member=member)

    assert not Relationship.objects.filter(user=cast.kam).exists()


def test_deleting_a_contact_moves_their_reports_up(cast, center) -> None:
    services.contact_delete(contact=center["buyer"])

    assert Contact.objects.get(pk=center["user"].pk).reports_to == center["ceo"]


def test_history_records_who_changed_what(cast, center) -> None:
    services.contact_update(
        contact=center["buyer"], version=1, values={"attitude": 1}, roles=["buyer", "user"]
    )

    entries = selectors.account_history(account=center["account"])

    change = next(e for e in entries if e.subject == "Lang" and e.changes)
    assert ("Einstellung zu uns", "5", "1") in change.changes
    assert any(e.kind == "Buying-Center-Rolle" and e.action == "angelegt" for e in entries)
