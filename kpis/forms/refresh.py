"""The form that starts (or resumes) the annual refresh of a year."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from kpis.services.refresh import last_closable_year


class RefreshStartForm(forms.Form):
    year = forms.IntegerField(
        label=_("Year to close"),
        min_value=2000,
        help_text=_("Usually the year just past. Each year is refreshed once."),
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        last = last_closable_year()
        self.fields["year"].validators.append(MaxValueValidator(last))
        self.fields["year"].widget.attrs.update({"min": 2000, "max": last})
        self.initial.setdefault("year", last)
