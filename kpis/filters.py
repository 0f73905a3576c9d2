"""The programme dashboard's filters: the year, and which accounts and figures it sums.

Tier, key account manager, region and industry narrow the accounts (``FilterSet.qs``); the
year and the product group choose the figures, so the selectors read them from
``form.cleaned_data`` instead. Choices that change with the data are read through the account
list's cache.
"""

from __future__ import annotations

import django_filters
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.filters import cached_choices, kam_choices
from accounts.models import Account, AccountTeamMember, Industry, Region, TeamRole
from kam.widgets import FastSelect
from kpis.models import AccountKpi, AnnualFigure

ALL_ACCOUNTS = "all"
NO_TIER = "none"

Choices = list[tuple[str, str]]


def tier_choices() -> Choices:
    """Each tier in use (best rank first), the accounts without one, and all accounts; no
    choice means every key account (the programme)."""
    tiers = (
        Account.objects.exclude(tier="")
        .values("tier")
        .annotate(rank=Min("tier_rank"))
        .order_by(F("rank").asc(nulls_last=True), "tier")
    )
    return [
        *((row["tier"], row["tier"]) for row in tiers),
        (NO_TIER, str(_("Not a key account"))),
        (ALL_ACCOUNTS, str(_("All accounts"))),
    ]


def product_group_choices() -> Choices:
    """The product groups that figures are broken down by."""
    groups = (
        AnnualFigure.objects.exclude(product_group="")
        .order_by("product_group")
        .values_list("product_group", flat=True)
        .distinct()
    )
    return [(group, group) for group in groups]


def year_choices() -> Choices:
    """The years with KPI rows, newest first."""
    years = AccountKpi.objects.order_by("-year").values_list("year", flat=True).distinct()
    return [(str(year), str(year)) for year in years]


class ProgrammeFilterSet(django_filters.FilterSet):
    """Filters of the programme dashboard and its exports (the same query string)."""

    year = django_filters.ChoiceFilter(
        label=_("Year"), method="keep", empty_label=_("Latest year with actuals")
    )
    tier = django_filters.ChoiceFilter(
        label=_("Tier"), method="filter_tier", empty_label=_("Every key account")
    )
    kam = django_filters.ChoiceFilter(
        label=_("Key account manager"), method="filter_kam", empty_label=_("All")
    )
    region = django_filters.ChoiceFilter(
        label=_("Region"), choices=Region.choices, empty_label=_("All")
    )
    industry = django_filters.ChoiceFilter(
        label=_("Industry"), choices=Industry.choices, empty_label=_("All")
    )
    product_group = django_filters.ChoiceFilter(
        label=_("Product group"), method="keep", empty_label=_("All (account totals)")
    )

    class Meta:
        model = Account
        fields = ("year", "tier", "kam", "region", "industry", "product_group")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, build in (
            ("year", year_choices),
            ("tier", tier_choices),
            ("kam", kam_choices),
            ("product_group", product_group_choices),
        ):
            self.filters[name].extra["choices"] = cached_choices(
                f"kpis:{name}", build, value=self.data.get(name)
            )
        for filter_ in self.filters.values():
            filter_.extra["widget"] = FastSelect

    @property
    def account_filters_active(self) -> bool:
        """Whether the filters narrow the accounts (the default narrows them to key accounts)."""
        data = getattr(self.form, "cleaned_data", {})
        if data.get("tier") != ALL_ACCOUNTS:
            return True
        return any(data.get(name) for name in ("kam", "region", "industry"))

    def keep(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        return queryset

    def filter_tier(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        if value == ALL_ACCOUNTS:
            return queryset
        if value == NO_TIER:
            return queryset.filter(tier="")
        return queryset.filter(tier=value)

    def filter_queryset(self, queryset: QuerySet[Account]) -> QuerySet[Account]:
        """Without a tier chosen, the programme: every key account."""
        if not getattr(self.form, "cleaned_data", {}).get("tier"):
            queryset = queryset.exclude(tier="")
        return super().filter_queryset(queryset)

    def accounts_of_any_tier(self) -> QuerySet[Account]:
        """The accounts the other filters (manager, region, industry) select, whatever tier."""
        queryset = self.queryset.all()
        for name, value in getattr(self.form, "cleaned_data", {}).items():
            if value not in (None, "") and name in ("kam", "region", "industry"):
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def tier_movement_condition(self) -> Q:
        """Tier changes (``selection.TierChange``) from or to the chosen tier."""
        tier = getattr(self.form, "cleaned_data", {}).get("tier")
        if tier == ALL_ACCOUNTS:
            return Q()
        if not tier:
            return ~Q(from_tier="") | ~Q(to_tier="")
        value = "" if tier == NO_TIER else tier
        return Q(from_tier=value) | Q(to_tier=value)

    def filter_kam(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        managed = AccountTeamMember.objects.filter(
            account=OuterRef("pk"), user_id=value, role=TeamRole.KEY_ACCOUNT_MANAGER
        )
        return queryset.filter(Exists(managed))
