"""The annual refresh through a real Celery worker and Redis, on the real database: the
refresh job and the selection run it starts both finish."""

import time

import pytest
from django.utils import timezone

from kam.models import Job
from kpis.models import AnnualRefresh, ClosedYear
from kpis.services import REFRESH_STEPS, annual_refresh_start
from selection.models import RunState
from tests.selection.conftest import released_version, workplaces  # noqa: F401 - fixtures

pytestmark = pytest.mark.worker


def test_the_refresh_runs_through_a_real_worker(celery_worker, cast, released_version):  # noqa: F811
    year = timezone.localdate().year - 1
    refresh = annual_refresh_start(year=year, user=cast.leadership)

    # The refresh's job starts the selection run's job; wait until both have recorded their end.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and celery_worker.poll() is None:
        polled = AnnualRefresh.objects.select_related("job", "selection_run__job").get(
            pk=refresh.pk
        )
        run = polled.selection_run
        if polled.job.is_finished and (
            polled.job.state == Job.State.FAILED
            or (run is not None and run.state != RunState.COMPUTING and run.job.is_finished)
        ):
            break
        time.sleep(0.05)

    refresh.refresh_from_db()
    assert celery_worker.poll() is None, celery_worker.stdout.read()
    assert refresh.job.state == Job.State.SUCCEEDED, refresh.job.error
    assert refresh.job.progress == 100
    assert refresh.finished_at is not None
    assert all(getattr(refresh, step.field) for step in REFRESH_STEPS)
    assert ClosedYear.objects.filter(year=year).count() == 1
    assert refresh.selection_run.state == RunState.READY, refresh.selection_run.job.error
