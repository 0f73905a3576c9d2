"""Reads of the payments pages, scoped with :func:`kam.access.scope_payments`: the finance queue
with its totals, one escalation with its timeline and the steps the user may take, the invoice
list, the escalation policy per tier, an account's payments tab and the start page's cases.

Every page-shaped read costs a constant number of queries, however many rows it shows.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.filters import cached_choices_for
from accounts.models import Account, AccountTeamMember, TeamRole
from kam import access
from kam.models import User
from kam.roles import Role
from payments import workflow
from payments.filters import EscalationFilterSet, InvoiceFilterSet
from payments.models import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    CLOSED_STATES,
    Escalation,
    EscalationEvent,
    EscalationPolicy,
    EscalationState,
    Invoice,
)
from payments.services.escalations import (
    case_of,
    key_account_managers,
    policies_by_rank,
    policy_terms,
)

ACCOUNT_TIMELINE_ROWS = 100


def _open_amount(prefix: str = "") -> ExpressionWrapper:
    return ExpressionWrapper(
        F(f"{prefix}amount") - F(f"{prefix}amount_paid"),
        output_field=DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES),
    )


def _kam_name() -> Subquery:
    """The name of the key account manager of the row's account (one per account)."""
    full_name = Trim(Concat("user__first_name", Value(" "), "user__last_name"))
    return Subquery(
        AccountTeamMember.objects.filter(
            account_id=OuterRef("account_id"), role=TeamRole.KEY_ACCOUNT_MANAGER
        )
        .annotate(name=Coalesce(NullIf(full_name, Value("")), "user__username"))
        .values("name")[:1],
        output_field=CharField(),
    )


def _is_closed() -> Case:
    return Case(
        When(state__in=CLOSED_STATES, then=Value(1)), default=Value(0), output_field=IntegerField()
    )


def escalations_for(user: User, today: datetime.date) -> QuerySet[Escalation]:
    """The escalations the user may read, with their invoice and account and the queue's
    columns: ``open_amount``, ``overdue_for`` (a duration, to sort by) and ``kam_name``."""
    return (
        access.scope_payments(user, Escalation.objects.all())
        .select_related("invoice", "account")
        .annotate(
            open_amount=_open_amount("invoice__"),
            overdue_for=ExpressionWrapper(
                Value(today, output_field=DateField()) - F("invoice__due_date"),
                output_field=DurationField(),
            ),
            kam_name=_kam_name(),
        )
    )


def _tier_choices(escalations: QuerySet[Escalation]) -> list[tuple[str, str]]:
    """The tiers the user's escalations were opened in, best rank first."""
    rows = escalations.order_by().values_list("tier", "tier_rank").distinct()
    tiers: list[tuple[str, str]] = []
    for tier, _rank in sorted(set(rows), key=lambda row: (row[1], row[0])):
        if all(tier != known for known, _label in tiers):
            tiers.append((tier, tier))
    return tiers


def escalation_filterset(
    *, user: User, data: QueryDict | None, today: datetime.date | None = None
) -> EscalationFilterSet:
    """The finance queue: the escalations the user may read (a KAM: those of their own
    accounts), filtered and sorted by ``data``; ``.qs`` holds the rows."""
    today = today or timezone.localdate()
    escalations = escalations_for(user, today)
    return EscalationFilterSet(
        data,
        queryset=escalations,
        tiers=_tier_choices(access.scope_payments(user, Escalation.objects.all())),
        by_kam=access.reads_all_payments(user),
        today=today,
    )


@dataclass(frozen=True)
class CurrencyTotal:
    """The active escalations of one currency and the open amount they put at risk."""

    currency: str
    open_amount: Decimal
    count: int
    deadline_missed: int


@dataclass(frozen=True)
class QueueTotals:
    currencies: list[CurrencyTotal]

    @property
    def count(self) -> int:
        return sum(total.count for total in self.currencies)

    @property
    def deadline_missed(self) -> int:
        return sum(total.deadline_missed for total in self.currencies)


