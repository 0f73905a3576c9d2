"""The account's KPI tab: actuals against targets over the years, per measure and breakdown."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.views import AccountTabView
from kpis.charts import Series, bar_chart, line_chart, money_formatter
from kpis.selectors.account import AccountKpis, Breakdown, account_kpis


def revenue_chart(kpis: AccountKpis):
    """Revenue and contribution margin, actual and target, over the account's years."""
    rows = {row.definition.measure.value: row for row in kpis.measures}
    series = []
    for key, actual_label, target_label in (
        ("revenue", _("Revenue: actual"), _("Revenue: target")),
        ("contribution_margin", _("Contribution margin: actual"), _("Contribution margin: target")),
    ):
        if key in rows:
            series.append(Series(actual_label, [cell.actual for cell in rows[key].cells]))
            series.append(Series(target_label, [cell.target for cell in rows[key].cells]))
    if not series:
        return None
    return line_chart(
        chart_id="chart-account-years",
        title=_("Revenue and contribution margin over the years"),
        description=_("Actual and target per year; the table below lists the values."),
        labels=[str(year) for year in kpis.years],
        series=series,
        formatter=money_formatter(kpis.account.currency),
    )


def breakdown_chart(kpis: AccountKpis, breakdown: Breakdown, year: int | None):
    """The revenue of ``year`` per product group or region, actual against target."""
    rows = [row for row in breakdown.rows if row.definition.measure == "revenue"]
    if not rows or year is None:
        return None
    index = kpis.years.index(year)
    return bar_chart(
        chart_id=f"chart-breakdown-{breakdown.key}",
        title=_("Revenue %(year)s %(breakdown)s") % {"year": year, "breakdown": breakdown.title},
        description=_("Actual revenue and target; the table below lists every year."),
        categories=[row.label for row in rows],
        series=[
            Series(_("Actual"), [row.cells[index].actual for row in rows]),
            Series(_("Target"), [row.cells[index].target for row in rows]),
        ],
        formatter=money_formatter(kpis.account.currency),
    )


class AccountKpiView(AccountTabView):
    """The account's KPI tab; its scope is the account's (outside it: 404)."""

    tab = "kpis"
    template_name = "kpis/account_kpis.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kpis = account_kpis(account=self.account)
        latest = kpis.latest_year
        this_year = timezone.localdate().year
        return super().get_context_data(
            kpis=kpis,
            latest_year=latest,
            summary=kpis.summary(latest),
            chart=revenue_chart(kpis),
            breakdowns=[(b, breakdown_chart(kpis, b, latest)) for b in kpis.breakdowns],
            # A year without figures yet that the team is likely to enter next.
            new_year=next((y for y in (this_year - 1, this_year) if y not in kpis.years), None),
            **kwargs,
        )
