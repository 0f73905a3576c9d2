"""The annual refresh: each step, idempotence (run twice, killed between steps and started
again: nothing twice), the drop-folder import, the scheduled start and who may start it."""

import os
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from accounts.models import AccountTeamMember, TeamRole
from kam.models import Job, Notification
from kam.services import job_execute
from kpis.models import (
    AccountKpi,
    AnnualFigure,
    AnnualRefresh,
    ClosedYear,
    ImportBatch,
    ImportSource,
    ImportState,
)
from kpis.services import (
    REFRESH_STEPS,
    annual_refresh_complete,
    annual_refresh_import,
    annual_refresh_job,
    annual_refresh_start,
    annual_refresh_start_scheduled,
)
from plans.models import Plan, PlanEvent, PlanStatus, Target
from selection.models import SelectionRun
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.selection.conftest import released_version, workplaces  # noqa: F401 - fixtures

YEAR = 2025
D = Decimal
CSV = b"Kundennummer;Jahr;Umsatz;Absatz\r\n{erp};2025;1.234.567,50;1.200\r\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Imported files are stored under the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def programme(cast):
    """``cast.account`` is a key account (KAM ``cast.kam``) with a plan 2025–2027 and figures
    of 2025 below its revenue target; a second key account has a plan already in the new
    horizon, a third an old plan, a fourth none; a non-key account has a plan starting 2025."""
    account = cast.account
    account.tier, account.tier_rank = "Gold", 1
    account.save(update_fields=["tier", "tier_rank"])
    plan = Plan.objects.create(account=account, start_year=YEAR)
    Target.objects.create(
        plan=plan, metric="revenue", year_1=D("1000000"), year_2=D("1100000"), year_3=D("1200000")
    )
    AnnualFigure.objects.create(account=account, year=YEAR, measure="revenue", actual=D("800000"))
    current = AccountFactory(tier="Silver", tier_rank=2)
    Plan.objects.create(account=current, start_year=YEAR + 1)
    old = AccountFactory(tier="Bronze", tier_rank=3)
    Plan.objects.create(account=old, start_year=YEAR - 2)
    without = AccountFactory(tier="Bronze", tier_rank=3)
    other_kam = UserFactory(username="kam2", roles=[])
    for key_account in (current, old, without):
        TeamMemberFactory(account=key_account, user=other_kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    Plan.objects.create(account=cast.other_account, start_year=YEAR)  # not a key account
    return {"plan": plan, "current": current, "old": old, "without": without, "kam2": other_kam}


def _run(refresh: AnnualRefresh) -> Job:
    job = job_execute(job_id=refresh.job_id, work=annual_refresh_job)
    refresh.refresh_from_db()
    return job


def _counts() -> dict[str, object]:
    return {
        "closed": list(ClosedYear.objects.values_list("year", flat=True)),
        "runs": SelectionRun.objects.count(),
        "plans": sorted(Plan.objects.values_list("account_id", "start_year")),
        "events": PlanEvent.objects.filter(kind="rolled_forward").count(),
        "notifications": sorted(Notification.objects.values_list("user_id", "message")),
        "batches": ImportBatch.objects.count(),
        "figures": sorted(AnnualFigure.objects.values_list("account_id", "measure", "actual")),
    }


@pytest.mark.django_db
def test_the_refresh_does_every_step_and_reports_it(cast, programme, released_version):  # noqa: F811
    refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
    assert refresh.job.kind == Job.Kind.ANNUAL_REFRESH
    assert refresh.job.params == {"refresh": refresh.pk, "year": YEAR}

    job = _run(refresh)

    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result == refresh.report
    for step in REFRESH_STEPS:
        assert getattr(refresh, step.field) is not None, step.key
    assert refresh.finished_at is not None
    steps = refresh.report["steps"]
    assert steps["import"] == {"state": "skipped", "reason": "no_folder"}
    # (a) The year is closed.
    assert ClosedYear.objects.get().year == YEAR
    assert steps["close"] == {"already_closed": False}
    # (c) The KPIs are recomputed: revenue 800,000 against the plan's 1,000,000.
    kpi = AccountKpi.objects.get(account=cast.account, year=YEAR)
    assert (kpi.revenue, kpi.revenue_target) == (D("800000"), D("1000000"))
    assert steps["recompute"]["off_target"] == 1
    # (d) A draft selection run of the released version, never approved by the refresh.
    run = SelectionRun.objects.get()
    assert refresh.selection_run == run
    assert run.version == released_version
    assert run.state in ("computing", "ready")
    assert run.approved_at is None
    assert steps["selection"]["run"] == run.pk
    # (e) Only the key account's plan of the closed year's horizon rolled forward, as a draft.
    rolled = Plan.objects.get(account=cast.account, start_year=YEAR + 1)
    assert rolled.status == PlanStatus.DRAFT
    assert rolled.targets.get(metric="revenue").year_1 == D("1100000")
    assert not Plan.objects.filter(account=cast.other_account, start_year=YEAR + 1).exists()
    assert not Plan.objects.filter(account=programme["old"], start_year=YEAR - 1).exists()
    assert Plan.objects.filter(account=programme["current"]).count() == 1
    assert steps["roll_forward"] == {
        "horizon": [YEAR + 1, YEAR + 3],
        "rolled": 1,
        "up_to_date": 1,
        "too_old": 1,
        "without_plan": 1,
    }
    # (f) Each key account manager once, leadership about the run to review.
    kam_note = Notification.objects.get(user=cast.kam)
    assert "2026" in kam_note.message
    assert kam_note.url == "/"
    assert Notification.objects.filter(user=programme["kam2"]).count() == 1
    leader_note = Notification.objects.get(user=cast.leadership)
    assert leader_note.url == f"/selection/runs/{run.pk}/"
    assert steps["notify"] == {"managers": 2, "leadership": 1}


@pytest.mark.django_db
def test_a_managers_message_is_in_their_language_and_names_what_needs_attention(
    cast,
    programme,
    released_version,  # noqa: F811
):
    cast.kam.language = "en"
    cast.kam.save(update_fields=["language"])
    _run(annual_refresh_start(year=YEAR, user=cast.leadership))

    message = Notification.objects.get(user=cast.kam).message
    assert message == (
        "The annual refresh closed the year 2025. 1 of your plans was rolled forward to "
        "2026–2028 as a draft. 1 of your accounts missed its revenue target. Leadership is "
        "reviewing the key-account selection; tiers may change."
    )


@pytest.mark.django_db
def test_running_the_refresh_twice_duplicates_nothing(cast, programme, released_version):  # noqa: F811
    refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
    _run(refresh)
    first = _counts()

    annual_refresh_complete(refresh=refresh)
    for step in REFRESH_STEPS:
        step.run(refresh=refresh)
    assert job_execute(job_id=refresh.job_id, work=annual_refresh_job) is None  # job is done

    assert _counts() == first
    with pytest.raises(ValidationError) as caught:
        annual_refresh_start(year=YEAR, user=cast.leadership)
    assert caught.value.error_dict["year"][0].code == "finished"


@pytest.mark.django_db
@pytest.mark.parametrize("done", range(1, len(REFRESH_STEPS)))
def test_killed_after_some_steps_and_started_again_it_completes_once(
    cast,
    programme,
    released_version,  # noqa: F811
    done,
):
    refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
    # The worker died after ``done`` steps: they are recorded, the rest is not.
    for step in REFRESH_STEPS[:done]:
        step.run(refresh=refresh)
    refresh.refresh_from_db()
    assert refresh.finished_at is None
    # Its heartbeat stopped with it (kam.services.job_execute claims only a stale job again).
    Job.objects.filter(pk=refresh.job_id).update(state=Job.State.RUNNING, heartbeat_at=None)

    job = _run(refresh)  # the message is delivered again (acks_late): the job is claimed again

    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 1
    assert refresh.finished_at is not None
    assert ClosedYear.objects.count() == 1
    assert SelectionRun.objects.count() == 1
    assert Plan.objects.filter(account=cast.account, start_year=YEAR + 1).count() == 1
    assert PlanEvent.objects.filter(kind="rolled_forward").count() == 1
    assert Notification.objects.filter(user=cast.kam).count() == 1
    assert Notification.objects.filter(user=cast.leadership).count() == 1
    assert refresh.report["steps"]["roll_forward"]["rolled"] == 1


@pytest.mark.django_db
def test_a_refresh_that_failed_is_resumed_by_a_new_job(cast, programme, tmp_path):
    missing = tmp_path / "drop"
    with override_settings(KPI_DROP_FOLDER=str(missing)):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        failed = _run(refresh)
        assert failed.state == Job.State.FAILED
        assert failed.error.startswith("FileNotFoundError")
        assert str(missing) in failed.error
        assert refresh.imported_at is None
        assert refresh.finished_at is None

        missing.mkdir()
        (missing / "extract.csv").write_bytes(
            CSV.replace(b"{erp}", cast.account.erp_number.encode())
        )
        resumed = annual_refresh_start(year=YEAR, user=cast.leadership)
        assert resumed.pk == refresh.pk
        assert resumed.job_id != failed.pk
        _run(resumed)

    refresh.refresh_from_db()
    assert refresh.finished_at is not None
    assert refresh.report["steps"]["import"]["state"] == "imported"
    assert refresh.report["steps"]["selection"] == {
        "state": "skipped",
        "reason": "no_released_version",
    }
    assert AnnualFigure.objects.get(account=cast.account, measure="revenue").actual == D(
        "1234567.50"
    )
    assert ClosedYear.objects.count() == 1


@pytest.mark.django_db
def test_a_running_refresh_is_not_started_twice(cast, programme):
    annual_refresh_start(year=YEAR, user=cast.leadership)
    with pytest.raises(ValidationError) as caught:
        annual_refresh_start(year=YEAR, user=cast.leadership)
    assert caught.value.error_dict["year"][0].code == "running"
    assert AnnualRefresh.objects.count() == 1
    assert Job.objects.filter(kind=Job.Kind.ANNUAL_REFRESH).count() == 1


@pytest.mark.django_db
def test_only_leadership_starts_a_refresh_of_a_past_year(cast):
    for user in (cast.kam, cast.finance, cast.viewer, cast.no_role):
        with pytest.raises(PermissionDenied):
            annual_refresh_start(year=YEAR, user=user)
    this_year = timezone.localdate().year
    for year in (this_year, this_year + 1, 1999):
        with pytest.raises(ValidationError) as caught:
            annual_refresh_start(year=year, user=cast.leadership)
        assert caught.value.error_dict["year"][0].code == "year"
    assert annual_refresh_start(year=this_year - 1, user=cast.admin).started_by == cast.admin
    assert not AnnualRefresh.objects.exclude(year=this_year - 1).exists()


@pytest.mark.django_db
def test_the_scheduled_start_refreshes_last_year_once(cast):
    refresh = annual_refresh_start_scheduled()

    assert refresh.year == timezone.localdate().year - 1
    assert refresh.started_by is None
    assert refresh.job.created_by is None
    assert annual_refresh_start_scheduled() is None
    assert AnnualRefresh.objects.count() == 1


@pytest.mark.django_db
def test_the_scheduled_refresh_runs_as_the_system(cast, programme):
    Plan.objects.filter(account=cast.account).update(start_year=timezone.localdate().year - 1)
    refresh = annual_refresh_start_scheduled()
    job = _run(refresh)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert ClosedYear.objects.get().closed_by is None
    assert PlanEvent.objects.get(kind="rolled_forward").user is None


def _drop(folder, name, content, age=0):
    path = folder / name
    path.write_bytes(content)
    stamp = timezone.now().timestamp() - age
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.django_db
def test_the_drop_folder_imports_the_newest_file_with_the_sources_saved_mapping(
    cast, programme, tmp_path
):
    ImportSource.objects.create(
        name="SAP Jahresextrakt",
        mapping={"account": "KD-INTERN", "revenue.actual": "NETTO", "year": "GJ"},
    )
    erp = cast.account.erp_number
    _drop(tmp_path, "old.csv", f"KD-INTERN;GJ;NETTO\r\n{erp};2025;1,00\r\n".encode(), age=3600)
    _drop(tmp_path, "new.csv", f"KD-INTERN;GJ;NETTO\r\n{erp};2025;2.500,00\r\n".encode())
    _drop(tmp_path, "notes.txt", b"not an extract")

    with override_settings(KPI_DROP_FOLDER=str(tmp_path), KPI_DROP_SOURCE="SAP Jahresextrakt"):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        _run(refresh)

    step = refresh.report["steps"]["import"]
    assert step["state"] == "imported"
    assert step["file"] == "new.csv"
    assert (step["created"], step["updated"], step["errors"]) == (0, 1, 0)
    batch = ImportBatch.objects.get()
    assert refresh.import_batch == batch
    assert batch.state == ImportState.IMPORTED
    assert batch.source.name == "SAP Jahresextrakt"
    assert batch.year == YEAR
    figure = AnnualFigure.objects.get(account=cast.account, measure="revenue")
    assert figure.actual == D("2500.00")
    assert figure.import_batch == batch


@pytest.mark.django_db
def test_a_file_imported_before_is_skipped(cast, programme, tmp_path):
    content = CSV.replace(b"{erp}", cast.account.erp_number.encode()).replace(b"2025", b"2024")
    _drop(tmp_path, "extract.csv", content)
    with override_settings(KPI_DROP_FOLDER=str(tmp_path)):
        first = annual_refresh_start(year=YEAR - 1, user=cast.leadership)
        _run(first)
        assert first.report["steps"]["import"]["state"] == "imported"
        second = annual_refresh_start(year=YEAR - 2, user=cast.leadership)
        _run(second)

    step = second.report["steps"]["import"]
    assert (step["state"], step["reason"]) == ("skipped", "already_imported")
    assert step["batch"] == first.import_batch_id
    assert ImportBatch.objects.count() == 1


@pytest.mark.django_db
def test_a_file_with_errors_is_not_imported_and_the_refresh_goes_on(cast, programme, tmp_path):
    content = CSV.replace(b"{erp}", b"UNKNOWN-4711")
    _drop(tmp_path, "extract.csv", content)
    with override_settings(KPI_DROP_FOLDER=str(tmp_path)):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        job = _run(refresh)

    assert job.state == Job.State.SUCCEEDED
    step = refresh.report["steps"]["import"]
    assert (step["state"], step["reason"], step["errors"]) == ("not_imported", "row_errors", 1)
    batch = ImportBatch.objects.get(pk=step["batch"])
    assert batch.state == ImportState.PREVIEWED
    assert not AnnualFigure.objects.filter(import_batch=batch).exists()
    assert refresh.finished_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content", [b"", b"\x00\x01\x02binary\xff" * 20, b"Kundennummer;Umsatz\r\n"]
)
def test_an_unreadable_file_is_not_imported(cast, programme, tmp_path, content):
    _drop(tmp_path, "extract.xlsx", content)
    with override_settings(KPI_DROP_FOLDER=str(tmp_path)):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        _run(refresh)

    step = refresh.report["steps"]["import"]
    assert (step["state"], step["reason"], step["file"]) == (
        "not_imported",
        "unreadable",
        "extract.xlsx",
    )
    assert step["detail"]
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_an_empty_drop_folder_is_reported(cast, programme, tmp_path):
    with override_settings(KPI_DROP_FOLDER=str(tmp_path)):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        _run(refresh)
    assert refresh.report["steps"]["import"]["reason"] == "no_file"


