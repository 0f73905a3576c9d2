"""A real worker SIGKILLed in the middle of a selection run, a plan PDF and the annual refresh;
a new worker's start sweep queues the job again and it completes once: one result per
account, one PDF, the refresh's steps applied once. Long (about a minute each): --long."""

from collections import Counter
from pathlib import Path

import pytest

from kam.models import Job, Notification
from kpis.models import AnnualRefresh, ClosedYear
from kpis.services import annual_refresh_start
from plans.models import Plan, PlanEvent
from plans.services import plan_pdf_start
from selection import services as selection_services
from selection.models import RunState, SelectionResult, SelectionRun
from tests.faults.conftest import kill_mid_run, wait_finished
from tests.kpis.test_refresh import YEAR, programme  # noqa: F401 - fixture
from tests.selection.conftest import released_version, workplaces  # noqa: F401 - fixtures

pytestmark = pytest.mark.long


def test_a_selection_run_survives_its_worker_killed(workers, cast, released_version):  # noqa: F811
    run = selection_services.selection_run_start(version=released_version, user=cast.leadership)
    kill_mid_run(workers, run.job)

    workers.start()
    job = wait_finished(run.job)

    run.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 2), job.error
    assert run.state == RunState.READY
    per_account = Counter(
        SelectionResult.objects.filter(run=run).values_list("account_id", flat=True)
    )
    assert set(per_account) == {cast.account.pk, cast.other_account.pk}
    assert set(per_account.values()) == {1}


def test_a_plan_pdf_survives_its_worker_killed(workers, cast) -> None:
    plan = Plan.objects.create(account=cast.account, start_year=YEAR)
    job = plan_pdf_start(plan=plan, user=cast.kam)
    kill_mid_run(workers, job)

    workers.start()
    job = wait_finished(job)

    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 2), job.error
    pdfs = list(Path(workers.media_root).rglob("*.pdf"))
    assert [p.relative_to(workers.media_root).as_posix() for p in pdfs] == [job.result_file.name]


def test_the_annual_refresh_survives_its_worker_killed(
    workers,
    cast,
    programme,  # noqa: F811
    released_version,  # noqa: F811
) -> None:
    refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
    kill_mid_run(workers, refresh.job, past=40)
    refresh.refresh_from_db()
    assert refresh.finished_at is None
    assert refresh.closed_at is not None

    workers.start()
    job = wait_finished(refresh.job, timeout=120)

    refresh = AnnualRefresh.objects.get(pk=refresh.pk)
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 2), job.error
    assert refresh.finished_at is not None
    assert list(ClosedYear.objects.values_list("year", flat=True)) == [YEAR]
    assert SelectionRun.objects.count() == 1
    rolled = PlanEvent.objects.filter(kind="rolled_forward").values_list("plan_id", flat=True)
    assert len(rolled) == len(set(rolled))
    messages = list(Notification.objects.values_list("user_id", "message"))
    assert messages
    assert len(messages) == len(set(messages))
