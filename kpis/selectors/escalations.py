"""Reads of the payment-escalation KPIs of the programme dashboard (see ``catalogue.KPIS``):
the open escalations and their amounts at risk per tier and per key account manager, the
median days to clarification and the share of closed escalations resolved without a delivery
stop. Every figure is computed by the database: three queries on PostgreSQL, four on SQLite
(which has no median, so it reads the list of durations), whatever the number of cases.

A case counts for the tier it was opened in (the tier whose policy set its deadline) and for
the account's key account manager today, the person who answers it.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.utils.translation import gettext

from accounts.models import TeamRole
from kam import access
from kam.models import User
from kpis.filters import ALL_ACCOUNTS, NO_TIER, ProgrammeFilterSet
from kpis.selectors.common import CENT, TENTH, amount, percent
from payments.models import AMOUNT_DIGITS, AMOUNT_PLACES, CLOSED_STATES, Escalation
from payments.models import EscalationState as S

# A decided stop ends only as lifted (by a person, or when the invoice is paid), so these two
# states are every case whose delivery stop was ever decided.
STOP_DECIDED_STATES = (S.STOP_DECIDED, S.STOP_LIFTED)
SECONDS_PER_DAY = Decimal(86400)


class Median(Aggregate):
    """PostgreSQL's median of a duration (``percentile_cont`` takes intervals as they are)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass(frozen=True)
class AtRisk:
    """The open escalations of a group in one currency and their open amount."""

    currency: str
    open: int
    amount: Decimal


@dataclass(frozen=True)
class EscalationGroup:
    """Open escalations of a tier or a key account manager, and per currency (sorted by
    currency; none when nothing is open) those escalations and their open amount."""

    key: str
    label: str
    open: int = 0
    amounts: list[AtRisk] = field(default_factory=list)


@dataclass(frozen=True)
class EscalationKpis:
    """The payment-escalation KPIs for one set of the programme dashboard's filters, today."""

    total: EscalationGroup
    tiers: list[EscalationGroup]
    managers: list[EscalationGroup]
    clarified: int
    median_days: Decimal | None
    closed: int
    resolved: int
    stops_decided: int

    @property
    def resolved_without_stop(self) -> Decimal | None:
        """Resolved ÷ closed × 100 (None while nothing is closed)."""
        return percent(Decimal(self.resolved), Decimal(self.closed))


# (sort key, key, label, currency, open escalations, open amount) of a group in one currency
GroupRow = tuple[tuple, str, str, str, int, object]


def _money(value: object) -> Decimal:
    return (amount(value) or Decimal(0)).quantize(CENT)


def _days(duration: datetime.timedelta | None) -> Decimal | None:
    if duration is None:
        return None
    return (Decimal(str(duration.total_seconds())) / SECONDS_PER_DAY).quantize(TENTH)


def _groups(rows: Iterable[GroupRow]) -> list[EscalationGroup]:
    """Fold rows of one group and currency into one group each, ordered by their sort key."""
    folded: dict[tuple, tuple[str, str, list[AtRisk]]] = {}
    for sort_key, key, label, currency, count, open_amount in rows:
        folded.setdefault(sort_key, (key, label, []))[2].append(
            AtRisk(currency, count, _money(open_amount))
        )
    return [
        EscalationGroup(
            key=key,
            label=label,
            open=sum(part.open for part in amounts),
            amounts=sorted(amounts, key=lambda part: part.currency),
        )
        for _sort, (key, label, amounts) in sorted(folded.items())
    ]


def _total(groups: list[EscalationGroup]) -> EscalationGroup:
    sums: dict[str, AtRisk] = {}
    for group in groups:
        for part in group.amounts:
            before = sums.get(part.currency, AtRisk(part.currency, 0, Decimal(0)))
            sums[part.currency] = AtRisk(
                part.currency, before.open + part.open, before.amount + part.amount
            )
    return EscalationGroup(
        key="total",
        label=gettext("Total"),
        open=sum(group.open for group in groups),
        amounts=[sums[currency] for currency in sorted(sums)],
    )


def filtered_escalations(filterset: ProgrammeFilterSet) -> QuerySet[Escalation]:
    """The escalations the dashboard's filters select. The tier filter picks the tier a case
    was opened in (no tier chosen: every case, all were opened for key accounts; "not a key
    account": none); manager, region and industry pick the accounts. The year and the product
    group do not apply."""
    cleaned = getattr(filterset.form, "cleaned_data", {})
    cases = Escalation.objects.all()
    tier = cleaned.get("tier")
    if tier == NO_TIER:
        cases = cases.none()
    elif tier and tier != ALL_ACCOUNTS:
        cases = cases.filter(tier=tier)
    if any(cleaned.get(name) for name in ("kam", "region", "industry")):
        cases = cases.filter(account__in=filterset.accounts_of_any_tier().values("pk"))
    return cases


