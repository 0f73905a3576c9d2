"""Steps on payment escalations: a person's step (:func:`escalation_act`) and the daily job's
(:func:`escalation_system_step`). Both lock the escalation, ask the workflow table whether the
step is allowed, write the state and the timeline entry in one transaction, and notify.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import AccountTeamMember, TeamRole
from kam import access
from kam.models import User
from kam.roles import Role
from kam.services import notify
from kam.templatetags.kam import money
from payments import workflow
from payments.models import (
    Escalation,
    EscalationAction,
    EscalationEvent,
    EscalationPolicy,
    EscalationState,
    Party,
)

# When a person holds several capacities (a finance clerk who is also a KAM), the first one
# the step allows is used.
PARTY_PREFERENCE = (Party.FINANCE, Party.LEADERSHIP, Party.KAM)
# Steps that inform the account's key account manager, so need one.
NEEDS_KAM = (EscalationAction.INFORM, EscalationAction.PROMISE_BROKEN)


def today() -> datetime.date:
    return timezone.localdate()


def policy_terms(rank: int | None, policies: dict[int, EscalationPolicy]) -> tuple[bool, int, int]:
    """(covered, grace days, days to clarify) for a tier rank; tiers without a row follow
    the settings' defaults and are covered."""
    policy = policies.get(rank) if rank is not None else None
    if policy is None:
        return True, settings.PAYMENT_GRACE_DAYS, settings.PAYMENT_CLARIFICATION_DAYS
    return policy.covered, policy.grace_days, policy.clarification_days


def policies_by_rank() -> dict[int, EscalationPolicy]:
    return {policy.tier_rank: policy for policy in EscalationPolicy.objects.all()}


def key_account_managers(account_ids: Iterable[int]) -> dict[int, User]:
    """Each account's key account manager (accounts without one are missing)."""
    members = AccountTeamMember.objects.filter(
        account_id__in=list(account_ids), role=TeamRole.KEY_ACCOUNT_MANAGER
    ).select_related("user")
    return {member.account_id: member.user for member in members}


def case_of(escalation: Escalation, on: datetime.date, *, has_kam: bool = True) -> workflow.Case:
    invoice = escalation.invoice
    return workflow.Case(
        state=escalation.state,
        today=on,
        deadline=escalation.deadline,
        tier_rank=escalation.tier_rank,
        has_kam=has_kam,
        kam_heard=escalation.kam_heard_at is not None,
        deadline_missed=escalation.deadline_missed_at is not None,
        finance_decided=escalation.finance_decided_by_id is not None,
        leadership_decided=escalation.leadership_decided_by_id is not None,
        resolution=escalation.resolution,
        promised_date=escalation.promised_date,
        invoice_paid=invoice.is_paid,
    )


def _lock(escalation_id: int) -> Escalation:
    return (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("invoice", "account")
        .get(pk=escalation_id)
    )


def _record(
    locked: Escalation,
    step: workflow.Step,
    *,
    actor: User | None,
    comment: str,
    on: datetime.date,
) -> EscalationEvent:
    """Write what ``step`` does to the locked escalation, and its timeline entry. Informing
    the KAM (first, or again after a broken promise) starts the deadline of the tier's policy."""
    now = timezone.now()
    if step.clears_decisions:
        locked.finance_decided_by = locked.leadership_decided_by = None
    if step.reopens:
        locked.kam_heard_at = locked.deadline_missed_at = locked.clarified_at = None
        locked.resolution, locked.promised_date, locked.closed_at = "", None, None
    if step.kam_informed:
        locked.kam_informed_at = now
        _covered, _grace, days = policy_terms(locked.tier_rank, policies_by_rank())
        locked.deadline = on + datetime.timedelta(days=days)
        # A deadline missed before the KAM was informed (no KAM named yet) is not theirs:
        # the fresh one must escalate again when missed.
        locked.deadline_missed_at = None
    if step.kam_heard and locked.kam_heard_at is None:
        locked.kam_heard_at = now
    if step.deadline_missed:
        locked.deadline_missed_at = now
    if step.finance_decides:
        locked.finance_decided_by = actor
    if step.leadership_decides:
        locked.leadership_decided_by = actor
    if step.resolution:
        locked.resolution, locked.promised_date = step.resolution, step.promised_date
        locked.clarified_at = locked.clarified_at or now
    if step.closes:
        locked.closed_at = now
    locked.state = step.target
    locked.version += 1
    locked.save()
    return EscalationEvent.objects.create(
        escalation=locked,
        action=step.action,
        from_state=step.source,
        to_state=step.target,
        actor=actor,
        party=step.party,
        comment=comment.strip(),
        resolution=step.resolution,
        promised_date=step.promised_date,
        created_at=now,
    )


def escalation_act(
    *,
    escalation: Escalation,
    user: User,
    action: str,
    comment: str = "",
    resolution: str = "",
    promised_date: datetime.date | None = None,
    version: int | None = None,
    on: datetime.date | None = None,
) -> Escalation:
    """Take a person's step on the escalation and record it on the timeline.

    Raises PermissionDenied when the user takes no part in it, ValidationError (with a code)
    when the step is not allowed now or ``version`` is not the escalation's current one
    (someone else took a step since the user loaded the page; nothing is written).
    """
    on = on or today()
    with transaction.atomic():
        locked = _lock(escalation.pk)
        parties = access.escalation_parties(user, locked)
        if not parties:
            raise PermissionDenied
        if version is not None and version != locked.version:
            raise ValidationError(
                _(
                    "Someone else took a step on this escalation since you opened it. "
                    "Nothing was saved: read the timeline and decide again."
                ),
                code="stale",
            )
        rule = workflow.RULES.get(action)
        allowed = [p for p in PARTY_PREFERENCE if p in parties and rule and p in rule.parties]
        if not allowed:
            raise PermissionDenied
        has_kam = action not in NEEDS_KAM or bool(key_account_managers([locked.account_id]))
        step = workflow.step(
            case_of(locked, on, has_kam=has_kam),
            action,
            allowed[0],
            comment=comment,
            resolution=resolution,
            promised_date=promised_date,
        )
        event = _record(locked, step, actor=user, comment=comment, on=on)
        _announce(locked, event, on=on)
    escalation.refresh_from_db()
    return escalation


