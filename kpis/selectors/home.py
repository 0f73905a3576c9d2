"""Reads of the start page: the user's actions, reviews and untouched contacts due, their
payment escalations, and their accounts' KPIs against plan with the red flags, at a fixed
number of queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, AccountTeamMember, Contact, Influence, Relationship, TeamRole
from accounts.selectors import STALE_RELATIONSHIP_DAYS
from kam.models import User
from kpis.catalogue import RED_FLAG_ATTAINMENT
from kpis.models import AccountKpi
from kpis.selectors.common import (
    amount,
    below_target,
    current_plans,
    percent,
    red_flagged,
    uncovered_decision_maker,
    with_review_start,
    without_manager,
)
from payments.models import Escalation
from payments.selectors import my_escalations
from plans.models import Action as PlanAction
from plans.models import Plan
from plans.selectors import action_filterset

WORK_DAYS_AHEAD = 14
WORK_ROWS = 10


@dataclass(frozen=True)
class MyAccountRow:
    """One of the user's accounts with its KPIs of the year against plan, and its red flags."""

    pk: int
    name: str
    tier: str
    currency: str
    revenue: Decimal | None
    revenue_target: Decimal | None
    revenue_prior: Decimal | None
    margin: Decimal | None
    margin_target: Decimal | None
    below_target: bool
    uncovered: bool
    no_manager: bool

    @property
    def attainment(self) -> Decimal | None:
        return percent(self.revenue, self.revenue_target)

    @property
    def margin_attainment(self) -> Decimal | None:
        return percent(self.margin, self.margin_target)

    @property
    def growth(self) -> Decimal | None:
        if self.revenue is None or self.revenue_prior is None:
            return None
        return percent(self.revenue - self.revenue_prior, self.revenue_prior)

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.below_target:
            flags.append(
                str(_("Revenue below %(share)s %% of target") % {"share": RED_FLAG_ATTAINMENT})
            )
        if self.uncovered:
            flags.append(str(_("Decision maker nobody on our team knows")))
        if self.no_manager:
            flags.append(str(_("Key account without a key account manager")))
        return flags


@dataclass
class MyWork:
    """What waits for the user today on their accounts (the start page)."""

    year: int | None
    accounts: list[MyAccountRow]
    account_count: int
    flagged: list[MyAccountRow]
    flagged_count: int
    actions: list[PlanAction]
    actions_due: int
    reviews: list[tuple[Plan, datetime.date]]
    stale_contacts: list[Contact]
    stale_contact_count: int
    # The first active payment escalations of the accounts the user manages as KAM.
    escalations: list[Escalation] = field(default_factory=list)
    escalation_count: int = 0


def _my_accounts(user: User) -> QuerySet[Account]:
    return Account.objects.filter(
        Exists(AccountTeamMember.objects.filter(account=OuterRef("pk"), user=user))
    )


MY_ACCOUNT_COLUMNS = (
    "pk",
    "name",
    "tier",
    "currency",
    "kpi_revenue",
    "kpi_revenue_target",
    "kpi_revenue_prior",
    "kpi_margin",
    "kpi_margin_target",
    "flag_below",
    "flag_uncovered",
    "flag_no_manager",
)


def my_account_kpis(
    *, user: User, year: int | None, flagged: bool = False, limit: int | None = None
) -> list[MyAccountRow]:
    """The user's accounts (those on whose team they are) by name, with the KPIs of ``year``
    and the red flags; only the red-flagged ones with ``flagged``. One query."""
    rows = (
        _my_accounts(user)
        .alias(kpi=FilteredRelation("kpis", condition=Q(kpis__year=year)))
        .annotate(
            kpi_revenue=F("kpi__revenue"),
            kpi_revenue_target=F("kpi__revenue_target"),
            kpi_revenue_prior=F("kpi__revenue_prior"),
            kpi_margin=F("kpi__contribution_margin"),
            kpi_margin_target=F("kpi__margin_target"),
            flag_below=below_target(year),
            flag_uncovered=uncovered_decision_maker(),
            flag_no_manager=ExpressionWrapper(without_manager(), output_field=BooleanField()),
        )
        .order_by("name", "pk")
    )
    if flagged:
        rows = rows.filter(Q(flag_below=True) | Q(flag_uncovered=True) | Q(flag_no_manager=True))
    rows = rows.values_list(*MY_ACCOUNT_COLUMNS)
    if limit is not None:
        rows = rows[:limit]
    return [
        MyAccountRow(
            pk=row[0],
            name=row[1],
            tier=row[2],
            currency=row[3],
            revenue=amount(row[4]),
            revenue_target=amount(row[5]),
            revenue_prior=amount(row[6]),
            margin=amount(row[7]),
            margin_target=amount(row[8]),
            below_target=bool(row[9]),
            uncovered=bool(row[10]),
            no_manager=bool(row[11]),
        )
        for row in rows
    ]


