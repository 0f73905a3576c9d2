"""Forms of the run pages: start a run, approve it, override one account's tier."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.filters import AccountFilterSet
from accounts.models import Account
from selection.models import CriteriaVersion, Tier
from selection.selectors.runs import released_versions
from selection.services import SEGMENT_FILTERS

NO_TIER = "none"


class RunStartForm(forms.Form):
    """A released version and an optional segment, filtered as the account list filters."""

    version = forms.ModelChoiceField(
        label=_("Criteria version"),
        queryset=CriteriaVersion.objects.none(),
        empty_label=None,
        help_text=_("Only released versions can run; the newest comes first."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = released_versions()
        # The segment is applied by the account list's filters (services.segment_accounts),
        # so its fields and choices come from there too.
        account_filters = AccountFilterSet(None, queryset=Account.objects.none()).form.fields
        for name in SEGMENT_FILTERS:
            field = copy.deepcopy(account_filters[name])
            field.required = False
            self.fields[name] = field

    @property
    def segment_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in SEGMENT_FILTERS]

    def segment(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[name] for name in SEGMENT_FILTERS if self.cleaned_data[name]
        }

    def segment_label(self) -> str:
        """The segment in words ("Region: North · Industry: Retail"), empty for all accounts."""
        parts = []
        for name, value in self.segment().items():
            field = self.fields[name]
            choice = dict(field.choices).get(value, value)
            parts.append(f"{field.label}: {choice}")
        return " · ".join(parts)


class RunApproveForm(forms.Form):
    """Approval; a run of an older criteria version needs the deliberate confirmation."""

    older_version_confirmed = forms.BooleanField(
        label=_("I approve this run of an older criteria version deliberately"),
        required=False,
    )

    def __init__(self, *args: Any, needs_confirmation: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.needs_confirmation = needs_confirmation
        field = self.fields["older_version_confirmed"]
        if needs_confirmation:
            field.required = True
            field.error_messages["required"] = _(
                "A newer version of these criteria exists. Confirm that you approve the run "
                "of the older version deliberately."
            )


class TierOverrideForm(forms.Form):
    """Another tier than proposed for one account, with the reason and the override's version
    the user started from."""

    rank = forms.ChoiceField(label=_("Tier"))
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": _("Give a reason for the override.")},
        help_text=_("Shown in the account's tier history and to its key account manager."),
    )
    # The override's version the user started from; 0: there was none.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, tiers: list[Tier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rank"].choices = [
            *((str(tier.rank), tier.name) for tier in tiers),
            (NO_TIER, _("Not a key account")),
        ]

    def clean_rank(self) -> int | None:
        value = self.cleaned_data["rank"]
        return None if value == NO_TIER else int(value)
