"""The payment escalation's state machine: each guard of :func:`payments.workflow.step` with
its message code, and random sequences of steps by random roles, interleaved with days passing
(the daily job) and payments, through the real services and database. Whatever the sequence,
no case reaches an illegal state, no delivery stop skips the KAM, and the timeline records
every step once."""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from accounts.models import Account, TeamRole
from kam.models import Notification
from kam.roles import Role
from payments import services, workflow
from payments.models import (
    CLOSED_STATES,
    Escalation,
    EscalationAction,
    EscalationEvent,
    EscalationPolicy,
    EscalationState,
    Invoice,
    Party,
    Resolution,
)
from payments.services.escalations import case_of
from tests.payments.factories import InvoiceFactory

A, S = EscalationAction, EscalationState
TODAY = datetime.date(2026, 11, 20)


def _case(**changes) -> workflow.Case:
    values = {
        "state": S.KAM_INFORMED,
        "today": TODAY,
        "deadline": TODAY + datetime.timedelta(days=5),
        "tier_rank": 1,
    }
    return workflow.Case(**{**values, **changes})


def _code(error: ValidationError) -> str:
    return error.error_list[0].code


# Each guard refuses with its own code ---------------------------------------------------------

# (what is tried, the case, action, party, keyword arguments, the code of the refusal)
REFUSALS = [
    (
        "a decision before the KAM was heard",
        {"state": S.STOP_PROPOSED},
        A.DECIDE_STOP,
        Party.FINANCE,
        {},
        "kam_not_heard",
    ),
    (
        "a decision the day the deadline passed, before the job escalated it",
        {"state": S.STOP_PROPOSED, "deadline": TODAY - datetime.timedelta(days=1)},
        A.DECIDE_STOP,
        Party.FINANCE,
        {},
        "kam_not_heard",
    ),
    (
        "leadership deciding a lower tier",
        {"state": S.STOP_PROPOSED, "tier_rank": 2, "kam_heard": True},
        A.DECIDE_STOP,
        Party.LEADERSHIP,
        {},
        "not_top_tier",
    ),
    (
        "finance deciding twice",
        {"state": S.STOP_PROPOSED, "kam_heard": True, "finance_decided": True},
        A.DECIDE_STOP,
        Party.FINANCE,
        {},
        "decided",
    ),
    (
        "leadership deciding twice",
        {"state": S.STOP_PROPOSED, "kam_heard": True, "leadership_decided": True},
        A.DECIDE_STOP,
        Party.LEADERSHIP,
        {},
        "decided",
    ),
    (
        "a promise without a date",
        {},
        A.RESOLVE,
        Party.KAM,
        {"resolution": Resolution.PROMISE_TO_PAY},
        "promised_date",
    ),
    (
        "a promise dated yesterday",
        {},
        A.RESOLVE,
        Party.KAM,
        {
            "resolution": Resolution.PROMISE_TO_PAY,
            "promised_date": TODAY - datetime.timedelta(days=1),
        },
        "promised_date",
    ),
    ("no resolution", {}, A.RESOLVE, Party.FINANCE, {"resolution": ""}, "resolution"),
    (
        "the KAM booking a payment",
        {},
        A.RESOLVE,
        Party.KAM,
        {"resolution": Resolution.PAID},
        "resolution_party",
    ),
    (
        "the KAM booking a credit note",
        {},
        A.RESOLVE,
        Party.KAM,
        {"resolution": Resolution.CREDIT_NOTE},
        "resolution_party",
    ),
    ("a statement on an open case", {"state": S.OPEN}, A.STATEMENT, Party.KAM, {}, "state"),
    ("lifting a stop never decided", {}, A.LIFT_STOP, Party.FINANCE, {}, "state"),
    (
        "resolving a closed case",
        {"state": S.STOP_LIFTED},
        A.RESOLVE,
        Party.FINANCE,
        {"resolution": Resolution.PAID},
        "state",
    ),
    ("finance giving the KAM's statement", {}, A.STATEMENT, Party.FINANCE, {}, "party"),
    ("the KAM proposing a stop", {}, A.PROPOSE_STOP, Party.KAM, {}, "party"),
    ("a person reopening a promise", {}, A.PROMISE_BROKEN, Party.FINANCE, {}, "party"),
    ("a statement without comment", {}, A.STATEMENT, Party.KAM, {"comment": "  "}, "comment"),
    (
        "a decision without comment",
        {"state": S.STOP_PROPOSED, "kam_heard": True},
        A.DECIDE_STOP,
        Party.FINANCE,
        {"comment": ""},
        "comment",
    ),
    (
        "informing without a KAM",
        {"state": S.OPEN, "has_kam": False},
        A.INFORM,
        Party.FINANCE,
        {},
        "no_kam",
    ),
    ("a deadline not yet passed", {}, A.DEADLINE_MISSED, Party.SYSTEM, {}, "deadline"),
    (
        "a deadline missed twice",
        {"deadline": TODAY - datetime.timedelta(days=1), "deadline_missed": True},
        A.DEADLINE_MISSED,
        Party.SYSTEM,
        {},
        "deadline",
    ),
    (
        "breaking a resolution that is no promise",
        {"state": S.RESOLVED, "resolution": Resolution.PAYMENT_PLAN},
        A.PROMISE_BROKEN,
        Party.SYSTEM,
        {},
        "not_a_promise",
    ),
    (
        "breaking a promise on its date",
        {
            "state": S.RESOLVED,
            "resolution": Resolution.PROMISE_TO_PAY,
            "promised_date": TODAY,
        },
        A.PROMISE_BROKEN,
        Party.SYSTEM,
        {},
        "promise_kept",
    ),
    (
        "breaking a promise the customer kept late",
        {
            "state": S.RESOLVED,
            "resolution": Resolution.PROMISE_TO_PAY,
            "promised_date": TODAY - datetime.timedelta(days=3),
            "invoice_paid": True,
        },
        A.PROMISE_BROKEN,
        Party.SYSTEM,
        {},
        "promise_kept",
    ),
    ("closing an unpaid invoice as paid", {}, A.PAID, Party.SYSTEM, {}, "not_paid"),
    (
        "closing as paid twice",
        {"state": S.RESOLVED, "resolution": Resolution.PAID, "invoice_paid": True},
        A.PAID,
        Party.SYSTEM,
        {},
        "already_paid",
    ),
    ("an unknown step", {}, "escalate_to_ceo", Party.FINANCE, {}, "unknown_action"),
]


