"""Celery tasks of the kpis app: thin wrappers that take primary keys and call a service."""

from celery import shared_task

from kam.services import job_execute
from kpis import services


@shared_task(acks_late=True)
def import_batch_apply(job_id: int) -> None:
    """A ``FIGURE_IMPORT`` or ``INVOICE_IMPORT`` job: write a confirmed import, all or nothing."""
    job_execute(job_id=job_id, work=services.import_batch_apply_job)


@shared_task(acks_late=True)
def annual_refresh_run(job_id: int) -> None:
    """An ``ANNUAL_REFRESH`` job: close the year and refresh the programme, step by step."""
    job_execute(job_id=job_id, work=services.annual_refresh_job)


@shared_task(acks_late=True)
def annual_refresh_scheduled() -> int | None:
    """Celery beat, once a year: start the refresh of the year just past (once)."""
    refresh = services.annual_refresh_start_scheduled()
    return refresh.pk if refresh else None


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def kpis_recompute(account_ids: list[int] | None = None, years: list[int] | None = None) -> None:
    """Rebuild the derived KPI rows after figures or plan targets changed (idempotent)."""
    services.kpis_recompute(account_ids=account_ids, years=years)
