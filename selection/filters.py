"""Filters of the selection pages: a run's results and the tier changes."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet
from django.http import QueryDict
from django.utils import formats, timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.filters import AccountFilterSet
from accounts.models import Account, Region
from kam.filters import ColumnOrderingFilter, SortColumns
from kam.widgets import FastSelect
from selection.models import (
    CriteriaVersion,
    KnockoutOutcome,
    Movement,
    SelectionResult,
    SelectionRun,
    TierChange,
)

NO_TIER = "none"

# Sort parameter → (label, order_by fields); the default order is tier, then score.
RESULT_SORT_COLUMNS: SortColumns = {
    "account": (_("Account"), ("account__name",)),
    "erp_number": (_("ERP customer number"), ("account__erp_number",)),
    "score": (_("Score"), ("total",)),
    "tier": (_("Proposed tier"), ("proposed_rank",)),
    "previous": (_("Tier before"), ("previous_rank",)),
    "movement": (_("Movement"), ("movement",)),
}


def default_result_order(queryset: QuerySet[SelectionResult]) -> QuerySet[SelectionResult]:
    """Best tier first, then the highest score; accounts without a tier last."""
    return queryset.order_by(
        F("proposed_rank").asc(nulls_last=True), "-total", "account__name", "pk"
    )


class SelectionResultFilterSet(django_filters.FilterSet):
    """Filters of a run's account table; the choices come from the run's criteria version."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.SearchInput(attrs={"placeholder": _("Name or ERP customer number")}),
    )
    tier = django_filters.ChoiceFilter(
        label=_("Proposed tier"), method="filter_tier", empty_label=_("All")
    )
    movement = django_filters.ChoiceFilter(
        label=_("Movement"), choices=Movement.choices, empty_label=_("All")
    )
    knockout = django_filters.ChoiceFilter(
        label=_("K.O. check"), choices=KnockoutOutcome.choices, empty_label=_("All")
    )
    failed_knockout = django_filters.ChoiceFilter(
        label=_("K.O. criterion not passed"), method="filter_failed", empty_label=_("All")
    )
    override = django_filters.ChoiceFilter(
        label=_("Override"),
        method="filter_override",
        choices=(("yes", _("With override")), ("no", _("Without override"))),
        empty_label=_("All"),
    )
    sort = ColumnOrderingFilter(
        label=_("Sort by"),
        columns=RESULT_SORT_COLUMNS,
        default=default_result_order,
        tiebreak=("account__name", "pk"),
        empty_label=_("Default (by tier and score)"),
    )

    more_filters = ("failed_knockout", "override", "sort")

    class Meta:
        model = SelectionResult
        fields = ("q", "tier", "movement", "knockout", "failed_knockout", "override")

    def __init__(self, *args, version: CriteriaVersion, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["tier"].extra["choices"] = [
            *((str(rank), name) for rank, name in version.tiers.values_list("rank", "name")),
            (NO_TIER, _("Not a key account")),
        ]
        self.filters["failed_knockout"].extra["choices"] = [
            (str(pk), name)
            for pk, name in version.knockouts.order_by("group", "position", "pk").values_list(
                "pk", "name"
            )
        ]
        for name in ("tier", "movement", "knockout", "failed_knockout", "override", "sort"):
            self.filters[name].extra["widget"] = FastSelect

    @property
    def more_filters_active(self) -> bool:
        return any(self.data.get(name) for name in self.more_filters if name != "sort")

    def filter_search(
        self, queryset: QuerySet[SelectionResult], name: str, value: str
    ) -> QuerySet[SelectionResult]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account__name__icontains=value) | Q(account__erp_number__iexact=value)
        )

    def filter_tier(
        self, queryset: QuerySet[SelectionResult], name: str, value: str
    ) -> QuerySet[SelectionResult]:
        if value == NO_TIER:
            return queryset.filter(proposed_rank__isnull=True)
        return queryset.filter(proposed_rank=int(value))

    def filter_failed(
        self, queryset: QuerySet[SelectionResult], name: str, value: str
    ) -> QuerySet[SelectionResult]:
        return queryset.filter(failed_knockout_id=int(value))

    def filter_override(
        self, queryset: QuerySet[SelectionResult], name: str, value: str
    ) -> QuerySet[SelectionResult]:
        return queryset.filter(override__isnull=value != "yes")


class TierChangeFilterSet(django_filters.FilterSet):
    """The tier changes by run and account."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.SearchInput(attrs={"placeholder": _("Name or ERP customer number")}),
    )
    run = django_filters.ChoiceFilter(label=_("Run"), method="filter_run", empty_label=_("All"))

    more_filters: tuple[str, ...] = ()
    more_filters_active = False

    class Meta:
        model = TierChange
        fields = ("q", "run")

    def __init__(self, *args, runs: QuerySet[SelectionRun], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["run"].extra["choices"] = [
            (str(run.pk), _run_label(run)) for run in runs.only("pk", "approved_at")
        ]
        self.filters["run"].extra["widget"] = FastSelect

    def filter_search(
        self, queryset: QuerySet[TierChange], name: str, value: str
    ) -> QuerySet[TierChange]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account__name__icontains=value) | Q(account__erp_number__iexact=value)
        )

    def filter_run(
        self, queryset: QuerySet[TierChange], name: str, value: str
    ) -> QuerySet[TierChange]:
        return queryset.filter(run_id=int(value))


def _run_label(run: SelectionRun) -> str:
    approved = formats.date_format(timezone.localtime(run.approved_at), "SHORT_DATE_FORMAT")
    return format_lazy("{run} · {date}", run=run, date=approved)


class TierListFilterSet(AccountFilterSet):
    """The account list's search, tier, region, industry and KAM filters, without the rest.

    The list keeps its own order (by tier), so the account list's sorting is left out.
    """

    status = account_type = strategy = sort = None
    more_filters = ()

    class Meta(AccountFilterSet.Meta):
        fields = ("q", "tier", "kam", "region", "industry")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The parent set fills these choices in its constructor; this list does not offer them.
        for name in ("country", "parent"):
            self.filters.pop(name)


class PortfolioFilterSet(django_filters.FilterSet):
    """Which accounts the portfolio plots: the key accounts (by default) or every scored one."""

    KEY_ACCOUNTS = "key"
    SCORED = "scored"

    show = django_filters.ChoiceFilter(
        label=_("Accounts"),
        method="filter_show",
        choices=(
            (KEY_ACCOUNTS, _("Key accounts")),
            (SCORED, _("All accounts scored in the current run")),
        ),
        empty_label=None,
    )
    tier = django_filters.ChoiceFilter(label=_("Tier"), empty_label=_("All"))
    region = django_filters.ChoiceFilter(
        label=_("Region"), choices=Region.choices, empty_label=_("All")
    )

    more_filters = ()

    def __init__(
        self, data: QueryDict | None = None, *args, tiers: list[tuple[str, str]], **kwargs
    ) -> None:
        data = QueryDict(mutable=True) if data is None else data.copy()
        if not data.get("show"):
            data["show"] = self.KEY_ACCOUNTS
        super().__init__(data, *args, **kwargs)
        self.filters["tier"].extra["choices"] = tiers
        for filter_ in self.filters.values():
            filter_.extra["widget"] = FastSelect

    def filter_show(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        return queryset if value == self.SCORED else queryset.exclude(tier="")