def escalation_system_step(
    *,
    escalation_id: int,
    action: str,
    on: datetime.date,
    comment: str = "",
) -> EscalationEvent | None:
    """Take one of the daily job's steps if it is (still) allowed; None when not, so a rerun
    of the job does nothing twice."""
    with transaction.atomic():
        locked = _lock(escalation_id)
        has_kam = action not in NEEDS_KAM or bool(key_account_managers([locked.account_id]))
        try:
            step = workflow.step(case_of(locked, on, has_kam=has_kam), action, Party.SYSTEM)
        except ValidationError:
            return None
        event = _record(locked, step, actor=None, comment=comment, on=on)
        _announce(locked, event, on=on)
    return event


def _tell(users: Iterable[User], build: Callable[[], str], url: str, *, email: bool) -> None:
    """Notify each user in their own language (``build`` makes the text)."""
    for user in users:
        with override(user.language or settings.LANGUAGE_CODE):
            notify(user=user, message=build(), url=url, email=email)


def _users_with(role: Role) -> list[User]:
    return list(User.objects.filter(groups__name=role.value, is_active=True).distinct())


def _facts(escalation: Escalation, on: datetime.date) -> dict[str, str]:
    invoice = escalation.invoice
    return {
        "number": invoice.number,
        "account": escalation.account.name,
        "amount": money(invoice.open_amount, invoice.currency),
        "days": str(invoice.days_overdue(on)),
        "deadline": date_format(escalation.deadline, "SHORT_DATE_FORMAT"),
    }


def _announce(escalation: Escalation, event: EscalationEvent, *, on: datetime.date) -> None:
    """Tell the people the step concerns: the KAM when informed, reopened or facing a stop;
    finance when the KAM answered; sales leadership when a top-tier stop awaits it."""
    url = reverse("payments:escalation-detail", args=[escalation.pk])
    kam = key_account_managers([escalation.account_id]).get(escalation.account_id)
    action = event.action

    def facts() -> dict[str, str]:
        return _facts(escalation, on)

    if action in (EscalationAction.INFORM, EscalationAction.PROMISE_BROKEN) and kam:
        _tell(
            [kam],
            lambda: (
                (
                    _(
                        "Invoice %(number)s of %(account)s (%(amount)s) is %(days)s days overdue. "
                        "Please clarify it with the customer by %(deadline)s."
                    )
                    if action == EscalationAction.INFORM
                    else _(
                        "The promise to pay invoice %(number)s of %(account)s (%(amount)s) was "
                        "broken. The case is open again: please clarify it by %(deadline)s."
                    )
                )
                % facts()
            ),
            url,
            email=True,
        )
    elif action in (EscalationAction.PROPOSE_STOP, EscalationAction.DECIDE_STOP) and kam:
        if (
            action == EscalationAction.PROPOSE_STOP
            or escalation.state == EscalationState.STOP_DECIDED
        ):
            _tell(
                [kam],
                lambda: (
                    (
                        _(
                            "Finance proposes a delivery stop for %(account)s (invoice %(number)s, "
                            "%(amount)s). Give your statement now."
                        )
                        if action == EscalationAction.PROPOSE_STOP
                        else _("A delivery stop was decided for %(account)s (invoice %(number)s).")
                    )
                    % facts()
                ),
                url,
                email=True,
            )
        if (
            action == EscalationAction.DECIDE_STOP
            and escalation.state == EscalationState.STOP_PROPOSED
            and escalation.tier_rank == workflow.TOP_TIER_RANK
        ):
            _tell(
                _users_with(Role.SALES_LEADERSHIP),
                lambda: (
                    _(
                        "Finance decided a delivery stop for the top-tier account %(account)s "
                        "(invoice %(number)s); it needs your decision too."
                    )
                    % facts()
                ),
                url,
                email=True,
            )
    elif action in (EscalationAction.STATEMENT, EscalationAction.RESOLVE) and (
        event.party == Party.KAM
    ):
        _tell(
            _users_with(Role.FINANCE),
            lambda: (
                _("The key account manager answered on invoice %(number)s of %(account)s.")
                % facts()
            ),
            url,
            email=False,
        )


def deadline_missed_digest(escalations: list[Escalation], on: datetime.date) -> None:
    """Tell sales leadership once per run which escalations missed their deadline."""
    if not escalations:
        return
    url = f"{reverse('payments:escalation-list')}?deadline_passed=true"
    names = ", ".join(sorted({e.account.name for e in escalations})[:5])
    _tell(
        _users_with(Role.SALES_LEADERSHIP),
        lambda: (
            _(
                "%(count)s payment escalations missed the KAM's deadline (%(accounts)s). "
                "They are in the finance queue."
            )
            % {"count": len(escalations), "accounts": names}
        ),
        url,
        email=True,
    )
