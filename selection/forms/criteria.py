"""Forms of the criteria pages, the custom attributes and an account's attribute values.

Every form that changes a draft carries the ``revision`` the user started from, so the
service can refuse a lost update (code ``edit_conflict``) instead of overwriting it.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from accounts.forms import VersionedForm
from kam.forms import limit_free_text
from selection.models import (
    MAX_POINTS,
    AccountAttribute,
    AccountAttributeValue,
    AttributeType,
    CriteriaSet,
    CriteriaVersion,
    KnockoutCriterion,
    Operator,
    ScoredCriterion,
    ScoringMethod,
    UnknownRule,
    colour_validator,
)
from selection.services import TIER_PRESETS
from selection.sources import attribute_key, source_choices

POINTS = {
    "max_digits": 4,
    "decimal_places": 2,
    "min_value": Decimal(0),
    "max_value": MAX_POINTS,
    "localize": True,
}
VALUE = {"max_digits": 18, "decimal_places": 4, "localize": True}


def plain(value: Decimal | None) -> Decimal | None:
    """A stored value without its trailing zeros for a form: 250000.0000 → 250000."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def preset_choices() -> list[tuple[str, str]]:
    """The tier presets by their tier names: "Gold / Silver / Bronze"."""
    return [(key, " / ".join(tier[0] for tier in tiers)) for key, tiers in TIER_PRESETS.items()]


class RevisionForm(forms.Form):
    """The draft's revision the user saw; the base of every draft edit."""

    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, version: CriteriaVersion | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if version is not None and not self.is_bound:
            self.initial["revision"] = version.revision


@limit_free_text
class CriteriaSetForm(forms.ModelForm):
    preset = forms.ChoiceField(
        label=_("Tier scheme"),
        choices=preset_choices,
        initial="gold_silver_bronze",
        widget=forms.RadioSelect,
        help_text=_("Names, minimum scores and colours can be changed in the draft afterwards."),
    )

    class Meta:
        model = CriteriaSet
        fields = ("name", "description")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class VersionSettingsForm(RevisionForm):
    unknown_rule = forms.ChoiceField(
        label=_("Unknown K.O. values"),
        choices=UnknownRule.choices,
        widget=forms.RadioSelect,
        help_text=_("What happens when an account lacks the value a K.O. criterion tests."),
    )
    change_note = forms.CharField(label=_("What changed"), max_length=300, required=False)

    def __init__(self, *args, version: CriteriaVersion | None = None, **kwargs) -> None:
        super().__init__(*args, version=version, **kwargs)
        if version is not None and not self.is_bound:
            self.initial.update(unknown_rule=version.unknown_rule, change_note=version.change_note)


@limit_free_text
class TierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=40)
    min_score = forms.DecimalField(label=_("Minimum score"), **POINTS)
    colour = forms.CharField(
        label=_("Colour"),
        initial="#6c757d",
        validators=[colour_validator],
        widget=forms.TextInput(attrs={"type": "color"}),
    )


class RowsFormSet(forms.BaseFormSet):
    """Rows of a table; a row left or made empty is skipped (so clearing a row removes it)."""

    def _construct_form(self, i, **kwargs):
        kwargs["empty_permitted"] = True
        return super()._construct_form(i, **kwargs)


class BaseTierFormSet(RowsFormSet):
    def tiers(self) -> list[dict]:
        """The filled rows, best first, without those marked for deletion."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


TierFormSet = forms.formset_factory(
    TierForm, formset=BaseTierFormSet, extra=1, can_delete=True, max_num=10, validate_max=True
)


def tier_initial(version: CriteriaVersion) -> list[dict]:
    return [
        {"name": t.name, "min_score": t.min_score, "colour": t.colour}
        for t in version.tiers.order_by("rank")
    ]


class SourceField(forms.ChoiceField):
    """A value source: the built-ins and leadership's attributes, read when the form is made."""

    def __init__(self, **kwargs) -> None:
        super().__init__(label=_("Value"), choices=source_choices, **kwargs)


