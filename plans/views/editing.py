"""Editing the plan in place: its sections and its inline items (add, edit, delete, move).

Every edit endpoint answers an htmx request with the piece of the page it changes, and any
other request with the whole plan page with the form open in place, so the page works
without JavaScript too. Writes go through :mod:`plans.services`; a save that meets someone
else's shows both for a deliberate merge.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_http_methods, require_POST

from plans import selectors, services
from plans.forms import (
    ITEM_FORMS,
    SECTION_FORMS,
    MoveForm,
    RevisionOnlyForm,
    prepare_merge,
)
from plans.models import Plan, PlanItem
from plans.views.page import (
    ITEM_LISTS,
    Editing,
    respond,
    saved,
)

LOCKED = gettext_lazy(
    "The plan has been submitted and waits for leadership. Withdraw it to make further changes."
)


class SectionEditView(View):
    """One section of the plan: GET opens its form, POST saves it at the plan's revision.

    A save that meets someone else's change to the same fields shows both versions to merge;
    a submitted plan is refused with the ``plan_locked`` message.
    """

    def _editing(self, plan: Plan, section: str, form: forms.Form) -> Editing:
        form_id = f"section-{section}"
        return Editing(
            form_id=form_id,
            action_url=reverse("plans:section-edit", args=[plan.pk, section]),
            title=str(form.title),
            form=form,
            section=section,
            mode="locked" if plan.is_locked else "form",
            message=str(LOCKED) if plan.is_locked else "",
            anchor=form_id,
        )

    def _form(self, section: str, plan: Plan, data: Any = None) -> forms.Form:
        # A copy, so values the user typed never show in the rest of the page.
        return SECTION_FORMS[section](
            data, instance=copy.copy(plan), auto_id=f"section-{section}-%s"
        )

    def get(self, request: HttpRequest, pk: int, section: str) -> HttpResponse:
        if section not in SECTION_FORMS:
            raise Http404
        plan = selectors.plan_get_editable(user=request.user, pk=pk)
        return respond(request, plan, self._editing(plan, section, self._form(section, plan)))

    def post(self, request: HttpRequest, pk: int, section: str) -> HttpResponse:
        if section not in SECTION_FORMS:
            raise Http404
        plan = selectors.plan_get_editable(user=request.user, pk=pk)
        form = self._form(section, plan, request.POST)
        editing = self._editing(plan, section, form)
        if plan.is_locked:
            return respond(request, plan, editing)
        if form.is_valid():
            try:
                services.plan_section_update(
                    plan=plan,
                    section=section,
                    revision=form.cleaned_data["revision"],
                    values=form.values(),
                    user=request.user,
                )
            except services.EditConflict as conflict:
                editing.mode, editing.merge = "merge", prepare_merge(form, conflict)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                return saved(
                    request,
                    plan,
                    template=f"plans/includes/_section_{section}.html",
                    anchor=editing.form_id,
                    message=_("The section has been saved."),
                )
        return respond(request, plan, editing)


def _plan_and_item(
    request: HttpRequest, pk: int, kind: str, item_pk: int | None
) -> tuple[Plan, PlanItem | None]:
    """The plan the user may edit and its item of ``kind`` (404 for another plan's item)."""
    if kind not in ITEM_LISTS:
        raise Http404
    plan = selectors.plan_get_editable(user=request.user, pk=pk)
    if item_pk is None:
        return plan, None
    item = get_object_or_404(services.ITEM_MODELS[kind], plan=plan, pk=item_pk)
    item.plan = plan
    return plan, item


def _item_editing(
    request: HttpRequest, plan: Plan, kind: str, item: PlanItem | None, **kwargs: Any
) -> Editing:
    listing = ITEM_LISTS[kind]
    objective_pk = None
    if item is not None:
        form_id = f"item-{kind}-{item.pk}"
        url = reverse("plans:item-edit", args=[plan.pk, kind, item.pk])
    else:
        url = reverse("plans:item-create", args=[plan.pk, kind])
        form_id = f"new-{kind}"
        if kind == "action":
            objective_pk = _objective_pk(request, plan)
            form_id = f"new-action-{objective_pk}"
            url = f"{url}?objective={objective_pk}"
    return Editing(
        form_id=form_id,
        action_url=url,
        title=str(listing.edit_title if item is not None else listing.add_title),
        kind=kind,
        item=item,
        objective_pk=objective_pk,
        colspan=listing.colspan,
        anchor=form_id if item is not None else listing.element_id,
        **kwargs,
    )


def _objective_pk(request: HttpRequest, plan: Plan) -> int:
    """The objective a new action is added under (``?objective=``); 404 if not the plan's."""
    try:
        pk = int(request.GET.get("objective", ""))
    except ValueError as exc:
        raise Http404 from exc
    if not plan.objectives.filter(pk=pk).exists():
        raise Http404
    return pk


def _locked(request: HttpRequest, plan: Plan, editing: Editing) -> HttpResponse:
    """Say, where the form would open, that a submitted plan cannot be changed."""
    editing.mode, editing.message = "locked", str(LOCKED)
    return respond(request, plan, editing)


class ItemEditView(View):
    """Add an item to the plan (no ``item_pk``) or change one: GET opens the form, POST saves.

    The form's choices are limited to the plan's account and the plan itself; a change that
    meets someone else's change to the same item shows both to merge.
    """

    def _form(
        self, plan: Plan, kind: str, item: PlanItem | None, editing: Editing, data: Any = None
    ) -> forms.Form:
        instance = item if item is not None else services.ITEM_MODELS[kind](plan=plan)
        initial = {"objective": editing.objective_pk} if editing.objective_pk else None
        return ITEM_FORMS[kind](
            data, instance=instance, plan=plan, initial=initial, auto_id=f"{editing.form_id}-%s"
        )

    def get(
        self, request: HttpRequest, pk: int, kind: str, item_pk: int | None = None
    ) -> HttpResponse:
        plan, item = _plan_and_item(request, pk, kind, item_pk)
        editing = _item_editing(request, plan, kind, item)
        if plan.is_locked:
            return _locked(request, plan, editing)
        editing.form = self._form(plan, kind, item, editing)
        return respond(request, plan, editing)

    def post(
        self, request: HttpRequest, pk: int, kind: str, item_pk: int | None = None
    ) -> HttpResponse:
        plan, item = _plan_and_item(request, pk, kind, item_pk)
        editing = _item_editing(request, plan, kind, item)
        form = editing.form = self._form(plan, kind, item, editing, request.POST)
        if plan.is_locked:
            return _locked(request, plan, editing)
        if form.is_valid():
            try:
                if item is None:
                    services.item_create(
                        plan=plan, kind=kind, values=form.values(), user=request.user
                    )
                else:
                    services.item_update(
                        item=item,
                        revision=form.cleaned_data["revision"],
                        values=form.values(),
                        user=request.user,
                    )
            except services.EditConflict as conflict:
                editing.mode, editing.merge = "merge", prepare_merge(form, conflict)
            except ValidationError as error:
                form.add_service_error(error)
            except ObjectDoesNotExist:
                form.add_error(
                    None,
                    ValidationError(
                        _("Someone deleted this entry meanwhile; your input is kept below."),
                        code="deleted",
                    ),
                )
            else:
                listing = ITEM_LISTS[kind]
                return saved(
                    request,
                    plan,
                    template=listing.template,
                    anchor=editing.anchor,
                    message=_("Saved."),
                    retarget=listing.element_id,
                )
        return respond(request, plan, editing)


@require_http_methods(["GET", "POST"])
def item_delete(request: HttpRequest, pk: int, kind: str, item_pk: int) -> HttpResponse:
    """GET asks to confirm, in place; POST deletes the item at the revision the user saw.

    If someone changed the item since, nothing is deleted and the question is asked again.
    """
    plan, item = _plan_and_item(request, pk, kind, item_pk)
    listing = ITEM_LISTS[kind]
    editing = _item_editing(request, plan, kind, item, mode="delete", revision=item.revision)
    editing.action_url = reverse("plans:item-delete", args=[plan.pk, kind, item.pk])
    editing.title = str(listing.delete_question % {"item": item})
    if plan.is_locked:
        return _locked(request, plan, editing)
    if request.method == "GET":
        return respond(request, plan, editing)
    form = RevisionOnlyForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    try:
        services.item_delete(item=item, revision=form.cleaned_data["revision"], user=request.user)
    except services.EditConflict as conflict:
        editing.revision = conflict.current.revision
        editing.message = _(
            "Someone changed this entry after you opened the page, so it was not deleted. "
            "Check it and delete it again if it should go."
        )
        return respond(request, plan, editing)
    except ValidationError as error:
        editing.message = " ".join(error.messages)
        return respond(request, plan, editing)
    except ObjectDoesNotExist:
        pass  # someone else deleted it already: what the user wanted
    return saved(
        request,
        plan,
        template=listing.template,
        anchor=listing.element_id,
        message=_("Deleted."),
        retarget=listing.element_id,
    )


@require_POST
def item_move(request: HttpRequest, pk: int, kind: str, item_pk: int) -> HttpResponse:
    """Move an item one place up (direction -1) or down (+1) in its list."""
    plan, item = _plan_and_item(request, pk, kind, item_pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    notice = ""
    try:
        services.item_move(item=item, direction=form.cleaned_data["direction"], user=request.user)
    except ValidationError as error:
        notice = " ".join(error.messages)
    listing = ITEM_LISTS[kind]
    return saved(
        request,
        plan,
        template=listing.template,
        anchor=f"item-{kind}-{item.pk}",
        notice=notice,
        retarget=listing.element_id,
    )
