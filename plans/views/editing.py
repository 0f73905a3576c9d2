"""The plan page and editing it in place: sections, inline items, the account's plan tab.

Every edit endpoint answers an htmx request with the piece of the page it changes, and any
other request with the whole plan page with the form open in place, so the page works
without JavaScript too. Reads go through :mod:`plans.selectors` (outside the user's scope:
404; read-only: 403), writes through :mod:`plans.services`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts.views import ACCOUNT_TABS, AccountTabView
from kam import access
from plans import selectors, services
from plans.forms import (
    ITEM_FORMS,
    SECTION_FORMS,
    MergeField,
    MoveForm,
    PlanCreateForm,
    RevisionOnlyForm,
    prepare_merge,
)
from plans.models import OPEN_ACTION_STATUSES, Metric, Plan, PlanItem, PlanStatus
from selection.selectors.portfolio import account_position

# The same words as the service's refusal, for a form that never reaches the service.
LOCKED = gettext_lazy(
    "The plan has been submitted and waits for leadership. Withdraw it to make further changes."
)
MONEY_METRICS = (Metric.REVENUE, Metric.CONTRIBUTION_MARGIN)


@dataclass(frozen=True)
class ItemList:
    """Where a kind of item is shown on the plan page and what its forms are called."""

    element_id: str
    template: str
    colspan: int  # columns of its table, which a row's form spans; 0: shown as cards
    add_title: Promise
    edit_title: Promise
    delete_question: Promise  # "%(item)s" is the item


ITEM_LISTS: dict[str, ItemList] = {
    "target": ItemList(
        "items-target",
        "plans/includes/_items_targets.html",
        8,
        gettext_lazy("Add a target"),
        gettext_lazy("Edit the target"),
        gettext_lazy("Delete the target “%(item)s” and its values?"),
    ),
    "objective": ItemList(
        "items-objective",
        "plans/includes/_items_objectives.html",
        0,
        gettext_lazy("Add an objective"),
        gettext_lazy("Edit the objective"),
        gettext_lazy("Delete the objective “%(item)s” together with its actions?"),
    ),
    "action": ItemList(
        "items-objective",
        "plans/includes/_items_objectives.html",
        7,
        gettext_lazy("Add an action"),
        gettext_lazy("Edit the action"),
        gettext_lazy("Delete the action “%(item)s”?"),
    ),
    "risk": ItemList(
        "items-risk",
        "plans/includes/_items_risks.html",
        6,
        gettext_lazy("Add a risk"),
        gettext_lazy("Edit the risk"),
        gettext_lazy("Delete the risk “%(item)s”?"),
    ),
    "resource": ItemList(
        "items-resource",
        "plans/includes/_items_resources.html",
        5,
        gettext_lazy("Add a resource request"),
        gettext_lazy("Edit the resource request"),
        gettext_lazy("Delete the resource request “%(item)s”?"),
    ),
    "contact-strategy": ItemList(
        "items-contact-strategy",
        "plans/includes/_items_contact_strategies.html",
        9,
        gettext_lazy("Add a contact to the buying-center strategy"),
        gettext_lazy("Edit the contact strategy"),
        gettext_lazy("Remove “%(item)s” from the buying-center strategy?"),
    ),
}


@dataclass
class Editing:
    """The part of the plan page that is open for editing, its form and its mode.

    ``mode`` is ``form`` (editing), ``merge`` (a save met someone else's, both are shown),
    ``delete`` (confirming a deletion) or ``locked`` (the plan is submitted).
    """

    form_id: str
    action_url: str
    title: str
    form: forms.Form | None = None
    section: str = ""
    kind: str = ""
    item: PlanItem | None = None
    objective_pk: int | None = None
    mode: str = "form"
    merge: list[MergeField] = field(default_factory=list)
    message: str = ""
    revision: int | None = None
    colspan: int = 0
    anchor: str = ""  # where the page without JavaScript returns to

    @property
    def item_pk(self) -> int | None:
        return self.item.pk if self.item is not None else None

    @property
    def is_new(self) -> bool:
        return bool(self.kind) and self.item is None

    @property
    def as_row(self) -> bool:
        return self.colspan > 0 and self.item is not None

    @property
    def rows(self) -> list[tuple[forms.BoundField, str, MergeField | None]]:
        """The form's fields with their grid column and, in a merge, their conflict."""
        merged = {m.field.name: m for m in self.merge}
        return [(bound, col, merged.get(bound.name)) for bound, col in self.form.layout]


def _target_rows(page: selectors.PlanPage, actuals: dict[str, list]) -> list[dict[str, Any]]:
    rows = []
    for target in page.targets:
        values = actuals.get(target.metric) if target.metric != Metric.CUSTOM else None
        values = values or [None] * len(page.years)
        rows.append(
            {
                "target": target,
                "money": target.metric in MONEY_METRICS and not target.unit,
                "cells": list(zip(target.values, values, strict=True)),
            }
        )
    return rows


def _strategy_rows(page: selectors.PlanPage) -> list[dict[str, Any]]:
    """Each contact strategy with the contact's best relationship today (from accounts)."""
    return [
        {
            "strategy": strategy,
            "strength": max((r.strength for r in strategy.contact.relationships.all()), default=0),
        }
        for strategy in page.contact_strategies
    ]


def _page_context(
    request: HttpRequest, plan: Plan, *, editing: Editing | None = None, notice: str = ""
) -> dict[str, Any]:
    """Everything the plan page and its parts show, in a fixed number of queries."""
    account = plan.account
    user = request.user
    page = selectors.plan_page(plan=plan)
    can_edit = access.can_edit(user, account)
    return {
        "account": account,
        "plan": plan,
        "page": page,
        "tab": "plan",
        "tabs": ACCOUNT_TABS,
        "center": account_selectors.buying_center(account=account),
        "competitors": list(account.competitors.all()),
        "position": account_position(account=account),
        "target_rows": _target_rows(page, selectors.plan_actuals(plan)),
        "strategy_rows": _strategy_rows(page),
        "can_edit": can_edit,
        "editable": can_edit and not plan.is_locked,
        "may_approve": access.may_approve_plans(user),
        "may_review": access.may_review_plan(user, account),
        "today": timezone.localdate(),
        "open_action_statuses": OPEN_ACTION_STATUSES,
        "editing": editing,
        "notice": notice,
    }


def _plan_page(request: HttpRequest, plan: Plan, editing: Editing | None = None) -> HttpResponse:
    return render(request, "plans/plan_detail.html", _page_context(request, plan, editing=editing))


def _respond(request: HttpRequest, plan: Plan, editing: Editing) -> HttpResponse:
    """The open form: alone for htmx, otherwise the whole plan page with the form in place."""
    if not request.htmx:
        return _plan_page(request, plan, editing)
    template = (
        "plans/includes/_section_form.html" if editing.section else "plans/includes/_item_form.html"
    )
    return render(request, template, {"plan": plan, "editing": editing})


def _saved(
    request: HttpRequest,
    plan: Plan,
    *,
    template: str,
    anchor: str,
    message: str = "",
    notice: str = "",
    retarget: str = "",
) -> HttpResponse:
    """After a change: the changed part of the page for htmx (and the workflow box when the
    edit reopened an approved plan), otherwise back to the plan page at ``anchor``."""
    if not request.htmx:
        if message:
            messages.success(request, message)
        if notice:
            messages.error(request, notice)
        return redirect(f"{plan.get_absolute_url()}#{anchor}")
    fresh = selectors.plan_get(user=request.user, pk=plan.pk)
    context = _page_context(request, fresh, notice=notice)
    response = render(request, template, context)
    if plan.status == PlanStatus.APPROVED and fresh.status != PlanStatus.APPROVED:
        workflow = render_to_string("plans/includes/_workflow.html", context, request=request)
        response.content += format_html(
            '<div id="plan-workflow" data-hx-swap-oob="true">{}</div>',
            mark_safe(workflow),  # noqa: S308 -- a rendered template
        ).encode()
    if retarget:
        response["HX-Retarget"] = f"#{retarget}"
        response["HX-Reswap"] = "outerHTML"
    if not notice:
        response["HX-Trigger"] = "plan-saved"
    return response


class PlanDetailView(View):
    """The whole plan on one page, under the account's header; editors get edit buttons."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _plan_page(request, selectors.plan_get(user=request.user, pk=pk))


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
        return _respond(request, plan, self._editing(plan, section, self._form(section, plan)))

    def post(self, request: HttpRequest, pk: int, section: str) -> HttpResponse:
        if section not in SECTION_FORMS:
            raise Http404
        plan = selectors.plan_get_editable(user=request.user, pk=pk)
        form = self._form(section, plan, request.POST)
        editing = self._editing(plan, section, form)
        if plan.is_locked:
            return _respond(request, plan, editing)
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
                return _saved(
                    request,
                    plan,
                    template=f"plans/includes/_section_{section}.html",
                    anchor=editing.form_id,
                    message=_("The section has been saved."),
                )
        return _respond(request, plan, editing)


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
    return _respond(request, plan, editing)


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
        return _respond(request, plan, editing)

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
                return _saved(
                    request,
                    plan,
                    template=listing.template,
                    anchor=editing.anchor,
                    message=_("Saved."),
                    retarget=listing.element_id,
                )
        return _respond(request, plan, editing)


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
        return _respond(request, plan, editing)
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
        return _respond(request, plan, editing)
    except ValidationError as error:
        editing.message = " ".join(error.messages)
        return _respond(request, plan, editing)
    except ObjectDoesNotExist:
        pass  # someone else deleted it already: what the user wanted
    return _saved(
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
    return _saved(
        request,
        plan,
        template=listing.template,
        anchor=f"item-{kind}-{item.pk}",
        notice=notice,
        retarget=listing.element_id,
    )


class AccountPlanView(AccountTabView):
    """The account's plan tab: the current plan, the older ones, and for editors a form to
    start a plan."""

    tab = "plan"
    template_name = "plans/account_plan.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        plans = list(
            selectors.plans_for(self.request.user)
            .filter(account=self.account)
            .order_by("-start_year")
        )
        kwargs.setdefault(
            "form",
            PlanCreateForm(
                initial={
                    "start_year": timezone.localdate().year + 1,
                    "language": get_language(),
                },
                auto_id="plan-create-%s",
            ),
        )
        return super().get_context_data(
            current=plans[0] if plans else None, older=plans[1:], **kwargs
        )


class PlanCreateView(AccountPlanView):
    """Start a plan for the account: GET shows the form, POST creates the draft and opens it.

    Only those who may edit the account (403 for readers, 404 outside the scope).
    """

    template_name = "plans/plan_create.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account_pk = kwargs.pop("account_pk")
        account_selectors.account_get_editable(user=request.user, pk=account_pk)
        return super().dispatch(request, *args, pk=account_pk, **kwargs)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = PlanCreateForm(request.POST, auto_id="plan-create-%s")
        if form.is_valid():
            try:
                plan = services.plan_create(
                    account=self.account, user=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("The plan has been started as a draft."))
                return redirect(plan)
        return self.render_to_response(self.get_context_data(form=form))
