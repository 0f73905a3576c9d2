"""Writes of the platform: users' preferences and the lifecycle of background jobs."""

from __future__ import annotations

import logging
import platform
import traceback
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from kam.models import Job, Notification, User
from kam.pdf import render_pdf

logger = logging.getLogger(__name__)

# The Celery task that executes each kind of job; every task takes the job's primary key.
JOB_TASKS: dict[str, str] = {
    Job.Kind.SYSTEM_CHECK: "kam.tasks.system_check",
    Job.Kind.SELECTION_RUN: "selection.tasks.selection_run_compute",
    Job.Kind.PLAN_PDF: "plans.tasks.plan_export_pdf",
    Job.Kind.PLAN_PRINTOUT: "plans.tasks.plan_printout_start",
    Job.Kind.FIGURE_IMPORT: "kpis.tasks.import_batch_apply",
    Job.Kind.ANNUAL_REFRESH: "kpis.tasks.annual_refresh_run",
    Job.Kind.INVOICE_IMPORT: "kpis.tasks.import_batch_apply",
    Job.Kind.ESCALATION_RUN: "payments.tasks.escalation_run",
}

ProgressReporter = Callable[[int, str], None]
JobWork = Callable[[Job, ProgressReporter], dict[str, Any]]


def user_set_language(*, user: User, language: str) -> None:
    """Remember the user's language. Raises ValidationError for a language the app lacks."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("This language is not available."), code="invalid_language")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def notify(*, user: User, message: str, url: str = "", email: bool = False) -> Notification:
    """Show ``message`` to ``user`` in the app; with ``email``, also mail it once committed."""
    notification = Notification.objects.create(user=user, message=message[:500], url=url)
    if email and user.email:
        from kam.tasks import notification_send_email

        transaction.on_commit(lambda: notification_send_email.delay(notification.pk))
    return notification


def notification_send_email(*, notification: Notification) -> None:
    """Mail a notification to its user once (the link made absolute with ``SITE_URL``).

    Claims the notification before sending, so a task run twice mails it once; a failed
    send releases the claim and re-raises, so the task's retry sends it.
    """
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return
    link = f"{settings.SITE_URL.rstrip('/')}{notification.url}" if notification.url else ""
    try:
        send_mail(
            subject=_("KAM: %(message)s") % {"message": Truncator(notification.message).chars(60)},
            message=f"{notification.message}\n\n{link}".strip(),
            from_email=None,
            recipient_list=[notification.user.email],
        )
    except Exception:
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        raise


def notification_mark_read(*, notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )


def notifications_mark_read(*, user: User) -> int:
    """Mark all of the user's unread notifications read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def _enqueue(job: Job) -> None:
    task = import_string(JOB_TASKS[job.kind])
    transaction.on_commit(lambda: task.delay(job.pk))


def job_enqueue(*, kind: str, created_by: User | None, params: dict | None = None) -> Job:
    """Record a queued job and hand it to a worker once the transaction commits."""
    if kind not in JOB_TASKS:
        raise ValidationError(_("Unknown kind of job."), code="invalid_kind")
    with transaction.atomic():
        job = Job.objects.create(kind=kind, created_by=created_by, params=params or {})
        _enqueue(job)
    return job


def job_retry(*, job: Job) -> Job:
    """Queue a failed job again. Raises ValidationError unless the job has failed."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, state=Job.State.FAILED).update(
            state=Job.State.QUEUED,
            progress=0,
            progress_message="",
            error="",
            started_at=None,
            finished_at=None,
        )
        if not updated:
            raise ValidationError(_("Only a failed job can be retried."), code="not_failed")
        job.refresh_from_db()
        _enqueue(job)
    return job


def job_report_progress(job: Job, percent: int, message: str = "") -> None:
    """Store the job's progress so the UI's polling sees it at once (outside any transaction)."""
    percent = max(0, min(100, percent))
    Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
        progress=percent, progress_message=message[:200]
    )
    job.progress, job.progress_message = percent, message[:200]


def job_execute(*, job_id: int, work: JobWork) -> Job | None:
    """Run ``work`` for a queued or interrupted job and record how it ended.

    Safe to call twice: a job that has already finished is left alone and None is returned.
    A job interrupted mid-run (its worker died) is claimed again and rerun, so ``work`` must
    itself be idempotent. Exceptions from ``work`` mark the job failed and are not re-raised.
    """
    claimed = Job.objects.filter(pk=job_id, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        progress=0,
    )
    if not claimed:
        logger.info("Job %s is finished or gone; nothing to do", job_id)
        return None
    job = Job.objects.get(pk=job_id)
    try:
        result = work(job, lambda percent, message="": job_report_progress(job, percent, message))
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            state=Job.State.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
            result={"traceback": traceback.format_exc(limit=5)[-4000:]},
        )
    else:
        Job.objects.filter(pk=job_id).update(
            state=Job.State.SUCCEEDED,
            finished_at=timezone.now(),
            progress=100,
            progress_message="",
            result=result,
        )
    job.refresh_from_db()
    return job


def system_check(job: Job, report: ProgressReporter) -> dict[str, Any]:
    """Prove the pieces a worker needs: the database, the templates and PDF rendering."""
    from accounts.models import Account

    report(10, _("Reading the database"))
    counts = {"accounts": Account.objects.count(), "users": User.objects.count()}
    report(50, _("Rendering a PDF"))
    pdf = render_pdf(
        "kam/system_check_print.html",
        {"job": job, "counts": counts, "worker": platform.node(), "now": timezone.now()},
    )
    # A rerun (an interrupted job claimed again) replaces its file instead of adding one.
    if job.result_file:
        job.result_file.delete(save=False)
    job.result_file.save(f"system-check-{job.pk}.pdf", ContentFile(pdf), save=False)
    Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name)
    report(90, _("Finishing"))
    return {**counts, "worker": platform.node(), "pdf_bytes": len(pdf)}
