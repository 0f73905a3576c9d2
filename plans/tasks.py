"""Celery tasks of the plans app: thin wrappers that take primary keys and call a service."""

from celery import shared_task

from kam.services import job_execute
from plans import services


@shared_task(acks_late=True)
def plan_reviews_flag_overdue() -> int:
    """Daily: tell KAMs and mentors about overdue mentor reviews (once per due date)."""
    return services.reviews_flag_overdue()


@shared_task(acks_late=True)
def plan_export_pdf(job_id: int) -> None:
    """A ``PLAN_PDF`` job: one plan's (or version's) printout."""
    job_execute(job_id=job_id, work=services.plan_pdf_job)


@shared_task(acks_late=True)
def plan_printout_start(job_id: int) -> None:
    """A ``PLAN_PRINTOUT`` job: select the versions and fan out their rendering."""
    services.printout_fan_out(job_id=job_id)


@shared_task(acks_late=True)
def plan_printout_render_version(job_id: int, version_id: int) -> None:
    """Render one version of a printout job; the last one queues the assembly."""
    services.printout_render_version(job_id=job_id, version_id=version_id)


@shared_task(acks_late=True)
def plan_printout_assemble(job_id: int) -> None:
    """Build a printout job's ZIP and combined PDF (once, however often it is queued)."""
    services.printout_assemble(job_id=job_id)
