"""Celery tasks of the payments app: thin wrappers that take primary keys and call a service."""

from celery import shared_task

from kam.services import job_execute
from payments import services


@shared_task(acks_late=True)
def escalation_run(job_id: int) -> None:
    """An ``ESCALATION_RUN`` job: the drop folder's open items, then the day's escalations."""
    job_execute(job_id=job_id, work=services.escalation_run_job)


@shared_task(acks_late=True)
def escalations_daily() -> int:
    """Celery beat, every morning: queue the daily escalation run."""
    return services.escalation_run_start(user=None).pk
