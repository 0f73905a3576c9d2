"""The figure grid of one account and year (manual entry of annual figures) and the export of
all of an account's figures.

GET follows the account's scope (outside: 404); saving needs the right to edit the account
(read-only: 403), and in a closed year the administrator's right to correct it (others: 403).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import selectors as account_selectors
from accounts.views import AccountTabView
from kam import access
from kam.concurrency import EditConflict
from kam.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_lines, xlsx_file
from kpis.catalogue import MEASURES
from kpis.forms.figures import FigureGridForm
from kpis.selectors.figures import FigureGrid, figure_export_rows, figure_grid, unit_label
from kpis.services.figures import figures_save

EXPORT_WIDTHS = (8, 30, 24, 24, 14, 16, 16)


class FigureGridView(AccountTabView):
    """The grid under the account's header, on its KPI tab."""

    tab = "kpis"
    template_name = "kpis/figure_grid.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.year = kwargs.pop("year")
        if not 2000 <= self.year <= 2100:
            raise Http404
        return super().dispatch(request, *args, pk=kwargs.pop("account_pk"), **kwargs)

    def may_save(self, grid: FigureGrid) -> bool:
        user = self.request.user
        if not access.can_edit(user, self.account):
            return False
        return not grid.is_closed or access.may_correct_closed_year(user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        grid = kwargs.pop("grid", None) or figure_grid(account=self.account, year=self.year)
        editable = self.may_save(grid)
        form = kwargs.pop("form", None)
        if form is None and editable:
            form = FigureGridForm(grid=grid, with_reason=grid.is_closed)
        return super().get_context_data(
            grid=grid,
            year=self.year,
            form=form,
            editable=editable,
            may_correct=access.may_correct_closed_year(self.request.user),
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grid = figure_grid(account=self.account, year=self.year)
        if not self.may_save(grid):
            raise PermissionDenied
        form = FigureGridForm(request.POST, grid=grid, with_reason=grid.is_closed)
        if form.is_valid():
            try:
                saved = figures_save(
                    account=self.account,
                    year=self.year,
                    rows=form.rows(),
                    started_from=form.started_from(),
                    user=request.user,
                    reason=form.reason,
                )
            except EditConflict as conflict:
                grid = figure_grid(account=self.account, year=self.year)
                form = form.rebased(grid, conflict.changes)
                form.add_error(
                    ValidationError(
                        _(
                            "Someone else saved figures after you opened this page, and some "
                            "of them are cells you changed too. Nothing was saved. Your entries "
                            "are kept below; check the changes listed here and save again."
                        ),
                        code="edit_conflict",
                    )
                )
            except ValidationError as error:
                _show_service_error(form, error)
            else:
                if saved.changed:
                    messages.success(
                        request,
                        ngettext(
                            "Saved: %(count)s value changed.",
                            "Saved: %(count)s values changed.",
                            len(saved.changes),
                        )
                        % {"count": len(saved.changes)},
                    )
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect(reverse("kpis:figure-grid", args=[self.account.pk, self.year]))
        return self.render_to_response(self.get_context_data(form=form, grid=grid))


def _show_service_error(form: FigureGridForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            target = name if name in form.totals.fields else None
            form.totals.add_error(target, errors)
        return
    for message in error.messages:
        form.add_error(ValidationError(message))


def _export_rows(grid_rows, currency: str):
    yield [
        _("Year"),
        _("Measure"),
        _("Product group"),
        _("Region"),
        _("Unit"),
        _("Actual"),
        _("Target"),
    ]
    labels = {key: definition.label for key, definition in MEASURES.items()}
    units = {key: unit_label(definition, currency) for key, definition in MEASURES.items()}
    for year, measure, product_group, region, actual, target in grid_rows:
        yield [str(year), labels[measure], product_group, region, units[measure], actual, target]


def figure_export(request: HttpRequest, account_pk: int, fmt: str) -> HttpResponse:
    """Every figure of the account as CSV (German Excel) or XLSX; the account's scope applies."""
    account = account_selectors.account_get(user=request.user, pk=account_pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    # Labels are resolved in the request's language now: a streamed body is written later.
    rows = list(_export_rows(figure_export_rows(account=account), account.currency))
    filename = f"figures-{re.sub(r'[^A-Za-z0-9_-]', '-', account.erp_number)}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(csv_lines(rows), content_type=CSV_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        xlsx_file(
            rows,
            title=_("Annual figures"),
            widths=EXPORT_WIDTHS,
            number_formats={5: "#,##0.00", 6: "#,##0.00"},
        ),
        as_attachment=True,
        filename=filename,
        content_type=XLSX_CONTENT_TYPE,
    )
