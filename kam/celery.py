"""The Celery application. Tasks live in each app's ``tasks.py`` and are autodiscovered."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

app = Celery("kam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _recover_stale_jobs(sender, **kwargs) -> None:
    """A worker that starts (after a crash, too) sweeps for jobs whose worker died at once,
    instead of waiting for the next beat."""
    sender.app.send_task("kam.tasks.jobs_recover_stale")
