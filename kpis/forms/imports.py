"""Forms of the import pages: the list's filters, the upload, and the column mapping."""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kam.forms import FREE_TEXT_MAX_LENGTH
from kpis.imports import ImportSpec, NumberFormat, size_text
from kpis.models import YEAR_VALIDATORS, ImportBatch, ImportKind, ImportSource, ImportState
from kpis.services.imports import mapping_seen


class ImportFilterSet(django_filters.FilterSet):
    """Filters of the import list; ``kinds``: the import kinds the reader may see (the kind
    filter shows only with more than one)."""

    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=ImportKind.choices, empty_label=_("All")
    )
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=ImportState.choices, empty_label=_("All")
    )
    source = django_filters.ModelChoiceFilter(
        label=_("Source"), queryset=ImportSource.objects.order_by("name"), empty_label=_("All")
    )
    year = django_filters.NumberFilter(label=_("Year"))

    class Meta:
        model = ImportBatch
        fields = ("kind", "state", "source", "year")

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if len(kinds) > 1:
            labels = dict(ImportKind.choices)
            self.filters["kind"].extra["choices"] = [(kind, labels[kind]) for kind in kinds]
        else:
            del self.filters["kind"]
        self.filters["source"].queryset = ImportSource.objects.filter(kind__in=kinds).order_by(
            "name"
        )


class ImportUploadForm(forms.Form):
    """The file, the year it holds (yearly kinds only), how it writes numbers, and the source
    it comes from (among the sources of ``kind``)."""

    source = forms.ModelChoiceField(
        label=_("Source"),
        queryset=ImportSource.objects.none(),
        required=False,
        empty_label=_("A new source (name it below)"),
        help_text=_("The source's saved column mapping is used for the file."),
    )
    new_source = forms.CharField(
        label=_("Name of a new source"),
        max_length=100,
        required=False,
        help_text=_("For example “SAP annual extract”."),
    )
    year = forms.IntegerField(
        label=_("Year"),
        validators=YEAR_VALIDATORS,
        help_text=_("The year the file's figures are for; rows of other years are errors."),
    )
    number_format = forms.ChoiceField(
        label=_("Number format"),
        choices=NumberFormat.choices,
        initial=NumberFormat.AUTO,
    )
    file = forms.FileField(label=_("File"))

    def __init__(
        self, *args: Any, kind: str = ImportKind.FIGURES, yearly: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        sources = ImportSource.objects.filter(kind=kind).order_by("name")
        self.fields["source"].queryset = sources
        if yearly:
            self.fields["year"].initial = timezone.localdate().year - 1
        else:
            del self.fields["year"]
            self.fields["new_source"].help_text = _("For example “SAP open items”.")
        self.fields["file"].help_text = _(
            "CSV (separated by ; , tab or |; UTF-8 or Windows-1252) or Excel (.xlsx), "
            "at most %(limit)s, the column names in the first row."
        ) % {"limit": size_text(settings.IMPORT_MAX_BYTES)}
        self.fields["file"].widget.attrs["accept"] = (
            ".csv,.txt,.tsv,.xlsx,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        if not sources.exists():
            del self.fields["source"]
            self.fields["new_source"].label = _("Source")
            self.fields["new_source"].required = True

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s."),
                code="too_large",
                params={"limit": size_text(settings.IMPORT_MAX_BYTES)},
            )
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        source, name = cleaned.get("source"), (cleaned.get("new_source") or "").strip()
        if "source" in self.fields and source and name:
            self.add_error("new_source", _("Pick a source or name a new one, not both."))
        elif not source and not name and "new_source" not in self.errors:
            self.add_error("new_source", _("Pick a source or name a new one."))
        return cleaned

    def source_name(self) -> str:
        source = self.cleaned_data.get("source")
        return source.name if source else self.cleaned_data["new_source"].strip()

    def file_data(self) -> bytes:
        upload = self.cleaned_data["file"]
        upload.seek(0)
        return upload.read()


NOT_IMPORTED = ""


class ImportMappingForm(forms.Form):
    """One choice per column of the file: the field it fills, or none; and the number format.

    The hidden ``was`` carries the mapping the user started from (:func:`started`), so a save
    over a mapping someone else saved meanwhile is refused.
    """

    number_format = forms.ChoiceField(label=_("Number format"), choices=NumberFormat.choices)
    was = forms.CharField(widget=forms.HiddenInput, required=False, max_length=FREE_TEXT_MAX_LENGTH)

    @staticmethod
    def started(report: dict[str, Any]) -> str:
        """The hidden ``was`` value of a preview's ``report`` as stored."""
        return json.dumps(mapping_seen(report), sort_keys=True)

    def clean_was(self) -> dict[str, Any] | None:
        value = self.cleaned_data["was"]
        if not value:
            return None
        try:
            seen = json.loads(value)
        except ValueError:
            seen = None
        if not isinstance(seen, dict) or not isinstance(seen.get("mapping"), dict):
            raise forms.ValidationError(
                _("The form was changed outside the app; open it again."), code="invalid"
            )
        return seen

    def __init__(
        self,
        *args: Any,
        spec: ImportSpec,
        headers: list[str],
        samples: dict[str, list[str]],
        mapping: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.spec, self.headers, self.samples = spec, headers, samples
        by_header = {header: key for key, header in mapping.items()}
        general = [(f.key, f.label) for f in spec.fields if not f.group]
        groups: dict[str, list[tuple[str, Any]]] = {}
        for f in spec.fields:
            if f.group:
                groups.setdefault(str(f.group), []).append((f.key, f.label))
        choices: list[Any] = [(NOT_IMPORTED, _("— not imported —"))]
        if groups:
            choices += [(_("Customer and breakdown"), general), *groups.items()]
        else:
            choices += general
        for index, header in enumerate(headers):
            self.fields[self.field_name(index)] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=by_header.get(header, NOT_IMPORTED),
                widget=forms.Select(attrs={"class": "form-select"}),
            )

    @staticmethod
    def field_name(index: int) -> str:
        return f"column_{index}"

    def columns(self) -> list[tuple[forms.BoundField, list[str]]]:
        """Each column's choice with the file's first values in it (marked when invalid)."""
        columns = []
        for index, header in enumerate(self.headers):
            bound = self[self.field_name(index)]
            attrs = bound.field.widget.attrs
            if bound.errors:
                attrs["class"] = "form-select is-invalid"
                attrs["aria-describedby"] = f"{bound.auto_id}-error"
            columns.append((bound, self.samples.get(header, [])))
        return columns

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        used: dict[str, str] = {}
        labels = {f.key: f.label for f in self.spec.fields}
        for index, header in enumerate(self.headers):
            name = self.field_name(index)
            key = cleaned.get(name)
            if not key:
                continue
            if key in used:
                self.add_error(
                    name,
                    forms.ValidationError(
                        _("“%(field)s” is already the column “%(header)s”."),
                        code="duplicate",
                        params={"field": labels[key], "header": used[key]},
                    ),
                )
            else:
                used[key] = header
        for f in self.spec.fields:
            if f.required and f.key not in used:
                raise forms.ValidationError(
                    _("Pick the column of “%(field)s”: it is required."),
                    code="required",
                    params={"field": f.label},
                )
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            self.cleaned_data[self.field_name(index)]: header
            for index, header in enumerate(self.headers)
            if self.cleaned_data.get(self.field_name(index))
        }