@pytest.mark.parametrize(
    ("changes", "action", "party", "kwargs", "code"),
    [refusal[1:] for refusal in REFUSALS],
    ids=[refusal[0] for refusal in REFUSALS],
)
def test_each_guard_refuses_with_its_code(changes, action, party, kwargs, code) -> None:
    with pytest.raises(ValidationError) as error:
        workflow.step(_case(**changes), action, party, **{"comment": "Warum.", **kwargs})

    assert _code(error.value) == code


def test_the_kam_informed_moves_to_clarification_with_the_statement() -> None:
    done = workflow.step(_case(), A.STATEMENT, Party.KAM, comment="Kunde klärt intern.")

    assert (done.source, done.target, done.kam_heard) == (S.KAM_INFORMED, S.IN_CLARIFICATION, True)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"kam_heard": True}, "the KAM was heard"),
        (
            {"deadline": TODAY - datetime.timedelta(1), "deadline_missed": True},
            "the daily job escalated the missed deadline",
        ),
    ],
)
def test_a_stop_is_decided_once_the_kam_was_heard_or_the_deadline_missed(changes, why) -> None:
    proposed = _case(state=S.STOP_PROPOSED, tier_rank=2, **changes)

    done = workflow.step(proposed, A.DECIDE_STOP, Party.FINANCE, comment="Seit 60 Tagen offen.")

    assert done.target == S.STOP_DECIDED, why


def test_finance_may_propose_a_stop_before_the_kam_answered() -> None:
    done = workflow.step(_case(), A.PROPOSE_STOP, Party.FINANCE, comment="Kein Eingang.")

    assert (done.source, done.target) == (S.KAM_INFORMED, S.STOP_PROPOSED)


def test_the_top_tier_needs_finance_and_leadership_to_decide_a_stop() -> None:
    proposed = _case(state=S.STOP_PROPOSED, kam_heard=True)

    by_finance = workflow.step(proposed, A.DECIDE_STOP, Party.FINANCE, comment="Kein Eingang.")
    by_leadership = workflow.step(
        proposed, A.DECIDE_STOP, Party.LEADERSHIP, comment="Einverstanden."
    )
    both = workflow.step(
        _case(state=S.STOP_PROPOSED, kam_heard=True, finance_decided=True),
        A.DECIDE_STOP,
        Party.LEADERSHIP,
        comment="Einverstanden.",
    )

    assert (by_finance.target, by_finance.finance_decides) == (S.STOP_PROPOSED, True)
    assert (by_leadership.target, by_leadership.leadership_decides) == (S.STOP_PROPOSED, True)
    assert both.target == S.STOP_DECIDED


