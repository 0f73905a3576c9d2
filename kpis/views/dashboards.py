"""The programme dashboard, the exports of its tables and the KPI definitions.

Reads go through :mod:`kpis.selectors.programme`, :mod:`kpis.selectors.escalations` and
:mod:`kpis.selectors.home`: the programme is for the read-all roles (others 403), its payment
escalations for those who read every payment (the section is left out for the others, its
tables 403); the start page's table ("my-accounts") exports the user's own accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView

from accounts.models import Account
from kam import access
from kam.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_lines, xlsx_file
from kam.templatetags.kam import money
from kpis.catalogue import KPIS, MEASURES, PLAN_MEASURES, KpiDefinition, Unit
from kpis.charts import (
    BarChart,
    LineChart,
    Series,
    bar_chart,
    line_chart,
    money_formatter,
    number_formatter,
)
from kpis.filters import ProgrammeFilterSet
from kpis.selectors import escalations, home, programme
from kpis.selectors.escalations import EscalationGroup, EscalationKpis
from kpis.selectors.programme import ProgrammeDashboard
from kpis.selectors.sums import AccountRow, GroupRow, Sums

# The tables per key account manager are paged: a large programme has thousands of managers
# (the exports hold them all). Each has its own page parameter beside the off-target list's.
MANAGERS_PER_PAGE = 25
MANAGERS_PAGE = "managers_page"
ESCALATION_MANAGERS_PAGE = "escalation_managers_page"

Cell = str | Decimal | int | None


def trend_chart(dashboard: ProgrammeDashboard) -> LineChart:
    years = [str(row.year) for row in dashboard.trend]
    return line_chart(
        chart_id="chart-trend",
        title=_("Revenue over the years"),
        description=_(
            "Actual revenue and revenue target per year; the table below lists the values."
        ),
        labels=years,
        series=[
            Series(_("Actual"), [row.sums.revenue for row in dashboard.trend]),
            Series(_("Target"), [row.sums.revenue_target for row in dashboard.trend]),
        ],
        formatter=money_formatter(dashboard.currency),
    )


def group_chart(chart_id: str, title: str, rows: Sequence[GroupRow], currency: str) -> BarChart:
    return bar_chart(
        chart_id=chart_id,
        title=title,
        description=_("Actual revenue and revenue target; the table below lists the values."),
        categories=[row.label for row in rows],
        series=[
            Series(_("Actual"), [row.sums.revenue for row in rows]),
            Series(_("Target"), [row.sums.revenue_target for row in rows]),
        ],
        formatter=money_formatter(currency),
    )


def display(value: Decimal | int | None, unit: str, currency: str = "") -> str:
    """A table cell's text in the active locale: money, a percentage or a count; "–" if
    unknown. Formatted here rather than per cell in the template: a dashboard has hundreds."""
    if value is None:
        return "–"
    if unit == Unit.CURRENCY:
        return money(value, currency or "EUR")
    if unit == Unit.PERCENT:
        return f"{formats.number_format(value, 1, force_grouping=True)}\u00a0%"
    if unit == Unit.DAYS:
        return _("%(days)s days") % {"days": formats.number_format(value, 1, force_grouping=True)}
    return formats.number_format(value, force_grouping=True)


def sums_cells(sums: Sums, currency: str) -> list[str]:
    """The cells of a row of the tables per tier, region, industry and manager."""
    return [
        display(sums.accounts, Unit.COUNT),
        display(sums.with_revenue, Unit.COUNT),
        display(sums.revenue, Unit.CURRENCY, currency),
        display(sums.revenue_target, Unit.CURRENCY, currency),
        display(sums.attainment, Unit.PERCENT),
        display(sums.margin, Unit.CURRENCY, currency),
        display(sums.margin_attainment, Unit.PERCENT),
        display(sums.growth, Unit.PERCENT),
        display(sums.share_of_wallet, Unit.PERCENT),
    ]


def trend_cells(sums: Sums, currency: str) -> list[str]:
    return [
        display(sums.with_revenue, Unit.COUNT),
        display(sums.revenue, Unit.CURRENCY, currency),
        display(sums.revenue_target, Unit.CURRENCY, currency),
        display(sums.attainment, Unit.PERCENT),
        display(sums.margin, Unit.CURRENCY, currency),
        display(sums.growth, Unit.PERCENT),
    ]


def account_cells(row: AccountRow, *, movers: bool) -> dict[str, Any]:
    """An account of the movers or off-target tables with its cells."""
    values = (
        (row.revenue_prior, row.change, row.growth)
        if movers
        else (row.revenue_target, row.attainment, row.gap)
    )
    units = (Unit.CURRENCY, Unit.CURRENCY, Unit.PERCENT) if movers else (
        Unit.CURRENCY, Unit.PERCENT, Unit.CURRENCY,
    )  # fmt: skip
    return {
        "row": row,
        "cells": [
            display(row.revenue, Unit.CURRENCY, row.currency),
            *(display(v, u, row.currency) for v, u in zip(values, units, strict=True)),
        ],
    }


def escalation_chart(tiers: Sequence[EscalationGroup]) -> BarChart:
    return bar_chart(
        chart_id="chart-escalation-tiers",
        title=_("Open payment escalations by tier"),
        description=_("Open payment escalations per tier; the table below lists them."),
        categories=[group.label for group in tiers],
        series=[Series(_("Open escalations"), [Decimal(group.open) for group in tiers])],
        formatter=number_formatter,
    )


def escalation_row(group: EscalationGroup) -> dict[str, Any]:
    """A tier's or a manager's open escalations and their amount at risk per currency."""
    return {
        "label": group.label,
        "open": display(group.open, Unit.COUNT),
        "amounts": [display(part.amount, Unit.CURRENCY, part.currency) for part in group.amounts],
    }


EscalationCard = tuple[KpiDefinition, list[tuple[Decimal | int | None, str]], str]


def _escalation_details(kpis: EscalationKpis) -> dict[str, str]:
    """What each payment-escalation KPI was computed over, or why it has no value."""

    def count(value: int) -> str:
        return formats.number_format(value, force_grouping=True)

    at_risk, clarified = _("nothing open"), _("none resolved yet")
    if kpis.total.open:
        at_risk = ngettext(
            "of %(count)s open escalation", "of %(count)s open escalations", kpis.total.open
        ) % {"count": count(kpis.total.open)}
    if kpis.clarified:
        clarified = ngettext(
            "over %(count)s resolved escalation",
            "over %(count)s resolved escalations",
            kpis.clarified,
        ) % {"count": count(kpis.clarified)}
    stops = {"stops": count(kpis.stops_decided)}
    if kpis.closed:
        closed = _("%(resolved)s of %(closed)s closed; delivery stops decided: %(stops)s") % {
            "resolved": count(kpis.resolved),
            "closed": count(kpis.closed),
            **stops,
        }
    else:
        closed = _("none closed yet; delivery stops decided: %(stops)s") % stops
    return {
        "amount_at_risk": at_risk,
        "days_to_clarification": clarified,
        "resolved_without_stop": closed,
    }


def escalation_cards(kpis: EscalationKpis) -> list[EscalationCard]:
    """Each payment-escalation KPI with its values, each with its currency (the amount at
    risk has one per currency; none while nothing is open), and what it was computed over."""
    details = _escalation_details(kpis)
    values: dict[str, list[tuple[Decimal | int | None, str]]] = {
        "escalations_open": [(kpis.total.open, "")],
        "amount_at_risk": [(part.amount, part.currency) for part in kpis.total.amounts],
        "days_to_clarification": [(kpis.median_days, "")],
        "resolved_without_stop": [(kpis.resolved_without_stop, "")],
    }
    return [(KPIS[key], value, details.get(key, "")) for key, value in values.items()]


def escalation_section(kpis: EscalationKpis, *, managers_page: str | None = None) -> dict[str, Any]:
    """The "Payment escalations" section: a card per KPI, the chart and rows per tier, and
    a page of the rows per key account manager."""
    managers = Paginator(kpis.managers, MANAGERS_PER_PAGE).get_page(managers_page)
    return {
        "cards": [
            {
                "definition": definition,
                "values": [display(value, definition.unit, currency) for value, currency in values]
                or ["–"],
                "detail": detail,
            }
            for definition, values, detail in escalation_cards(kpis)
        ],
        "chart": escalation_chart(kpis.tiers) if kpis.tiers else None,
        "tiers": [escalation_row(group) for group in kpis.tiers],
        "managers": [escalation_row(group) for group in managers],
        "managers_page": managers,
        "total": escalation_row(kpis.total),
    }


class ProgrammeDashboardView(TemplateView):
    """The programme's KPIs for a year, per tier, region, industry and manager, the trend,
    the top movers and the accounts off target; the read-all roles only (others 403)."""

    template_name = "kpis/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        dashboard = programme.programme_dashboard(
            user=self.request.user,
            data=self.request.GET,
            page=self.request.GET.get("page") or 1,
        )
        sections = []
        if dashboard.year is not None:
            currency = dashboard.currency
            for table, title, heading, rows, chart in (
                ("tiers", _("By tier"), _("Tier"), dashboard.tiers, True),
                ("regions", _("By region"), _("Region"), dashboard.regions, True),
                ("industries", _("By industry"), _("Industry"), dashboard.industries, True),
                (
                    "managers",
                    _("Key accounts per key account manager"),
                    _("Key account manager"),
                    dashboard.managers,
                    False,
                ),
            ):
                page = None
                if table == "managers":
                    page = Paginator(rows, MANAGERS_PER_PAGE).get_page(
                        self.request.GET.get(MANAGERS_PAGE)
                    )
                sections.append(
                    {
                        "table": table,
                        "title": title,
                        "label_heading": heading,
                        "rows": [
                            {"label": row.label, "cells": sums_cells(row.sums, currency)}
                            for row in (page or rows)
                        ],
                        "page": page,
                        "total": sums_cells(dashboard.total, currency)
                        if table != "managers"
                        else None,
                        "chart": group_chart(f"chart-{table}", title, rows, currency)
                        if chart and rows
                        else None,
                    }
                )
        currency = dashboard.currency
        trend = [
            {"year": row.year, "cells": trend_cells(row.sums, currency)} for row in dashboard.trend
        ]
        accounts = {
            "movers_up": [account_cells(r, movers=True) for r in dashboard.movers_up],
            "movers_down": [account_cells(r, movers=True) for r in dashboard.movers_down],
            "off_target": [
                account_cells(r, movers=False) for r in dashboard.off_target.object_list
            ],
        }
        payment_escalations = None
        if access.reads_all_payments(self.request.user):
            payment_escalations = escalation_section(
                escalations.escalation_kpis(user=self.request.user, filterset=dashboard.filterset),
                managers_page=self.request.GET.get(ESCALATION_MANAGERS_PAGE),
            )
        return super().get_context_data(
            dashboard=dashboard,
            filterset=dashboard.filterset,
            charts={"trend": trend_chart(dashboard)},
            group_sections=sections,
            trend_rows=trend,
            account_tables=accounts,
            payment_escalations=payment_escalations,
            **kwargs,
        )


class KpiDefinitionsView(TemplateView):
    """Every KPI and every annual measure with its definition; for everyone signed in."""

    template_name = "kpis/definitions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            kpis=list(KPIS.values()),
            measures=list(MEASURES.values()),
            plan_measures=list(PLAN_MEASURES),
            may_read_programme=access.may_read_programme(self.request.user),
            **kwargs,
        )


def _sums_header(label: str) -> list[str]:
    return [
        label,
        _("Accounts"),
        _("With revenue"),
        _("Revenue"),
        _("Target"),
        _("Attainment (%)"),
        _("Contribution margin"),
        _("Contribution margin target"),
        _("Margin attainment (%)"),
        _("Growth (%)"),
        _("Share of wallet (%)"),
    ]


def _sums_cells(sums: Sums) -> list[Cell]:
    return [
        sums.accounts,
        sums.with_revenue,
        sums.revenue,
        sums.revenue_target,
        sums.attainment,
        sums.margin,
        sums.margin_target,
        sums.margin_attainment,
        sums.growth,
        sums.share_of_wallet,
    ]


def _account_rows(rows: Iterable[AccountRow], *, movers: bool) -> Iterable[list[Cell]]:
    yield [
        _("Account"),
        _("Tier"),
        _("Key account manager"),
        _("Currency"),
        _("Revenue"),
        *(
            (_("Year before"), _("Change"), _("Growth (%)"))
            if movers
            else (_("Target"), _("Attainment (%)"), _("Gap"))
        ),
    ]
    for row in rows:
        yield [
            row.name,
            row.tier,
            row.kam,
            row.currency,
            row.revenue,
            *(
                (row.revenue_prior, row.change, row.growth)
                if movers
                else (row.revenue_target, row.attainment, row.gap)
            ),
        ]


def _programme_rows(dashboard: ProgrammeDashboard, table: str) -> list[list[Cell]]:
    """The rows (header first) of one table of the programme dashboard."""
    if table == "kpis":
        units = {Unit.CURRENCY: dashboard.currency, Unit.PERCENT: "%", Unit.COUNT: ""}
        return [
            [_("KPI"), _("Value"), _("Unit"), _("Computed over"), _("Formula")],
            *(
                [
                    str(card.definition.name),
                    card.value,
                    units.get(card.definition.unit, str(card.definition.unit.label)),
                    card.detail,
                    str(card.definition.formula),
                ]
                for card in dashboard.cards
            ),
        ]
    if table == "trend":
        return [
            _sums_header(_("Year")),
            *([str(row.year), *_sums_cells(row.sums)] for row in dashboard.trend),
        ]
    groups = {
        "tiers": (_("Tier"), dashboard.tiers),
        "regions": (_("Region"), dashboard.regions),
        "industries": (_("Industry"), dashboard.industries),
        "managers": (_("Key account manager"), dashboard.managers),
    }
    if table in groups:
        label, rows = groups[table]
        return [_sums_header(label), *([row.label, *_sums_cells(row.sums)] for row in rows)]
    if table in ("movers-up", "movers-down"):
        rows = programme.programme_movers(dashboard, up=table == "movers-up")
        return list(_account_rows(rows, movers=True))
    return list(_account_rows(programme.programme_off_target(dashboard), movers=False))


def _escalation_kpi_rows(kpis: EscalationKpis) -> list[list[Cell]]:
    """The payment-escalation KPIs as rows of the "kpis" table, the amount at risk once per
    currency."""
    units = {Unit.PERCENT: "%", Unit.COUNT: "", Unit.DAYS: str(Unit.DAYS.label)}
    return [
        [
            str(definition.name),
            value,
            currency or units.get(definition.unit, ""),
            detail,
            str(definition.formula),
        ]
        for definition, values, detail in escalation_cards(kpis)
        for value, currency in values or [(None, "")]
    ]


def _escalation_group_rows(kpis: EscalationKpis, table: str) -> list[list[Cell]]:
    """A row per tier or key account manager and currency: open escalations, amount at risk."""
    label, groups = (
        (_("Tier"), kpis.tiers)
        if table == "escalation-tiers"
        else (_("Key account manager"), kpis.managers)
    )
    return [
        [label, _("Currency"), _("Open escalations"), _("Amount at risk")],
        *(
            [group.label, part.currency, part.open, part.amount]
            for group in groups
            for part in group.amounts
        ),
    ]


def _my_account_rows(request: HttpRequest) -> list[list[Cell]]:
    year = home.my_kpi_year(user=request.user)
    rows = home.my_account_kpis(user=request.user, year=year)
    return [
        [
            _("Account"),
            _("Tier"),
            _("Year"),
            _("Currency"),
            _("Revenue"),
            _("Target"),
            _("Attainment (%)"),
            _("Growth (%)"),
            _("Contribution margin"),
            _("Margin attainment (%)"),
            _("Red flags"),
        ],
        *(
            [
                row.name,
                row.tier,
                str(year) if year else "",
                row.currency,
                row.revenue,
                row.revenue_target,
                row.attainment,
                row.growth,
                row.margin,
                row.margin_attainment,
                "; ".join(row.flags),
            ]
            for row in rows
        ),
    ]


PROGRAMME_TABLES = (
    "kpis",
    "trend",
    "tiers",
    "regions",
    "industries",
    "managers",
    "movers-up",
    "movers-down",
    "off-target",
)
ESCALATION_TABLES = ("escalation-tiers", "escalation-managers")
EXPORT_FORMATS = ("csv", "xlsx")


def dashboard_export(
    request: HttpRequest, table: str, fmt: str
) -> StreamingHttpResponse | FileResponse:
    """One dashboard table, for the same query string, as CSV or XLSX (404 for an unknown
    table or format; the programme's tables 403 for those who may not read the programme,
    its payment escalations' tables for those who may not read every payment)."""
    tables = (*PROGRAMME_TABLES, *ESCALATION_TABLES, "my-accounts")
    if fmt not in EXPORT_FORMATS or table not in tables:
        raise Http404
    if table == "my-accounts":
        rows = _my_account_rows(request)
    elif table in ESCALATION_TABLES:
        filterset = ProgrammeFilterSet(request.GET, queryset=Account.objects.all())
        filterset.is_valid()
        kpis = escalations.escalation_kpis(user=request.user, filterset=filterset)
        rows = _escalation_group_rows(kpis, table)
    else:
        dashboard = programme.programme_dashboard(user=request.user, data=request.GET)
        rows = _programme_rows(dashboard, table)
        if table == "kpis" and access.reads_all_payments(request.user):
            kpis = escalations.escalation_kpis(user=request.user, filterset=dashboard.filterset)
            rows += _escalation_kpi_rows(kpis)
    filename = f"kpis-{table}-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        # The rows are built above, in the request's language; counts are written as text.
        text_rows = [[str(c) if isinstance(c, int) else c for c in row] for row in rows]
        response = StreamingHttpResponse(csv_lines(text_rows), content_type=CSV_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        xlsx_file(rows, title=table[:31], widths=[36] + [16] * (len(rows[0]) - 1)),
        as_attachment=True,
        filename=filename,
        content_type=XLSX_CONTENT_TYPE,
    )
