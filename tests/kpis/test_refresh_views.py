"""The refresh pages: who may read and start, starting and resuming from the UI, the steps
and report, the progress htmx polls, and German and English."""

import pytest
from django.urls import reverse
from django.utils import timezone

from kam.models import Job
from kam.services import job_execute
from kpis.models import AnnualRefresh
from kpis.services import annual_refresh_job, annual_refresh_start
from selection.services import selection_run_approve, selection_run_compute
from tests.access import READ_ALL, Row, check_access
from tests.access import ROLES as ALL_ROLES
from tests.selection.conftest import released_version, workplaces  # noqa: F401 - fixtures

LAST_YEAR = timezone.localdate().year - 1
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
READERS = {**READ_ALL, "kam": 403, "team_member": 403}
# Starting: leadership and administrators are sent to the refresh's page.
STARTERS = {"leadership": 302, "admin": 302}

ROWS = [
    Row("list", "get", "kpis:refresh-list", 403, READERS),
    Row("detail", "get", f"kpis:refresh-detail {LAST_YEAR}", 403, READERS),
    Row(
        "detail of a year without refresh",
        "get",
        "kpis:refresh-detail 2001",
        403,
        {role: 404 for role, status in READERS.items() if status == 200},
    ),
    Row("start", "post", "kpis:refresh-start", 403, {"leadership": 200, "admin": 200}),
    Row("start is a POST", "get", "kpis:refresh-start", 405, {}),
]


@pytest.fixture
def objects(cast):
    annual_refresh_start(year=LAST_YEAR, user=cast.leadership)
    return {}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_access(client, cast, objects, row, role):
    check_access(client, cast, objects, row, role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["leadership", "admin"])
def test_leadership_starts_the_refresh_from_the_list(client, cast, role):
    client.force_login(getattr(cast, role))
    page = client.get(reverse("kpis:refresh-list"), **EN).content.decode()
    assert "What the refresh does" in page
    assert f'value="{LAST_YEAR}"' in page

    response = client.post(reverse("kpis:refresh-start"), {"year": LAST_YEAR}, **EN)

    refresh = AnnualRefresh.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("kpis:refresh-detail", args=[LAST_YEAR])
    assert refresh.started_by == getattr(cast, role)
    assert refresh.job.state == Job.State.QUEUED


@pytest.mark.django_db
def test_a_refused_start_keeps_the_form_with_the_reason(client, cast):
    client.force_login(cast.leadership)
    this_year = LAST_YEAR + 1

    page = client.post(reverse("kpis:refresh-start"), {"year": this_year}, **EN).content.decode()
    assert f'value="{this_year}"' in page
    assert "Ensure this value is less than or equal to" in page

    refresh = annual_refresh_start(year=LAST_YEAR, user=cast.leadership)
    job_execute(job_id=refresh.job_id, work=annual_refresh_job)
    page = client.post(reverse("kpis:refresh-start"), {"year": LAST_YEAR}, **EN).content.decode()
    assert "has already run; it runs once per year" in page
    assert AnnualRefresh.objects.count() == 1


@pytest.mark.django_db
def test_the_page_shows_progress_while_running_and_the_report_when_done(client, cast):
    client.force_login(cast.viewer)
    refresh = annual_refresh_start(year=LAST_YEAR, user=cast.leadership)
    url = reverse("kpis:refresh-detail", args=[LAST_YEAR])

    page = client.get(url, **EN).content.decode()
    assert 'data-hx-trigger="every 1s"' in page
    assert "Waiting for the worker" in page
    assert page.count("To do") == 6
    panel = client.get(url, HTTP_HX_REQUEST="true", **EN)
    assert panel.status_code == 200
    assert panel.content.decode().lstrip().startswith('<section id="refresh-progress"')

    job_execute(job_id=refresh.job_id, work=annual_refresh_job)

    done = client.get(url, HTTP_HX_REQUEST="true", **EN)
    assert done.status_code == 204
    assert done["HX-Refresh"] == "true"
    page = client.get(url, **EN).content.decode()
    assert "data-hx-trigger" not in page
    assert "Report" in page
    assert page.count('badge text-bg-success">Done') == 6
    assert "Skipped: no drop folder is configured" in page
    assert f"The year {LAST_YEAR} is closed" in page
    assert "Skipped: no criteria version is released" in page


@pytest.mark.django_db
def test_a_failed_refresh_offers_to_resume(client, cast, tmp_path, settings):
    settings.KPI_DROP_FOLDER = str(tmp_path / "missing")
    refresh = annual_refresh_start(year=LAST_YEAR, user=cast.leadership)
    job_execute(job_id=refresh.job_id, work=annual_refresh_job)
    url = reverse("kpis:refresh-detail", args=[LAST_YEAR])

    client.force_login(cast.finance)
    page = client.get(url, **EN).content.decode()
    assert "The refresh stopped with an error" in page
    assert "Stopped here" in page
    assert "Resume the refresh" not in page

    client.force_login(cast.leadership)
    page = client.get(url, **EN).content.decode()
    assert "Resume the refresh" in page
    (tmp_path / "missing").mkdir()
    response = client.post(reverse("kpis:refresh-start"), {"year": LAST_YEAR})
    assert response.status_code == 302
    refresh.refresh_from_db()
    assert Job.objects.filter(kind=Job.Kind.ANNUAL_REFRESH).count() == 2
    job_execute(job_id=refresh.job_id, work=annual_refresh_job)
    refresh.refresh_from_db()
    assert refresh.finished_at is not None


@pytest.mark.django_db
def test_the_draft_selection_run_is_linked(client, cast, released_version):  # noqa: F811
    refresh = annual_refresh_start(year=LAST_YEAR, user=cast.leadership)
    job_execute(job_id=refresh.job_id, work=annual_refresh_job)
    refresh.refresh_from_db()
    client.force_login(cast.leadership)
    url = reverse("kpis:refresh-detail", args=[LAST_YEAR])
    run_url = reverse("selection:run-detail", args=[refresh.selection_run_id])

    page = client.get(url, **EN).content.decode()
    assert page.count(f'href="{run_url}"') == 2
    assert "is being computed" in page

    job_execute(job_id=refresh.selection_run.job_id, work=selection_run_compute)
    page = client.get(url, **EN).content.decode()
    assert page.count(f'href="{run_url}"') == 2
    assert page.count("Review the draft selection run") == 2

    selection_run_approve(run=refresh.selection_run, user=cast.leadership)
    page = client.get(url, **EN).content.decode()
    assert "The key-account selection the refresh started is decided: Approved." in page
    assert "Review the draft selection run" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("de", ('lang="de"',)),
        ("en", ("Annual refresh", "Refreshes so far", "Start the refresh")),
    ],
)
def test_the_list_renders_in_german_and_english(client, cast, language, texts):
    annual_refresh_start(year=LAST_YEAR, user=cast.leadership)
    client.force_login(cast.leadership)
    page = client.get(reverse("kpis:refresh-list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for text in texts:
        assert text in page
    assert str(LAST_YEAR) in page
