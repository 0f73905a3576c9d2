"""The annual refresh: the list with the start form, starting (or resuming) one, and one
refresh's page with its steps, progress while it runs and its report.

The read-all roles read them (others: 403); sales leadership starts and resumes (others: 403).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from kam import access
from kpis.forms.refresh import RefreshStartForm
from kpis.selectors.refresh import (
    STATE_LABELS,
    RefreshState,
    refresh_get,
    refresh_state,
    refresh_steps,
    refreshes_for,
)
from kpis.services.refresh import REFRESH_STEPS, annual_refresh_start


def _list_context(request: HttpRequest, form: RefreshStartForm | None = None) -> dict[str, Any]:
    refreshes = list(refreshes_for(user=request.user))
    for refresh in refreshes:
        refresh.state = refresh_state(refresh)
        refresh.state_label = STATE_LABELS[refresh.state]
    may_run = access.may_run_refresh(request.user)
    return {
        "refresh_day": datetime.date(2000, settings.KPI_REFRESH_MONTH, settings.KPI_REFRESH_DAY),
        "refreshes": refreshes,
        "may_run": may_run,
        "steps": REFRESH_STEPS,
        "form": form or (RefreshStartForm() if may_run else None),
    }


class RefreshListView(TemplateView):
    """The refreshes so far, and for leadership the form that starts one."""

    template_name = "kpis/refresh_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**_list_context(self.request), **kwargs)


@require_POST
def refresh_start(request: HttpRequest) -> HttpResponse:
    """Start the refresh of the year posted, or resume it after an error."""
    if not access.may_run_refresh(request.user):
        raise PermissionDenied
    form = RefreshStartForm(request.POST)
    if form.is_valid():
        try:
            refresh = annual_refresh_start(year=form.cleaned_data["year"], user=request.user)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                form.add_error(None, error)
            else:
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("The refresh of %(year)s has been started. This page shows its progress.")
                % {"year": refresh.year},
            )
            return redirect(refresh)
    return render(request, RefreshListView.template_name, _list_context(request, form))


class RefreshDetailView(TemplateView):
    template_name = "kpis/refresh_detail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.refresh = refresh_get(user=request.user, year=kwargs["year"])
        response = self._progress() if request.htmx else super().get(request, *args, **kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def _context(self) -> dict[str, Any]:
        state = refresh_state(self.refresh)
        return {
            "refresh": self.refresh,
            "job": self.refresh.job,
            "state": state,
            "state_label": STATE_LABELS[state],
            "is_active": state in (RefreshState.QUEUED, RefreshState.RUNNING),
            "steps": refresh_steps(self.refresh),
            "may_run": access.may_run_refresh(self.request.user),
        }

    def _progress(self) -> HttpResponse:
        """The panel htmx polls while the refresh runs; a full reload once it stops."""
        context = self._context()
        if not context["is_active"]:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(self.request, "kpis/refresh_progress.html", context)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**self._context(), **kwargs)
