"""Forms and filters of the tiered account list, the portfolio and the allocation page."""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.filters import AccountFilterSet
from accounts.models import Account, Region
from kam.widgets import FastSelect
from selection.models import PortfolioSettings

MAX_CLAIMS = 200
ERP_SEPARATORS = re.compile(r"[\s,;]+")


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


class PortfolioSettingsForm(forms.Form):
    coverage_weight = forms.IntegerField(
        label=_("Weight of buying-center coverage"),
        min_value=0,
        max_value=100,
        help_text=_("The share of the account's contacts with at least one relationship to us."),
    )
    share_of_wallet_weight = forms.IntegerField(
        label=_("Weight of share of wallet"),
        min_value=0,
        max_value=100,
        help_text=_("Our share of the customer's spend in our categories today."),
    )

    @classmethod
    def for_settings(cls, settings: PortfolioSettings) -> PortfolioSettingsForm:
        return cls(
            initial={
                "coverage_weight": settings.coverage_weight,
                "share_of_wallet_weight": settings.share_of_wallet_weight,
            }
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("coverage_weight") == 0 and cleaned.get("share_of_wallet_weight") == 0:
            raise forms.ValidationError(
                _("At least one weight must be greater than 0."), code="no_weight"
            )
        return cleaned


def split_erp_numbers(values: list[str]) -> list[str]:
    """The distinct ERP customer numbers in ``values`` (lines or comma-separated), in order."""
    numbers = (n for value in values for n in ERP_SEPARATORS.split(value) if n)
    return list(dict.fromkeys(numbers))


class AllocationForm(forms.Form):
    """The competing claims: ERP customer numbers, one per line or separated by commas."""

    erp = forms.CharField(
        label=_("ERP customer numbers of the competing customers"),
        error_messages={"required": _("Enter at least one ERP customer number.")},
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text=format_lazy(
            _("One per line or separated by commas; at most {max} numbers."), max=MAX_CLAIMS
        ),
    )

    @classmethod
    def from_query(cls, values: list[str]) -> AllocationForm:
        """The form bound to a query string's ``erp`` values (repeated or comma-separated)."""
        return cls({"erp": "\n".join(values)})

    def clean_erp(self) -> list[str]:
        numbers = split_erp_numbers([self.cleaned_data["erp"]])
        if not numbers:
            raise forms.ValidationError(
                _("Enter at least one ERP customer number."), code="required"
            )
        if len(numbers) > MAX_CLAIMS:
            raise forms.ValidationError(
                _("Enter at most %(max)d ERP customer numbers; you entered %(count)d."),
                code="too_many",
                params={"max": MAX_CLAIMS, "count": len(numbers)},
            )
        return numbers
