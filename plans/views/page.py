"""The plan page: the whole plan under the account's header, the account's plan tab and
starting a plan; and what every editing endpoint renders after its work (the page with a form
open in place, or for htmx the changed part alone).

Reads go through :mod:`plans.selectors` (outside the user's scope: 404; read-only: 403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View

from accounts import selectors as account_selectors
from accounts.views import ACCOUNT_TABS, AccountTabView
from kam import access
from plans import selectors, services
from plans.forms import (
    MergeField,
    PlanCreateForm,
)
from plans.models import OPEN_ACTION_STATUSES, Metric, Plan, PlanItem, PlanStatus
from selection.selectors.portfolio import account_position

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


def target_rows(page: selectors.PlanPage, actuals: dict[str, list]) -> list[dict[str, Any]]:
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


def strategy_rows(page: selectors.PlanPage) -> list[dict[str, Any]]:
    """Each contact strategy with the contact's best relationship today (from accounts)."""
    return [
        {
            "strategy": strategy,
            "strength": max((r.strength for r in strategy.contact.relationships.all()), default=0),
        }
        for strategy in page.contact_strategies
    ]


def page_context(
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
        "target_rows": target_rows(page, selectors.plan_actuals(plan)),
        "strategy_rows": strategy_rows(page),
        "can_edit": can_edit,
        "editable": can_edit and not plan.is_locked,
        "may_approve": access.may_approve_plans(user),
        "may_review": access.may_review_plan(user, account),
        "today": timezone.localdate(),
        "open_action_statuses": OPEN_ACTION_STATUSES,
        "editing": editing,
        "notice": notice,
    }


def plan_page_response(
    request: HttpRequest, plan: Plan, editing: Editing | None = None
) -> HttpResponse:
    return render(request, "plans/plan_detail.html", page_context(request, plan, editing=editing))


def respond(request: HttpRequest, plan: Plan, editing: Editing) -> HttpResponse:
    """The open form: alone for htmx, otherwise the whole plan page with the form in place."""
    if not request.htmx:
        return plan_page_response(request, plan, editing)
    template = (
        "plans/includes/_section_form.html" if editing.section else "plans/includes/_item_form.html"
    )
    return render(request, template, {"plan": plan, "editing": editing})


def saved(
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
    context = page_context(request, fresh, notice=notice)
    response = render(request, template, context)
    if plan.status == PlanStatus.APPROVED and fresh.status != PlanStatus.APPROVED:
        workflow = render_to_string("plans/includes/_workflow.html", context, request=request)
        response.content += format_html(
            '<div id="plan-workflow" data-hx-swap-oob="true">{}</div>',
            mark_safe(workflow),  # noqa: S308 -- a rendered template  # nosec B308, B703
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
        return plan_page_response(request, selectors.plan_get(user=request.user, pk=pk))


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
