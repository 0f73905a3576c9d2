"""Criteria sets and their versions, the what-if preview, and leadership's custom attributes.

Reading is for the roles that read the selection; every change is sales leadership's and goes
through :mod:`selection.services`. A draft's forms carry its revision, so two people editing
the same draft never overwrite each other silently.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from accounts.views.common import add_service_error, show_conflict
from kam import access
from kam.concurrency import EditConflict
from selection import selectors, services
from selection.forms.criteria import (
    AttributeForm,
    BandFormSet,
    CriteriaSetForm,
    CriterionForm,
    KnockoutForm,
    ReleaseForm,
    RevisionForm,
    TierFormSet,
    VersionSettingsForm,
    WeightsForm,
    band_initial,
    tier_initial,
)
from selection.models import CriteriaVersion, KnockoutCriterion, ScoredCriterion, VersionState
from selection.selectors import criteria as selectors_criteria


def _require_manage(request: HttpRequest) -> None:
    if not access.may_manage_selection(request.user):
        raise PermissionDenied


def _version_for_change(request: HttpRequest, pk: int) -> CriteriaVersion:
    """A version leadership may change: 403 for everyone else, 404 when missing."""
    version = selectors.version_get(user=request.user, pk=pk)
    _require_manage(request)
    return version


def _frozen(request: HttpRequest, version: CriteriaVersion) -> HttpResponse | None:
    """Send a change of a released version back to it with a note, else None."""
    if version.is_draft:
        return None
    messages.error(
        request, _("A released version is frozen. Start a new draft to change the criteria.")
    )
    return redirect(version)


def _show_error(form: forms.Form, error: ValidationError, version: CriteriaVersion) -> None:
    """Show a service error on the form; after a conflict the next save starts from now."""
    add_service_error(form, error)
    if getattr(error, "code", None) == "edit_conflict":
        form.data = form.data.copy()
        form.data["revision"] = (
            CriteriaVersion.objects.filter(pk=version.pk).values_list("revision", flat=True).get()
        )


class CriteriaSetListView(TemplateView):
    template_name = "selection/criteria_set_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            sets=selectors_criteria.criteria_sets(user=self.request.user),
            can_manage=access.may_manage_selection(self.request.user),
            **kwargs,
        )


class CriteriaSetCreateView(View):
    template_name = "selection/criteria_set_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        _require_manage(request)
        return render(request, self.template_name, {"form": CriteriaSetForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        _require_manage(request)
        form = CriteriaSetForm(request.POST)
        if form.is_valid():
            try:
                criteria_set = services.criteria_set_create(
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    preset=form.cleaned_data["preset"],
                    user=request.user,
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, _("The criteria set has been created. Fill in its first draft.")
                )
                return redirect(criteria_set.versions.get())
        return render(request, self.template_name, {"form": form})


class CriteriaSetDetailView(TemplateView):
    template_name = "selection/criteria_set_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            criteria_set=selectors_criteria.criteria_set_get(
                user=self.request.user, pk=self.kwargs["pk"]
            ),
            can_manage=access.may_manage_selection(self.request.user),
            **kwargs,
        )


def _version_page(
    request: HttpRequest,
    version: CriteriaVersion,
    *,
    weights_form: WeightsForm | None = None,
    release_form: ReleaseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The version's page; a refused weights or release form comes back with its input."""
    outline = selectors_criteria.version_outline(version)
    can_change = version.is_draft and access.may_manage_selection(request.user)
    context = {
        "version": version,
        "outline": outline,
        "can_manage": access.may_manage_selection(request.user),
        "can_change": can_change,
        "draft": (
            None
            if version.is_draft
            else version.criteria_set.versions.filter(state=VersionState.DRAFT).first()
        ),
    }
    if can_change:
        context["weights_form"] = weights_form or WeightsForm(
            version=version, criteria=[row.criterion for row in outline.criteria]
        )
        context["release_form"] = release_form or ReleaseForm(version=version)
    return render(request, "selection/version_detail.html", context, status=status)


class VersionDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _version_page(request, selectors.version_get(user=request.user, pk=pk))


@require_POST
def version_draft_start(request: HttpRequest, pk: int) -> HttpResponse:
    """The set's draft (started from this version when there is none yet)."""
    version = _version_for_change(request, pk)
    draft = services.version_draft_start(version=version, user=request.user)
    messages.success(
        request,
        _("Version %(number)s is the draft. Changes here do not affect runs until you release it.")
        % {"number": draft.number},
    )
    return redirect(draft)


