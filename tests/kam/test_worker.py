"""A real Celery worker, a real Redis broker and the real database (PostgreSQL in CI)."""

import time

import pytest

from kam import services
from kam.models import Job

pytestmark = pytest.mark.worker


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
