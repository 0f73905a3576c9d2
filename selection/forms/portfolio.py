"""Forms and filters of the tiered account list, the portfolio and the allocation page."""

from __future__ import annotations

import re

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kam.forms import limit_free_text
from selection.models import PortfolioSettings

MAX_CLAIMS = 200
WEIGHTS = ("coverage_weight", "share_of_wallet_weight")
ERP_SEPARATORS = re.compile(r"[\s,;]+")


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
    # The weights the user started from, so a save over someone else's newer ones is refused.
    coverage_weight_was = forms.IntegerField(widget=forms.HiddenInput, required=False)
    share_of_wallet_weight_was = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_settings(cls, settings: PortfolioSettings) -> PortfolioSettingsForm:
        weights = {name: getattr(settings, name) for name in WEIGHTS}
        return cls(initial={**weights, **cls.seen(settings)})

    @staticmethod
    def seen(settings: PortfolioSettings) -> dict[str, int]:
        """The hidden started-from values of ``settings`` as stored."""
        return {f"{name}_was": getattr(settings, name) for name in WEIGHTS}

    def weights(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name in WEIGHTS}

    def started_from(self) -> tuple[int, int] | None:
        """The weights the user saw (None from a post without them, e.g. a script)."""
        seen = tuple(self.cleaned_data[f"{name}_was"] for name in WEIGHTS)
        return None if None in seen else seen  # type: ignore[return-value]

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


@limit_free_text
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