@pytest.mark.django_db
def test_an_upload_left_by_a_killed_run_is_applied_not_uploaded_again(cast, programme, tmp_path):
    from kpis.services import import_batch_upload

    content = CSV.replace(b"{erp}", cast.account.erp_number.encode())
    _drop(tmp_path, "extract.csv", content)
    # The run was killed right after storing the upload's preview.
    import_batch_upload(
        user=None,
        source_name="ERP",
        year=YEAR,
        number_format="auto",
        file_name="extract.csv",
        data=content,
    )
    with override_settings(KPI_DROP_FOLDER=str(tmp_path)):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        _run(refresh)

    assert ImportBatch.objects.get().state == ImportState.IMPORTED
    assert refresh.report["steps"]["import"]["state"] == "imported"


@pytest.mark.django_db
def test_only_managers_of_key_accounts_are_notified(cast, programme):
    AccountTeamMember.objects.filter(account=cast.account, user=cast.kam).delete()
    refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
    _run(refresh)
    assert not Notification.objects.filter(user=cast.kam).exists()
    assert not Notification.objects.filter(user=cast.leadership).exists()  # no run to review
    assert refresh.report["steps"]["notify"] == {"managers": 1, "leadership": 0}


@pytest.mark.django_db
def test_killed_after_the_import_wrote_but_before_the_step_was_recorded(cast, programme, tmp_path):
    content = CSV.replace(b"{erp}", cast.account.erp_number.encode())
    _drop(tmp_path, "extract.csv", content)
    with override_settings(KPI_DROP_FOLDER=str(tmp_path)):
        refresh = annual_refresh_start(year=YEAR, user=cast.leadership)
        annual_refresh_import(refresh=refresh)
        # The import's transaction committed; the one recording the step did not.
        AnnualRefresh.objects.filter(pk=refresh.pk).update(imported_at=None, report={})
        refresh.refresh_from_db()

        _run(refresh)

    step = refresh.report["steps"]["import"]
    assert (step["state"], step["updated"]) == ("imported", 1)
    assert ImportBatch.objects.count() == 1
    assert AnnualFigure.objects.filter(account=cast.account, measure="revenue").count() == 1
