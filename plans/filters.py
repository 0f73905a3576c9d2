"""Filters of the plans pages: the plan list and the user's open actions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kam.filters import ColumnOrderingFilter, SortColumns
from kam.widgets import FastSelect
from plans.models import Action, Plan, PlanStatus, add_months

YES, NO = "yes", "no"

# Sort parameter → (label, order_by fields) of the plan list.
PLAN_SORT_COLUMNS: SortColumns = {
    "account": (_("Account"), ("account__name",)),
    "tier": (_("Tier"), ("account__tier_rank", "account__tier")),
    "horizon": (_("Horizon"), ("start_year",)),
    "status": (_("Status"), ("status",)),
    "kam": (_("Key account manager"), ("kam_last_name", "kam_first_name")),
    "version": (_("Last approved version"), ("last_version",)),
    "actions": (_("Open actions"), ("open_actions",)),
}


def default_plan_order(queryset: QuerySet[Plan]) -> QuerySet[Plan]:
    """By account, the newest horizon first."""
    return queryset.order_by("account__name", "-start_year", "pk")


def first_start_not_overdue(today: date, months: int) -> date:
    """The earliest review start (last review, or the plan's creation) whose next review,
    ``months`` later, is not yet overdue on ``today``: earlier starts are overdue."""
    day = add_months(today, -months)
    # add_months clamps to the month's end, so step to the exact boundary.
    while add_months(day, months) >= today:
        day -= timedelta(days=1)
    return day + timedelta(days=1)


def review_overdue_q(today: date, intervals: Iterable[int]) -> Q:
    """Plans of the list queryset (``review_start``, ``superseded``) whose mentor review is
    overdue on ``today``, the same rule as ``Plan.review_due``, per review interval in use."""
    due = Q(pk__in=[])
    for months in intervals:
        due |= Q(
            review_interval_months=months, review_start__lt=first_start_not_overdue(today, months)
        )
    return due & Q(superseded=False)


class PlanFilterSet(django_filters.FilterSet):
    """Filters and sorting of the plan list; expects the queryset of
    ``plans.selectors.plan_filterset`` (annotated with the list's columns)."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.SearchInput(attrs={"placeholder": _("Account name")}),
    )
    year = django_filters.NumberFilter(
        label=_("Horizon covers year"),
        method="filter_year",
        widget=forms.NumberInput(attrs={"min": 2000, "max": 2100}),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=PlanStatus.choices, empty_label=_("All")
    )
    tier = django_filters.ChoiceFilter(
        label=_("Tier"), field_name="account__tier", empty_label=_("All")
    )
    kam = django_filters.ChoiceFilter(
        label=_("Key account manager"), method="filter_kam", empty_label=_("All")
    )
    review_overdue = django_filters.ChoiceFilter(
        label=_("Mentor review overdue"),
        method="filter_review_overdue",
        choices=((YES, _("Overdue")), (NO, _("Not overdue"))),
        empty_label=_("All"),
    )
    sort = ColumnOrderingFilter(
        label=_("Sort by"),
        columns=PLAN_SORT_COLUMNS,
        default=default_plan_order,
        tiebreak=("account__name", "-start_year", "pk"),
        empty_label=_("Default (by account)"),
    )

    more_filters = ("review_overdue", "sort")

    class Meta:
        model = Plan
        fields = ("q", "year", "status", "tier", "kam", "review_overdue")

    def __init__(
        self,
        *args,
        tiers: list[tuple[str, str]],
        managers: list[tuple[str, str]],
        today: date | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.filters["tier"].extra["choices"] = tiers
        self.filters["kam"].extra["choices"] = managers
        for name in ("status", "tier", "kam", "review_overdue", "sort"):
            self.filters[name].extra["widget"] = FastSelect

    @property
    def more_filters_active(self) -> bool:
        return bool(self.data.get("review_overdue"))

    def filter_search(self, queryset: QuerySet[Plan], name: str, value: str) -> QuerySet[Plan]:
        value = value.strip()
        return queryset.filter(account__name__icontains=value) if value else queryset

    def filter_year(self, queryset: QuerySet[Plan], name: str, value: object) -> QuerySet[Plan]:
        year = int(value)  # type: ignore[call-overload]
        return queryset.filter(start_year__lte=year, start_year__gte=year - 2)

    def filter_kam(self, queryset: QuerySet[Plan], name: str, value: str) -> QuerySet[Plan]:
        return queryset.filter(kam_user_id=int(value))

    def filter_review_overdue(
        self, queryset: QuerySet[Plan], name: str, value: str
    ) -> QuerySet[Plan]:
        intervals = list(
            Plan.objects.order_by().values_list("review_interval_months", flat=True).distinct()
        )
        overdue = review_overdue_q(self.today, intervals)
        return queryset.filter(overdue) if value == YES else queryset.exclude(overdue)


class ActionFilterSet(django_filters.FilterSet):
    """The "my actions" list: everything open, or only what is overdue."""

    overdue = django_filters.BooleanFilter(
        label=_("Only overdue actions"), method="filter_overdue", widget=forms.CheckboxInput
    )

    more_filters: tuple[str, ...] = ()
    more_filters_active = False

    class Meta:
        model = Action
        fields = ("overdue",)

    def filter_overdue(
        self, queryset: QuerySet[Action], name: str, value: bool | None
    ) -> QuerySet[Action]:
        return queryset.filter(is_overdue=True) if value else queryset
