"""Jobs survive a dead worker and a dead broker: the recovery sweep queues a job whose
heartbeat went stale again (or gives it up after JOB_MAX_ATTEMPTS), a late duplicate delivery
runs nothing twice, and a job queued while the broker is down is sent once it is back.
The CI kill test below kills a real worker mid-run; tests/faults/test_kill_long.py kills one
during a selection run, a plan printout and the annual refresh."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone, translation

from kam import services
from kam.celery import app
from kam.models import Job
from tests.factories import JobFactory
from tests.faults.conftest import kill_mid_run, wait_finished

pytestmark = pytest.mark.django_db


def _long_ago() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=1)


def _record_runs(runs: list[int]):
    def work(job: Job, report) -> dict:
        runs.append(job.pk)
        return {"ran": True}

    return work


def test_a_late_duplicate_delivery_of_a_running_job_runs_nothing(cast) -> None:
    job = JobFactory(state=Job.State.RUNNING, attempts=1, heartbeat_at=timezone.now(), claim="a")
    runs: list[int] = []

    assert services.job_execute(job_id=job.pk, work=_record_runs(runs)) is None

    job.refresh_from_db()
    assert (runs, job.state, job.attempts, job.claim) == ([], Job.State.RUNNING, 1, "a")


def test_a_worker_whose_claim_was_taken_over_records_nothing(cast) -> None:
    job = JobFactory(state=Job.State.QUEUED)

    def overtaken(job: Job, report) -> dict:
        # Meanwhile the sweep took the job for dead and another worker claimed it.
        Job.objects.filter(pk=job.pk).update(claim="another-worker")
        return {"ran": True}

    services.job_execute(job_id=job.pk, work=overtaken)

    job.refresh_from_db()
    assert (job.state, job.result, job.claim) == (Job.State.RUNNING, {}, "another-worker")


def test_progress_reports_are_heartbeats(cast) -> None:
    job = JobFactory(state=Job.State.QUEUED)
    beats = []

    def work(job: Job, report) -> dict:
        Job.objects.filter(pk=job.pk).update(heartbeat_at=_long_ago())
        report(50, "half")
        beats.append(Job.objects.get(pk=job.pk).heartbeat_at)
        return {}

    services.job_execute(job_id=job.pk, work=work)

    assert beats[0] > timezone.now() - datetime.timedelta(minutes=1)


def test_the_sweep_runs_a_job_whose_worker_died_once_more(eager_jobs, cast) -> None:
    dead = JobFactory(state=Job.State.RUNNING, attempts=1, heartbeat_at=_long_ago(), claim="x")
    alive = JobFactory(state=Job.State.RUNNING, attempts=1, heartbeat_at=timezone.now())
    done = JobFactory(state=Job.State.SUCCEEDED, heartbeat_at=_long_ago())

    assert services.jobs_recover_stale() == {"requeued": 1, "failed": 0}

    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (Job.State.SUCCEEDED, 2)
    assert dead.result_file.name.endswith(".pdf")
    assert Job.objects.get(pk=alive.pk).state == Job.State.RUNNING
    assert Job.objects.get(pk=done.pk).state == Job.State.SUCCEEDED


def test_a_job_whose_worker_died_too_often_fails_and_can_be_retried(cast, settings) -> None:
    settings.JOB_MAX_ATTEMPTS = 2
    job = JobFactory(
        created_by=cast.admin, state=Job.State.RUNNING, attempts=2, heartbeat_at=_long_ago()
    )

    with translation.override("en"):
        assert services.jobs_recover_stale() == {"requeued": 0, "failed": 1}

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.finished_at is not None
    assert job.error.startswith("The worker running this job stopped 2 times;")
    services.job_retry(job=job)
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (Job.State.QUEUED, 0, "")


@pytest.fixture
def broker_down():
    """Point the Celery app at a closed port (nothing shared is stopped), then back."""
    previous = app.conf.broker_url
    # Celery keeps its connection pool once made; a fresh one is made from the changed URL.
    app._pool = None
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    yield
    app._pool = None
    app.conf.broker_url = previous


def test_a_job_queued_while_the_broker_is_down_is_not_lost(transactional_db, cast, broker_down):
    job = services.job_enqueue(kind=Job.Kind.SYSTEM_CHECK, created_by=cast.admin)

    job.refresh_from_db()
    assert job.state == Job.State.QUEUED
    Job.objects.filter(pk=job.pk).update(heartbeat_at=_long_ago())
    app.conf.task_always_eager = True  # the broker is back (in-process, as locally)
    try:
        assert services.jobs_recover_stale() == {"requeued": 1, "failed": 0}
    finally:
        app.conf.task_always_eager = False
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 1)


def test_a_system_check_survives_its_worker_killed_mid_run(workers, cast) -> None:
    job = services.job_enqueue(kind=Job.Kind.SYSTEM_CHECK, created_by=cast.admin)
    kill_mid_run(workers, job, step_delay=0.5)

    workers.start(
        step_delay=0
    )  # its start sweep finds the job's heartbeat stale and queues it again
    job = wait_finished(job)

    assert (job.state, job.attempts, job.error) == (Job.State.SUCCEEDED, 2, "")
    media = Path(workers.media_root)
    assert [p.name for p in media.rglob("*.pdf")] == [f"system-check-{job.pk}.pdf"]
