from celery import shared_task

from kam import services


@shared_task(acks_late=True)
def system_check(job_id: int) -> None:
    services.job_execute(job_id=job_id, work=services.system_check)
