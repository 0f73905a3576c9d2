"""Writes to a plan's working copy: creating it, its sections and its inline items.

Every write carries the revision the user started from. A section save conflicts only when
someone changed one of *that section's* fields meanwhile; an item save when the item moved
on. A conflict raises :class:`kam.concurrency.EditConflict` and writes nothing. A submitted
plan is locked; editing an approved plan opens the next round (back to draft), while the
approved version stays frozen.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import Account
from kam.concurrency import EditConflict, lock_at, save_counted
from kam.models import User
from plans.models import (
    Action,
    ContactStrategy,
    Metric,
    Objective,
    Plan,
    PlanEvent,
    PlanEventKind,
    PlanItem,
    PlanStatus,
    ResourceRequest,
    Risk,
    Target,
)

__all__ = ["EditConflict"]

# The fields each section of the plan page edits together; a section is the unit of saving.
SECTIONS: dict[str, tuple[str, ...]] = {
    "situation": (
        "business_goals",
        "market_trends",
        "purchasing_strategy",
        "competition",
    ),
    "swot": ("strengths", "weaknesses", "opportunities", "threats"),
    "strategy": (
        "value_proposition",
        "account_strategy",
        "partnership_level",
        "development_strategy",
        "phase",
    ),
    "settings": ("language", "review_interval_months"),
}

DEFAULT_TARGETS = (Metric.REVENUE, Metric.CONTRIBUTION_MARGIN, Metric.SHARE_OF_WALLET)


def plan_create(*, account: Account, start_year: int, user: User, language: str = "de") -> Plan:
    """Start a draft plan for ``account`` from ``start_year`` with the usual KPIs as targets.

    Raises ValidationError when the account already has a plan starting that year.
    """
    plan = Plan(
        account=account,
        start_year=start_year,
        language=language,
        partnership_level=account.strategy,
    )
    plan.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:
        message = _("This account already has a plan starting in %(year)s.") % {"year": start_year}
        raise ValidationError({"start_year": ValidationError(message, code="plan_exists")}) from exc
    Target.objects.bulk_create(
        Target(
            plan=plan,
            metric=metric,
            position=index,
            unit="%" if metric == Metric.SHARE_OF_WALLET else "",
        )
        for index, metric in enumerate(DEFAULT_TARGETS)
    )
    PlanEvent.objects.create(plan=plan, kind=PlanEventKind.CREATED, user=user)
    return plan


def _open_for_editing(plan: Plan, user: User | None) -> None:
    """Refuse edits of a submitted plan; an edit of an approved plan starts the next round.

    Must run inside the writer's transaction with ``plan`` locked.
    """
    if plan.status == PlanStatus.SUBMITTED:
        raise ValidationError(
            _(
                "The plan has been submitted and waits for leadership. Withdraw it to make "
                "further changes."
            ),
            code="plan_locked",
        )
    if plan.status == PlanStatus.APPROVED:
        Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.DRAFT)
        plan.status = PlanStatus.DRAFT
        PlanEvent.objects.create(plan=plan, kind=PlanEventKind.REOPENED, user=user)


def _lock_plan(plan: Plan) -> Plan:
    return Plan.objects.select_for_update().get(pk=plan.pk)


def plan_section_update(
    *, plan: Plan, section: str, revision: int, values: dict[str, Any], user: User
) -> Plan:
    """Save one section's fields. Raises EditConflict, ValidationError (also when locked)."""
    fields = SECTIONS[section]
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"Fields {sorted(unknown)} are not in section {section!r}")
    with transaction.atomic():
        current = lock_at(Plan, plan.pk, revision, counter_field="revision", fields=fields)
        _open_for_editing(current, user)
        return save_counted(current, values, counter_field="revision")


# Which relation of the plan each item model hangs on (actions hang on an objective).
ITEM_MODELS: dict[str, type[PlanItem]] = {
    "target": Target,
    "objective": Objective,
    "action": Action,
    "risk": Risk,
    "resource": ResourceRequest,
    "contact-strategy": ContactStrategy,
}


