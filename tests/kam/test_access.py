import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Account, AccountTeamMember
from kam import access


@pytest.mark.parametrize(
    ("role", "sees_other_account", "edits_own_account"),
    [
        ("leadership", True, True),
        ("admin", True, True),
        ("finance", True, False),
        ("viewer", True, False),
        ("kam", False, True),
        ("team_member", False, True),
        ("outsider_kam", False, False),
        ("no_role", False, False),
    ],
)
def test_scope_and_edit_rights_follow_role_and_team(
    cast, role, sees_other_account, edits_own_account
) -> None:
    user = cast.by_name(role)
    visible = set(access.scope(user, Account.objects.all()))
    editable = set(access.editable(user, Account.objects.all()))

    assert (cast.other_account in visible) is sees_other_account
    assert (cast.account in editable) is edits_own_account
    assert access.can_edit(user, cast.account) is edits_own_account
    assert editable <= visible


def test_scope_follows_a_path_to_the_account(cast) -> None:
    memberships = AccountTeamMember.objects.all()

    seen = access.scope(cast.outsider_kam, memberships, account_path="account")
    seen_by_kam = access.scope(cast.kam, memberships, account_path="account")

    assert not seen.exists()
    assert {m.account for m in seen_by_kam} == {cast.account}


def test_out_of_scope_is_404_and_read_only_is_403(cast) -> None:
    with pytest.raises(Http404):
        access.get_for_user(cast.outsider_kam, Account.objects.all(), pk=cast.account.pk)
    with pytest.raises(PermissionDenied):
        access.get_editable_for_user(cast.finance, Account.objects.all(), pk=cast.account.pk)
    assert (
        access.get_editable_for_user(cast.kam, Account.objects.all(), pk=cast.account.pk)
        == cast.account
    )


def test_kam_lists_all_accounts_but_opens_only_their_own(client, cast) -> None:
    client.force_login(cast.kam)

    page = client.get("/accounts/").content.decode()

    assert cast.other_account.name in page
    assert f'href="/accounts/{cast.account.pk}/"' in page
    assert f'href="/accounts/{cast.other_account.pk}/"' not in page


def test_superuser_counts_as_administrator(cast) -> None:
    cast.no_role.is_superuser = True
    cast.no_role.save()
    cast.no_role.__dict__.pop("_roles", None)

    assert access.edits_all_accounts(cast.no_role)
