"""Reads of plans, scoped to what the user may see (see kam/access.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Account
from kam import access
from kam.models import User
from plans.models import (
    Action,
    ContactStrategy,
    Objective,
    Plan,
    PlanEvent,
    PlanEventKind,
    PlanStatus,
    PlanVersion,
    Review,
)


def plans_for(user: User) -> QuerySet[Plan]:
    """The plans the user may open, with their account."""
    return access.scope(user, Plan.objects.select_related("account"), account_path="account")


def plan_get(*, user: User, pk: int) -> Plan:
    """A plan the user may open; raises Http404 otherwise."""
    return access.get_for_user(
        user, Plan.objects.select_related("account"), account_path="account", pk=pk
    )


def plan_get_editable(*, user: User, pk: int) -> Plan:
    """A plan the user may change: 404 out of scope, 403 when only readable."""
    return access.get_editable_for_user(
        user, Plan.objects.select_related("account"), account_path="account", pk=pk
    )


def current_plan(*, account: Account) -> Plan | None:
    """The account's plan with the latest horizon (the one the team works on)."""
    return account.plans.order_by("-start_year").first()


@dataclass
class ReviewStatus:
    """The plan's mentor-review cadence; a plan superseded by a newer one is never overdue
    (its reviews continue on the newer plan, as the daily check sees it)."""

    last: Review | None
    due: date
    today: date
    superseded: bool = False

    @property
    def overdue(self) -> bool:
        return not self.superseded and self.due < self.today


@dataclass
class PlanPage:
    """Everything the plan page shows, read in a fixed number of queries."""

    plan: Plan
    targets: list
    objectives: list[Objective]
    risks: list
    resources: list
    contact_strategies: list[ContactStrategy]
    reviews: list[Review]
    versions: list[PlanVersion]
    events: list[PlanEvent]
    review: ReviewStatus
    requested_changes: PlanEvent | None = None
    newer_plan: Plan | None = None
    years: list[int] = field(default_factory=list)


def plan_page(*, plan: Plan, today: date | None = None) -> PlanPage:
    today = today or timezone.localdate()
    objectives = list(
        plan.objectives.select_related("target").prefetch_related(
            Prefetch(
                "actions",
                queryset=Action.objects.select_related("owner").prefetch_related("contacts"),
            )
        )
    )
    reviews = list(plan.reviews.select_related("reviewer"))
    events = list(plan.events.select_related("user")[:50])
    newer_plan = (
        plan.account.plans.filter(start_year__gt=plan.start_year).order_by("-start_year").first()
    )
    requested = None
    if plan.status == PlanStatus.DRAFT:
        latest = next((e for e in events if e.kind != PlanEventKind.REOPENED), None)
        if latest is not None and latest.kind == PlanEventKind.CHANGES_REQUESTED:
            requested = latest
    return PlanPage(
        plan=plan,
        targets=list(plan.targets.all()),
        objectives=objectives,
        risks=sorted(plan.risks.all(), key=lambda r: (-r.severity, r.position, r.pk)),
        resources=list(plan.resource_requests.all()),
        contact_strategies=list(
            plan.contact_strategies.select_related("contact", "owner").prefetch_related(
                "contact__roles", "contact__relationships"
            )
        ),
        reviews=reviews,
        versions=list(plan.versions.select_related("approved_by").defer("snapshot")),
        events=events,
        review=ReviewStatus(
            last=reviews[0] if reviews else None,
            due=plan.review_due(reviews[0].reviewed_on if reviews else None),
            today=today,
            superseded=newer_plan is not None,
        ),
        requested_changes=requested,
        newer_plan=newer_plan,
        years=plan.years,
    )


def current_plans_with_review_due(*, before: date) -> Iterator[tuple[Plan, date]]:
    """Each account's current plan whose mentor review was due before ``before``, with the
    due date. Streams the plans; only those with a mentor-review cadence are considered."""
    latest_year = (
        Plan.objects.filter(account=OuterRef("account"))
        .order_by("-start_year")
        .values("start_year")[:1]
    )
    plans = (
        Plan.objects.filter(start_year=Subquery(latest_year))
        .annotate(last_review=Max("reviews__reviewed_on"))
        .select_related("account")
        .order_by("pk")
    )
    for plan in plans.iterator(chunk_size=500):
        due = plan.review_due(plan.last_review)
        if due < before:
            yield plan, due
