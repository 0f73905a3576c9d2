"""What the KPI selectors share: amounts and percentages, choice labels, the current plans, and
the query conditions of an overdue review and of the red flags (see ``catalogue.KPIS``)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import (
    AccountTeamMember,
    BuyingRole,
    Contact,
    ContactRole,
    Influence,
    Relationship,
    TeamRole,
)
from kpis.catalogue import RED_FLAG_ATTAINMENT
from kpis.models import AccountKpi
from plans.models import Plan, Review, add_months

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MAX_REVIEW_INTERVAL = 24  # months; plans.models.Plan.review_interval_months' validator


def amount(value: Any) -> Decimal | None:
    """A database sum as a ``Decimal`` (SQLite answers sums of decimals as float or int)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENT)


def percent(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """``part ÷ whole × 100`` to one decimal; None unless both are known and ``whole`` > 0."""
    if part is None or whole is None or whole <= 0:
        return None
    return (part * HUNDRED / whole).quantize(TENTH)


def choice_labels(choices) -> dict[str, str]:
    return {code: str(label) for code, label in choices}


def review_overdue(today: datetime.date) -> Q:
    """Plans (annotated by :func:`with_review_start`) whose next review, ``review_start`` plus
    the plan's interval in months as :meth:`Plan.review_due` counts, lies before ``today``.

    For each interval ``n`` the due date grows with the start, so "overdue" is "started before
    the first day whose due date is not before today": that day is found here, once per ``n``,
    and the database compares dates only (month arithmetic differs between databases).
    """
    cutoffs = []
    for months in range(1, MAX_REVIEW_INTERVAL + 1):
        first = add_months(today, -months) - datetime.timedelta(days=3)
        while add_months(first, months) < today:
            first += datetime.timedelta(days=1)
        cutoffs.append(When(review_interval_months=months, then=Value(first)))
    return Q(review_start__lt=Case(*cutoffs, output_field=DateField()))


def current_plans() -> QuerySet[Plan]:
    """Plans no later plan of the same account supersedes."""
    newer = Plan.objects.filter(
        account_id=OuterRef("account_id"), start_year__gt=OuterRef("start_year")
    )
    return Plan.objects.exclude(Exists(newer))


def with_review_start(plans: QuerySet[Plan]) -> QuerySet[Plan]:
    last_review = Subquery(
        Review.objects.filter(plan=OuterRef("pk"))
        .order_by("-reviewed_on")
        .values("reviewed_on")[:1],
        output_field=DateField(),
    )
    return plans.annotate(
        last_review=last_review,
        # Plan.review_due counts from the creation's date in UTC, as stored.
        review_start=Coalesce(
            last_review, TruncDate("created_at", tzinfo=datetime.UTC), output_field=DateField()
        ),
    )


def uncovered_decision_maker() -> Exists:
    """The account has an active decider, approver or high-influence contact with whom nobody
    on our team has a relationship (to be used on a queryset of accounts)."""
    decision_role = ContactRole.objects.filter(
        contact=OuterRef("pk"), role__in=[BuyingRole.DECIDER, BuyingRole.APPROVER]
    )
    known = Relationship.objects.filter(contact=OuterRef("pk"))
    return Exists(
        Contact.objects.filter(account=OuterRef("pk"), has_left=False)
        .filter(Q(influence=Influence.HIGH) | Q(Exists(decision_role)))
        .exclude(Exists(known))
    )


def below_target(year: int | None) -> Exists:
    """The account's revenue of ``year`` is below ``RED_FLAG_ATTAINMENT`` % of its target."""
    return Exists(
        AccountKpi.objects.filter(
            account=OuterRef("pk"),
            year=year,
            revenue_target__gt=0,
            revenue__lt=F("revenue_target") * RED_FLAG_ATTAINMENT / HUNDRED,
        )
    )


def without_manager() -> Q:
    """A key account without a key account manager."""
    managed = AccountTeamMember.objects.filter(
        account=OuterRef("pk"), role=TeamRole.KEY_ACCOUNT_MANAGER
    )
    return ~Q(tier="") & ~Q(Exists(managed))


def red_flagged(year: int | None) -> Q:
    """The red-flag KPI's condition on an account (see ``catalogue.KPIS["red_flags"]``)."""
    return Q(below_target(year)) | Q(uncovered_decision_maker()) | without_manager()
