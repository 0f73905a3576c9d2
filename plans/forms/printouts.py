"""The annual printout's form: a year and, optionally, a tier and a key account manager."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kam.models import User
from plans.models import PlanVersion
from plans.selectors import printout_managers, printout_tiers, printout_versions


class ManagerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class PrintoutForm(forms.Form):
    """Which approved plans go into the annual printout; :meth:`versions` reads them."""

    year = forms.IntegerField(
        label=_("Year"),
        min_value=2000,
        max_value=2100,
        help_text=_("Every account's newest approved plan whose three years include this year."),
    )
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    kam = ManagerChoiceField(
        label=_("Key account manager"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("All key account managers"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"year": timezone.localdate().year})
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [
            ("", _("All tiers")),
            *((tier, tier) for tier in printout_tiers()),
        ]
        self.fields["kam"].queryset = printout_managers()

    def versions(self) -> QuerySet[PlanVersion]:
        """The versions the valid form selects."""
        data = self.cleaned_data
        return printout_versions(year=data["year"], tier=data["tier"], kam=data["kam"])
