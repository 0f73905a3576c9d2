"""The plan's workflow: draft → submitted → approved, or back to draft with requested
changes; approval freezes a version. Also the annual roll-forward and mentor reviews.

Transitions are conditional updates on the plan's status, so two people pressing buttons at
once cannot both succeed; an illegal transition raises ValidationError with code
``invalid_transition``.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import TeamRole
from kam import access
from kam.models import User
from kam.roles import Role
from kam.services import notify
from plans.models import (
    OPEN_ACTION_STATUSES,
    Action,
    ContactStrategy,
    Objective,
    ObjectiveStatus,
    Plan,
    PlanEvent,
    PlanEventKind,
    PlanStatus,
    PlanVersion,
    ResourceRequest,
    ResourceStatus,
    Review,
    Risk,
    Target,
)
from plans.selectors.snapshot import plan_snapshot
from plans.services.editing import targets_changed


def _transition(plan: Plan, *, source: tuple[str, ...], target: str) -> Plan:
    """Move ``plan`` from one of ``source`` to ``target`` or raise; returns the locked row."""
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        if locked.status not in source:
            raise ValidationError(
                _("The plan is %(status)s; this step is not possible now.")
                % {"status": locked.get_status_display()},
                code="invalid_transition",
            )
        locked.status = target
        Plan.objects.filter(pk=plan.pk).update(status=target, updated_at=timezone.now())
    plan.status = target
    return locked


def _managers_of(plan: Plan) -> list[User]:
    return [
        member.user
        for member in plan.account.team_members.filter(
            role=TeamRole.KEY_ACCOUNT_MANAGER
        ).select_related("user")
    ]


def _tell(users, message_for, plan: Plan, *, email: bool) -> None:
    """Notify each user in their own language (``message_for`` builds the text)."""
    url = reverse("plans:plan-detail", args=[plan.pk])
    for user in users:
        with override(user.language or "de"):
            notify(user=user, message=message_for(), url=url, email=email)


def plan_submit(*, plan: Plan, user: User) -> Plan:
    """Hand the plan to leadership. It needs at least one objective; it is locked until decided."""
    if not access.can_edit(user, plan.account):
        raise PermissionDenied
    with transaction.atomic():
        if not plan.objectives.exists():
            raise ValidationError(
                _("Add at least one objective before submitting the plan."),
                code="no_objectives",
            )
        _transition(plan, source=(PlanStatus.DRAFT,), target=PlanStatus.SUBMITTED)
        PlanEvent.objects.create(plan=plan, kind=PlanEventKind.SUBMITTED, user=user)
        leaders = User.objects.filter(groups__name=Role.SALES_LEADERSHIP, is_active=True)
        _tell(
            leaders.distinct(),
            lambda: (
                _("The plan for %(account)s was submitted for approval.")
                % {"account": plan.account}
            ),
            plan,
            email=True,
        )
    return plan


def plan_withdraw(*, plan: Plan, user: User) -> Plan:
    """Take a submitted plan back to draft to change it further."""
    if not access.can_edit(user, plan.account):
        raise PermissionDenied
    with transaction.atomic():
        _transition(plan, source=(PlanStatus.SUBMITTED,), target=PlanStatus.DRAFT)
        PlanEvent.objects.create(plan=plan, kind=PlanEventKind.WITHDRAWN, user=user)
    return plan


def plan_request_changes(*, plan: Plan, user: User, comment: str) -> Plan:
    """Send a submitted plan back to draft; leadership only, and the comment says what to fix."""
    if not access.may_approve_plans(user):
        raise PermissionDenied
    comment = comment.strip()
    if not comment:
        raise ValidationError(
            {"comment": ValidationError(_("Say what should change."), code="comment_required")}
        )
    with transaction.atomic():
        _transition(plan, source=(PlanStatus.SUBMITTED,), target=PlanStatus.DRAFT)
        PlanEvent.objects.create(
            plan=plan, kind=PlanEventKind.CHANGES_REQUESTED, user=user, comment=comment
        )
        _tell(
            _managers_of(plan),
            lambda: (
                _("Changes were requested on the plan for %(account)s.") % {"account": plan.account}
            ),
            plan,
            email=True,
        )
    return plan


def plan_approve(*, plan: Plan, user: User) -> PlanVersion:
    """Approve a submitted plan (leadership only) and freeze it as the next version."""
    if not access.may_approve_plans(user):
        raise PermissionDenied
    with transaction.atomic():
        locked = _transition(plan, source=(PlanStatus.SUBMITTED,), target=PlanStatus.APPROVED)
        # The plan row is locked, so the next number cannot be taken twice.
        number = (locked.versions.aggregate(last=Max("number"))["last"] or 0) + 1
        now = timezone.now()
        version = PlanVersion.objects.create(
            plan=locked,
            number=number,
            snapshot=plan_snapshot(locked, approval={"number": number, "by": str(user), "at": now}),
            approved_by=user,
            approved_at=now,
        )
        PlanEvent.objects.create(plan=locked, kind=PlanEventKind.APPROVED, user=user)
        _tell(
            _managers_of(locked),
            lambda: (
                _("The plan for %(account)s was approved (version %(number)s).")
                % {"account": locked.account, "number": number}
            ),
            locked,
            email=True,
        )
    return version


def plan_roll_forward(*, plan: Plan, user: User | None = None) -> Plan:
    """Start next year's plan as a draft from ``plan``: the horizon moves by a year, targets
    shift left, open objectives and their open actions, risks, pending resource requests and
    contact strategies carry over. Idempotent: an existing next-year plan is returned as is.
    """
    next_year = plan.start_year + 1
    existing = Plan.objects.filter(account_id=plan.account_id, start_year=next_year).first()
    if existing is not None:
        return existing
    texts = {
        name: getattr(plan, name)
        for name in (
            "language", "business_goals", "market_trends", "purchasing_strategy", "competition",
            "strengths", "weaknesses", "opportunities", "threats", "value_proposition",
            "account_strategy", "partnership_level", "development_strategy", "phase",
            "review_interval_months",
        )
    }  # fmt: skip
    try:
        with transaction.atomic():
            new = Plan.objects.create(account_id=plan.account_id, start_year=next_year, **texts)
            _carry_items(plan, new)
            targets_changed(new)
            PlanEvent.objects.create(
                plan=new,
                kind=PlanEventKind.ROLLED_FORWARD,
                user=user,
                comment=f"{plan.start_year}–{plan.end_year}",
            )
    except IntegrityError:
        # Another worker rolled the same plan forward a moment ago.
        return Plan.objects.get(account_id=plan.account_id, start_year=next_year)
    return new


def _carry_items(old: Plan, new: Plan) -> None:
    targets = {}
    for target in old.targets.all():
        targets[target.pk] = Target.objects.create(
            plan=new, metric=target.metric, custom_name=target.custom_name, unit=target.unit,
            position=target.position, year_1=target.year_2, year_2=target.year_3, year_3=None,
        )  # fmt: skip
    open_objectives = old.objectives.filter(status=ObjectiveStatus.OPEN).prefetch_related(
        "actions__contacts"
    )
    for objective in open_objectives:
        carried = Objective.objects.create(
            plan=new,
            title=objective.title,
            measure=objective.measure,
            target_year=max(objective.target_year, new.start_year),
            target=targets.get(objective.target_id),
            position=objective.position,
        )
        for action in objective.actions.all():
            if action.status not in OPEN_ACTION_STATUSES:
                continue
            copy = Action.objects.create(
                plan=new, objective=carried, title=action.title, owner_id=action.owner_id,
                due_date=action.due_date, status=action.status, phase=action.phase,
                position=action.position,
            )  # fmt: skip
            copy.contacts.set(action.contacts.all())
    Risk.objects.bulk_create(
        Risk(plan=new, description=r.description, likelihood=r.likelihood, impact=r.impact,
             mitigation=r.mitigation, position=r.position)
        for r in old.risks.all()
    )  # fmt: skip
    ResourceRequest.objects.bulk_create(
        ResourceRequest(plan=new, department=r.department, description=r.description,
                        requested_from=r.requested_from, status=r.status, position=r.position)
        for r in old.resource_requests.exclude(status=ResourceStatus.DECLINED)
    )  # fmt: skip
    ContactStrategy.objects.bulk_create(
        ContactStrategy(plan=new, contact_id=s.contact_id, owner_id=s.owner_id,
                        target_strength=s.target_strength, approach=s.approach,
                        position=s.position)
        for s in old.contact_strategies.filter(contact__has_left=False)
    )  # fmt: skip


def review_record(
    *, plan: Plan, user: User, reviewed_on: date, notes: str, signed_off: bool
) -> Review:
    """Record a mentor review (the account's mentors and leadership). A review cannot lie in
    the future. The next review falls due ``review_interval_months`` after it."""
    if not access.may_review_plan(user, plan.account):
        raise PermissionDenied
    if reviewed_on > timezone.localdate():
        raise ValidationError(
            {
                "reviewed_on": ValidationError(
                    _("A review cannot lie in the future."), code="future_review"
                )
            }
        )
    if not notes.strip():
        raise ValidationError(
            {"notes": ValidationError(_("Note what you discussed."), code="notes_required")}
        )
    with transaction.atomic():
        review = Review.objects.create(
            plan=plan, reviewer=user, reviewed_on=reviewed_on, notes=notes, signed_off=signed_off
        )
        Plan.objects.filter(pk=plan.pk).update(overdue_notified_for=None)
    return review


def reviews_flag_overdue(*, today: date | None = None) -> int:
    """Tell the KAM and the mentors of each current plan whose review is overdue, once per due
    date. Safe to run any number of times a day; returns how many plans were flagged."""
    from plans.selectors.plans import current_plans_with_review_due

    today = today or timezone.localdate()
    flagged = 0
    for plan, due in current_plans_with_review_due(before=today):
        with transaction.atomic():
            claimed = (
                Plan.objects.filter(pk=plan.pk)
                .exclude(overdue_notified_for=due)
                .update(overdue_notified_for=due)
            )
            if not claimed:
                continue
            people = [
                member.user
                for member in plan.account.team_members.filter(
                    role__in=[TeamRole.KEY_ACCOUNT_MANAGER, TeamRole.MENTOR]
                ).select_related("user")
            ]
            _tell(
                people,
                lambda plan=plan, due=due: (
                    _("The mentor review of the plan for %(account)s was due on %(due)s.")
                    % {"account": plan.account, "due": date_format(due, "SHORT_DATE_FORMAT")}
                ),
                plan,
                email=True,
            )
            flagged += 1
    return flagged
