"""Forms of the plan's workflow: requested changes, mentor reviews, choosing versions to compare."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kam.forms import limit_free_text
from plans.models import PlanVersion
from plans.selectors.sections import CURRENT


@limit_free_text
class RequestChangesForm(forms.Form):
    comment = forms.CharField(
        label=_("What should change?"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "The key account manager sees this on the plan and in the notification. "
            "Markdown is allowed."
        ),
        error_messages={"required": _("Say what should change.")},
    )


@limit_free_text
class ReviewForm(forms.Form):
    reviewed_on = forms.DateField(
        label=_("Reviewed on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    notes = forms.CharField(
        label=_("Notes"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What you discussed and agreed. Markdown is allowed."),
        error_messages={"required": _("Note what you discussed.")},
    )
    signed_off = forms.BooleanField(
        label=_("I sign off the plan as it stands"),
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["reviewed_on"].initial = today
        # The browser's date picker offers no day after today (the service refuses them too).
        self.fields["reviewed_on"].widget.attrs["max"] = today.isoformat()


def version_label(version: PlanVersion) -> str:
    """The version as the compare page names it: "Version 2 · 14.03.2026"."""
    approved = formats.date_format(timezone.localtime(version.approved_at), "SHORT_DATE_FORMAT")
    return gettext("Version %(number)s · %(date)s") % {"number": version.number, "date": approved}


class VersionCompareForm(forms.Form):
    """Which two states of the plan to compare: an approved version or the working copy."""

    # The view fills in the defaults (latest version, working copy) for empty choices.
    a = forms.ChoiceField(label=_("Compare"), required=False)
    b = forms.ChoiceField(label=_("with"), required=False)
    changes = forms.BooleanField(label=_("Show only what changed"), required=False)

    def __init__(self, *args, versions: Iterable[PlanVersion], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (CURRENT, _("Working copy")),
            *((str(v.number), version_label(v)) for v in versions),
        ]
        self.fields["a"].choices = choices
        self.fields["b"].choices = choices
