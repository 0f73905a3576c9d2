"""The cast every test can call on: one user per role, an account, and its team."""

from dataclasses import dataclass

import pytest

from accounts.models import Account, TeamRole
from kam.models import User
from kam.roles import Role
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory


@dataclass
class Cast:
    leadership: User
    kam: User
    team_member: User
    outsider_kam: User
    finance: User
    viewer: User
    admin: User
    no_role: User
    account: Account
    other_account: Account

    def by_name(self, name: str) -> User | None:
        return None if name == "anonymous" else getattr(self, name)


@pytest.fixture
def cast(db) -> Cast:
    """Users of every role; ``kam`` owns ``account`` and ``team_member`` is on its team."""
    account = AccountFactory(name="Brandt Maschinenbau GmbH")
    other_account = AccountFactory(name="Lorenz Logistik SE")
    kam = UserFactory(username="kam", roles=[Role.KEY_ACCOUNT_MANAGER])
    team_member = UserFactory(username="team", roles=[Role.KEY_ACCOUNT_MANAGER])
    TeamMemberFactory(account=account, user=kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    TeamMemberFactory(account=account, user=team_member, role=TeamRole.MENTOR)
    return Cast(
        leadership=UserFactory(username="leadership", roles=[Role.SALES_LEADERSHIP]),
        kam=kam,
        team_member=team_member,
        outsider_kam=UserFactory(username="outsider", roles=[Role.KEY_ACCOUNT_MANAGER]),
        finance=UserFactory(username="finance", roles=[Role.FINANCE]),
        viewer=UserFactory(username="viewer", roles=[Role.VIEWER]),
        admin=UserFactory(username="admin", roles=[Role.ADMINISTRATOR], is_staff=True),
        no_role=UserFactory(username="norole"),
        account=account,
        other_account=other_account,
    )


@pytest.fixture
def eager_jobs(transactional_db):
    """Run enqueued Celery tasks in-process as the transaction commits, as the local default
    does; ``tests/kam/test_worker.py`` proves the same path through a real worker."""
    from kam.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: the account list caches its choices and counts,
    and a rolled-back test's rows must not be counted by the next one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
