"""A selection run through a real Celery worker and Redis, on the real database."""

import time

import pytest

from selection import services
from selection.models import RunState, SelectionResult, SelectionRun

pytestmark = pytest.mark.worker


def test_a_run_is_computed_by_a_real_worker(celery_worker, cast, released_version) -> None:
    run = services.selection_run_start(version=released_version, user=cast.leadership)

    # The run turns ready inside the job's work; the job records its end a moment later.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and celery_worker.poll() is None:
        polled = SelectionRun.objects.select_related("job").get(pk=run.pk)
        if polled.state != RunState.COMPUTING and polled.job.is_finished:
            break
        time.sleep(0.05)

    run.refresh_from_db()
    assert celery_worker.poll() is None, celery_worker.stdout.read()
    assert run.state == RunState.READY, run.job.error
    assert run.job.progress == 100
    assert SelectionResult.objects.get(run=run, account=cast.account).proposed_tier == "Gold"
