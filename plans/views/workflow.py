"""The plan list, the user's open actions, the workflow steps (submit, withdraw, request
changes, approve, roll forward), mentor reviews, and the frozen versions with their comparison.

Access: a plan outside the user's scope answers 404; a step the user may not take answers
403 (read-only users, and everyone but leadership for approving). A step the plan's state
does not allow comes back to the plan page as an error message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import ListView, TemplateView

from accounts.views.common import add_service_error
from kam import access
from plans import selectors, services
from plans.forms.workflow import RequestChangesForm, ReviewForm, VersionCompareForm
from plans.models import Action, Plan


class PlanListView(ListView):
    """The plans the user may see, filtered, sorted and paged (a constant number of queries)."""

    template_name = "plans/plan_list.html"
    context_object_name = "plans"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[Plan]:
        self.filterset = selectors.plan_filterset(user=self.request.user, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(filterset=self.filterset, **kwargs)
        context["plans"] = selectors.plan_list_rows(context["plans"])
        context["may_print"] = access.may_print_annual_plans(self.request.user)
        return context


class ActionListView(ListView):
    """The signed-in user's open actions on their current plans, overdue first."""

    template_name = "plans/action_list.html"
    context_object_name = "actions"
    paginate_by = 100

    def get_queryset(self) -> QuerySet[Action]:
        self.filterset = selectors.action_filterset(user=self.request.user, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            filterset=self.filterset,
            overdue=selectors.overdue_count(self.filterset.qs),
            **kwargs,
        )


def _take_step(request: HttpRequest, plan: Plan, step: Callable[[], str]) -> HttpResponse:
    """Run ``step`` (a service call returning the success message) and return to the plan;
    a refusal is shown as an error message there."""
    try:
        done = step()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect(plan)


@require_POST
def plan_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand a draft to leadership (the account team and leadership)."""
    plan = selectors.plan_get_editable(user=request.user, pk=pk)

    def step() -> str:
        services.plan_submit(plan=plan, user=request.user)
        return _("The plan has been submitted for approval.")

    return _take_step(request, plan, step)


@require_POST
def plan_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a submitted plan back to draft (the account team and leadership)."""
    plan = selectors.plan_get_editable(user=request.user, pk=pk)

    def step() -> str:
        services.plan_withdraw(plan=plan, user=request.user)
        return _("The plan has been withdrawn and can be edited again.")

    return _take_step(request, plan, step)


@require_POST
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a submitted plan and freeze a version (leadership only: 403 for others)."""
    plan = selectors.plan_get(user=request.user, pk=pk)
    if not access.may_approve_plans(request.user):
        raise PermissionDenied

    def step() -> str:
        version = services.plan_approve(plan=plan, user=request.user)
        return _("The plan has been approved and frozen as version %(number)s.") % {
            "number": version.number
        }

    return _take_step(request, plan, step)


@require_POST
def plan_roll_forward(request: HttpRequest, pk: int) -> HttpResponse:
    """Start next year's plan from this one (or open it, if it exists) and go there."""
    plan = selectors.plan_get_editable(user=request.user, pk=pk)
    new = services.plan_roll_forward(plan=plan, user=request.user)
    messages.success(
        request,
        _("The plan for %(start)s–%(end)s is ready; it carries the open objectives and actions.")
        % {"start": new.start_year, "end": new.end_year},
    )
    return redirect(new)


class RequestChangesView(View):
    """Send a submitted plan back to its team with a comment (leadership only)."""

    template_name = "plans/request_changes.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.plan = selectors.plan_get(user=request.user, pk=kwargs["pk"])
        if not access.may_approve_plans(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(RequestChangesForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = RequestChangesForm(request.POST)
        if form.is_valid():
            try:
                services.plan_request_changes(
                    plan=self.plan, user=request.user, comment=form.cleaned_data["comment"]
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The plan has been sent back with your comment."))
                return redirect(self.plan)
        return self.render(form)

    def render(self, form: RequestChangesForm) -> HttpResponse:
        return render(self.request, self.template_name, {"plan": self.plan, "form": form})


class ReviewCreateView(View):
    """Record a mentor review (the account's mentors and leadership)."""

    template_name = "plans/review_form.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.plan = selectors.plan_get(user=request.user, pk=kwargs["pk"])
        if not access.may_review_plan(request.user, self.plan.account):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(ReviewForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.review_record(plan=self.plan, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The review has been recorded."))
                return redirect(self.plan)
        return self.render(form)

    def render(self, form: ReviewForm) -> HttpResponse:
        return render(self.request, self.template_name, {"plan": self.plan, "form": form})


class VersionDetailView(TemplateView):
    """One approved version of a plan, read-only, as it was frozen."""

    template_name = "plans/version_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        plan = selectors.plan_get(user=self.request.user, pk=kwargs["pk"])
        version = get_object_or_404(
            plan.versions.select_related("approved_by"), number=kwargs["number"]
        )
        return super().get_context_data(
            plan=plan,
            version=version,
            sections=selectors.snapshot_sections(version.snapshot),
            **kwargs,
        )


class VersionCompareView(TemplateView):
    """Two states of a plan side by side (``?a=`` and ``?b=``: a version number or
    ``current``); by default the latest approved version against the working copy."""

    template_name = "plans/version_compare.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        plan = selectors.plan_get(user=self.request.user, pk=kwargs["pk"])
        versions = list(plan.versions.defer("snapshot"))
        data = self.request.GET.copy()
        if not data.get("a"):
            data["a"] = str(versions[0].number) if versions else selectors.CURRENT
        if not data.get("b"):
            data["b"] = selectors.CURRENT
        form = VersionCompareForm(data, versions=versions)
        context = super().get_context_data(plan=plan, versions=versions, form=form, **kwargs)
        if versions and form.is_valid():
            a, b = form.cleaned_data["a"], form.cleaned_data["b"]
            labels = dict(form.fields["a"].choices)
            context.update(
                comparison=selectors.snapshot_compare(
                    selectors.plan_snapshot_at(plan, a), selectors.plan_snapshot_at(plan, b)
                ),
                label_a=labels[a],
                label_b=labels[b],
                same=a == b,
                only_changes=form.cleaned_data["changes"],
            )
        return context
