"""A real Celery worker, a real Redis broker and the real database (PostgreSQL in CI)."""

import os
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from kam import services
from kam.models import Job

pytestmark = pytest.mark.worker


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = (
        f"{credentials}@{db['HOST'] or '127.0.0.1'}" if credentials else db["HOST"] or "127.0.0.1"
    )
    return f"postgres://{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    if not settings.CELERY_BROKER_URL:
        pytest.skip("Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to test a real worker.")
    if connection.vendor != "postgresql":
        pytest.skip("The worker shares the test database only on PostgreSQL (DATABASE_URL).")
    env = {**os.environ, "DATABASE_URL": _database_url(), "MEDIA_ROOT": str(tmp_path)}
    worker = subprocess.Popen(
        [
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
            "--hostname=test@%h",
        ],
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


def test_a_job_goes_queued_running_succeeded_through_a_real_worker(celery_worker, cast) -> None:
    job = services.job_enqueue(kind=Job.Kind.SYSTEM_CHECK, created_by=cast.admin)
    seen = [Job.objects.get(pk=job.pk).state]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = Job.objects.get(pk=job.pk).state
        if state != seen[-1]:
            seen.append(state)
        if state in Job.FINISHED_STATES or celery_worker.poll() is not None:
            break
        time.sleep(0.02)

    job.refresh_from_db()
    assert celery_worker.poll() is None, celery_worker.stdout.read()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert seen[0] == Job.State.QUEUED
    assert seen[-1] == Job.State.SUCCEEDED
    assert job.started_at is not None
    assert job.attempts == 1
    assert job.result["accounts"] == 2
    assert job.result_file.name.endswith(".pdf")
