"""Real Celery workers that a test starts and kills (SIGKILL) to prove no job is lost."""

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connection

from conftest import _database_url, celery_worker_command
from kam.models import Job

# The worker sleeps this long at each progress report, so a test can kill it mid-run; a job
# whose heartbeat is older than STALE_SECONDS is queued again by the next worker's start sweep.
STEP_DELAY = 1.5
STALE_SECONDS = 2.0


class Workers:
    """Starts Celery worker processes on the test database; each can be killed like a crash."""

    def __init__(self, media_root: str) -> None:
        self.media_root = media_root
        self.started: list[subprocess.Popen] = []

    def start(self, *, step_delay: float = STEP_DELAY) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "MEDIA_ROOT": self.media_root,
            "JOB_STEP_DELAY": str(step_delay),
            "JOB_STALE_SECONDS": str(STALE_SECONDS),
            "JOB_HEARTBEAT_SECONDS": "0.5",
        }
        worker = subprocess.Popen(
            celery_worker_command(f"faults-{len(self.started)}@%h", "--without-heartbeat"),
            env=env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.started.append(worker)
        return worker

    @staticmethod
    def kill(worker: subprocess.Popen) -> None:
        """SIGKILL: the worker gets no chance to finish, acknowledge or clean up."""
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)

    def stop_all(self) -> None:
        # The test has seen its job finish, so the workers are idle: no need for a warm shutdown.
        for worker in self.started:
            if worker.poll() is None:
                self.kill(worker)


@pytest.fixture
def workers(transactional_db, tmp_path) -> Iterator[Workers]:
    if not settings.CELERY_BROKER_URL:
        pytest.skip("Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to test real workers.")
    if connection.vendor != "postgresql":
        pytest.skip("Workers share the test database only on PostgreSQL (DATABASE_URL).")
    pool = Workers(str(tmp_path / "media"))
    yield pool
    pool.stop_all()


def wait_for(condition: Callable[[], bool], *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"Timed out waiting for {what or condition}")


def kill_mid_run(
    workers: Workers, job: Job, *, past: int = 0, step_delay: float = STEP_DELAY
) -> None:
    """Start a worker, let it run ``job`` until its progress passes ``past`` %, SIGKILL it,
    and wait until the job's heartbeat has gone stale."""
    worker = workers.start(step_delay=step_delay)
    wait_for(
        lambda: Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, progress__gt=past).exists(),
        what=f"job {job.pk} to run past {past} %",
    )
    workers.kill(worker)
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING, "the worker finished before it was killed"
    time.sleep(STALE_SECONDS + 0.5)


def wait_finished(job: Job, *, timeout: float = 90) -> Job:
    wait_for(
        lambda: Job.objects.filter(pk=job.pk, state__in=Job.FINISHED_STATES).exists(),
        timeout=timeout,
        what=f"job {job.pk} to finish",
    )
    job.refresh_from_db()
    return job