def test_finance_decides_a_stop_of_a_lower_tier_alone() -> None:
    done = workflow.step(
        _case(state=S.STOP_PROPOSED, tier_rank=2, kam_heard=True),
        A.DECIDE_STOP,
        Party.FINANCE,
        comment="Kein Eingang.",
    )

    assert done.target == S.STOP_DECIDED


def test_a_broken_promise_reopens_and_clears_what_the_case_had_settled() -> None:
    done = workflow.step(
        _case(
            state=S.RESOLVED,
            resolution=Resolution.PROMISE_TO_PAY,
            promised_date=TODAY - datetime.timedelta(days=1),
            kam_heard=True,
        ),
        A.PROMISE_BROKEN,
        Party.SYSTEM,
    )

    assert done.target == S.KAM_INFORMED
    assert (done.reopens, done.kam_informed, done.clears_decisions) == (True, True, True)
    assert not done.closes


def test_paying_lifts_a_decided_stop_and_resolves_anything_else() -> None:
    decided = workflow.step(_case(state=S.STOP_DECIDED, invoice_paid=True), A.PAID, Party.SYSTEM)
    proposed = workflow.step(_case(state=S.STOP_PROPOSED, invoice_paid=True), A.PAID, Party.SYSTEM)

    assert (decided.target, decided.resolution) == (S.STOP_LIFTED, "")
    assert (proposed.target, proposed.resolution) == (S.RESOLVED, Resolution.PAID)


def test_the_buttons_offer_only_steps_the_guards_allow() -> None:
    heard = _case(state=S.STOP_PROPOSED, kam_heard=True)
    unheard = _case(state=S.STOP_PROPOSED)
    fresh = _case()
    everyone = frozenset({Party.KAM, Party.FINANCE, Party.LEADERSHIP})

    assert (A.DECIDE_STOP, Party.FINANCE) in workflow.allowed(heard, everyone)
    assert A.DECIDE_STOP not in dict(workflow.allowed(unheard, everyone))
    assert workflow.allowed(fresh, frozenset({Party.KAM})) == [
        (A.STATEMENT, Party.KAM),
        (A.RESOLVE, Party.KAM),
        (A.COMMENT, Party.KAM),
    ]
    assert workflow.allowed(_case(state=S.STOP_LIFTED), frozenset()) == []


# Random sequences through the services ---------------------------------------------------------

ROLES = ("kam", "finance", "leadership", "admin", "viewer", "outsider_kam", "team_member")
PARTY_OF_ROLE = {"kam": Party.KAM, "finance": Party.FINANCE, "leadership": Party.LEADERSHIP}
ROLE_OF_PARTY = {party: role for role, party in PARTY_OF_ROLE.items()}
COMMENTS = ("", "   ", "Kunde sagt Zahlung bis Monatsende zu.")
# The state a successful step leads to, for the steps that lead to one state only.
TARGETS = {
    A.INFORM: S.KAM_INFORMED,
    A.RESOLVE: S.RESOLVED,
    A.PROPOSE_STOP: S.STOP_PROPOSED,
    A.REJECT_STOP: S.IN_CLARIFICATION,
    A.LIFT_STOP: S.STOP_LIFTED,
}
GRACE_DAYS, CLARIFICATION_DAYS = 3, 6
START = datetime.date(2026, 11, 2)
# Which states the runs reached, so a test can prove it explored beyond the first steps.
reached: Counter[tuple[int, str]] = Counter()


def _snapshot() -> tuple:
    return (
        sorted(Escalation.objects.values_list()),
        EscalationEvent.objects.count(),
        sorted(Invoice.objects.values_list("pk", "amount_paid", "version")),
        Notification.objects.count(),
    )


