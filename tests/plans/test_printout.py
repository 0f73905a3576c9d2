"""A plan's PDF job and the annual printout: selection, fan-out, assembly, idempotency,
the views' access matrix, the download's access, and a run through a real worker."""

import io
import time
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import Account, TeamRole
from kam.models import Job
from plans import services
from plans.models import PlanVersion
from plans.selectors.printouts import printout_versions
from tests.access import ROLES, Row, check_access
from tests.factories import AccountFactory, TeamMemberFactory

YEAR = 2027


def _approve(account: Account, year: int, cast, *, language: str = "de") -> PlanVersion:
    """A plan of ``account`` from ``year``, with one objective, submitted and approved."""
    plan = services.plan_create(
        account=account, start_year=year, user=cast.leadership, language=language
    )
    services.item_create(
        plan=plan,
        kind="objective",
        values={"title": f"Grow with {account.name}", "measure": "Order", "target_year": year},
        user=cast.leadership,
    )
    services.plan_submit(plan=plan, user=cast.leadership)
    return services.plan_approve(plan=plan, user=cast.leadership)


@pytest.fixture
def printout_plans(cast, approved_version) -> dict[str, PlanVersion]:
    """What the printout of 2027 must hold and leave out.

    In: ``cast.account`` (Gold, KAM ``cast.kam``; its 2027 plan approved twice, so version
    2, and an older 2026 plan) and ``cast.other_account`` (Silver, KAM ``outsider_kam``, an
    English 2026 plan). Out: an account whose plan is a draft, one whose plan ended in 2025.
    """
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    Account.objects.filter(pk=cast.other_account.pk).update(tier="Silver", tier_rank=2)
    TeamMemberFactory(
        account=cast.other_account, user=cast.outsider_kam, role=TeamRole.KEY_ACCOUNT_MANAGER
    )
    plan = approved_version.plan
    services.plan_section_update(
        plan=plan,
        section="strategy",
        revision=plan.revision,
        values={"value_proposition": "Second round"},
        user=cast.kam,
    )
    services.plan_submit(plan=plan, user=cast.kam)
    current = services.plan_approve(plan=plan, user=cast.leadership)
    older = _approve(cast.account, 2026, cast)
    other = _approve(cast.other_account, 2026, cast, language="en")
    drafted = AccountFactory(name="Entwurf AG", tier="Gold")
    TeamMemberFactory(account=drafted, user=cast.outsider_kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    services.plan_create(account=drafted, start_year=YEAR, user=cast.leadership)
    _approve(AccountFactory(name="Vergangen GmbH", tier="Gold"), 2023, cast)
    return {"current": current, "first": approved_version, "older": older, "other": other}


def _pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _bundle(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_the_printout_takes_the_newest_version_of_the_newest_plan_covering_the_year(
    cast, printout_plans
) -> None:
    selected = list(printout_versions(year=YEAR))

    assert selected == [printout_plans["current"], printout_plans["other"]]
    assert printout_plans["current"].number == 2
    assert list(printout_versions(year=2026)) == [
        printout_plans["older"],
        printout_plans["other"],
    ]
    assert list(printout_versions(year=2031)) == []


def test_the_printout_filters_by_tier_and_key_account_manager(cast, printout_plans) -> None:
    assert list(printout_versions(year=YEAR, tier="Gold")) == [printout_plans["current"]]
    assert list(printout_versions(year=YEAR, tier="Silver")) == [printout_plans["other"]]
    assert list(printout_versions(year=YEAR, kam=cast.kam)) == [printout_plans["current"]]
    assert list(printout_versions(year=YEAR, kam=cast.outsider_kam)) == [printout_plans["other"]]
    assert list(printout_versions(year=YEAR, tier="Gold", kam=cast.outsider_kam)) == []


def test_the_printout_job_builds_a_zip_of_the_plans_and_their_combined_pdf(
    cast, printout_plans, eager_jobs, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path

    job = services.printout_start(user=cast.leadership, year=YEAR)

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.progress, job.attempts) == (100, 1)
    files = _bundle(Path(job.result_file.path))
    combined = files.pop(job.result["combined"])
    assert job.result["combined"] == "key-account-plans-2027.pdf"
    current, other = printout_plans["current"], printout_plans["other"]
    assert sorted(files) == sorted(job.result["files"])
    assert len(files) == job.result["plans"] == 2
    names = list(files)
    assert names[0].startswith(cast.account.erp_number.lower())
    assert names[0].endswith("-2027-2029-v2.pdf")
    assert names[1].startswith(cast.other_account.erp_number.lower())
    assert names[1].endswith("-2026-2028-v1.pdf")
    assert _pages(combined) == sum(_pages(pdf) for pdf in files.values()) == job.result["pages"]
    reader = PdfReader(io.BytesIO(combined))
    assert [item.title for item in reader.outline if not isinstance(item, list)] == [
        f"{cast.account.name} ({cast.account.erp_number})",
        f"{cast.other_account.name} ({cast.other_account.erp_number})",
    ]
    for version in (current, other):
        version.refresh_from_db()
        assert version.pdf
    assert "Second round" in "".join(page.extract_text() for page in reader.pages)


def test_the_printout_job_filters_by_tier(
    cast, printout_plans, eager_jobs, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path

    job = services.printout_start(user=cast.leadership, year=YEAR, tier="Silver")

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result["versions"] == [printout_plans["other"].pk]
    assert len(_bundle(Path(job.result_file.path))) == 2


def test_printouts_reuse_the_versions_pdfs_and_steps_run_twice_change_nothing(
    cast, printout_plans, eager_jobs, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    first = services.printout_start(user=cast.leadership, year=YEAR)
    first.refresh_from_db()
    cached = {
        v.pk: (v.pdf.name, Path(v.pdf.path).stat().st_mtime_ns)
        for v in PlanVersion.objects.exclude(pdf="")
    }

    services.printout_fan_out(job_id=first.pk)
    services.printout_assemble(job_id=first.pk)
    for version_id in first.result["versions"]:
        services.printout_render_version(job_id=first.pk, version_id=version_id)
    second = services.printout_start(user=cast.leadership, year=YEAR)

    again = Job.objects.get(pk=first.pk)
    second.refresh_from_db()
    assert (again.state, again.attempts, again.result_file) == (
        Job.State.SUCCEEDED,
        1,
        first.result_file,
    )
    assert second.state == Job.State.SUCCEEDED, second.error
    assert {
        v.pk: (v.pdf.name, Path(v.pdf.path).stat().st_mtime_ns)
        for v in PlanVersion.objects.exclude(pdf="")
    } == cached
    assert _bundle(Path(second.result_file.path)) == _bundle(Path(first.result_file.path))


def test_the_assembly_runs_once_however_often_it_is_queued(
    cast, printout_plans, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    ids = [printout_plans["current"].pk, printout_plans["other"].pk]
    for version in PlanVersion.objects.filter(pk__in=ids):
        services.version_pdf(version)
    job = Job.objects.create(
        kind=Job.Kind.PLAN_PRINTOUT,
        created_by=cast.leadership,
        state=Job.State.RUNNING,
        progress=60,
        params={"year": YEAR},
        result={"year": YEAR, "versions": ids},
    )

    services.printout_assemble(job_id=job.pk)
    job.refresh_from_db()
    services.printout_assemble(job_id=job.pk)

    assert job.state == Job.State.SUCCEEDED
    assert Job.objects.get(pk=job.pk).result_file == job.result_file
    assert len(list((tmp_path / job.result_file.name).parent.iterdir())) == 1


def test_a_failed_printout_can_be_retried(
    cast, printout_plans, eager_jobs, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    job = services.printout_start(user=cast.leadership, year=YEAR, kam=cast.kam)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    broken = Job.objects.create(
        kind=Job.Kind.PLAN_PRINTOUT,
        created_by=cast.leadership,
        params={"year": YEAR, "tier": "", "kam_id": 999_999},
    )

    services.printout_fan_out(job_id=broken.pk)

    broken.refresh_from_db()
    assert broken.state == Job.State.FAILED
    assert "DoesNotExist" in broken.error
    Job.objects.filter(pk=broken.pk).update(params={"year": YEAR, "tier": "", "kam_id": None})
    from kam.services import job_retry

    job_retry(job=broken)
    broken.refresh_from_db()
    assert broken.state == Job.State.SUCCEEDED, broken.error
    assert broken.result["plans"] == 2


def test_a_version_pdf_is_rendered_once_and_rendered_again_when_its_file_is_gone(
    approved_version, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path

    pdf = services.version_pdf(approved_version)
    name = PlanVersion.objects.get(pk=approved_version.pk).pdf.name
    assert services.version_pdf(PlanVersion.objects.get(pk=approved_version.pk)) == pdf
    (tmp_path / name).unlink()
    again = services.version_pdf(PlanVersion.objects.get(pk=approved_version.pk))

    assert _pages(again) == _pages(pdf)
    assert (tmp_path / PlanVersion.objects.get(pk=approved_version.pk).pdf.name).exists()


def test_a_kam_prints_a_plan_and_only_they_can_download_it(
    client, cast, plan, eager_jobs, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client.force_login(cast.kam)

    response = client.post(reverse("plans:plan-pdf", args=[plan.pk]))

    job = Job.objects.get(created_by=cast.kam, kind=Job.Kind.PLAN_PDF)
    assert response.status_code == 302
    assert response["Location"] == reverse("kam:job-detail", args=[job.pk])
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.params == {"plan_id": plan.pk, "version": None}
    assert job.result_file.name.endswith("-2027-2029-working-copy.pdf")
    download = client.get(reverse("kam:job-file", args=[job.pk]))
    assert download.status_code == 200
    assert _pages(b"".join(download.streaming_content)) == job.result["pages"]
    for other in (cast.leadership, cast.team_member, cast.viewer):
        client.force_login(other)
        assert client.get(reverse("kam:job-file", args=[job.pk])).status_code == 404


def test_a_version_is_printed_from_its_cache(
    client, cast, approved_version, eager_jobs, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client.force_login(cast.viewer)

    client.post(reverse("plans:plan-pdf", args=[approved_version.plan_id]), {"version": "1"})
    approved_version.refresh_from_db()
    cached = approved_version.pdf.name
    client.post(reverse("plans:plan-pdf", args=[approved_version.plan_id]) + "?version=1")

    jobs = list(Job.objects.filter(created_by=cast.viewer).order_by("pk"))
    approved_version.refresh_from_db()
    assert [job.state for job in jobs] == [Job.State.SUCCEEDED] * 2
    assert [job.params["version"] for job in jobs] == [1, 1]
    assert approved_version.pdf.name == cached
    assert jobs[1].result_file.name.endswith("-2027-2029-v1.pdf")
    assert jobs[0].result_file.open("rb").read() == approved_version.pdf.open("rb").read()


@pytest.mark.parametrize("version", ["7", "x", "-1"])
def test_printing_a_version_the_plan_lacks_answers_404(client, cast, plan, version) -> None:
    client.force_login(cast.kam)

    response = client.post(reverse("plans:plan-pdf", args=[plan.pk]), {"version": version})

    assert response.status_code == 404
    assert not Job.objects.exists()


def test_leadership_sees_how_many_plans_match_and_starts_the_printout(
    client, cast, printout_plans
) -> None:
    client.force_login(cast.leadership)

    page = client.get(reverse("plans:printout-create"), {"year": YEAR, "tier": "Gold"})
    response = client.post(reverse("plans:printout-create"), {"year": YEAR, "kam": cast.kam.pk})

    assert page.context["matching"] == 1
    assert "Silver" in page.content.decode()
    job = Job.objects.get(kind=Job.Kind.PLAN_PRINTOUT)
    assert response["Location"] == reverse("kam:job-detail", args=[job.pk])
    assert job.params == {"year": YEAR, "tier": "", "kam_id": cast.kam.pk}
    assert job.created_by == cast.leadership


def test_a_printout_without_matching_plans_is_refused(client, cast, printout_plans) -> None:
    client.force_login(cast.leadership)

    response = client.post(reverse("plans:printout-create"), {"year": 2035})

    assert response.status_code == 200
    assert response.context["form"].has_error("__all__", "no_plans")
    assert not Job.objects.exists()


PRINT = {"leadership": 302, "kam": 302, "team_member": 302, "finance": 302, "viewer": 302}
LEADERSHIP = {"leadership": 200, "admin": 200}

MATRIX = (
    Row("plan pdf", "post", "plans:plan-pdf {plan}", 404, {**PRINT, "admin": 302}),
    Row("plan pdf by GET", "get", "plans:plan-pdf {plan}", 405),
    Row("plan pdf of a missing plan", "post", "plans:plan-pdf {missing}", 404),
    Row("printout page", "get", "plans:printout-create", 403, LEADERSHIP),
    Row("printout start", "post", "plans:printout-create", 403, LEADERSHIP),
)


@pytest.fixture
def objects(cast, plan):
    return {"plan": plan.pk, "missing": 999_999}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


@pytest.mark.worker
def test_the_printout_is_built_by_a_real_worker(
    celery_worker, cast, printout_plans, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    job = services.printout_start(user=cast.leadership, year=YEAR)

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and celery_worker.poll() is None:
        if Job.objects.get(pk=job.pk).state in Job.FINISHED_STATES:
            break
        time.sleep(0.1)

    job.refresh_from_db()
    assert celery_worker.poll() is None, celery_worker.stdout.read()
    assert job.state == Job.State.SUCCEEDED, job.error
    files = _bundle(tmp_path / job.result_file.name)
    combined = files.pop(job.result["combined"])
    assert len(files) == 2
    assert _pages(combined) == sum(_pages(pdf) for pdf in files.values())
    assert PlanVersion.objects.filter(pk__in=job.result["versions"]).exclude(pdf="").count() == 2
