"""Forms for editing a plan on its page: starting a plan, its sections and its inline items.

Every edit form carries the revision the user started from (hidden), so the service detects a
concurrent save. Choices are limited to what the plan may point at: people on the account
team, the account's contacts who have not left, the plan's own targets, objectives and years.
The services check the same rules again; the forms only make the wrong choice impossible to
pick and give the error a field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from accounts.models import Contact
from kam.concurrency import EditConflict
from kam.forms import limit_free_text
from kam.models import User
from plans.models import (
    Action,
    ContactStrategy,
    Metric,
    Objective,
    Plan,
    PlanItem,
    ResourceRequest,
    Risk,
    Target,
)
from plans.selectors.compare import Segment, word_diff
from plans.services import SECTIONS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MARKDOWN_HELP = _("Markdown: **bold**, *italic*, lists with “- ”, links as [text](https://…).")


def _textarea(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class PlanCreateForm(forms.Form):
    """Start a plan: the first year of its three-year horizon and its language."""

    start_year = forms.IntegerField(
        label=_("First year"),
        min_value=2000,
        max_value=2100,
        help_text=_("The plan covers this year and the two after it."),
    )
    language = forms.ChoiceField(label=_("Language of the plan"), choices=settings.LANGUAGES)

    def add_service_error(self, error: ValidationError) -> None:
        _add_service_error(self, error)


def _add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the form has the field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class RevisionForm(forms.ModelForm):
    """A model form that carries the revision of the row the user started from.

    ``columns`` gives a field its width in the form's grid (Bootstrap column classes);
    unnamed fields are a third of the row, text areas half of it.
    """

    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    columns: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk:
            self.initial["revision"] = self.instance.revision

    @property
    def layout(self) -> Iterator[tuple[forms.BoundField, str]]:
        """The visible fields with the grid column each takes."""
        for field in self.visible_fields():
            default = "col-md-6" if isinstance(field.field.widget, forms.Textarea) else "col-md-4"
            yield field, self.columns.get(field.name, default)

    def values(self) -> dict[str, Any]:
        """The cleaned model fields, without the revision: what the service writes."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def add_service_error(self, error: ValidationError) -> None:
        _add_service_error(self, error)


class SectionForm(RevisionForm):
    """One section of the plan, saved as a unit with the plan's revision."""

    section: ClassVar[str]
    title: ClassVar[str]


@limit_free_text
class SituationForm(SectionForm):
    section = "situation"
    title = _("Situation of the customer")

    class Meta:
        model = Plan
        fields = SECTIONS["situation"]
        widgets = {name: _textarea(5) for name in SECTIONS["situation"]}
        help_texts = dict.fromkeys(SECTIONS["situation"], MARKDOWN_HELP)


@limit_free_text
class SwotForm(SectionForm):
    section = "swot"
    title = _("SWOT analysis of our position")

    class Meta:
        model = Plan
        fields = SECTIONS["swot"]
        widgets = {name: _textarea(5) for name in SECTIONS["swot"]}
        help_texts = dict.fromkeys(SECTIONS["swot"], MARKDOWN_HELP)


@limit_free_text
class StrategyForm(SectionForm):
    section = "strategy"
    title = _("Value proposition and account strategy")

    class Meta:
        model = Plan
        fields = SECTIONS["strategy"]
        widgets = {
            "value_proposition": _textarea(5),
            "account_strategy": _textarea(5),
        }
        help_texts = {
            "value_proposition": MARKDOWN_HELP,
            "account_strategy": MARKDOWN_HELP,
        }


class SettingsForm(SectionForm):
    section = "settings"
    title = _("Plan settings")

    class Meta:
        model = Plan
        fields = SECTIONS["settings"]


SECTION_FORMS: dict[str, type[SectionForm]] = {
    form.section: form for form in (SituationForm, SwotForm, StrategyForm, SettingsForm)
}