def _by_tier(open_cases: QuerySet[Escalation], at_risk: Sum) -> list[EscalationGroup]:
    """Per tier by name, the top tier first (one query). A tier's rank may have changed
    between the openings of its cases: the best one orders it."""
    rows = list(
        open_cases.values("tier", "invoice__currency")
        .annotate(rank=Min("tier_rank"), count=Count("pk"), at_risk=at_risk)
        .values_list("tier", "rank", "invoice__currency", "count", "at_risk")
    )
    ranks: dict[str, int] = {}
    for tier, rank, *_rest in rows:
        ranks[tier] = min(rank, ranks.get(tier, rank))
    return _groups(
        ((ranks[tier], tier), tier, tier, currency, count, open_amount)
        for tier, _rank, currency, count, open_amount in rows
    )


def _by_manager(open_cases: QuerySet[Escalation], at_risk: Sum) -> list[EscalationGroup]:
    """Per key account manager of the case's account by name, the accounts without one last
    (one query: the team's manager joins as a filtered relation, so those accounts stay)."""
    columns = (
        "manager__user_id",
        "manager__user__first_name",
        "manager__user__last_name",
        "manager__user__username",
        "invoice__currency",
    )
    rows = (
        open_cases.annotate(
            manager=FilteredRelation(
                "account__team_members",
                condition=Q(account__team_members__role=TeamRole.KEY_ACCOUNT_MANAGER),
            )
        )
        .values(*columns)
        .annotate(count=Count("pk"), at_risk=at_risk)
        .values_list(*columns, "count", "at_risk")
    )
    without = gettext("No key account manager")
    return _groups(
        (
            (1, "", "", 0) if pk is None else (0, last, first, pk),
            "" if pk is None else str(pk),
            without if pk is None else f"{first} {last}".strip() or username,
            currency,
            count,
            open_amount,
        )
        for pk, first, last, username, currency, count, open_amount in rows
    )


def _outcomes(cases: QuerySet[Escalation]) -> dict[str, Any]:
    """How the cases ended, and the median duration to clarification: one query (two on
    SQLite, which reads the durations and takes their median here)."""
    duration = ExpressionWrapper(F("clarified_at") - F("opened_at"), output_field=DurationField())
    median = {"median": Median(duration)} if connection.vendor == "postgresql" else {}
    outcomes = cases.aggregate(
        closed=Count("pk", filter=Q(state__in=CLOSED_STATES)),
        resolved=Count("pk", filter=Q(state=S.RESOLVED)),
        stops_decided=Count("pk", filter=Q(state__in=STOP_DECIDED_STATES)),
        clarified=Count("pk", filter=Q(clarified_at__isnull=False)),
        **median,
    )
    if not median:
        durations = [
            value.total_seconds()
            for value in cases.filter(clarified_at__isnull=False)
            .annotate(duration=duration)
            .values_list("duration", flat=True)
        ]
        outcomes["median"] = (
            datetime.timedelta(seconds=statistics.median(durations)) if durations else None
        )
    return outcomes


def escalation_kpis(*, user: User, filterset: ProgrammeFilterSet) -> EscalationKpis:
    """The payment-escalation KPIs today over the escalations a validated ``filterset``
    selects (see :func:`filtered_escalations`). Raises PermissionDenied unless the user reads
    the programme and every payment (finance, sales leadership, administrators)."""
    if not (access.may_read_programme(user) and access.reads_all_payments(user)):
        raise PermissionDenied
    cases = access.scope_payments(user, filtered_escalations(filterset)).order_by()
    open_cases = cases.exclude(state__in=CLOSED_STATES)
    at_risk = Sum(
        F("invoice__amount") - F("invoice__amount_paid"),
        output_field=DecimalField(max_digits=AMOUNT_DIGITS + 4, decimal_places=AMOUNT_PLACES),
    )
    tiers = _by_tier(open_cases, at_risk)
    outcomes = _outcomes(cases)
    return EscalationKpis(
        total=_total(tiers),
        tiers=tiers,
        managers=_by_manager(open_cases, at_risk),
        clarified=outcomes["clarified"],
        median_days=_days(outcomes["median"]),
        closed=outcomes["closed"],
        resolved=outcomes["resolved"],
        stops_decided=outcomes["stops_decided"],
    )