def escalation_totals(escalations: QuerySet[Escalation]) -> QueueTotals:
    """The amounts at risk (open amounts of the active escalations among ``escalations``)
    per currency, with counts; one query grouped by currency."""
    rows = (
        escalations.exclude(state__in=CLOSED_STATES)
        .order_by()
        .values("invoice__currency")
        .annotate(
            total=Sum(_open_amount("invoice__")),
            count=Count("pk"),
            missed=Count("pk", filter=Q(deadline_missed_at__isnull=False)),
        )
        .order_by("invoice__currency")
    )
    return QueueTotals(
        [
            CurrencyTotal(
                currency=row["invoice__currency"],
                open_amount=row["total"] or Decimal("0"),
                count=row["count"],
                deadline_missed=row["missed"],
            )
            for row in rows
        ]
    )


def escalation_rows(escalations: Iterable[Escalation], today: datetime.date) -> list[Escalation]:
    """The queue's rows with ``days_overdue`` and ``past_deadline`` (an active case whose
    deadline has passed) set; no queries."""
    rows = []
    for escalation in escalations:
        escalation.days_overdue = escalation.invoice.days_overdue(today)
        escalation.past_deadline = not escalation.is_closed and escalation.deadline < today
        rows.append(escalation)
    return rows


def escalation_get(*, user: User, pk: int) -> Escalation:
    """One escalation the user may read, with its invoice, account and deciders; 404 else."""
    queryset = access.scope_payments(user, Escalation.objects.all()).select_related(
        "invoice", "account", "finance_decided_by", "leadership_decided_by"
    )
    try:
        return queryset.get(pk=pk)
    except Escalation.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class EscalationDetail:
    """What the escalation's page shows besides the escalation itself."""

    escalation: Escalation
    today: datetime.date
    kam: User | None
    parties: frozenset[str]
    steps: list[tuple[str, str]]  # (action, party) the user may take now, in button order
    events: list[EscalationEvent]

    @property
    def days_overdue(self) -> int:
        return self.escalation.invoice.days_overdue(self.today)

    @property
    def deadline_passed(self) -> bool:
        return not self.escalation.is_closed and self.escalation.deadline_passed(self.today)

    @property
    def top_tier(self) -> bool:
        """Whether a delivery stop needs sales leadership's decision too."""
        return self.escalation.tier_rank == workflow.TOP_TIER_RANK


