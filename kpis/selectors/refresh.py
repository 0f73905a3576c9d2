"""Reads of the annual refresh pages: the list of refreshes, one refresh with its steps and what
each step did, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kam import access
from kam.models import Job, User
from kpis.models import AnnualRefresh
from kpis.services.refresh import REFRESH_STEPS
from selection.models import RunState


class RefreshState:
    FINISHED = "finished"
    RUNNING = "running"
    QUEUED = "queued"
    FAILED = "failed"


STATE_LABELS = {
    RefreshState.FINISHED: gettext_lazy("Finished"),
    RefreshState.RUNNING: gettext_lazy("Running"),
    RefreshState.QUEUED: gettext_lazy("Waiting for the worker"),
    RefreshState.FAILED: gettext_lazy("Stopped with an error"),
}


def refresh_state(refresh: AnnualRefresh) -> str:
    """Finished, or the state of its newest job (a refresh without a job waits for one)."""
    if refresh.finished_at is not None:
        return RefreshState.FINISHED
    job = refresh.job
    if job is None or job.state == Job.State.QUEUED:
        return RefreshState.QUEUED
    if job.state == Job.State.FAILED:
        return RefreshState.FAILED
    return RefreshState.RUNNING


def _require_reader(user: User) -> None:
    if not access.may_read_programme(user):
        raise PermissionDenied


def refreshes_for(*, user: User) -> QuerySet[AnnualRefresh]:
    """Every refresh, newest year first (the read-all roles; others: PermissionDenied)."""
    _require_reader(user)
    return AnnualRefresh.objects.select_related("job", "started_by").order_by("-year")


def refresh_get(*, user: User, year: int) -> AnnualRefresh:
    """The refresh of ``year`` with what its page shows; PermissionDenied, then Http404."""
    _require_reader(user)
    refresh = (
        AnnualRefresh.objects.select_related("job", "started_by", "selection_run", "import_batch")
        .filter(year=year)
        .first()
    )
    if refresh is None:
        raise Http404
    return refresh


@dataclass
class StepView:
    """One step as the refresh page shows it."""

    key: str
    label: str
    done_at: datetime | None
    state: str  # done, running, failed, pending
    summary: str
    result: dict[str, Any]
    link: str = ""
    link_label: str = ""


def refresh_steps(refresh: AnnualRefresh) -> list[StepView]:
    """The steps in order: done (with what they did), the one running or failed, pending."""
    state = refresh_state(refresh)
    results = refresh.report.get("steps") or {}
    steps, current_found = [], False
    for step in REFRESH_STEPS:
        done_at = getattr(refresh, step.field)
        result = results.get(step.key, {})
        if done_at is not None:
            step_state = "done"
        elif not current_found and state in (RefreshState.RUNNING, RefreshState.FAILED):
            step_state = "running" if state == RefreshState.RUNNING else "failed"
            current_found = True
        else:
            step_state = "pending"
        view = StepView(
            key=step.key,
            label=str(step.label),
            done_at=done_at,
            state=step_state,
            summary=describe_step(step.key, result, refresh) if done_at else "",
            result=result,
        )
        _add_link(view, refresh)
        steps.append(view)
    return steps


def _add_link(view: StepView, refresh: AnnualRefresh) -> None:
    result = view.result
    if view.key == "import" and result.get("batch"):
        view.link = reverse("kpis:import-detail", args=[result["batch"]])
        view.link_label = _("Open the import")
    elif view.key == "selection" and refresh.selection_run_id:
        view.link = reverse("selection:run-detail", args=[refresh.selection_run_id])
        if refresh.selection_run.state == RunState.READY:
            view.link_label = _("Review the draft selection run")
        else:
            view.link_label = _("Open the selection run")


def describe_step(key: str, result: dict[str, Any], refresh: AnnualRefresh) -> str:
    """What a finished step did, in the active language."""
    return {
        "import": _describe_import,
        "close": _describe_close,
        "recompute": _describe_recompute,
        "selection": _describe_selection,
        "roll_forward": _describe_roll_forward,
        "notify": _describe_notify,
    }[key](result, refresh)


def _describe_import(result: dict[str, Any], refresh: AnnualRefresh) -> str:
    reason = result.get("reason", "")
    if result.get("state") == "imported":
        return _(
            "Imported %(file)s: %(rows)s rows, %(created)s figures created, %(updated)s "
            "updated, %(unchanged)s unchanged."
        ) % {key: result.get(key, 0) for key in ("file", "rows", "created", "updated", "unchanged")}
    if reason == "no_folder":
        return _("Skipped: no drop folder is configured (KPI_DROP_FOLDER).")
    if reason == "no_file":
        return _("Skipped: the drop folder holds no .csv or .xlsx file.")
    if reason == "already_imported":
        return _("Skipped: %(file)s was imported before (same content).") % {
            "file": result.get("file", "")
        }
    if reason == "unreadable":
        return _("Not imported: %(file)s cannot be read. %(detail)s") % {
            "file": result.get("file", ""),
            "detail": result.get("detail", ""),
        }
    if reason == "row_errors":
        return ngettext(
            "Not imported: %(file)s has %(count)s row with errors; its preview shows why.",
            "Not imported: %(file)s has %(count)s rows with errors; its preview shows why.",
            result.get("errors", 0),
        ) % {"file": result.get("file", ""), "count": result.get("errors", 0)}
    return _("Not imported (%(reason)s).") % {"reason": reason}


def _describe_close(result: dict[str, Any], refresh: AnnualRefresh) -> str:
    if result.get("already_closed"):
        return _("The year %(year)s was closed already.") % {"year": refresh.year}
    return _(
        "The year %(year)s is closed: its figures change only by an administrator's correction."
    ) % {"year": refresh.year}


def _describe_recompute(result: dict[str, Any], refresh: AnnualRefresh) -> str:
    return ngettext(
        "KPIs of %(count)s account for %(year)s recomputed; %(off)s below 90 %% of the revenue "
        "target.",
        "KPIs of %(count)s accounts for %(year)s recomputed; %(off)s below 90 %% of the revenue "
        "target.",
        result.get("accounts", 0),
    ) % {
        "count": result.get("accounts", 0),
        "year": refresh.year,
        "off": result.get("off_target", 0),
    }


def _describe_selection(result: dict[str, Any], refresh: AnnualRefresh) -> str:
    if result.get("reason") == "no_released_version":
        return _("Skipped: no criteria version is released, so no selection could run.")
    return _(
        "A draft run of %(version)s started. It changes no tier until leadership approves it."
    ) % {"version": result.get("version", "")}


def _describe_roll_forward(result: dict[str, Any], refresh: AnnualRefresh) -> str:
    first, last = result.get("horizon", [refresh.year + 1, refresh.year + 3])
    text = ngettext(
        "%(count)s plan of a key account is now a draft for %(first)s–%(last)s.",
        "%(count)s plans of key accounts are now drafts for %(first)s–%(last)s.",
        result.get("rolled", 0),
    ) % {"count": result.get("rolled", 0), "first": first, "last": last}
    if result.get("up_to_date"):
        text += " " + ngettext(
            "%(count)s key account already had a plan for the new horizon.",
            "%(count)s key accounts already had a plan for the new horizon.",
            result["up_to_date"],
        ) % {"count": result["up_to_date"]}
    if result.get("too_old"):
        text += " " + ngettext(
            "%(count)s key account's newest plan starts before %(year)s and was not copied.",
            "%(count)s key accounts' newest plans start before %(year)s and were not copied.",
            result["too_old"],
        ) % {"count": result["too_old"], "year": refresh.year}
    if result.get("without_plan"):
        text += " " + ngettext(
            "%(count)s key account has no plan.",
            "%(count)s key accounts have no plan.",
            result["without_plan"],
        ) % {"count": result["without_plan"]}
    return text


def _describe_notify(result: dict[str, Any], refresh: AnnualRefresh) -> str:
    return ngettext(
        "%(count)s key account manager notified; %(leaders)s in leadership asked to review the "
        "selection.",
        "%(count)s key account managers notified; %(leaders)s in leadership asked to review the "
        "selection.",
        result.get("managers", 0),
    ) % {"count": result.get("managers", 0), "leaders": result.get("leadership", 0)}