def _check_item(plan: Plan, item: PlanItem, values: dict[str, Any]) -> None:
    """Rules across rows: everything an item points at belongs to the same plan and account."""
    errors: dict[str, ValidationError] = {}

    def refuse(name: str, message: str) -> None:
        errors[name] = ValidationError(message, code="outside_plan")

    team_user_ids = set(plan.account.team_members.values_list("user_id", flat=True))
    owner = values.get("owner")
    if owner is not None and owner.pk not in team_user_ids:
        refuse("owner", _("Choose someone from the account team."))
    contact = values.get("contact")
    if contact is not None and contact.account_id != plan.account_id:
        refuse("contact", _("This contact belongs to another account."))
    objective = values.get("objective")
    if objective is not None and objective.plan_id != plan.pk:
        refuse("objective", _("This objective belongs to another plan."))
    target = values.get("target")
    if target is not None and target.plan_id != plan.pk:
        refuse("target", _("This KPI belongs to another plan."))
    year = values.get("target_year")
    if year is not None and year not in plan.years:
        refuse(
            "target_year",
            _("Choose a year of the plan (%(first)s–%(last)s).")
            % {"first": plan.start_year, "last": plan.end_year},
        )
    contacts = values.get("contacts")
    if contacts is not None and any(c.account_id != plan.account_id for c in contacts):
        refuse("contacts", _("Choose contacts of this account."))
    if errors:
        raise ValidationError(errors)


def targets_changed(plan: Plan) -> None:
    """Once committed, rebuild the account's KPI rows: the plan is where its targets live."""
    from kpis.tasks import kpis_recompute

    account_id = plan.account_id
    transaction.on_commit(lambda: kpis_recompute.delay([account_id]))


def _save_item(item: PlanItem, values: dict[str, Any], *, bump: bool) -> PlanItem:
    contacts = values.pop("contacts", None)
    for name, value in values.items():
        setattr(item, name, value)
    if bump:
        item.revision += 1
    item.full_clean(exclude=["plan"])
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This plan already has an entry like this one."), code="duplicate"
        ) from exc
    if contacts is not None:
        item.contacts.set(contacts)
    if isinstance(item, Target):
        targets_changed(item.plan)
    return item


def item_create(*, plan: Plan, kind: str, values: dict[str, Any], user: User) -> PlanItem:
    """Add an item (target, objective, action, …) at the end of its list. Raises ValidationError."""
    model = ITEM_MODELS[kind]
    with transaction.atomic():
        locked = _lock_plan(plan)
        _open_for_editing(locked, user)
        _check_item(locked, model(plan=locked), values)
        last = model.objects.filter(plan=locked).aggregate(last=Max("position"))["last"]
        item = model(plan=locked, position=(last or 0) + 1)
        return _save_item(item, dict(values), bump=False)


def item_update(*, item: PlanItem, revision: int, values: dict[str, Any], user: User) -> PlanItem:
    """Change an item the user started editing at ``revision``. Raises EditConflict or
    ValidationError; a deleted item raises the model's DoesNotExist."""
    model = type(item)
    with transaction.atomic():
        locked_plan = _lock_plan(item.plan)
        current = lock_at(model, item.pk, revision, counter_field="revision")
        _open_for_editing(locked_plan, user)
        _check_item(locked_plan, current, values)
        return _save_item(current, dict(values), bump=True)


def item_delete(*, item: PlanItem, revision: int, user: User) -> None:
    """Delete an item unless someone changed it since the user saw it (EditConflict)."""
    model = type(item)
    with transaction.atomic():
        locked_plan = _lock_plan(item.plan)
        current = lock_at(model, item.pk, revision, counter_field="revision")
        _open_for_editing(locked_plan, user)
        current.delete()
        if isinstance(current, Target):
            targets_changed(locked_plan)


def item_move(*, item: PlanItem, direction: int, user: User) -> None:
    """Swap an item with its neighbour above (-1) or below (+1) in its list."""
    model = type(item)
    siblings: models.QuerySet = model.objects.filter(plan_id=item.plan_id)
    if isinstance(item, Action):
        siblings = siblings.filter(objective_id=item.objective_id)
    with transaction.atomic():
        locked_plan = _lock_plan(item.plan)
        _open_for_editing(locked_plan, user)
        rows = list(siblings.select_for_update().order_by("position", "pk"))
        index = next(i for i, row in enumerate(rows) if row.pk == item.pk)
        other = index + direction
        if not 0 <= other < len(rows):
            return
        rows[index], rows[other] = rows[other], rows[index]
        for position, row in enumerate(rows, start=1):
            row.position = position
        model.objects.bulk_update(rows, ["position"])