def escalation_detail(
    *, user: User, escalation: Escalation, today: datetime.date | None = None
) -> EscalationDetail:
    """The escalation's key account manager, full timeline (oldest first), and the steps the
    user may take now as the workflow table allows them."""
    today = today or timezone.localdate()
    kam = key_account_managers([escalation.account_id]).get(escalation.account_id)
    parties = access.escalation_parties(user, escalation)
    steps = (
        workflow.allowed(case_of(escalation, today, has_kam=kam is not None), parties)
        if parties
        else []
    )
    events = list(
        EscalationEvent.objects.filter(escalation=escalation)
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    return EscalationDetail(escalation, today, kam, parties, steps, events)


def _invoices_for(user: User) -> QuerySet[Invoice]:
    latest = Escalation.objects.filter(invoice=OuterRef("pk")).order_by("-opened_at", "-pk")
    return (
        access.scope_payments(user, Invoice.objects.all())
        .select_related("account")
        # Invoice.open_amount is a property; the list sorts by the same difference in the DB.
        .alias(unpaid_amount=_open_amount())
        .annotate(
            escalation_id=Subquery(latest.values("pk")[:1]),
            escalation_state=Subquery(latest.values("state")[:1]),
        )
    )


def _currency_choices(invoices: QuerySet[Invoice]) -> list[tuple[str, str]]:
    currencies = invoices.order_by("currency").values_list("currency", flat=True).distinct()
    return [(currency, currency) for currency in currencies]


def invoice_filterset(
    *, user: User, data: QueryDict | None, today: datetime.date | None = None
) -> InvoiceFilterSet:
    """The invoices the user may read with their latest escalation (``escalation_id``,
    ``escalation_state``), filtered and sorted by ``data``."""
    chosen = data if data is not None else {}
    # From the cache: the distinct currencies of 400,000 invoices take 0.1 s to read.
    return InvoiceFilterSet(
        data,
        queryset=_invoices_for(user),
        currencies=cached_choices_for(
            "payments:currency",
            access.scope_payments(user, Invoice.objects.all()),
            _currency_choices,
            value=chosen.get("currency"),
        ),
        today=today,
    )


NOT_KEY_ACCOUNT = _("Not a key account: follows normal dunning.")
TIER_NOT_COVERED = _("Tier not covered by the policy: follows normal dunning.")
IN_GRACE = _("Within the grace period of %(days)s days.")
OPENS_NEXT_RUN = _("The next daily run opens an escalation.")


def invoice_rows(invoices: Iterable[Invoice], today: datetime.date) -> list[Invoice]:
    """The list's invoices with ``overdue_days``, ``escalation_state_label`` and, for overdue
    invoices without an escalation, ``dunning``: why the app does not escalate them (one query
    for the policies)."""
    policies: dict[int, EscalationPolicy] | None = None
    rows = []
    for invoice in invoices:
        invoice.overdue_days = invoice.days_overdue(today)
        invoice.escalation_state_label = (
            EscalationState(invoice.escalation_state).label if invoice.escalation_state else ""
        )
        invoice.dunning = ""
        if invoice.overdue_days and invoice.escalation_id is None:
            if policies is None:
                policies = policies_by_rank()
            invoice.dunning = dunning_reason(invoice.account, invoice.overdue_days, policies)
        rows.append(invoice)
    return rows


def dunning_reason(
    account: Account, days_overdue: int, policies: dict[int, EscalationPolicy]
) -> str:
    """Why an overdue invoice of ``account`` has no escalation, by the terms the daily job
    applies: not a key account, a tier the policy leaves out, or not yet past the grace days."""
    if not account.tier:
        return str(NOT_KEY_ACCOUNT)
    covered, grace, _days = policy_terms(account.tier_rank, policies)
    if account.tier_rank is None or not covered:
        return str(TIER_NOT_COVERED)
    if days_overdue <= grace:
        return str(IN_GRACE % {"days": grace})
    return str(OPENS_NEXT_RUN)


def invoice_get(*, user: User, pk: int) -> Invoice:
    """One invoice the user may read; 404 else."""
    try:
        return (
            access.scope_payments(user, Invoice.objects.all()).select_related("account").get(pk=pk)
        )
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class PolicyRow:
    """The escalation terms of one tier rank, as stored or by default."""

    tier_rank: int
    tiers: list[str]
    accounts: int
    covered: bool
    grace_days: int
    clarification_days: int
    policy: EscalationPolicy | None

    @property
    def is_default(self) -> bool:
        return self.policy is None


def policy_rows() -> list[PolicyRow]:
    """Every tier rank in use by an account or with a stored policy, best first: its tiers'
    names, how many accounts hold it, and its terms (the settings' defaults without a row)."""
    tiers: dict[int, list[str]] = defaultdict(list)
    accounts: dict[int, int] = defaultdict(int)
    in_use = (
        Account.objects.exclude(tier="")
        .exclude(tier_rank=None)
        .values("tier_rank", "tier")
        .annotate(count=Count("pk"))
        .order_by("tier_rank", "tier")
    )
    for row in in_use:
        tiers[row["tier_rank"]].append(row["tier"])
        accounts[row["tier_rank"]] += row["count"]
    policies = {
        policy.tier_rank: policy for policy in EscalationPolicy.objects.select_related("updated_by")
    }
    rows = []
    for rank in sorted(set(tiers) | set(policies)):
        covered, grace, days = policy_terms(rank, policies)
        rows.append(
            PolicyRow(rank, tiers[rank], accounts[rank], covered, grace, days, policies.get(rank))
        )
    return rows


@dataclass
class AccountPayments:
    """An account's payments tab: its escalations (active first), its invoices with an open
    amount, and the steps of all its escalations (newest first)."""

    escalations: list[Escalation]
    invoices: list[Invoice]
    events: list[EscalationEvent]
    event_count: int
    currency_totals: list[tuple[str, Decimal]] = field(default_factory=list)


def account_payments(
    *, user: User, account: Account, today: datetime.date | None = None
) -> AccountPayments:
    """The account's payments as the user may read them; raises Http404 when they may not
    (everyone but the read-all roles and the account's key account manager)."""
    today = today or timezone.localdate()
    visible = access.scope_payments(user, Account.objects.filter(pk=account.pk), account_path="pk")
    if not visible.exists():
        raise Http404
    escalations = escalation_rows(
        Escalation.objects.filter(account=account)
        .select_related("invoice")
        .annotate(is_closed_order=_is_closed(), open_amount=_open_amount("invoice__"))
        .order_by("is_closed_order", "deadline", "-opened_at", "pk"),
        today,
    )
    invoices = invoice_rows(
        _invoices_for(user)
        .filter(account=account, amount_paid__lt=F("amount"))
        .order_by("due_date", "pk"),
        today,
    )
    events = EscalationEvent.objects.filter(escalation__account=account)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        totals[invoice.currency] += invoice.open_amount
    return AccountPayments(
        escalations=escalations,
        invoices=invoices,
        events=list(
            events.select_related("actor", "escalation__invoice").order_by("-created_at", "-pk")[
                :ACCOUNT_TIMELINE_ROWS
            ]
        ),
        event_count=events.count(),
        currency_totals=sorted(totals.items()),
    )


def my_escalations(user: User) -> QuerySet[Escalation]:
    """The active escalations of the accounts the user manages as key account manager,
    nearest deadline first, with invoice and account."""
    managed = AccountTeamMember.objects.filter(
        account_id=OuterRef("account_id"), user=user, role=TeamRole.KEY_ACCOUNT_MANAGER
    )
    return (
        Escalation.objects.filter(Exists(managed))
        .exclude(state__in=CLOSED_STATES)
        .select_related("invoice", "account")
        .annotate(open_amount=_open_amount("invoice__"))
        .order_by("deadline", "pk")
    )


@dataclass(frozen=True)
class PaymentWork:
    """What waits on finance or sales leadership in the escalations, as counts: active cases,
    those whose deadline passed, and delivery stops awaiting this user's decision."""

    active: int = 0
    deadline_passed: int = 0
    awaiting_decision: int = 0

    def __bool__(self) -> bool:
        return bool(self.active or self.deadline_passed or self.awaiting_decision)


def payment_work(*, user: User, today: datetime.date | None = None) -> PaymentWork:
    """The start page's counts for finance and sales leadership (one query; empty for others).

    Finance decides every proposed stop; leadership those of the top tier once finance has.
    """
    finance = user.is_authenticated and user.has_role(Role.FINANCE)
    leadership = user.is_authenticated and user.has_role(Role.SALES_LEADERSHIP)
    if not (finance or leadership):
        return PaymentWork()
    today = today or timezone.localdate()
    awaiting = Q(pk__in=[])
    if finance:
        awaiting |= Q(finance_decided_by__isnull=True)
    if leadership:
        awaiting |= Q(
            tier_rank=workflow.TOP_TIER_RANK,
            finance_decided_by__isnull=False,
            leadership_decided_by__isnull=True,
        )
    counts = Escalation.objects.exclude(state__in=CLOSED_STATES).aggregate(
        active=Count("pk"),
        deadline_passed=Count("pk", filter=Q(deadline__lt=today)),
        awaiting_decision=Count("pk", filter=Q(state=EscalationState.STOP_PROPOSED) & awaiting),
    )
    return PaymentWork(**counts)