class KnockoutForm(RevisionForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    group = forms.IntegerField(
        label=_("Group"),
        min_value=1,
        max_value=99,
        initial=1,
        help_text=_(
            "Criteria with the same group number are alternatives: one passing is enough. "
            "An account must pass every group."
        ),
    )
    source = SourceField()
    operator = forms.ChoiceField(label=_("Operator"), choices=Operator.choices)
    threshold = forms.DecimalField(
        label=_("Threshold"),
        required=False,
        help_text=_("Not needed for “is yes” and “is no”."),
        **VALUE,
    )

    def __init__(
        self, *args, version: CriteriaVersion, criterion: KnockoutCriterion | None = None, **kw
    ) -> None:
        super().__init__(*args, version=version, **kw)
        if criterion is not None and not self.is_bound:
            self.initial.update(
                name=criterion.name,
                group=criterion.group,
                source=criterion.source,
                operator=criterion.operator,
                threshold=plain(criterion.threshold),
            )


class CriterionForm(RevisionForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    source = SourceField()
    method = forms.ChoiceField(
        label=_("Scoring"), choices=ScoringMethod.choices, widget=forms.RadioSelect
    )
    weight = forms.DecimalField(
        label=_("Weight"),
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(1000),
        localize=True,
        help_text=_(
            "Weights count relative to each other; the page shows them as shares of 100 %."
        ),
    )

    def __init__(
        self, *args, version: CriteriaVersion, criterion: ScoredCriterion | None = None, **kw
    ) -> None:
        super().__init__(*args, version=version, **kw)
        if not self.is_bound:
            self.initial.setdefault("method", ScoringMethod.BANDS)
            if criterion is not None:
                self.initial.update(
                    name=criterion.name,
                    source=criterion.source,
                    method=criterion.method,
                    weight=criterion.weight,
                )


class BandForm(forms.Form):
    min_value = forms.DecimalField(label=_("From value"), **VALUE)
    points = forms.DecimalField(label=_("Points"), **POINTS)


class BaseBandFormSet(RowsFormSet):
    def bands(self) -> list[tuple[Decimal, Decimal]]:
        """(from value, points) of the filled rows not marked for deletion, by value."""
        return sorted(
            (form.cleaned_data["min_value"], form.cleaned_data["points"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        )


BandFormSet = forms.formset_factory(
    BandForm, formset=BaseBandFormSet, extra=3, can_delete=True, max_num=30, validate_max=True
)


def band_initial(criterion: ScoredCriterion | None) -> list[dict]:
    if criterion is None:
        return []
    return [{"min_value": plain(b.min_value), "points": b.points} for b in criterion.bands.all()]


class WeightsForm(RevisionForm):
    """One weight field per scored criterion of the draft, for quick what-if changes."""

    def __init__(self, *args, version: CriteriaVersion, criteria: list[ScoredCriterion], **kw):
        super().__init__(*args, version=version, **kw)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[self.field_name(criterion)] = forms.DecimalField(
                label=criterion.name,
                max_digits=6,
                decimal_places=2,
                validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(1000))],
                localize=True,
                initial=criterion.weight,
                widget=forms.TextInput(
                    attrs={"class": "form-control form-control-sm text-end", "inputmode": "decimal"}
                ),
            )

    @staticmethod
    def field_name(criterion: ScoredCriterion) -> str:
        return f"weight_{criterion.pk}"

    def weights(self) -> dict[int, Decimal]:
        return {c.pk: self.cleaned_data[self.field_name(c)] for c in self.criteria}

    def rows(self) -> list[tuple[ScoredCriterion, forms.BoundField]]:
        return [(c, self[self.field_name(c)]) for c in self.criteria]


class ReleaseForm(RevisionForm):
    change_note = forms.CharField(
        label=_("What changed"),
        max_length=300,
        required=False,
        help_text=_("Shown in the version list, so others see why this version exists."),
    )

    def __init__(self, *args, version: CriteriaVersion | None = None, **kwargs) -> None:
        # The version page also holds the weights form with its own revision field.
        kwargs.setdefault("auto_id", "release-%s")
        super().__init__(*args, version=version, **kwargs)
        if version is not None and not self.is_bound:
            self.initial["change_note"] = version.change_note


def attribute_in_use(attribute: AccountAttribute) -> bool:
    """Whether accounts have values of the attribute or criteria read it (its key is fixed)."""
    if not attribute.pk:
        return False
    key = attribute_key(attribute)
    return (
        attribute.values.exists()
        or KnockoutCriterion.objects.filter(source=key).exists()
        or ScoredCriterion.objects.filter(source=key).exists()
    )


class AttributeForm(VersionedForm):
    """An attribute's definition; a change carries the version it started from."""

    class Meta:
        model = AccountAttribute
        fields = ("name", "key", "data_type", "unit", "description")
        help_texts = {
            "key": _(
                "Lower-case letters, digits, hyphens and underscores; criteria refer to the "
                "attribute by it. It cannot change once accounts have values or criteria use it."
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].required = bool(self.instance.pk)
        self.in_use = attribute_in_use(self.instance)
        if self.in_use:
            # Values and criteria depend on the key and on the type's meaning of a value.
            for name in ("key", "data_type"):
                self.fields[name].disabled = True
            self.fields["data_type"].help_text = _(
                "The type cannot change once accounts have values or criteria use it."
            )


YES_NO_CHOICES = (("", _("unknown")), ("yes", _("Yes")), ("no", _("No")))


class AttributeValuesForm(forms.Form):
    """A value and a comment per attribute; an empty value makes it unknown."""

    def __init__(
        self,
        *args,
        attributes: list[AccountAttribute],
        values: dict[int, AccountAttributeValue],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.attributes = attributes
        for attribute in attributes:
            current = values.get(attribute.pk)
            name = f"value_{attribute.pk}"
            # Each pair sits in a fieldset with the attribute's name as its legend.
            label = (
                _("Value in %(unit)s") % {"unit": attribute.unit} if attribute.unit else _("Value")
            )
            if attribute.data_type == AttributeType.YES_NO:
                self.fields[name] = forms.ChoiceField(
                    label=label, choices=YES_NO_CHOICES, required=False
                )
                initial = None if current is None else ("yes" if current.flag else "no")
            else:
                bounds = (
                    {"min_value": Decimal(0), "max_value": MAX_POINTS}
                    if attribute.data_type == AttributeType.RATING
                    else {}
                )
                self.fields[name] = forms.DecimalField(
                    label=label, required=False, **VALUE, **bounds
                )
                initial = None if current is None else plain(current.number)
            self.fields[name].help_text = attribute.description
            self.fields[f"comment_{attribute.pk}"] = forms.CharField(
                label=_("Comment"),
                max_length=500,
                required=False,
            )
            self.initial[name] = initial
            self.initial[f"comment_{attribute.pk}"] = current.comment if current else ""

    def rows(self) -> list[tuple[AccountAttribute, forms.BoundField, forms.BoundField]]:
        return [(a, self[f"value_{a.pk}"], self[f"comment_{a.pk}"]) for a in self.attributes]

    def changed_values(self) -> list[tuple[AccountAttribute, dict]]:
        """The attributes whose value or comment the user changed, as service arguments."""
        changed = []
        for attribute in self.attributes:
            value_name, comment_name = f"value_{attribute.pk}", f"comment_{attribute.pk}"
            if value_name not in self.changed_data and comment_name not in self.changed_data:
                continue
            value = self.cleaned_data[value_name]
            if attribute.data_type == AttributeType.YES_NO:
                arguments = {"flag": {"yes": True, "no": False}.get(value)}
            else:
                arguments = {"number": value}
            arguments["comment"] = self.cleaned_data[comment_name].strip()
            changed.append((attribute, arguments))
        return changed
