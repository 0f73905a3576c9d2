"""Writes of the platform: users' preferences and the lifecycle of background jobs."""

from __future__ import annotations

import datetime
import logging
import platform
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def _send(job_id: int, kind: str) -> None:
    """Hand the job to the broker. A broker that is down loses nothing: the job stays queued
    and :func:`jobs_recover_stale` sends it again once its heartbeat has gone stale."""
    try:
        import_string(JOB_TASKS[kind]).delay(job_id)
    except Exception:
        logger.warning("Could not queue job %s; the recovery sweep will", job_id, exc_info=True)


def _enqueue(job: Job) -> None:
    job_id, kind = job.pk, job.kind
    transaction.on_commit(lambda: _send(job_id, kind))


def job_enqueue(*, kind: str, created_by: User | None, params: dict | None = None) -> Job:
    """Record a queued job and hand it to a worker once the transaction commits."""
    if kind not in JOB_TASKS:
        raise ValidationError(_("Unknown kind of job."), code="invalid_kind")
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind, created_by=created_by, params=params or {}, heartbeat_at=timezone.now()
        )
        _enqueue(job)
    return job


def job_retry(*, job: Job) -> Job:
    """Queue a failed job again, with a fresh count of attempts. Raises ValidationError unless
    the job has failed."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, state=Job.State.FAILED).update(
            state=Job.State.QUEUED,
            progress=0,
            progress_message="",
            error="",
            started_at=None,
            finished_at=None,
            attempts=0,
            claim="",
            heartbeat_at=timezone.now(),
        )
        if not updated:
            raise ValidationError(_("Only a failed job can be retried."), code="not_failed")
        job.refresh_from_db()
        _enqueue(job)
    return job


def job_report_progress(job: Job, percent: int, message: str = "") -> None:
    """Store the job's progress so the UI's polling sees it at once (outside any transaction);
    it counts as a heartbeat too."""
    percent = max(0, min(100, percent))
    running = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING)
    if job.claim:
        running = running.filter(claim=job.claim)
    running.update(progress=percent, progress_message=message[:200], heartbeat_at=timezone.now())
    job.progress, job.progress_message = percent, message[:200]
    if settings.JOB_STEP_DELAY:
        time.sleep(settings.JOB_STEP_DELAY)


def _stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.JOB_STALE_SECONDS)


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat while ``work`` runs, so a long step without progress
    reports is not taken for a dead worker."""

    def __init__(self, job_id: int, claim: str) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.claim, self.stopped = job_id, claim, threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                Job.objects.filter(
                    pk=self.job_id, state=Job.State.RUNNING, claim=self.claim
                ).update(heartbeat_at=timezone.now())
        finally:
            connection.close()


def job_execute(*, job_id: int, work: JobWork) -> Job | None:
    """Run ``work`` for a queued or interrupted job and record how it ended.

    Safe to call twice: a job that has finished, or that another worker runs (its heartbeat is
    fresh), is left alone and None is returned. A job interrupted mid-run (its worker died, its
    heartbeat went stale) is claimed again and rerun, so ``work`` must itself be idempotent.
    A run whose claim was taken over meanwhile records nothing. Exceptions from ``work`` mark
    the job failed and are not re-raised.
    """
    claim = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Job.objects.filter(pk=job_id)
        .filter(
            Q(state=Job.State.QUEUED)
            | Q(state=Job.State.RUNNING)
            & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_stale_before()))
        )
        .update(
            state=Job.State.RUNNING,
            started_at=now,
            heartbeat_at=now,
            claim=claim,
            attempts=F("attempts") + 1,
            progress=0,
        )
    )
    if not claimed:
        logger.info("Job %s is finished, gone or running elsewhere; nothing to do", job_id)
        return None
    job = Job.objects.get(pk=job_id)
    heartbeat = _Heartbeat(job_id, claim)
    heartbeat.start()
    ours = Job.objects.filter(pk=job_id, state=Job.State.RUNNING, claim=claim)
    try:
        result = work(job, lambda percent, message="": job_report_progress(job, percent, message))
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        ours.update(
            state=Job.State.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
            result={"traceback": traceback.format_exc(limit=5)[-4000:]},
        )
    else:
        ours.update(
            state=Job.State.SUCCEEDED,
            finished_at=timezone.now(),
            progress=100,
            progress_message="",
            result=result,
        )
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
    job.refresh_from_db()
    return job


def jobs_recover_stale() -> dict[str, int]:
    """Queue again every job whose heartbeat went stale: a running job whose worker died, a
    queued job whose message never reached the broker. A running job that has had
    ``JOB_MAX_ATTEMPTS`` runs is marked failed instead (it can be retried by hand).
    Returns how many jobs were queued again and how many failed.
    """
    stale = Job.objects.filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_stale_before()),
        state__in=[Job.State.QUEUED, Job.State.RUNNING],
        # A running printout fans out to render tasks that write no heartbeat; its own claim
        # (plans.services.printouts) makes a redelivery safe.
    ).exclude(kind=Job.Kind.PLAN_PRINTOUT, state=Job.State.RUNNING)
    requeued = failed = 0
    for job in stale.only("pk", "kind", "state", "claim", "attempts"):
        # The same filter again guards each update: a worker may have claimed or finished
        # the job since it was read.
        still_stale = Job.objects.filter(
            Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_stale_before()),
            pk=job.pk,
            state=job.state,
            claim=job.claim,
        )
        if job.state == Job.State.RUNNING and job.attempts >= settings.JOB_MAX_ATTEMPTS:
            failed += still_stale.update(
                state=Job.State.FAILED,
                finished_at=timezone.now(),
                error=ngettext(
                    "The worker running this job stopped %(count)d time; the job was given up. "
                    "Retry it once the cause is fixed.",
                    "The worker running this job stopped %(count)d times; the job was given up. "
                    "Retry it once the cause is fixed.",
                    job.attempts,
                )
                % {"count": job.attempts},
            )
        elif still_stale.update(state=Job.State.QUEUED, claim="", heartbeat_at=timezone.now()):
            requeued += 1
            logger.warning("Job %s lost its worker or its message; queued again", job.pk)
            _send(job.pk, job.kind)
    return {"requeued": requeued, "failed": failed}


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