class EscalationMachine(RuleBasedStateMachine):
    """One key account with two invoices; each example runs in a savepoint that is rolled
    back at its end, so the examples share the cast and nothing else."""

    def __init__(self, cast, tier_rank: int) -> None:
        super().__init__()
        self.cast, self.tier_rank = cast, tier_rank
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        try:
            self.today = START
            EscalationPolicy.objects.create(
                tier_rank=tier_rank, grace_days=GRACE_DAYS, clarification_days=CLARIFICATION_DAYS
            )
            self.invoices = [
                InvoiceFactory(
                    account=cast.account,
                    issue_date=START - datetime.timedelta(days=40),
                    due_date=START - datetime.timedelta(days=10),
                ),
                InvoiceFactory(
                    account=cast.account,
                    amount=Decimal("999.99"),
                    issue_date=START - datetime.timedelta(days=20),
                    due_date=START + datetime.timedelta(days=4),
                ),
            ]
            self.run_job()
        except BaseException:
            self.teardown()
            raise

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def run_job(self) -> None:
        before = _snapshot()
        services.escalations_run(on=self.today)
        between = _snapshot()
        again = services.escalations_run(on=self.today)
        assert set(again.values()) == {0}, again
        assert _snapshot() == between
        if between != before:
            new = EscalationEvent.objects.order_by("pk")[before[1] :]
            assert all(e.actor_id is None and e.party == Party.SYSTEM for e in new)

    def escalation(self, which: int) -> Escalation | None:
        return (
            Escalation.objects.select_related("invoice", "account")
            .filter(invoice=self.invoices[which])
            .order_by("-pk")
            .first()
        )

    @rule(days=st.integers(min_value=1, max_value=8), job_runs=st.integers(0, 3).map(bool))
    def days_pass(self, days: int, job_runs: bool) -> None:
        """Days pass; the job runs on the last of them, or not yet (people may act between
        midnight and the morning's run, or on a day the job failed)."""
        self.today += datetime.timedelta(days=days)
        if job_runs:
            self.run_job()

    @rule(which=st.integers(0, 1), full=st.booleans())
    def finance_books_a_payment(self, which: int, full: bool) -> None:
        invoice = Invoice.objects.get(pk=self.invoices[which].pk)
        paid = invoice.amount if full else (invoice.open_amount / 2).quantize(Decimal("0.01"))
        services.invoice_save(
            user=self.cast.finance,
            invoice=invoice,
            version=invoice.version,
            account=invoice.account,
            number=invoice.number,
            amount=invoice.amount,
            currency=invoice.currency,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount_paid=paid if full else invoice.amount_paid + paid,
            paid_date=self.today,
        )
        escalation = self.escalation(which)
        if full and escalation is not None:
            assert escalation.is_closed
            assert escalation.state == S.STOP_LIFTED or escalation.resolution == Resolution.PAID

    @rule(
        which=st.integers(0, 1),
        role=st.sampled_from(ROLES),
        action=st.sampled_from(workflow.USER_ACTIONS),
        comment=st.sampled_from(COMMENTS),
        resolution=st.sampled_from(["", *Resolution.values]),
        promise_in=st.integers(min_value=-2, max_value=10),
        stale=st.integers(0, 9).map(lambda n: n == 0),
    )
    def anyone_tries_anything(self, which, role, action, comment, resolution, promise_in, stale):
        self.act(which, role, action, comment, resolution, promise_in, stale)

    @rule(
        which=st.integers(0, 1),
        data=st.data(),
        resolution=st.sampled_from(Resolution.values),
        promise_in=st.integers(min_value=0, max_value=10),
    )
    def a_party_takes_an_offered_step(self, which, data, resolution, promise_in):
        """Steps the page would offer as buttons, so the runs get deep into the workflow."""
        escalation = self.escalation(which)
        if escalation is None:
            return
        offered = workflow.allowed(
            case_of(escalation, self.today), frozenset(PARTY_OF_ROLE.values())
        )
        if not offered:
            return
        action, party = data.draw(st.sampled_from(offered))
        allowed = workflow.RESOLUTIONS_BY_PARTY.get(party, frozenset())
        if resolution not in allowed:
            resolution = Resolution.PROMISE_TO_PAY
        self.act(which, ROLE_OF_PARTY[party], action, COMMENTS[-1], resolution, promise_in, False)

    @rule(which=st.integers(0, 1), steps=st.integers(1, 4))
    def the_parties_press_for_a_stop(self, which: int, steps: int) -> None:
        """The next ``steps`` steps towards a delivery stop, while one is offered: random draws
        alone rarely line up the four steps a top-tier stop takes."""
        for _ in range(steps):
            escalation = self.escalation(which)
            if escalation is None:
                return
            parties = frozenset(PARTY_OF_ROLE.values())
            offered = dict(workflow.allowed(case_of(escalation, self.today), parties))
            action = next(
                (a for a in (A.DECIDE_STOP, A.PROPOSE_STOP, A.STATEMENT) if a in offered), None
            )
            if action is None:
                return
            self.act(which, ROLE_OF_PARTY[offered[action]], action, COMMENTS[-1], "", 0, False)

    def act(self, which, role, action, comment, resolution, promise_in, stale) -> None:
        escalation = self.escalation(which)
        if escalation is None:
            return
        user = getattr(self.cast, role)
        before, events_before = _snapshot(), list(escalation.events.order_by("pk"))
        # escalation_act refreshes the instance it is given; compare with a copy.
        was = Escalation.objects.get(pk=escalation.pk)
        refusal: Exception | None = None
        try:
            services.escalation_act(
                escalation=escalation,
                user=user,
                action=action,
                comment=comment,
                resolution=resolution,
                promised_date=self.today + datetime.timedelta(days=promise_in),
                version=escalation.version - 1 if stale else escalation.version,
                on=self.today,
            )
        except (PermissionDenied, ValidationError) as error:
            refusal = error
        if refusal is not None:
            assert _snapshot() == before, (role, action, refusal)
            if role not in PARTY_OF_ROLE:
                assert isinstance(refusal, PermissionDenied), (role, action)
            elif stale:
                assert isinstance(refusal, ValidationError)
                assert _code(refusal) == "stale"
            return
        assert role in PARTY_OF_ROLE, f"{role} took {action}"
        assert not stale, "a stale version was accepted"
        assert comment.strip() or action == A.INFORM, f"{action} without comment"
        after = Escalation.objects.get(pk=escalation.pk)
        new = list(after.events.order_by("pk"))
        assert new[: len(events_before)] == events_before
        assert len(new) == len(events_before) + 1
        assert EscalationEvent.objects.count() == before[1] + 1
        event = new[-1]
        assert (event.action, event.actor, event.party) == (action, user, PARTY_OF_ROLE[role])
        assert (event.from_state, event.to_state) == (was.state, after.state)
        assert event.comment == comment.strip()
        assert after.version == was.version + 1
        if action in TARGETS:
            assert after.state == TARGETS[action]
        if action == A.STATEMENT:
            assert after.kam_heard_at is not None
        if action == A.DECIDE_STOP:
            assert was.kam_heard_at is not None or was.deadline_missed_at is not None
        reached[(self.tier_rank, after.state)] += 1

    @invariant()
    def every_case_is_legal_and_fully_recorded(self) -> None:
        escalations = list(Escalation.objects.select_related("invoice"))
        active = Counter(e.invoice_id for e in escalations if e.state not in CLOSED_STATES)
        assert all(count == 1 for count in active.values()), active
        for escalation in escalations:
            self.check(escalation)

    def check(self, escalation: Escalation) -> None:
        state = escalation.state
        assert state in S.values
        assert escalation.tier_rank == self.tier_rank
        assert (escalation.closed_at is not None) == (state in CLOSED_STATES), state
        assert bool(escalation.resolution) == (state == S.RESOLVED)
        if escalation.resolution == Resolution.PROMISE_TO_PAY:
            assert escalation.promised_date is not None
        if state != S.OPEN:
            assert escalation.kam_informed_at is not None
        if self.tier_rank != workflow.TOP_TIER_RANK:
            assert escalation.leadership_decided_by_id is None
        if state in (S.STOP_DECIDED, S.STOP_LIFTED):
            assert escalation.finance_decided_by == self.cast.finance
            if self.tier_rank == workflow.TOP_TIER_RANK:
                assert escalation.leadership_decided_by == self.cast.leadership
            assert escalation.kam_heard_at or escalation.deadline_missed_at
            assert escalation.kam_heard_at or escalation.deadline < self.today
        events = list(escalation.events.order_by("pk"))
        assert len(events) == escalation.version
        assert (events[0].action, events[0].from_state, events[0].to_state) == (A.OPEN, "", S.OPEN)
        for previous, event in itertools.pairwise(events):
            assert event.from_state == previous.to_state, (previous, event)
        assert events[-1].to_state == state
        for event in events:
            if event.party == Party.SYSTEM:
                assert event.actor_id is None
                continue
            assert event.actor == getattr(self.cast, ROLE_OF_PARTY[event.party])
            assert event.comment or event.action == A.INFORM
            if event.action == A.RESOLVE and event.party == Party.KAM:
                assert event.resolution in workflow.RESOLUTIONS_BY_PARTY[Party.KAM]


@pytest.mark.parametrize("tier_rank", [1, 3], ids=["top tier", "lower tier"])
def test_random_steps_by_random_roles_keep_every_case_legal(cast, tier_rank) -> None:
    Account.objects.filter(pk=cast.account.pk).update(
        tier=f"Stufe {tier_rank}", tier_rank=tier_rank
    )
    cast.account.refresh_from_db()
    assert cast.kam.has_role(Role.KEY_ACCOUNT_MANAGER)
    assert cast.account.team_members.filter(user=cast.team_member, role=TeamRole.MENTOR).exists()
    reached.clear()

    run_state_machine_as_test(
        lambda: EscalationMachine(cast, tier_rank),
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

    explored = {state for (rank, state), _count in reached.items() if rank == tier_rank}
    assert {S.RESOLVED, S.STOP_PROPOSED, S.STOP_DECIDED} <= explored, explored
