from celery import shared_task

from kam import services


@shared_task(acks_late=True)
def system_check(job_id: int) -> None:
    services.job_execute(job_id=job_id, work=services.system_check)


@shared_task(acks_late=True)
def jobs_recover_stale() -> dict[str, int]:
    """Celery beat and each worker's start: queue again the jobs whose worker died."""
    return services.jobs_recover_stale()


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notification_send_email(notification_id: int) -> None:
    """Mail one notification; a notification that is gone (deleted) is skipped."""
    from kam.models import Notification

    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is not None:
        services.notification_send_email(notification=notification)
