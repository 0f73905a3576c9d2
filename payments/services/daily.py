"""The daily escalation job: read the ERP's newest open-items file from the drop folder, close
the cases of paid invoices, reopen broken promises, open a case for every overdue invoice of a
covered tier, and escalate missed deadlines to sales leadership.

Idempotent and safe to run concurrently: the whole run holds one lock, every step checks the
workflow table again, and the database allows one active escalation per invoice.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from kam.concurrency import run_alone
from kam.models import Job, User
from kam.services import ProgressReporter, job_enqueue
from kpis.imports import newest_drop_file
from kpis.models import ImportBatch, ImportKind, ImportState
from payments.models import (
    Escalation,
    EscalationAction,
    EscalationEvent,
    EscalationState,
    Invoice,
    Party,
    Resolution,
)
from payments.services.escalations import (
    deadline_missed_digest,
    escalation_system_step,
    key_account_managers,
    policies_by_rank,
    policy_terms,
    today,
)

# A proposed stop waits for the KAM too: their silence past the deadline is escalated.
ACTIVE_BEFORE_STOP = (
    EscalationState.OPEN,
    EscalationState.KAM_INFORMED,
    EscalationState.IN_CLARIFICATION,
    EscalationState.STOP_PROPOSED,
)


def escalations_close_paid(*, invoice_ids: list[int] | None = None, on: datetime.date) -> int:
    """Close the cases of paid invoices (``invoice_ids``: only these); returns how many.

    A decided delivery stop is lifted; any other case is resolved as paid.
    """
    paid = (
        Escalation.objects.filter(invoice__amount_paid__gte=F("invoice__amount"))
        .exclude(state=EscalationState.STOP_LIFTED)
        .exclude(state=EscalationState.RESOLVED, resolution=Resolution.PAID)
    )
    if invoice_ids is not None:
        paid = paid.filter(invoice_id__in=invoice_ids)
    closed = 0
    for pk in paid.values_list("pk", flat=True):
        if escalation_system_step(escalation_id=pk, action=EscalationAction.PAID, on=on):
            closed += 1
    return closed


def _reopen_broken_promises(on: datetime.date) -> int:
    broken = Escalation.objects.filter(
        state=EscalationState.RESOLVED,
        resolution=Resolution.PROMISE_TO_PAY,
        promised_date__lt=on,
        invoice__amount_paid__lt=F("invoice__amount"),
    )
    return sum(
        1
        for pk in broken.values_list("pk", flat=True)
        if escalation_system_step(escalation_id=pk, action=EscalationAction.PROMISE_BROKEN, on=on)
    )


def overdue_uncovered(on: datetime.date):
    """Unpaid invoices past their due date that no escalation covers (listed for finance)."""
    return Invoice.objects.filter(due_date__lt=on, amount_paid__lt=F("amount")).filter(
        ~Exists(Escalation.objects.filter(invoice=OuterRef("pk")))
    )


def _open_new(on: datetime.date) -> tuple[int, int]:
    """Open a case for each overdue invoice of a covered tier that never had one; inform the
    KAM where the account has one. Returns (opened, informed)."""
    policies = policies_by_rank()
    ranks = (
        Account.objects.exclude(tier="")
        .exclude(tier_rank=None)
        .values_list("tier_rank", flat=True)
        .distinct()
        .order_by()
    )
    now = timezone.now()
    opened: list[Escalation] = []
    for rank in sorted(set(ranks)):
        covered, grace, days = policy_terms(rank, policies)
        if not covered:
            continue
        invoices = (
            overdue_uncovered(on)
            .filter(
                account__tier_rank=rank,
                due_date__lt=on - datetime.timedelta(days=grace),
            )
            .exclude(account__tier="")
            .select_related("account")
            .order_by("pk")
        )
        opened += Escalation.objects.bulk_create(
            Escalation(
                invoice=invoice,
                account=invoice.account,
                tier=invoice.account.tier,
                tier_rank=rank,
                opened_at=now,
                deadline=on + datetime.timedelta(days=days),
            )
            for invoice in invoices
        )
    EscalationEvent.objects.bulk_create(
        EscalationEvent(
            escalation=escalation,
            action=EscalationAction.OPEN,
            to_state=EscalationState.OPEN,
            party=Party.SYSTEM,
            created_at=now,
        )
        for escalation in opened
    )
    managers = key_account_managers({e.account_id for e in opened})
    informed = sum(
        1
        for escalation in opened
        if escalation.account_id in managers
        and escalation_system_step(
            escalation_id=escalation.pk, action=EscalationAction.INFORM, on=on
        )
    )
    return len(opened), informed


def _escalate_missed_deadlines(on: datetime.date) -> int:
    missed = Escalation.objects.filter(
        state__in=ACTIVE_BEFORE_STOP, deadline__lt=on, deadline_missed_at=None
    )
    escalated = [
        pk
        for pk in missed.values_list("pk", flat=True)
        if escalation_system_step(escalation_id=pk, action=EscalationAction.DEADLINE_MISSED, on=on)
    ]
    deadline_missed_digest(
        list(Escalation.objects.filter(pk__in=escalated).select_related("account")), on
    )
    return len(escalated)


def escalations_run(*, on: datetime.date | None = None) -> dict[str, int]:
    """One run of the daily job on ``on`` (default today); returns what it did.

    Runs alone (a second run waits for the first, then finds nothing left to do).
    """
    on = on or today()
    with transaction.atomic():
        run_alone("payments.escalations_run")
        result = {"paid": escalations_close_paid(on=on)}
        result["reopened"] = _reopen_broken_promises(on)
        result["opened"], result["informed"] = _open_new(on)
        result["deadline_missed"] = _escalate_missed_deadlines(on)
    return result


def _drop_folder_import(user: User | None) -> dict[str, Any]:
    """Import the drop folder's newest open-items file unless imported already."""
    from kpis.services.imports import import_batch_apply, import_batch_upload

    if not settings.PAYMENT_DROP_FOLDER:
        return {"state": "skipped", "reason": "no_folder"}
    path = newest_drop_file(Path(settings.PAYMENT_DROP_FOLDER))
    if path is None:
        return {"state": "skipped", "reason": "no_file"}
    data = path.read_bytes()
    batches = ImportBatch.objects.filter(
        kind=ImportKind.INVOICES, file_sha256=hashlib.sha256(data).hexdigest()
    )
    batch = batches.filter(state=ImportState.IMPORTED).first()
    if batch is not None:
        return {"state": "skipped", "reason": "already_imported", "batch": batch.pk}
    batch = batches.filter(state__in=[ImportState.PREVIEWED, ImportState.IMPORTING]).first()
    try:
        if batch is None:
            batch = import_batch_upload(
                user=user,
                source_name=settings.PAYMENT_DROP_SOURCE,
                year=None,
                number_format="auto",
                file_name=path.name,
                data=data,
                kind=ImportKind.INVOICES,
            )
        batch = import_batch_apply(batch=batch, user=user)
    except ValidationError as error:
        return {
            "state": "not_imported",
            "file": path.name,
            "batch": batch.pk if batch else None,
            "detail": " ".join(error.messages),
        }
    return {"state": "imported", "file": path.name, "batch": batch.pk, "rows": batch.rows}


def escalation_run_start(*, user: User | None) -> Job:
    """Queue the daily job now (finance's button, or Celery beat with no user)."""
    return job_enqueue(
        kind=Job.Kind.ESCALATION_RUN, created_by=user, params={"on": today().isoformat()}
    )


def escalation_run_job(job: Job, report: ProgressReporter) -> dict[str, Any]:
    """The ``ESCALATION_RUN`` job: the drop folder's file, then the escalations of its day."""
    report(10, _("Reading the drop folder"))
    imported = _drop_folder_import(job.created_by)
    report(50, _("Escalating overdue invoices"))
    on = datetime.date.fromisoformat(job.params["on"]) if "on" in job.params else today()
    return {"import": imported, **escalations_run(on=on)}
