"""The cast every test can call on: one user per role, an account, and its team; a real
Celery worker for the tests marked ``worker``."""

import os
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Account, TeamRole
from kam.models import User
from kam.roles import Role
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory


def pytest_addoption(parser):
    parser.addoption(
        "--long",
        action="store_true",
        default=os.environ.get("KAM_LONG_TESTS") == "1",
        help="Also run the long fault and load runs (marked long); CI runs their short versions.",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="a long run: pass --long (or set KAM_LONG_TESTS=1)")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


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


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo programme (seed_demo), seeded once for the test module and rolled back after
    it; tests that read it also request ``db``."""
    from django.core.management import call_command
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


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
def _default_language():
    """Each test starts in the default language: a request by a user with a saved language
    activates it for the thread (kam.middleware), which would otherwise leak into the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: the account list caches its choices and counts,
    and a rolled-back test's rows must not be counted by the next one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = (
        f"{credentials}@{db['HOST'] or '127.0.0.1'}" if credentials else db["HOST"] or "127.0.0.1"
    )
    return f"postgres://{host}:{db['PORT'] or 5432}/{db['NAME']}"


def celery_worker_command(hostname: str, *extra: str) -> list[str]:
    """A Celery worker of this interpreter on this test process's own queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "kam",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        *extra,
        f"--hostname={hostname}",
        f"--queues={settings.CELERY_TASK_DEFAULT_QUEUE}",
    ]


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    if not settings.CELERY_BROKER_URL:
        pytest.skip("Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to test a real worker.")
    if connection.vendor != "postgresql":
        pytest.skip("The worker shares the test database only on PostgreSQL (DATABASE_URL).")
    env = {**os.environ, "DATABASE_URL": _database_url(), "MEDIA_ROOT": str(tmp_path)}
    worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        celery_worker_command("test@%h"),
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
