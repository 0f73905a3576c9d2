import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from kam import services
from kam.models import Job
from tests.factories import JobFactory


def _succeed(job, report):
    report(50, "halfway")
    assert Job.objects.get(pk=job.pk).progress == 50
    return {"answer": 42}


def _fail(job, report):
    raise RuntimeError("the ERP export is unreadable")


def test_execute_runs_a_queued_job_to_success(cast) -> None:
    job = JobFactory(created_by=cast.kam)

    done = services.job_execute(job_id=job.pk, work=_succeed)

    assert done.state == Job.State.SUCCEEDED
    assert done.progress == 100
    assert done.result == {"answer": 42}
    assert done.attempts == 1
    assert done.started_at <= done.finished_at


def test_execute_records_a_failure_and_a_retry_queues_it_again(
    cast, django_capture_on_commit_callbacks
) -> None:
    job = JobFactory(created_by=cast.kam)

    failed = services.job_execute(job_id=job.pk, work=_fail)

    assert failed.state == Job.State.FAILED
    assert "the ERP export is unreadable" in failed.error
    with django_capture_on_commit_callbacks() as callbacks:
        services.job_retry(job=failed)
    failed.refresh_from_db()
    assert failed.state == Job.State.QUEUED
    assert failed.error == ""
    assert len(callbacks) == 1


def test_execute_twice_leaves_a_finished_job_alone(cast) -> None:
    job = JobFactory(created_by=cast.kam)
    services.job_execute(job_id=job.pk, work=_succeed)

    again = services.job_execute(job_id=job.pk, work=_fail)

    assert again is None
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.attempts == 1


def test_execute_reclaims_a_job_whose_worker_died(cast) -> None:
    job = JobFactory(created_by=cast.kam, state=Job.State.RUNNING, attempts=1, progress=70)

    done = services.job_execute(job_id=job.pk, work=_succeed)

    assert done.state == Job.State.SUCCEEDED
    assert done.attempts == 2


def test_only_a_failed_job_can_be_retried(cast) -> None:
    job = JobFactory(created_by=cast.kam, state=Job.State.SUCCEEDED)

    with pytest.raises(ValidationError) as error:
        services.job_retry(job=job)

    assert error.value.code == "not_failed"


def test_database_refuses_progress_over_100(cast) -> None:
    with pytest.raises(IntegrityError):
        JobFactory(created_by=cast.kam, progress=101)


def test_admin_runs_the_system_check_from_the_ui_and_downloads_its_pdf(
    client, cast, tmp_path, settings, eager_jobs
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client.force_login(cast.admin)

    response = client.post(reverse("kam:job-system-check"), follow=True)

    job = Job.objects.get(created_by=cast.admin)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result["accounts"] == 2
    assert "Systemprüfung" in response.content.decode()
    download = client.get(reverse("kam:job-file", args=[job.pk]))
    pdf = tmp_path / "check.pdf"
    pdf.write_bytes(b"".join(download.streaming_content))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "KAM-Systemprüfung" in text
    assert "Accounts" in text


def test_job_progress_partial_is_served_to_htmx(client, cast) -> None:
    job = JobFactory(
        created_by=cast.kam, state=Job.State.RUNNING, progress=40, progress_message="Reading"
    )
    client.force_login(cast.kam)

    partial = client.get(reverse("kam:job-detail", args=[job.pk]), headers={"HX-Request": "true"})
    page = client.get(reverse("kam:job-detail", args=[job.pk]))

    assert partial.content.decode().lstrip().startswith("<section")
    assert 'data-hx-trigger="every 1s"' in partial.content.decode()
    assert 'value="40"' in partial.content.decode()
    assert "<html" in page.content.decode()
    assert "HX-Request" in page["Vary"]