class VersionSettingsView(View):
    template_name = "selection/version_settings.html"

    def _render(self, request, version, form):
        return render(request, self.template_name, {"version": version, "form": form})

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = _version_for_change(request, pk)
        return _frozen(request, version) or self._render(
            request, version, VersionSettingsForm(version=version)
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = _version_for_change(request, pk)
        if response := _frozen(request, version):
            return response
        form = VersionSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.version_settings_update(
                    version=version,
                    revision=form.cleaned_data["revision"],
                    unknown_rule=form.cleaned_data["unknown_rule"],
                    change_note=form.cleaned_data["change_note"],
                )
            except ValidationError as error:
                _show_error(form, error, version)
            else:
                messages.success(request, _("The settings have been saved."))
                return redirect(version)
        return self._render(request, version, form)


class VersionTiersView(View):
    """The tier scheme as rows, best tier first; the ranks follow the order."""

    template_name = "selection/version_tiers.html"

    def _render(self, request, version, form, formset):
        return render(
            request, self.template_name, {"version": version, "form": form, "formset": formset}
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = _version_for_change(request, pk)
        if response := _frozen(request, version):
            return response
        formset = TierFormSet(initial=tier_initial(version), prefix="tiers")
        return self._render(request, version, RevisionForm(version=version), formset)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = _version_for_change(request, pk)
        if response := _frozen(request, version):
            return response
        form = RevisionForm(request.POST)
        formset = TierFormSet(request.POST, prefix="tiers")
        if form.is_valid() and formset.is_valid():
            try:
                services.tiers_save(
                    version=version,
                    revision=form.cleaned_data["revision"],
                    tiers=formset.tiers(),
                )
            except ValidationError as error:
                _show_error(form, error, version)
            else:
                messages.success(request, _("The tier scheme has been saved."))
                return redirect(version)
        return self._render(request, version, form, formset)


class _DraftItemView(View):
    """Add (``pk``: the version) or change (``item_pk``: the item) an item of a draft."""

    model: type[KnockoutCriterion] | type[ScoredCriterion]

    def _objects(self, request: HttpRequest, kwargs) -> tuple[CriteriaVersion, object | None]:
        if "item_pk" in kwargs:
            getter = (
                selectors_criteria.knockout_get
                if self.model is KnockoutCriterion
                else selectors_criteria.criterion_get
            )
            item = getter(user=request.user, pk=kwargs["item_pk"])
            _require_manage(request)
            return item.version, item
        return _version_for_change(request, kwargs["pk"]), None


class KnockoutFormView(_DraftItemView):
    model = KnockoutCriterion
    template_name = "selection/knockout_form.html"

    def _render(self, request, version, item, form):
        return render(request, self.template_name, {"version": version, "item": item, "form": form})

    def get(self, request: HttpRequest, **kwargs) -> HttpResponse:
        version, item = self._objects(request, kwargs)
        if response := _frozen(request, version):
            return response
        form = KnockoutForm(version=version, criterion=item)
        return self._render(request, version, item, form)

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        version, item = self._objects(request, kwargs)
        if response := _frozen(request, version):
            return response
        form = KnockoutForm(request.POST, version=version, criterion=item)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.knockout_save(
                    version=version,
                    revision=data["revision"],
                    criterion=item,
                    name=data["name"],
                    group=data["group"],
                    source=data["source"],
                    operator=data["operator"],
                    threshold=data["threshold"],
                )
            except ValidationError as error:
                _show_error(form, error, version)
            else:
                messages.success(request, _("The K.O. criterion has been saved."))
                return redirect(f"{version.get_absolute_url()}#knockouts")
        return self._render(request, version, item, form)


class CriterionFormView(_DraftItemView):
    model = ScoredCriterion
    template_name = "selection/criterion_form.html"

    def _render(self, request, version, item, form, bands):
        return render(
            request,
            self.template_name,
            {"version": version, "item": item, "form": form, "bands": bands},
        )

    def get(self, request: HttpRequest, **kwargs) -> HttpResponse:
        version, item = self._objects(request, kwargs)
        if response := _frozen(request, version):
            return response
        form = CriterionForm(version=version, criterion=item)
        bands = BandFormSet(initial=band_initial(item), prefix="bands")
        return self._render(request, version, item, form, bands)

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        version, item = self._objects(request, kwargs)
        if response := _frozen(request, version):
            return response
        form = CriterionForm(request.POST, version=version, criterion=item)
        bands = BandFormSet(request.POST, prefix="bands")
        if form.is_valid() and bands.is_valid():
            data = form.cleaned_data
            try:
                services.criterion_save(
                    version=version,
                    revision=data["revision"],
                    criterion=item,
                    name=data["name"],
                    source=data["source"],
                    method=data["method"],
                    weight=data["weight"],
                    bands=bands.bands(),
                )
            except ValidationError as error:
                _show_error(form, error, version)
            else:
                messages.success(request, _("The scored criterion has been saved."))
                return redirect(f"{version.get_absolute_url()}#criteria")
        return self._render(request, version, item, form, bands)


def _item_delete(
    request: HttpRequest, item: KnockoutCriterion | ScoredCriterion, anchor: str
) -> HttpResponse:
    """GET asks for confirmation; POST removes the item from its draft."""
    _require_manage(request)
    version = item.version
    if response := _frozen(request, version):
        return response
    form = RevisionForm(request.POST or None, version=version)
    if request.method == "POST" and form.is_valid():
        try:
            services.criterion_delete(
                version=version, revision=form.cleaned_data["revision"], criterion=item
            )
        except ValidationError as error:
            _show_error(form, error, version)
        else:
            messages.success(request, _("“%(name)s” has been removed.") % {"name": item.name})
            return redirect(f"{version.get_absolute_url()}#{anchor}")
    return render(
        request,
        "selection/criteria_confirm_delete.html",
        {"version": version, "item": item, "form": form, "anchor": anchor},
    )


def knockout_delete(request: HttpRequest, item_pk: int) -> HttpResponse:
    item = selectors_criteria.knockout_get(user=request.user, pk=item_pk)
    return _item_delete(request, item, "knockouts")


def criterion_delete(request: HttpRequest, item_pk: int) -> HttpResponse:
    item = selectors_criteria.criterion_get(user=request.user, pk=item_pk)
    return _item_delete(request, item, "criteria")


@require_POST
def version_weights(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the weights table; "Save and preview" goes on to the what-if preview."""
    version = _version_for_change(request, pk)
    if response := _frozen(request, version):
        return response
    criteria = list(version.criteria.order_by("position", "pk"))
    form = WeightsForm(request.POST, version=version, criteria=criteria)
    if form.is_valid():
        try:
            services.weights_update(
                version=version, revision=form.cleaned_data["revision"], weights=form.weights()
            )
        except ValidationError as error:
            _show_error(form, error, version)
        else:
            messages.success(request, _("The weights have been saved."))
            if "preview" in request.POST:
                return redirect("selection:version-preview", pk=version.pk)
            return redirect(f"{version.get_absolute_url()}#criteria")
    return _version_page(request, version, weights_form=form)


@require_POST
def version_release(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version_for_change(request, pk)
    if response := _frozen(request, version):
        return response
    form = ReleaseForm(request.POST)
    if form.is_valid():
        try:
            services.version_release(
                version=version,
                revision=form.cleaned_data["revision"],
                user=request.user,
                change_note=form.cleaned_data["change_note"],
            )
        except ValidationError as error:
            _show_error(form, error, version)
        else:
            messages.success(
                request,
                _("Version %(number)s has been released. Runs can use it now.")
                % {"number": version.number},
            )
            return redirect(version)
    return _version_page(request, version, release_form=form)


class VersionPreviewView(TemplateView):
    """What-if: the version applied to every account now, against their current tiers."""

    template_name = "selection/version_preview.html"

    def get_context_data(self, **kwargs):
        version = selectors.version_get(user=self.request.user, pk=self.kwargs["pk"])
        return super().get_context_data(
            version=version,
            preview=selectors.version_preview(version),
            can_change=version.is_draft and access.may_manage_selection(self.request.user),
            **kwargs,
        )


class AttributeListView(TemplateView):
    template_name = "selection/attribute_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            attributes=selectors_criteria.attributes(user=self.request.user),
            can_manage=access.may_manage_selection(self.request.user),
            **kwargs,
        )


class AttributeFormView(View):
    """Define a custom attribute, or change one (its key stays once it is in use)."""

    template_name = "selection/attribute_form.html"

    def _instance(self, request: HttpRequest, pk: int | None):
        _require_manage(request)
        return None if pk is None else selectors_criteria.attribute_get(user=request.user, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        attribute = self._instance(request, pk)
        form = AttributeForm(instance=attribute)
        return render(request, self.template_name, {"form": form, "attribute": attribute})

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        attribute = self._instance(request, pk)
        # A copy, so the page's title never shows a name that was not saved.
        form = AttributeForm(request.POST, instance=copy.copy(attribute))
        if form.is_valid():
            try:
                services.attribute_save(
                    attribute=attribute,
                    version=form.cleaned_data["version"],
                    values=form.values(),
                )
            except EditConflict as conflict:
                show_conflict(form, conflict)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The attribute has been saved."))
                return redirect(reverse("selection:attribute-list"))
        return render(request, self.template_name, {"form": form, "attribute": attribute})
