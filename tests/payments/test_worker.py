"""The daily escalation run through a real Celery worker and Redis, on the real database: the
job finishes with its counts, and the KAM's notification is mailed by the worker."""

import datetime
import time

import pytest
from django.utils import timezone

from accounts.models import Account
from kam.models import Job, Notification
from payments import services
from payments.models import Escalation, EscalationState
from tests.payments.factories import InvoiceFactory

pytestmark = pytest.mark.worker


def test_finances_run_goes_through_a_real_worker(celery_worker, cast, settings) -> None:
    settings.PAYMENT_DROP_FOLDER = ""
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    due = timezone.localdate() - datetime.timedelta(days=30)
    InvoiceFactory(account=cast.account, issue_date=due - datetime.timedelta(days=30), due_date=due)

    job = services.escalation_run_start(user=cast.finance)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and celery_worker.poll() is None:
        job.refresh_from_db()
        mailed = Notification.objects.filter(user=cast.kam, emailed_at__isnull=False).exists()
        if job.state == Job.State.FAILED or (job.is_finished and mailed):
            break
        time.sleep(0.05)

    job.refresh_from_db()
    assert celery_worker.poll() is None, celery_worker.stdout.read()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.result["opened"], job.result["informed"]) == (1, 1)
    assert Escalation.objects.get().state == EscalationState.KAM_INFORMED
    assert Notification.objects.get(user=cast.kam).emailed_at is not None
