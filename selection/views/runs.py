"""Runs: the list, starting one, the run page with review and approval, one account's
result with its override, the exports and the list of tier changes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from accounts.views.common import add_service_error, show_conflict
from kam import access
from kam.concurrency import EditConflict
from kam.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from kam.models import User
from selection import exports, selectors, services
from selection.filters import TierChangeFilterSet
from selection.forms.runs import RunApproveForm, RunStartForm, TierOverrideForm
from selection.models import RunState, SelectionResult, SelectionRun
from selection.selectors import runs as selectors_runs
from selection.services.runs import approved_after_computing, newer_version

CHART_WIDTH = 560
CHART_LABEL_WIDTH = 160
CHART_BAR_HEIGHT = 24
CHART_ROW_HEIGHT = 32


def _require_manager(user: User) -> None:
    if not access.may_manage_selection(user):
        raise PermissionDenied


def _require_reader(user: User) -> None:
    if not access.may_read_selection(user):
        raise PermissionDenied


class RunListView(ListView):
    template_name = "selection/run_list.html"
    context_object_name = "runs"
    paginate_by = 50

    def get_queryset(self):
        _require_reader(self.request.user)
        return selectors.runs_for(user=self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            may_manage=access.may_manage_selection(self.request.user), **kwargs
        )


class RunCreateView(View):
    template_name = "selection/run_form.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _require_manager(request.user)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": RunStartForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RunStartForm(request.POST)
        if form.is_valid():
            try:
                run = services.selection_run_start(
                    version=form.cleaned_data["version"],
                    user=request.user,
                    segment=form.segment(),
                    segment_label=form.segment_label(),
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The run has been started."))
                return redirect(run)
        return render(request, self.template_name, {"form": form})


def _chart(distribution: list[selectors_runs.TierCount]) -> dict:
    """Geometry of the distribution's horizontal bar chart (inline SVG)."""
    largest = max((row.count for row in distribution), default=0) or 1
    span = CHART_WIDTH - CHART_LABEL_WIDTH - 60
    bars = []
    for index, row in enumerate(distribution):
        width = round(span * row.count / largest)
        bars.append(
            {
                "row": row,
                "y": index * CHART_ROW_HEIGHT + 4,
                "text_y": index * CHART_ROW_HEIGHT + 4 + CHART_BAR_HEIGHT * 0.7,
                "width": width,
                "value_x": CHART_LABEL_WIDTH + width + 6,
                "colour": row.tier.colour if row.tier else "#adb5bd",
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": len(bars) * CHART_ROW_HEIGHT + 8,
        "label_x": CHART_LABEL_WIDTH - 8,
        "bar_x": CHART_LABEL_WIDTH,
        "bar_height": CHART_BAR_HEIGHT,
    }


def _progress_response(request: HttpRequest, run: SelectionRun) -> HttpResponse:
    """The progress panel htmx polls while the run computes; a full reload once it is done."""
    if run.state != RunState.COMPUTING:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
    else:
        response = render(
            request,
            "selection/run_progress.html",
            {"run": run, "job": run.job, "compact": request.GET.get("compact") == "1"},
        )
    patch_vary_headers(response, ["HX-Request"])
    return response


class RunDetailView(ListView):
    """The run's header, distribution, movements and the filtered account table."""

    template_name = "selection/run_detail.html"
    context_object_name = "results"
    paginate_by = 100

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.run = selectors.run_get(user=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.htmx:
            return _progress_response(request, self.run)
        response = super().get(request, *args, **kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def get_queryset(self):
        self.filterset = selectors_runs.result_filterset(run=self.run, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        run = self.run
        context = super().get_context_data(run=run, filterset=self.filterset, **kwargs)
        if run.state == RunState.COMPUTING:
            return context
        overview = selectors_runs.run_overview(run=run)
        may_approve = access.may_manage_selection(self.request.user) and (
            run.state == RunState.READY
        )
        newer = newer_version(run=run) if may_approve else None
        context.update(
            overview=overview,
            chart=_chart(overview.distribution),
            may_approve=may_approve,
            newer_version=newer,
            stale=may_approve and approved_after_computing(run=run),
            approve_form=RunApproveForm(needs_confirmation=newer is not None),
        )
        return context


def _run_for_manager(request: HttpRequest, pk: int) -> SelectionRun:
    _require_manager(request.user)
    return selectors.run_get(user=request.user, pk=pk)


def _add_error_messages(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@require_POST
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve the run; refusals (and a missing confirmation) come back as error messages."""
    run = _run_for_manager(request, pk)
    form = RunApproveForm(request.POST, needs_confirmation=newer_version(run=run) is not None)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(run)
    try:
        changed = services.selection_run_approve(
            run=run,
            user=request.user,
            older_version_confirmed=form.cleaned_data["older_version_confirmed"],
        )
    except ValidationError as error:
        _add_error_messages(request, error)
    else:
        messages.success(
            request,
            ngettext(
                "The run has been approved: %(count)d account changed tier.",
                "The run has been approved: %(count)d accounts changed tier.",
                changed,
            )
            % {"count": changed},
        )
    return redirect(run)


@require_POST
def run_discard(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_for_manager(request, pk)
    try:
        services.selection_run_discard(run=run)
    except ValidationError as error:
        _add_error_messages(request, error)
    else:
        messages.success(request, _("The run has been discarded."))
    return redirect(run)


def run_export(request: HttpRequest, pk: int, fmt: str) -> StreamingHttpResponse | FileResponse:
    """The run's account table for the same query string as a CSV or XLSX download."""
    run = selectors.run_get(user=request.user, pk=pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    queryset = selectors_runs.result_filterset(run=run, data=request.GET).qs
    filename = f"selection-run-{run.pk}-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.result_csv(queryset), content_type=CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        exports.result_xlsx(queryset),
        as_attachment=True,
        filename=filename,
        content_type=XLSX_CONTENT_TYPE,
    )


def _posted_version(request: HttpRequest) -> int | None:
    """The version a one-button form started from (None when it sent none)."""
    try:
        return int(request.POST["version"])
    except (KeyError, ValueError):
        return None


def _result_page(
    request: HttpRequest,
    run: SelectionRun,
    result: SelectionResult,
    form: TierOverrideForm | None = None,
) -> HttpResponse:
    explanation = selectors.explanation(result)
    may_override = access.may_manage_selection(request.user) and run.state == RunState.READY
    override = getattr(result, "override", None)
    if may_override and form is None:
        initial_rank = result.proposed_rank if override is None else override.rank
        form = TierOverrideForm(
            tiers=explanation.tiers,
            initial={
                "rank": "none" if initial_rank is None else str(initial_rank),
                "reason": override.reason if override else "",
                "version": override.version if override else 0,
            },
        )
    return TemplateResponse(
        request,
        "selection/result_detail.html",
        {
            "run": run,
            "result": result,
            "account": result.account,
            "override": override,
            "explanation": explanation,
            "may_override": may_override,
            "form": form,
        },
    )


class ResultDetailView(View):
    """Why one account got its tier in the run; leadership overrides it here."""

    def get(self, request: HttpRequest, pk: int, account_pk: int) -> HttpResponse:
        run = selectors.run_get(user=request.user, pk=pk)
        result = selectors.result_get(user=request.user, run=run, account_pk=account_pk)
        return _result_page(request, run, result)


@require_POST
def result_override(request: HttpRequest, pk: int, account_pk: int) -> HttpResponse:
    """Set (or, with ``remove``, take back) the override of one account's proposed tier."""
    run = _run_for_manager(request, pk)
    result = selectors.result_get(user=request.user, run=run, account_pk=account_pk)
    url = reverse("selection:result-detail", args=[run.pk, account_pk])
    if "remove" in request.POST:
        try:
            services.tier_override_remove(result=result, version=_posted_version(request))
        except EditConflict:
            messages.error(
                request,
                _(
                    "Someone changed this entry after you opened the page, so it was not "
                    "deleted. Check it and delete it again if it should go."
                ),
            )
        except ValidationError as error:
            _add_error_messages(request, error)
        else:
            messages.success(request, _("The override has been removed."))
        return redirect(url)
    form = TierOverrideForm(request.POST, tiers=list(run.version.tiers.order_by("rank")))
    if form.is_valid():
        try:
            services.tier_override_set(
                result=result,
                rank=form.cleaned_data["rank"],
                reason=form.cleaned_data["reason"],
                user=request.user,
                version=form.cleaned_data["version"],
            )
        except EditConflict as conflict:
            show_conflict(form, conflict)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                # The run is no longer under review: the page shows no form to correct.
                _add_error_messages(request, error)
                return redirect(url)
            add_service_error(form, error)
        else:
            messages.success(request, _("The override has been saved."))
            return redirect(url)
    return _result_page(request, run, result, form)


class TierChangeListView(ListView):
    """Tier changes of the accounts the user may open; a KAM lands here from a notification."""

    template_name = "selection/tier_change_list.html"
    context_object_name = "changes"
    paginate_by = 100

    def get_queryset(self):
        user = self.request.user
        if not access.may_list_accounts(user):
            raise PermissionDenied
        self.filterset = TierChangeFilterSet(
            self.request.GET,
            queryset=selectors.tier_changes(user=user),
            runs=selectors_runs.approved_runs(),
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filterset=self.filterset,
            may_read_selection=access.may_read_selection(self.request.user),
            **kwargs,
        )
