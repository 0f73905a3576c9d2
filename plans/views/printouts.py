"""A plan's PDF and the annual printout: both start a background job and show its page,
which reports progress and offers the download (``kam:job-detail``, ``kam:job-file``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST

from kam import access
from plans import selectors, services
from plans.forms.printouts import PrintoutForm
from plans.selectors import printout_versions


def _version_number(request: HttpRequest) -> int | None:
    """The ``version`` asked for (form field or query string); None for the working copy."""
    raw = request.POST.get("version") or request.GET.get("version") or ""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return int(raw)


@require_POST
def plan_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the PDF of a plan's working copy or of one of its versions; anyone who may open
    the plan may print it."""
    plan = selectors.plan_get(user=request.user, pk=pk)
    try:
        job = services.plan_pdf_start(plan=plan, user=request.user, number=_version_number(request))
    except ValidationError as exc:
        raise Http404 from exc
    messages.success(request, _("The PDF is being prepared; it can be downloaded here."))
    return redirect(job)


class PrintoutCreateView(View):
    """Leadership picks a year (and optionally a tier or KAM), sees how many approved plans
    match, and starts the annual printout."""

    template_name = "plans/printout_form.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not access.may_print_annual_plans(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        form = PrintoutForm(request.GET) if "year" in request.GET else PrintoutForm()
        return self._render(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PrintoutForm(request.POST)
        if form.is_valid():
            if not form.versions().exists():
                form.add_error(
                    None,
                    ValidationError(_("No approved plan matches."), code="no_plans"),
                )
            else:
                job = services.printout_start(
                    user=request.user,
                    year=form.cleaned_data["year"],
                    tier=form.cleaned_data["tier"],
                    kam=form.cleaned_data["kam"],
                )
                messages.success(request, _("The annual printout has been started."))
                return redirect(job)
        return self._render(request, form)

    def _render(self, request: HttpRequest, form: PrintoutForm) -> HttpResponse:
        matching = None
        if form.is_bound and form.is_valid():
            matching = form.versions().count()
        elif not form.is_bound:
            matching = printout_versions(year=form.initial["year"]).count()
        return render(request, self.template_name, {"form": form, "matching": matching})