def team_users(plan: Plan) -> QuerySet[User]:
    """The people on the plan's account team: whom an action or a relationship may belong to."""
    return (
        User.objects.filter(account_memberships__account_id=plan.account_id)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


class ItemForm(RevisionForm):
    """An inline item of ``plan``; the revision is required only when changing an existing one."""

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        self.plan = plan
        super().__init__(*args, **kwargs)
        self.fields["revision"].required = bool(self.instance.pk)
        if "owner" in self.fields:
            self.fields["owner"].queryset = team_users(plan)
            self.fields["owner"].help_text = _("Someone on the account team.")


class TargetForm(ItemForm):
    columns: ClassVar[dict[str, str]] = {
        "metric": "col-md-4",
        "custom_name": "col-md-5",
        "unit": "col-md-3",
        "year_1": "col-md-4",
        "year_2": "col-md-4",
        "year_3": "col-md-4",
    }

    class Meta:
        model = Target
        fields = ("metric", "custom_name", "unit", "year_1", "year_2", "year_3")
        localized_fields = ("year_1", "year_2", "year_3")
        help_texts = {"custom_name": _("Only for an own KPI.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, year in zip(("year_1", "year_2", "year_3"), self.plan.years, strict=True):
            self.fields[name].label = _("Target %(year)s") % {"year": year}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        metric, name = cleaned.get("metric"), cleaned.get("custom_name", "")
        if metric == Metric.CUSTOM and not name:
            self.add_error(
                "custom_name",
                ValidationError(_("Name your own KPI."), code="custom_name_required"),
            )
        elif metric and metric != Metric.CUSTOM:
            cleaned["custom_name"] = ""
            taken = Target.objects.filter(plan=self.plan, metric=metric).exclude(
                pk=self.instance.pk
            )
            if taken.exists():
                self.add_error(
                    "metric",
                    ValidationError(
                        _("The plan already has targets for this KPI."), code="duplicate_metric"
                    ),
                )
        return cleaned


class ObjectiveForm(ItemForm):
    target_year = forms.TypedChoiceField(label=_("Target year"), coerce=int)
    columns: ClassVar[dict[str, str]] = {"title": "col-md-6", "measure": "col-md-6"}

    class Meta:
        model = Objective
        fields = ("title", "measure", "target_year", "target", "status")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_year"].choices = [(year, str(year)) for year in self.plan.years]
        self.fields["target"].queryset = self.plan.targets.all()
        if not self.is_bound and not self.instance.pk:
            self.initial.setdefault("target_year", self.plan.start_year)


class ActionForm(ItemForm):
    columns: ClassVar[dict[str, str]] = {
        "objective": "col-md-5",
        "title": "col-md-7",
        "owner": "col-md-3",
        "due_date": "col-md-3",
        "status": "col-md-3",
        "phase": "col-md-3",
        "contacts": "col-12",
    }

    class Meta:
        model = Action
        fields = ("objective", "title", "owner", "due_date", "status", "phase", "contacts")
        widgets = {
            "due_date": DATE_INPUT,
            "contacts": forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["objective"].queryset = self.plan.objectives.all()
        current = (
            list(self.instance.contacts.values_list("pk", flat=True)) if self.instance.pk else []
        )
        # Contacts who left stay selectable on an action that already names them.
        self.fields["contacts"].queryset = Contact.objects.filter(
            Q(has_left=False) | Q(pk__in=current), account_id=self.plan.account_id
        ).order_by("last_name", "first_name")


@limit_free_text
class RiskForm(ItemForm):
    columns: ClassVar[dict[str, str]] = {
        "description": "col-md-6",
        "likelihood": "col-md-3",
        "impact": "col-md-3",
        "mitigation": "col-12",
    }

    class Meta:
        model = Risk
        fields = ("description", "likelihood", "impact", "mitigation")
        widgets = {"mitigation": _textarea(3)}
        help_texts = {"mitigation": MARKDOWN_HELP}


class ResourceRequestForm(ItemForm):
    columns: ClassVar[dict[str, str]] = {
        "department": "col-md-3",
        "description": "col-md-9",
        "requested_from": "col-md-6",
        "status": "col-md-3",
    }

    class Meta:
        model = ResourceRequest
        fields = ("department", "description", "requested_from", "status")


STRENGTH_CHOICES = [
    (1, _("1 – acquainted")),
    (2, _("2")),
    (3, _("3")),
    (4, _("4")),
    (5, _("5 – trusted")),
]


class ContactStrategyForm(ItemForm):
    target_strength = forms.TypedChoiceField(
        label=_("Intended relationship strength"), choices=STRENGTH_CHOICES, coerce=int
    )
    columns: ClassVar[dict[str, str]] = {
        "contact": "col-md-4",
        "owner": "col-md-4",
        "target_strength": "col-md-4",
        "approach": "col-12",
    }

    class Meta:
        model = ContactStrategy
        fields = ("contact", "owner", "target_strength", "approach")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.contact_id if self.instance.pk else None
        # One strategy per contact: those the plan already covers are not offered again.
        taken = ContactStrategy.objects.filter(plan=self.plan).values("contact_id")
        self.fields["contact"].queryset = Contact.objects.filter(
            (Q(has_left=False) & ~Q(pk__in=taken)) | Q(pk=current),
            account_id=self.plan.account_id,
        ).order_by("last_name", "first_name")
        self.fields["contact"].help_text = _("From the account's buying center.")


ITEM_FORMS: dict[str, type[ItemForm]] = {
    "target": TargetForm,
    "objective": ObjectiveForm,
    "action": ActionForm,
    "risk": RiskForm,
    "resource": ResourceRequestForm,
    "contact-strategy": ContactStrategyForm,
}


class RevisionOnlyForm(forms.Form):
    """The revision a one-button action (delete) was started from."""

    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MoveForm(forms.Form):
    direction = forms.TypedChoiceField(choices=[("-1", "up"), ("1", "down")], coerce=int)


# Conflicts -----------------------------------------------------------------------------------


def split_diff(saved: str, mine: str) -> tuple[list[Segment], list[Segment]]:
    """The word diff of the two texts split into its two sides: the saved text with what the
    user's lacks marked deleted, and the user's text with what it adds marked inserted."""
    segments = word_diff(saved, mine)
    return (
        [s for s in segments if s.change != "insert"],
        [replace(s, gap=False) for s in segments if s.change != "delete"],
    )


@dataclass
class MergeField:
    """A field someone else changed while the user edited it: their saved value next to the
    user's (still editable in ``field``), with the differences marked."""

    field: forms.BoundField
    saved: str
    saved_diff: list[Segment]
    mine_diff: list[Segment]
    taken_over: bool  # the user had not changed it, so the saved value was taken over


def _display(field: forms.Field, value: Any) -> str:
    if value in (None, "", []):
        return "–"
    choices = getattr(field, "choices", None)
    if choices is not None and not isinstance(field, forms.ModelChoiceField):
        return str(dict(choices).get(value, dict(choices).get(str(value), value)))
    return str(value)


def _as_data(field: forms.Field, value: Any) -> str:
    """``value`` as the form would receive it from the browser."""
    if value is None:
        return ""
    if isinstance(value, PlanItem | Contact | User):
        return str(value.pk)
    if field.localize:
        return str(formats.localize_input(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def prepare_merge(form: RevisionForm, conflict: EditConflict) -> list[MergeField]:
    """Turn a form a save conflict refused into the merge form and describe each conflict.

    The form's revision becomes the saved row's, so saving again deliberately replaces what is
    saved. A conflicting field the user had not changed takes the saved value (saving it back
    unchanged would silently undo the other person's edit); every other field keeps the
    user's input.
    """
    current = conflict.current
    started = form.cleaned_data.get("revision")
    base = current.history.filter(revision=started).order_by("-history_date").first()
    form.data = form.data.copy()
    form.data["revision"] = str(current.revision)
    merged = []
    for change in conflict.changes:
        if change.name not in form.fields:
            continue
        bound, field = form[change.name], form.fields[change.name]
        model_field = current._meta.get_field(change.name)
        saved_value = getattr(current, change.name)
        mine_value = form.cleaned_data.get(change.name)
        base_value = getattr(base, model_field.attname) if base is not None else None
        mine_raw = mine_value.pk if hasattr(mine_value, "pk") else mine_value
        taken_over = base is not None and mine_raw == base_value
        if taken_over:
            form.data[bound.html_name] = _as_data(field, saved_value)
            mine_value = saved_value
        saved_text = (
            saved_value
            if isinstance(saved_value, str) and not model_field.choices
            else change.current
        )
        mine_text = (
            mine_value
            if isinstance(mine_value, str) and not model_field.choices
            else _display(field, mine_value)
        )
        saved_diff, mine_diff = split_diff(saved_text or "", mine_text or "")
        merged.append(
            MergeField(
                field=bound,
                saved=saved_text,
                saved_diff=saved_diff,
                mine_diff=mine_diff,
                taken_over=taken_over,
            )
        )
    return merged
