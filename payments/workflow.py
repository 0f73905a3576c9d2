"""The payment escalation's state machine: one explicit table of steps, and the guards that
decide whether a party may take a step now. Pure: it reads a :class:`Case` and returns a
:class:`Step`; :func:`payments.services.escalation_act` locks, writes and records it.

open → KAM informed → in clarification → resolved (paid, promise to pay, dispute settled,
payment plan, credit note), or → delivery stop proposed → delivery stop decided (finance; for
the top tier also sales leadership; only after the KAM's statement or a passed deadline) →
delivery stop lifted. Finance may propose a stop at any time of the clarification; the KAM is
told and states their view. A broken promise to pay reopens a resolved case.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from payments.models import EscalationAction as A
from payments.models import EscalationState as S
from payments.models import Party, Resolution

ACTIVE = frozenset({S.OPEN, S.KAM_INFORMED, S.IN_CLARIFICATION, S.STOP_PROPOSED})
ALL_STATES = frozenset(S)
TOP_TIER_RANK = 1


@dataclass(frozen=True)
class Rule:
    """Who may take a step from which states, and whether a comment is required."""

    sources: frozenset[str]
    parties: frozenset[str]
    comment_required: bool = True


RULES: dict[str, Rule] = {
    A.INFORM: Rule(frozenset({S.OPEN}), frozenset({Party.SYSTEM, Party.FINANCE}), False),
    A.STATEMENT: Rule(
        frozenset({S.KAM_INFORMED, S.IN_CLARIFICATION, S.STOP_PROPOSED}), frozenset({Party.KAM})
    ),
    A.COMMENT: Rule(ALL_STATES, frozenset({Party.KAM, Party.FINANCE, Party.LEADERSHIP})),
    A.RESOLVE: Rule(ACTIVE, frozenset({Party.KAM, Party.FINANCE})),
    A.PROPOSE_STOP: Rule(
        frozenset({S.KAM_INFORMED, S.IN_CLARIFICATION}), frozenset({Party.FINANCE})
    ),
    A.DECIDE_STOP: Rule(frozenset({S.STOP_PROPOSED}), frozenset({Party.FINANCE, Party.LEADERSHIP})),
    A.REJECT_STOP: Rule(frozenset({S.STOP_PROPOSED}), frozenset({Party.FINANCE, Party.LEADERSHIP})),
    A.LIFT_STOP: Rule(frozenset({S.STOP_DECIDED}), frozenset({Party.FINANCE, Party.LEADERSHIP})),
    A.DEADLINE_MISSED: Rule(
        frozenset({S.OPEN, S.KAM_INFORMED, S.IN_CLARIFICATION, S.STOP_PROPOSED}),
        frozenset({Party.SYSTEM}),
        False,
    ),
    A.PROMISE_BROKEN: Rule(frozenset({S.RESOLVED}), frozenset({Party.SYSTEM}), False),
    A.PAID: Rule(ALL_STATES - {S.STOP_LIFTED}, frozenset({Party.SYSTEM}), False),
}

# The steps a person takes from the escalation's page, in the order its buttons show.
USER_ACTIONS = (
    A.STATEMENT,
    A.RESOLVE,
    A.PROPOSE_STOP,
    A.DECIDE_STOP,
    A.REJECT_STOP,
    A.LIFT_STOP,
    A.INFORM,
    A.COMMENT,
)

# Which resolutions each party may record: the KAM brings what the customer agreed; only
# finance books a payment or a credit note.
RESOLUTIONS_BY_PARTY: dict[str, frozenset[str]] = {
    Party.KAM: frozenset(
        {Resolution.PROMISE_TO_PAY, Resolution.DISPUTE_SETTLED, Resolution.PAYMENT_PLAN}
    ),
    Party.FINANCE: frozenset(Resolution),
}


@dataclass(frozen=True)
class Case:
    """What the guards read of an escalation on ``today``."""

    state: str
    today: datetime.date
    deadline: datetime.date
    tier_rank: int
    has_kam: bool = True
    kam_heard: bool = False
    deadline_missed: bool = False
    finance_decided: bool = False
    leadership_decided: bool = False
    resolution: str = ""
    promised_date: datetime.date | None = None
    invoice_paid: bool = False

    @property
    def top_tier(self) -> bool:
        return self.tier_rank == TOP_TIER_RANK

    @property
    def deadline_passed(self) -> bool:
        return self.today > self.deadline

    @property
    def kam_heard_or_deadline_missed(self) -> bool:
        # The missed deadline as the daily job recorded it (and told sales leadership): the
        # fact the database's constraint on a decided stop checks, too.
        return self.kam_heard or self.deadline_missed


@dataclass(frozen=True)
class Step:
    """What a permitted step does: the state after it and the facts it records."""

    action: str
    party: str
    source: str
    target: str
    kam_informed: bool = False
    kam_heard: bool = False
    deadline_missed: bool = False
    finance_decides: bool = False
    leadership_decides: bool = False
    clears_decisions: bool = False
    resolution: str = ""
    promised_date: datetime.date | None = None
    reopens: bool = False
    closes: bool = False


def refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _guard_common(case: Case, action: str, party: str, comment: str) -> Rule:
    rule = RULES.get(action)
    if rule is None:
        raise refuse(_("Unknown step."), "unknown_action")
    if party not in rule.parties:
        raise refuse(_("You may not take this step on this escalation."), "party")
    if case.state not in rule.sources:
        raise refuse(
            _("This step is not possible while the escalation is “%(state)s”.")
            % {"state": S(case.state).label},
            "state",
        )
    if rule.comment_required and not comment.strip():
        raise refuse(_("Say why in a comment: every step is recorded with one."), "comment")
    return rule


def step(
    case: Case,
    action: str,
    party: str,
    *,
    comment: str = "",
    resolution: str = "",
    promised_date: datetime.date | None = None,
) -> Step:
    """The step ``party`` takes with ``action`` on ``case``. Raises ValidationError (with a
    code) when the step is not allowed now: wrong party, wrong state, missing comment, or a
    guard of the domain (the KAM not heard, a decision taken twice, a promise without date)."""
    _guard_common(case, action, party, comment)
    here = case.state
    if action == A.INFORM:
        if not case.has_kam:
            raise refuse(
                _("The account has no key account manager to inform. Name one first."), "no_kam"
            )
        return Step(action, party, here, S.KAM_INFORMED, kam_informed=True)
    if action == A.STATEMENT:
        target = S.IN_CLARIFICATION if here == S.KAM_INFORMED else here
        return Step(action, party, here, target, kam_heard=True)
    if action == A.COMMENT:
        return Step(action, party, here, here)
    if action == A.RESOLVE:
        return _resolve(case, party, resolution, promised_date)
    if action == A.PROPOSE_STOP:
        # A proposal decides nothing: it asks the KAM for their statement (they are told).
        return Step(action, party, here, S.STOP_PROPOSED)
    if action == A.DECIDE_STOP:
        return _decide(case, party)
    if action == A.REJECT_STOP:
        return Step(action, party, here, S.IN_CLARIFICATION, clears_decisions=True)
    if action == A.LIFT_STOP:
        return Step(action, party, here, S.STOP_LIFTED, closes=True)
    if action == A.DEADLINE_MISSED:
        if not case.deadline_passed or case.deadline_missed:
            raise refuse(_("The deadline has not passed."), "deadline")
        return Step(action, party, here, here, deadline_missed=True)
    if action == A.PROMISE_BROKEN:
        promised = case.promised_date
        if case.resolution != Resolution.PROMISE_TO_PAY or promised is None:
            raise refuse(_("Only a promise to pay can be broken."), "not_a_promise")
        if case.invoice_paid or case.today <= promised:
            raise refuse(_("The promised date has not passed."), "promise_kept")
        # Without a KAM to inform the case waits, open, for finance to name one and inform.
        return Step(
            action,
            party,
            here,
            S.KAM_INFORMED if case.has_kam else S.OPEN,
            kam_informed=case.has_kam,
            reopens=True,
            clears_decisions=True,
        )
    return _paid(case, party)


def _require_kam_heard(case: Case) -> None:
    if not case.kam_heard_or_deadline_missed:
        raise refuse(
            _(
                "No delivery stop before the key account manager has been heard or their "
                "missed deadline has been escalated to sales leadership."
            ),
            "kam_not_heard",
        )


def _resolve(case: Case, party: str, resolution: str, promised_date: datetime.date | None) -> Step:
    if resolution not in Resolution.values:
        raise refuse(_("Choose how the case was resolved."), "resolution")
    if resolution not in RESOLUTIONS_BY_PARTY.get(party, frozenset()):
        raise refuse(
            _("Only finance records “%(resolution)s”.")
            % {"resolution": Resolution(resolution).label},
            "resolution_party",
        )
    if resolution == Resolution.PROMISE_TO_PAY:
        if promised_date is None or promised_date < case.today:
            raise refuse(
                _("A promise to pay needs the promised date, today or later."), "promised_date"
            )
    else:
        promised_date = None
    return Step(
        A.RESOLVE,
        party,
        case.state,
        S.RESOLVED,
        kam_heard=party == Party.KAM,
        resolution=resolution,
        promised_date=promised_date,
        closes=True,
    )


def _decide(case: Case, party: str) -> Step:
    _require_kam_heard(case)
    finance, leadership = case.finance_decided, case.leadership_decided
    if party == Party.FINANCE:
        if finance:
            raise refuse(_("Finance has decided already."), "decided")
        finance = True
    else:
        if not case.top_tier:
            raise refuse(_("For this tier finance decides a delivery stop alone."), "not_top_tier")
        if leadership:
            raise refuse(_("Sales leadership has decided already."), "decided")
        leadership = True
    complete = finance and (leadership or not case.top_tier)
    return Step(
        A.DECIDE_STOP,
        party,
        case.state,
        S.STOP_DECIDED if complete else case.state,
        finance_decides=party == Party.FINANCE,
        leadership_decides=party == Party.LEADERSHIP,
    )


def _paid(case: Case, party: str) -> Step:
    if not case.invoice_paid:
        raise refuse(_("The invoice is not paid."), "not_paid")
    if case.state == S.STOP_DECIDED:
        return Step(A.PAID, party, case.state, S.STOP_LIFTED, closes=True)
    if case.state == S.RESOLVED and case.resolution == Resolution.PAID:
        raise refuse(_("The case is closed as paid already."), "already_paid")
    return Step(A.PAID, party, case.state, S.RESOLVED, resolution=Resolution.PAID, closes=True)


def allowed(case: Case, parties: frozenset[str]) -> list[tuple[str, str]]:
    """The (action, party) pairs of :data:`USER_ACTIONS` the parties could take now, ignoring
    the comment and the resolution's details (which the form asks for)."""
    pairs = []
    for action in USER_ACTIONS:
        rule = RULES[action]
        if case.state not in rule.sources:
            continue
        for party in sorted(rule.parties & parties):
            try:
                step(
                    case,
                    action,
                    party,
                    comment="-",
                    resolution=_any_resolution(party),
                    promised_date=case.today,
                )
            except ValidationError:
                continue
            pairs.append((action, party))
            break
    return pairs


def _any_resolution(party: str) -> str:
    return Resolution.PROMISE_TO_PAY if party in RESOLUTIONS_BY_PARTY else ""
