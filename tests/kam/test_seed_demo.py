from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import Account, AccountTeamMember
from kam.models import User
from kam.roles import Role


def _snapshot() -> tuple:
    return (
        sorted(User.objects.values_list("username", "password", "first_name", "is_staff")),
        sorted(Account.objects.values_list("erp_number", "name", "industry", "region", "country")),
        sorted(
            AccountTeamMember.objects.values_list("account__erp_number", "user__username", "role")
        ),
    )


def test_seed_demo_builds_a_programme_and_a_second_run_changes_nothing(db) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _snapshot()

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _snapshot() == first
    assert Account.objects.count() == 80
    assert Account.objects.values("industry").distinct().count() >= 8
    assert Account.objects.values("region").distinct().count() == 5
    for role in Role:
        assert Group.objects.get(name=role.value).user_set.exists(), role
    key_accounts = Account.objects.filter(team_members__role="key_account_manager").distinct()
    assert key_accounts.count() == 30
