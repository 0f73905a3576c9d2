"""The plan list and the user's open actions, scoped to what the user may see."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.http import QueryDict
from django.utils import timezone

from accounts.filters import cached_choices_for
from accounts.models import AccountTeamMember, TeamRole
from kam import access
from kam.models import User
from plans.filters import ActionFilterSet, PlanFilterSet
from plans.models import OPEN_ACTION_STATUSES, Action, Plan, PlanStatus, PlanVersion, Review
from plans.selectors.plans import plans_for

# What the plan list reads of each plan and its account.
PLAN_LIST_FIELDS = (
    "pk",
    "start_year",
    "status",
    "review_interval_months",
    "created_at",
    "account",
    "account__name",
    "account__tier",
    "account__tier_rank",
)


def _superseded() -> Exists:
    """The account has a plan with a later horizon: this one is no longer worked on."""
    return Exists(
        Plan.objects.filter(
            account_id=OuterRef("account_id"), start_year__gt=OuterRef("start_year")
        )
    )


def plan_list_queryset(user: User) -> QuerySet[Plan]:
    """The plans the user may see with the list's columns: ``last_version`` (number),
    ``last_review`` (date), ``review_start`` (what the next review counts from),
    ``open_actions``, ``superseded`` and the key account manager (``kam_user_id``,
    ``kam_first_name``, ``kam_last_name``, ``kam_username``). One query, however many rows.
    """
    last_review = Subquery(
        Review.objects.filter(plan=OuterRef("pk"))
        .order_by("-reviewed_on")
        .values("reviewed_on")[:1],
        output_field=DateField(),
    )
    open_actions = Subquery(
        Action.objects.filter(plan=OuterRef("pk"), status__in=OPEN_ACTION_STATUSES)
        .order_by()
        .values("plan")
        .annotate(count=Count("pk"))
        .values("count"),
        output_field=IntegerField(),
    )
    return (
        plans_for(user)
        .alias(
            # One key account manager per account (a unique constraint): rows never multiply.
            kam_membership=FilteredRelation(
                "account__team_members",
                condition=Q(account__team_members__role=TeamRole.KEY_ACCOUNT_MANAGER),
            ),
        )
        .annotate(
            last_version=Subquery(
                PlanVersion.objects.filter(plan=OuterRef("pk"))
                .order_by("-number")
                .values("number")[:1]
            ),
            last_review=last_review,
            # Plan.review_due counts from the creation's date in UTC, as stored.
            review_start=Coalesce(
                last_review, TruncDate("created_at", tzinfo=datetime.UTC), output_field=DateField()
            ),
            open_actions=Coalesce(open_actions, Value(0)),
            superseded=_superseded(),
            kam_user_id=F("kam_membership__user_id"),
            kam_first_name=F("kam_membership__user__first_name"),
            kam_last_name=F("kam_membership__user__last_name"),
            kam_username=F("kam_membership__user__username"),
        )
        .only(*PLAN_LIST_FIELDS)
    )


def _tier_choices(plans: QuerySet[Plan]) -> list[tuple[str, str]]:
    rows = (
        plans.exclude(account__tier="")
        .order_by()
        .values_list("account__tier", "account__tier_rank")
        .distinct()
    )
    ranked = sorted(set(rows), key=lambda row: (row[1] is None, row[1] or 0, row[0]))
    tiers: list[tuple[str, str]] = []
    for tier, _rank in ranked:
        if all(tier != known for known, _label in tiers):
            tiers.append((tier, tier))
    return tiers


def _manager_choices(plans: QuerySet[Plan]) -> list[tuple[str, str]]:
    managers = (
        AccountTeamMember.objects.filter(
            role=TeamRole.KEY_ACCOUNT_MANAGER,
            account_id__in=plans.order_by().values("account_id"),
        )
        .order_by("user__last_name", "user__first_name", "user_id")
        .values_list("user_id", "user__first_name", "user__last_name", "user__username")
        .distinct()
    )
    return [
        (str(pk), f"{first} {last}".strip() or username) for pk, first, last, username in managers
    ]


def plan_filterset(
    *, user: User, data: QueryDict | None, today: date | None = None
) -> PlanFilterSet:
    """The plan list: the plans the user may see, filtered and sorted by ``data``.

    The filter's choices (tiers, key account managers) come from those plans. A page costs a
    constant number of queries; pass it through :func:`plan_list_rows` for the review dates.
    """
    plans = plans_for(user)
    chosen = data if data is not None else {}
    # From the cache: at 100,000 accounts the managers of all plans take 0.1 s to read. A
    # new plan's manager or tier shows within LIST_CACHE_TIMEOUT and filters at once.
    return PlanFilterSet(
        data,
        queryset=plan_list_queryset(user),
        tiers=cached_choices_for("plans:tier", plans, _tier_choices, value=chosen.get("tier")),
        managers=cached_choices_for("plans:kam", plans, _manager_choices, value=chosen.get("kam")),
        today=today,
    )


def plan_list_rows(plans: Iterable[Plan], *, today: date | None = None) -> list[Plan]:
    """The list's plans with ``kam_name``, ``next_review`` and ``review_overdue`` set (a
    superseded plan is no longer reviewed: neither due nor overdue)."""
    today = today or timezone.localdate()
    rows = []
    for plan in plans:
        plan.kam_name = (
            f"{plan.kam_first_name or ''} {plan.kam_last_name or ''}".strip()
            or plan.kam_username
            or ""
        )
        plan.next_review = None if plan.superseded else plan.review_due(plan.last_review)
        plan.review_overdue = plan.next_review is not None and plan.next_review < today
        rows.append(plan)
    return rows


def action_filterset(
    *, user: User, data: QueryDict | None, today: date | None = None
) -> ActionFilterSet:
    """The user's open actions (open or in progress) on the current plans they may see,
    overdue first, then by due date (none last); each carries ``is_overdue``.

    Actions of a superseded plan are left out: the roll-forward carried the open ones over.
    """
    today = today or timezone.localdate()
    actions = (
        access.scope(
            user,
            Action.objects.filter(owner_id=user.pk, status__in=OPEN_ACTION_STATUSES),
            account_path="plan__account",
        )
        .exclude(
            Exists(
                Plan.objects.filter(
                    account_id=OuterRef("plan__account_id"),
                    start_year__gt=OuterRef("plan__start_year"),
                )
            )
        )
        .select_related("plan__account", "objective")
        .annotate(
            is_overdue=Case(
                When(due_date__lt=today, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(
            F("is_overdue").desc(), F("due_date").asc(nulls_last=True), "plan__account__name", "pk"
        )
    )
    return ActionFilterSet(data, queryset=actions)


def overdue_count(actions: QuerySet[Action]) -> int:
    """How many of ``actions`` (from :func:`action_filterset`) are overdue."""
    return actions.filter(is_overdue=True).order_by().count()


@dataclass(frozen=True)
class PlanWork:
    """What waits for the user in the plans, for the start page."""

    open_actions: int
    overdue_actions: int
    awaiting_approval: int | None  # None: the user does not approve plans


def plan_work(*, user: User, today: date | None = None) -> PlanWork:
    """Counts of the user's open and overdue actions (as "my actions" lists them) and, for
    leadership, of the plans waiting for approval. Two queries at most."""
    actions = action_filterset(user=user, data=None, today=today).qs.order_by()
    counts = actions.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(is_overdue=True)))
    awaiting = (
        Plan.objects.filter(status=PlanStatus.SUBMITTED).count()
        if access.may_approve_plans(user)
        else None
    )
    return PlanWork(
        open_actions=counts["open"], overdue_actions=counts["overdue"], awaiting_approval=awaiting
    )
