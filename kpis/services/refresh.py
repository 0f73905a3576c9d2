"""The annual refresh: once a year (Celery beat, or leadership at any time) the year just past
is closed and the programme refreshed, step by step.

The steps, in this order:

1. ``import``: read the newest ERP extract from ``settings.KPI_DROP_FOLDER`` (when set) with
   the saved column mapping of the source ``settings.KPI_DROP_SOURCE``. It runs before the year
   is closed because an import into a closed year is refused: the extract holds the final
   figures of that year. A file with errors is not imported; the report says why.
2. ``close``: freeze the year (:class:`ClosedYear`); from now on only an administrator's
   correction changes its figures.
3. ``recompute``: rebuild every account's KPI rows.
4. ``selection``: start a draft run of the newest released criteria version. It never applies
   tiers: leadership reviews its movements and approves it on the run's page.
5. ``roll_forward``: roll each key account's plan for the closed year's horizon
   (``start_year == year``) forward to the new horizon (``year + 1``) as a draft.
6. ``notify``: tell each key account manager once what now needs their attention, and
   leadership that the draft selection waits for review.

Each step records its time and its part of the report on the :class:`AnnualRefresh` row in
the transaction that finishes it, and is skipped when already done; so a refresh killed
half-way and started again completes without doing anything twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import Account, AccountTeamMember, TeamRole
from kam import access
from kam.models import Job, User
from kam.roles import Role
from kam.services import ProgressReporter, job_enqueue, notify
from kpis.catalogue import RED_FLAG_ATTAINMENT
from kpis.imports import newest_drop_file
from kpis.models import AccountKpi, AnnualRefresh, ClosedYear, ImportBatch, ImportState
from kpis.services.imports import import_batch_apply, import_batch_upload
from kpis.services.kpis import kpis_recompute
from plans.models import HORIZON_YEARS, Plan, PlanEventKind
from plans.services import plan_roll_forward
from selection.models import CriteriaVersion, VersionState
from selection.services.runs import selection_run_start


@dataclass(frozen=True)
class RefreshStep:
    """A step of the refresh: its key in the report, its label, the field with its time."""

    key: str
    label: Promise
    field: str
    run: Callable[..., dict[str, Any]]
    percent: int


def _step_result(refresh: AnnualRefresh, key: str) -> dict[str, Any]:
    return (refresh.report.get("steps") or {}).get(key, {})


def _finish_step(
    refresh: AnnualRefresh,
    *,
    key: str,
    field: str,
    result: dict[str, Any],
    also: Callable[[AnnualRefresh], None] | None = None,
) -> dict[str, Any]:
    """Record a finished step (its time and report) on the locked row, once.

    ``also`` runs in the same transaction, on the locked row, before the step is recorded: the
    work that must happen exactly once together with it. Returns the step's report.
    """
    with transaction.atomic():
        locked = AnnualRefresh.objects.select_for_update().get(pk=refresh.pk)
        if getattr(locked, field) is not None:
            result = _step_result(locked, key)
        else:
            if also is not None:
                also(locked)
            setattr(locked, field, timezone.now())
            steps = {**(locked.report.get("steps") or {}), key: result}
            locked.report = {**locked.report, "steps": steps}
            locked.save()
    refresh.refresh_from_db()
    return result


def _batch_result(batch: ImportBatch, **extra: Any) -> dict[str, Any]:
    return {
        "file": batch.file_name,
        "batch": batch.pk,
        "rows": batch.rows,
        "created": batch.created,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "errors": batch.errors,
        **extra,
    }


def _drop_folder_batch(refresh: AnnualRefresh) -> tuple[ImportBatch | None, dict[str, Any]]:
    """The import of the drop folder's newest file, uploaded unless it is there already; or
    None and the report of why nothing is imported."""
    if not settings.KPI_DROP_FOLDER:
        return None, {"state": "skipped", "reason": "no_folder"}
    path = newest_drop_file(Path(settings.KPI_DROP_FOLDER))
    if path is None:
        return None, {"state": "skipped", "reason": "no_file", "folder": settings.KPI_DROP_FOLDER}
    data = path.read_bytes()
    batches = ImportBatch.objects.filter(file_sha256=hashlib.sha256(data).hexdigest())
    done = batches.filter(state=ImportState.IMPORTED).order_by("-pk").first()
    if done is not None:
        return None, _batch_result(done, state="skipped", reason="already_imported")
    # A preview of the same file and year (a run killed between the upload and recording it,
    # or leadership's own upload) is applied rather than uploaded a second time.
    previewed = (
        batches.filter(
            year=refresh.year,
            source__name=settings.KPI_DROP_SOURCE,
            state__in=[ImportState.PREVIEWED, ImportState.IMPORTING],
        )
        .order_by("-pk")
        .first()
    )
    if previewed is not None:
        return previewed, {}
    try:
        batch = import_batch_upload(
            user=refresh.started_by,
            source_name=settings.KPI_DROP_SOURCE,
            year=refresh.year,
            number_format="auto",
            file_name=path.name,
            data=data,
        )
    except ValidationError as error:
        return None, {
            "state": "not_imported",
            "reason": "unreadable",
            "file": path.name,
            "detail": " ".join(error.messages),
        }
    return batch, {}


def annual_refresh_import(*, refresh: AnnualRefresh) -> dict[str, Any]:
    """Step 1: import the newest .csv/.xlsx of the drop folder into the refresh's year.

    Skipped without a drop folder, without a file, or for a file (same SHA-256) imported
    before. A file that cannot be read as a table, or whose rows have errors, is not imported
    (the report says why; its preview stays on the import's page). Raises OSError when the
    configured folder or the file cannot be read, so the refresh stops and can be resumed.
    """
    key, field = "import", "imported_at"
    if getattr(refresh, field) is not None:
        return _step_result(refresh, key)
    # A run killed after storing its upload carries on with that import.
    batch = refresh.import_batch
    if batch is None:
        batch, result = _drop_folder_batch(refresh)
        if batch is None:
            return _finish_step(refresh, key=key, field=field, result=result)
        AnnualRefresh.objects.filter(pk=refresh.pk).update(import_batch=batch)
    if batch.state == ImportState.PREVIEWED and batch.errors:
        result = _batch_result(batch, state="not_imported", reason="row_errors")
        return _finish_step(refresh, key=key, field=field, result=result)
    if batch.state in (ImportState.PREVIEWED, ImportState.IMPORTING):
        try:
            batch = import_batch_apply(batch=batch, user=refresh.started_by)
        except ValidationError as error:
            batch.refresh_from_db()
            result = _batch_result(
                batch, state="not_imported", reason="row_errors", detail=" ".join(error.messages)
            )
            return _finish_step(refresh, key=key, field=field, result=result)
    if batch.state != ImportState.IMPORTED:
        result = _batch_result(batch, state="not_imported", reason=f"state_{batch.state}")
        return _finish_step(refresh, key=key, field=field, result=result)
    return _finish_step(
        refresh, key=key, field=field, result=_batch_result(batch, state="imported")
    )


def annual_refresh_close(*, refresh: AnnualRefresh) -> dict[str, Any]:
    """Step 2: close the year (its figures change only by an administrator's correction)."""
    key, field = "close", "closed_at"
    if getattr(refresh, field) is not None:
        return _step_result(refresh, key)
    result: dict[str, Any] = {}

    def close(locked: AnnualRefresh) -> None:
        _closed, created = ClosedYear.objects.get_or_create(
            year=locked.year, defaults={"closed_by": locked.started_by}
        )
        result["already_closed"] = not created

    return _finish_step(refresh, key=key, field=field, result=result, also=close)


def annual_refresh_recompute(*, refresh: AnnualRefresh) -> dict[str, Any]:
    """Step 3: rebuild every account's KPI rows (idempotent)."""
    key, field = "recompute", "recomputed_at"
    if getattr(refresh, field) is not None:
        return _step_result(refresh, key)
    kpis_recompute()
    result = {
        "accounts": AccountKpi.objects.filter(year=refresh.year).count(),
        "off_target": _off_target(AccountKpi.objects.filter(year=refresh.year)).count(),
    }
    return _finish_step(refresh, key=key, field=field, result=result)


def _off_target(kpis):
    """KPI rows whose revenue is below the red-flag share of their target."""
    return kpis.filter(
        revenue__isnull=False,
        revenue_target__gt=0,
        revenue__lt=F("revenue_target") * RED_FLAG_ATTAINMENT / 100,
    )


def newest_released_version() -> CriteriaVersion | None:
    return (
        CriteriaVersion.objects.filter(state=VersionState.RELEASED)
        .select_related("criteria_set")
        .order_by("-released_at", "-pk")
        .first()
    )


def annual_refresh_selection(*, refresh: AnnualRefresh) -> dict[str, Any]:
    """Step 4: start a draft selection run of the newest released criteria version (never
    approved here); without a released version the step records why nothing ran."""
    key, field = "selection", "selection_started_at"
    if getattr(refresh, field) is not None:
        return _step_result(refresh, key)
    version = newest_released_version()
    if version is None:
        result = {"state": "skipped", "reason": "no_released_version"}
        return _finish_step(refresh, key=key, field=field, result=result)
    result = {"state": "started", "version": str(version)}

    def start(locked: AnnualRefresh) -> None:
        if locked.selection_run_id is None:
            locked.selection_run = selection_run_start(version=version, user=locked.started_by)
        result["run"] = locked.selection_run_id

    return _finish_step(refresh, key=key, field=field, result=result, also=start)


def _key_accounts():
    return Account.objects.exclude(tier="")


def _rolled_plans(year: int):
    """Key accounts' plans of the new horizon that were rolled forward from the year's plan."""
    return Plan.objects.filter(
        account__in=_key_accounts(),
        start_year=year + 1,
        events__kind=PlanEventKind.ROLLED_FORWARD,
    ).distinct()


def annual_refresh_roll_forward(*, refresh: AnnualRefresh) -> dict[str, Any]:
    """Step 5: roll each key account's newest plan forward to the horizon starting the year
    after the closed one, as a draft, when that plan starts in the closed year.

    Plans already in the new horizon are left alone (``up_to_date``); a newest plan that starts
    before the closed year is not copied (its targets are outdated): the report counts those
    accounts (``too_old``) and the accounts without a plan, for leadership to follow up.
    """
    key, field = "roll_forward", "rolled_forward_at"
    if getattr(refresh, field) is not None:
        return _step_result(refresh, key)
    year = refresh.year
    newest = Plan.objects.filter(account=OuterRef("account")).order_by("-start_year")
    current = Plan.objects.filter(
        account__in=_key_accounts(), start_year=Subquery(newest.values("start_year")[:1])
    )
    for plan in current.filter(start_year=year).select_related("account").order_by("pk"):
        plan_roll_forward(plan=plan, user=refresh.started_by)
    rolled = _rolled_plans(year).count()
    result = {
        "horizon": [year + 1, year + HORIZON_YEARS],
        "rolled": rolled,
        "up_to_date": current.filter(start_year__gt=year).count() - rolled,
        "too_old": current.filter(start_year__lt=year).count(),
        "without_plan": _key_accounts()
        .exclude(Exists(Plan.objects.filter(account=OuterRef("pk"))))
        .count(),
    }
    return _finish_step(refresh, key=key, field=field, result=result)


def _manager_counts(year: int) -> list[dict[str, Any]]:
    """Per key account manager of key accounts: rolled plans and accounts off target."""
    kpis = _off_target(AccountKpi.objects.filter(year=year, account=OuterRef("account")))
    rolled = _rolled_plans(year).filter(account=OuterRef("account"))
    return list(
        AccountTeamMember.objects.filter(
            role=TeamRole.KEY_ACCOUNT_MANAGER, account__in=_key_accounts(), user__is_active=True
        )
        .values("user")
        .annotate(
            accounts=Count("account", distinct=True),
            rolled=Count("account", filter=Q(Exists(rolled)), distinct=True),
            off_target=Count("account", filter=Q(Exists(kpis)), distinct=True),
        )
        .order_by("user")
    )


def _manager_message(refresh: AnnualRefresh, counts: dict[str, Any]) -> str:
    year = refresh.year
    parts = [_("The annual refresh closed the year %(year)s.") % {"year": year}]
    if counts["rolled"]:
        parts.append(
            ngettext(
                "%(count)d of your plans was rolled forward to %(first)s–%(last)s as a draft.",
                "%(count)d of your plans were rolled forward to %(first)s–%(last)s as drafts.",
                counts["rolled"],
            )
            % {"count": counts["rolled"], "first": year + 1, "last": year + HORIZON_YEARS}
        )
    if counts["off_target"]:
        parts.append(
            ngettext(
                "%(count)d of your accounts missed its revenue target.",
                "%(count)d of your accounts missed their revenue targets.",
                counts["off_target"],
            )
            % {"count": counts["off_target"]}
        )
    if refresh.selection_run_id:
        parts.append(_("Leadership is reviewing the key-account selection; tiers may change."))
    return " ".join(parts)


def annual_refresh_notify(*, refresh: AnnualRefresh) -> dict[str, Any]:
    """Step 6: notify each key account manager of key accounts once (in their language, also
    by e-mail), and leadership of the draft selection to review; exactly once, in the
    transaction that records the step."""
    key, field = "notify", "notified_at"
    if getattr(refresh, field) is not None:
        return _step_result(refresh, key)
    result: dict[str, Any] = {}

    def send(locked: AnnualRefresh) -> None:
        counts = {row["user"]: row for row in _manager_counts(locked.year)}
        home = reverse("kam:home")
        for user in User.objects.filter(pk__in=counts):
            with translation.override(user.language or settings.LANGUAGE_CODE):
                message = _manager_message(locked, counts[user.pk])
            notify(user=user, message=message, url=home, email=True)
        result["managers"] = len(counts)
        result["leadership"] = 0
        if locked.selection_run_id:
            url = reverse("selection:run-detail", args=[locked.selection_run_id])
            leaders = User.objects.filter(
                groups__name=Role.SALES_LEADERSHIP, is_active=True
            ).distinct()
            for user in leaders:
                with translation.override(user.language or settings.LANGUAGE_CODE):
                    message = _(
                        "The annual refresh of %(year)s started a draft key-account selection: "
                        "review its movements and approve it."
                    ) % {"year": locked.year}
                notify(user=user, message=message, url=url, email=True)
                result["leadership"] += 1

    return _finish_step(refresh, key=key, field=field, result=result, also=send)


REFRESH_STEPS: tuple[RefreshStep, ...] = (
    RefreshStep(
        "import", gettext_lazy("Import the ERP extract"), "imported_at", annual_refresh_import, 5
    ),
    RefreshStep("close", gettext_lazy("Close the year"), "closed_at", annual_refresh_close, 30),
    RefreshStep(
        "recompute", gettext_lazy("Recompute the KPIs"), "recomputed_at",
        annual_refresh_recompute, 40,
    ),
    RefreshStep(
        "selection", gettext_lazy("Start a draft selection run"), "selection_started_at",
        annual_refresh_selection, 60,
    ),
    RefreshStep(
        "roll_forward", gettext_lazy("Roll the key account plans forward"),
        "rolled_forward_at", annual_refresh_roll_forward, 70,
    ),
    RefreshStep(
        "notify", gettext_lazy("Notify the key account managers"), "notified_at",
        annual_refresh_notify, 90,
    ),
)  # fmt: skip


def annual_refresh_complete(
    *, refresh: AnnualRefresh, report: ProgressReporter | None = None
) -> dict:
    """Run the refresh's remaining steps in order and mark it finished; returns its report."""
    progress = report or (lambda percent, message="": None)
    for step in REFRESH_STEPS:
        progress(step.percent, str(step.label))
        step.run(refresh=refresh)
    with transaction.atomic():
        locked = AnnualRefresh.objects.select_for_update().get(pk=refresh.pk)
        if locked.finished_at is None:
            locked.finished_at = timezone.now()
            locked.save(update_fields=["finished_at"])
    refresh.refresh_from_db()
    return refresh.report


def annual_refresh_job(job: Job, report: ProgressReporter) -> dict[str, Any]:
    """The ``ANNUAL_REFRESH`` job: resume the refresh of ``job.params["refresh"]``."""
    refresh = AnnualRefresh.objects.get(pk=job.params["refresh"])
    return annual_refresh_complete(refresh=refresh, report=report)


def last_closable_year() -> int:
    return timezone.localdate().year - 1


def annual_refresh_start(*, year: int, user: User | None) -> AnnualRefresh:
    """Start the refresh of ``year`` (a past year), or resume an unfinished one with a new job.

    ``user`` None is the scheduler. Raises PermissionDenied unless the user may run the
    refresh, and ValidationError for a year that has not passed yet (code ``year``), a
    refresh that has finished (``finished``; it runs once per year) or is running
    (``running``).
    """
    if user is not None and not access.may_run_refresh(user):
        raise PermissionDenied
    last = last_closable_year()
    if not 2000 <= year <= last:
        raise ValidationError(
            {
                "year": ValidationError(
                    _("Only a year that has passed can be closed: 2000 to %(last)s.")
                    % {"last": last},
                    code="year",
                )
            }
        )
    with transaction.atomic():
        refresh, _created = AnnualRefresh.objects.get_or_create(
            year=year, defaults={"started_by": user}
        )
        refresh = AnnualRefresh.objects.select_for_update().get(pk=refresh.pk)
        if refresh.finished_at is not None:
            raise ValidationError(
                {
                    "year": ValidationError(
                        _("The refresh of %(year)s has already run; it runs once per year.")
                        % {"year": year},
                        code="finished",
                    )
                }
            )
        if refresh.job_id is not None and not Job.objects.get(pk=refresh.job_id).is_finished:
            raise ValidationError(
                {
                    "year": ValidationError(
                        _("The refresh of %(year)s is running already.") % {"year": year},
                        code="running",
                    )
                }
            )
        refresh.job = job_enqueue(
            kind=Job.Kind.ANNUAL_REFRESH,
            created_by=user,
            params={"refresh": refresh.pk, "year": year},
        )
        refresh.save(update_fields=["job"])
    return refresh


def annual_refresh_start_scheduled() -> AnnualRefresh | None:
    """Celery beat: start the refresh of last year unless one exists (started or finished)."""
    year = last_closable_year()
    if AnnualRefresh.objects.filter(year=year).exists():
        return None
    try:
        return annual_refresh_start(year=year, user=None)
    except ValidationError:
        # Another scheduler run started it a moment ago.
        return None