def my_kpi_year(*, user: User) -> int | None:
    """The latest year with revenue actuals on the user's accounts (one query)."""
    return AccountKpi.objects.filter(
        Exists(AccountTeamMember.objects.filter(account=OuterRef("account_id"), user=user)),
        revenue__isnull=False,
    ).aggregate(year=Max("year"))["year"]


def _first_and_count(queryset: QuerySet, limit: int) -> tuple[list, int]:
    """The first ``limit`` rows and how many there are (two queries)."""
    return list(queryset[:limit]), queryset.order_by().count()


def _reviews_due(user: User, soon: datetime.date) -> list[tuple[Plan, datetime.date]]:
    """Current plans the user reviews (as mentor) or answers for (as key account manager) whose
    mentor review falls due by ``soon``, soonest first; one query over the user's plans."""
    reviewing = AccountTeamMember.objects.filter(
        account=OuterRef("account_id"),
        user=user,
        role__in=[TeamRole.MENTOR, TeamRole.KEY_ACCOUNT_MANAGER],
    )
    plans = with_review_start(current_plans().filter(Exists(reviewing)).select_related("account"))
    due = [(plan, plan.review_due(plan.last_review)) for plan in plans]
    return sorted(
        ((plan, day) for plan, day in due if day <= soon),
        key=lambda item: (item[1], item[0].account.name, item[0].pk),
    )


INFLUENCE_ORDER = Case(
    When(influence=Influence.HIGH, then=Value(0)),
    When(influence=Influence.MEDIUM, then=Value(1)),
    default=Value(2),
)


def _stale_contacts(user: User, today: datetime.date) -> QuerySet[Contact]:
    """Active contacts on the user's accounts whom nobody touched for 90 days: neither the
    contact's last contact nor any team member's relationship to them is more recent."""
    stale_before = today - datetime.timedelta(days=STALE_RELATIONSHIP_DAYS)
    touched = Subquery(
        Relationship.objects.filter(contact=OuterRef("pk"))
        .order_by()
        .values("contact")
        .annotate(latest=Max("last_touched"))
        .values("latest"),
        output_field=DateField(),
    )
    return (
        Contact.objects.filter(
            Exists(AccountTeamMember.objects.filter(account=OuterRef("account_id"), user=user)),
            has_left=False,
        )
        .annotate(relationship_touched=touched)
        # Stale unless the contact or a relationship to it was touched since (a NULL is never).
        .filter(
            Q(last_contact_date__isnull=True) | Q(last_contact_date__lt=stale_before),
            Q(relationship_touched__isnull=True) | Q(relationship_touched__lt=stale_before),
        )
        .select_related("account")
        .order_by(
            INFLUENCE_ORDER,
            F("last_contact_date").asc(nulls_first=True),
            "account__name",
            "last_name",
            "pk",
        )
    )


def my_work(*, user: User, today: datetime.date | None = None, limit: int = 20) -> MyWork:
    """The start page's work list: the user's actions due in the next 14 days or overdue,
    mentor reviews due as soon, active contacts nobody touched for 90 days, the red-flagged
    accounts, the active payment escalations of the accounts they manage, and the first
    ``limit`` accounts' KPIs against plan. A fixed number of queries whatever the number of
    accounts, actions, contacts or escalations."""
    today = today or timezone.localdate()
    soon = today + datetime.timedelta(days=WORK_DAYS_AHEAD)
    actions, actions_due = _first_and_count(
        action_filterset(user=user, data=None, today=today).qs.filter(due_date__lte=soon),
        WORK_ROWS,
    )
    stale, stale_count = _first_and_count(_stale_contacts(user, today), WORK_ROWS)
    year = my_kpi_year(user=user)
    flagged = my_account_kpis(user=user, year=year, flagged=True, limit=WORK_ROWS)
    escalations, escalation_count = _first_and_count(my_escalations(user), WORK_ROWS)
    return MyWork(
        year=year,
        accounts=my_account_kpis(user=user, year=year, limit=limit),
        account_count=_my_accounts(user).count(),
        flagged=flagged[:WORK_ROWS],
        flagged_count=_my_accounts(user).filter(red_flagged(year)).count(),
        actions=actions,
        actions_due=actions_due,
        reviews=_reviews_due(user, soon),
        stale_contacts=stale,
        stale_contact_count=stale_count,
        escalations=escalations,
        escalation_count=escalation_count,
    )
