from celery import shared_task

from kam.services import job_execute
from selection import services


@shared_task(acks_late=True)
def selection_run_compute(job_id: int) -> None:
    job_execute(job_id=job_id, work=services.selection_run_compute)
