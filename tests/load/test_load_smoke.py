"""The load test's short version: the four journeys of loadtest/locustfile.py against gunicorn
with two workers on the test database, for a few seconds, without a single failed request.

The full run (100,000 accounts, 50 users, 5 minutes, p95 bar) is ``make loadtest``; this proves
in CI that the journeys, the seeded logins and the report still work together.
"""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from loadtest.report import read

pytestmark = pytest.mark.worker  # a real server process sharing the PostgreSQL test database

PASSWORD = "load-smoke-2026"
JOURNEYS = {"KeyAccountManager", "SalesLeadership", "Finance", "Mentor"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn shares the test database only on PostgreSQL (DATABASE_URL).")
    from conftest import _database_url

    port = free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "MEDIA_ROOT": str(tmp_path)}
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [bin_dir / "gunicorn", "kam.wsgi:application", f"--bind=127.0.0.1:{port}", "--workers=2"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{host}/healthz", timeout=1)  # noqa: S310 (loopback)
            break
        except OSError:
            time.sleep(0.2)
    yield host
    server.terminate()
    server.wait(timeout=20)


def test_the_four_journeys_run_without_a_failure(gunicorn, tmp_path):
    call_command(
        "seed_bulk",
        accounts=120,
        contacts_per_account=3,
        password=PASSWORD,
        stdout=io.StringIO(),
    )
    prefix = tmp_path / "smoke"
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [
            bin_dir / "locust",
            "-f",
            str(settings.BASE_DIR / "loadtest" / "locustfile.py"),
            "--headless",
            "--users=10",
            "--spawn-rate=10",
            "--run-time=12s",
            f"--host={gunicorn}",
            f"--csv={prefix}",
            "--only-summary",
            "--loglevel=WARNING",
        ],
        env={**os.environ, "KAM_LOAD_PASSWORD": PASSWORD},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    report = read(prefix)
    assert report.total.failures == 0, report.failures or run.stderr[-2000:]
    # A journey that raised (a task shadowing a helper once did) did not make its requests.
    assert not report.exceptions, report.exceptions
    pages = {row.name for row in report.rows}
    # Every user logged in, and each role reached the page its journey starts on (a failed
    # login would have ended on the login page, counted as a failure by the journeys).
    logins = next(row for row in report.rows if row.name == "login (POST)")
    assert logins.requests == 10
    assert {"/", "/accounts/?tier=…", "/payments/", "/plans/"} <= pages, pages
    assert report.total.requests > 40
