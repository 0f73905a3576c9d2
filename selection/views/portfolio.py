"""The tiered account list with its exports, the portfolio matrix and allocation priority."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import ListView, TemplateView

from accounts.selectors import CachedCountPaginator
from accounts.views.common import show_conflict
from kam import access
from kam.concurrency import EditConflict
from kam.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_lines, xlsx_file
from kam.pdf import render_pdf
from selection import selectors, services
from selection.filters import TierListFilterSet
from selection.forms.portfolio import AllocationForm, PortfolioSettingsForm
from selection.models import SelectionRun
from selection.selectors import portfolio as portfolio_selectors

PDF_CONTENT_TYPE = "application/pdf"
EXPORT_FORMATS = ("csv", "xlsx", "pdf")


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


class TierListView(ListView):
    """The key accounts grouped by tier, with counts and revenue potential per tier."""

    template_name = "selection/tier_list.html"
    context_object_name = "accounts"
    paginate_by = 100
    paginator_class = CachedCountPaginator

    def get_queryset(self):
        _require(access.may_list_accounts(self.request.user))
        self.run = selectors.current_run()
        self.filterset = portfolio_selectors.tier_list_filterset(
            user=self.request.user, data=self.request.GET, run=self.run
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(filterset=self.filterset, run=self.run, **kwargs)
        summaries = portfolio_selectors.tier_summaries(
            self.filterset.qs, portfolio_selectors.tier_colours(self.run)
        )
        page = context["page_obj"]
        context["groups"] = portfolio_selectors.tier_groups(
            portfolio_selectors.tier_list_rows(context["accounts"]),
            summaries,
            start=page.start_index() - 1 if page else 0,
        )
        context["summaries"] = summaries
        context["total_potential"] = _sum(s.revenue_potential for s in summaries)
        return context


def _sum(values) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known else None


def _active_filters(filterset: TierListFilterSet) -> list[tuple[str, str]]:
    """(label, shown value) of each filter in use, for the printout's heading."""
    form = filterset.form
    if not form.is_valid():
        return []
    active = []
    for name, value in form.cleaned_data.items():
        if not value:
            continue
        choices = dict(getattr(form.fields[name], "choices", ()))
        active.append((str(form.fields[name].label), str(choices.get(value, value))))
    return active


XLSX_WIDTHS = (12, 40, 18, 8, 18, 14, 28, 14)
XLSX_NUMBER_FORMATS = {3: "0.00", 4: "#,##0", 5: "0.00"}


def _download(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pdf_response(
    request: HttpRequest, filterset: TierListFilterSet, run: SelectionRun | None, filename: str
) -> HttpResponse:
    summaries = portfolio_selectors.tier_summaries(
        filterset.qs, portfolio_selectors.tier_colours(run)
    )
    groups = portfolio_selectors.tier_groups(
        portfolio_selectors.tier_list_rows(filterset.qs), summaries
    )
    pdf = render_pdf(
        "selection/tier_list_print.html",
        {
            "groups": groups,
            "run": run,
            "now": timezone.localtime(),
            "filters": _active_filters(filterset),
            "total_count": sum(s.count for s in summaries),
            "total_potential": _sum(s.revenue_potential for s in summaries),
            "user": request.user,
        },
    )
    return _download(HttpResponse(pdf, content_type=PDF_CONTENT_TYPE), filename)


@require_GET
def tier_list_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The tiered list for the same query string as CSV, XLSX or a printable PDF."""
    _require(access.may_list_accounts(request.user))
    if fmt not in EXPORT_FORMATS:
        raise Http404
    run = selectors.current_run()
    filterset = portfolio_selectors.tier_list_filterset(
        user=request.user, data=request.GET, run=run
    )
    filename = f"key-accounts-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == "pdf":
        return _pdf_response(request, filterset, run, filename)
    rows = portfolio_selectors.tier_list_table(filterset.qs)
    # The table is in memory already (a page-sized list per tier), so nothing is streamed.
    if fmt == "csv":
        content = b"".join(csv_lines(rows))
        return _download(HttpResponse(content, content_type=CSV_CONTENT_TYPE), filename)
    title = _("Key accounts")
    with xlsx_file(
        rows, title=title, widths=XLSX_WIDTHS, number_formats=XLSX_NUMBER_FORMATS
    ) as workbook:
        content = workbook.read()
    return _download(HttpResponse(content, content_type=XLSX_CONTENT_TYPE), filename)


class PortfolioView(TemplateView):
    """Attractiveness against our position, as a scatter plot with a table equivalent."""

    template_name = "selection/portfolio.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require(access.may_read_selection(user))
        result = portfolio_selectors.portfolio(
            user=user, data=self.request.GET, run=selectors.current_run()
        )
        return super().get_context_data(
            portfolio=result,
            filterset=result.filterset,
            can_manage=access.may_manage_selection(user),
            default_colour=portfolio_selectors.DEFAULT_COLOUR,
            **kwargs,
        )


class PortfolioSettingsView(View):
    """Leadership sets the weights of coverage and share of wallet in our position."""

    template_name = "selection/portfolio_settings.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _require(access.may_manage_selection(request.user))
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request: HttpRequest, form: PortfolioSettingsForm) -> HttpResponse:
        return render(request, self.template_name, {"form": form})

    def get(self, request: HttpRequest) -> HttpResponse:
        settings = portfolio_selectors.portfolio_settings()
        return self._render(request, PortfolioSettingsForm.for_settings(settings))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PortfolioSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.portfolio_settings_update(
                    **form.weights(), started_from=form.started_from()
                )
            except EditConflict as conflict:
                show_conflict(
                    form, conflict, started_from=PortfolioSettingsForm.seen(conflict.current)
                )
            else:
                messages.success(request, _("The weights of the portfolio have been saved."))
                return redirect("selection:portfolio")
        return self._render(request, form)


class AllocationView(TemplateView):
    """Who gets the scarce article: the competing customers ranked by the allocation rule."""

    template_name = "selection/allocation.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require(access.may_list_accounts(user))
        allocation = None
        if "erp" in self.request.GET:
            form = AllocationForm.from_query(self.request.GET.getlist("erp"))
            if form.is_valid():
                allocation = portfolio_selectors.allocation_ranking(
                    user=user, erp_numbers=form.cleaned_data["erp"], run=selectors.current_run()
                )
        else:
            form = AllocationForm()
        return super().get_context_data(
            form=form,
            allocation=allocation,
            rule=portfolio_selectors.ALLOCATION_RULE,
            **kwargs,
        )


@require_GET
def allocation_json(request: HttpRequest) -> JsonResponse:
    """The allocation ranking for the ERP: ``?erp=A&erp=B`` or ``?erp=A,B``; 400 on bad input."""
    if not access.may_list_accounts(request.user):
        return JsonResponse({"error": _("You may not read the account list.")}, status=403)
    form = AllocationForm.from_query(request.GET.getlist("erp"))
    if not form.is_valid():
        return JsonResponse(
            {"error": " ".join(form.errors["erp"]), "code": form.errors.as_data()["erp"][0].code},
            status=400,
        )
    allocation = portfolio_selectors.allocation_ranking(
        user=request.user, erp_numbers=form.cleaned_data["erp"], run=selectors.current_run()
    )
    return JsonResponse(allocation.as_json())
