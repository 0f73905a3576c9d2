"""``seed_demo`` adds open items and payment escalations in every state, built through the
services over simulated weeks, so queue, timelines and KPIs have something real to show; a
second run adds nothing."""

import datetime
import itertools

from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from accounts.models import TeamRole
from kam.models import Notification
from payments.models import (
    Escalation,
    EscalationAction,
    EscalationEvent,
    EscalationPolicy,
    EscalationState,
    Invoice,
    Party,
    Resolution,
)
from payments.services.daily import overdue_uncovered
from payments.workflow import TOP_TIER_RANK

S = EscalationState


def _snapshot() -> tuple:
    return (
        sorted(
            Invoice.objects.values_list(
                "account__erp_number", "number", "amount", "amount_paid", "due_date", "version"
            )
        ),
        sorted(Escalation.objects.values_list("invoice__number", "state", "resolution", "version")),
        EscalationEvent.objects.count(),
        sorted(EscalationPolicy.objects.values_list("tier_rank", "covered", "grace_days")),
    )


def _has_kam(escalation: Escalation) -> bool:
    return escalation.account.team_members.filter(role=TeamRole.KEY_ACCOUNT_MANAGER).exists()


def test_seed_demo_adds_escalations_in_every_state_with_real_timelines(
    db, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _snapshot()
    today = timezone.localdate()

    escalations = Escalation.objects.select_related("account", "invoice")
    assert set(escalations.values_list("state", flat=True)) == set(S.values)
    assert set(escalations.filter(state=S.RESOLVED).values_list("resolution", flat=True)) == set(
        Resolution.values
    )
    # Opened while its account was between two KAMs: nobody was informed; finance informs
    # the successor.
    opened = escalations.get(state=S.OPEN)
    assert opened.kam_informed_at is None
    assert list(opened.events.values_list("action", flat=True)) == [EscalationAction.OPEN]
    assert all(_has_kam(e) for e in escalations)
    assert escalations.filter(
        resolution=Resolution.PROMISE_TO_PAY, promised_date__gte=today
    ).exists()
    assert EscalationEvent.objects.filter(action=EscalationAction.PROMISE_BROKEN).exists()
    top_stop = escalations.get(state=S.STOP_DECIDED, tier_rank=TOP_TIER_RANK)
    assert top_stop.finance_decided_by.username == "finanz"
    assert top_stop.leadership_decided_by.username == "leitung"
    lower_stop = escalations.exclude(tier_rank=TOP_TIER_RANK).get(state=S.STOP_DECIDED)
    assert lower_stop.leadership_decided_by is None
    assert escalations.filter(
        state__in=[S.KAM_INFORMED, S.IN_CLARIFICATION], deadline_missed_at__isnull=False
    ).exists()
    assert EscalationEvent.objects.filter(action=EscalationAction.REJECT_STOP).exists()
    assert escalations.get(state=S.STOP_LIFTED).invoice.is_paid

    for escalation in escalations:
        events = list(escalation.events.order_by("created_at", "pk"))
        assert events[0].action == EscalationAction.OPEN
        assert events[-1].to_state == escalation.state
        for previous, event in itertools.pairwise(events):
            assert event.from_state == previous.to_state, escalation.invoice.number
            assert event.created_at >= previous.created_at
        assert timezone.localdate(events[-1].created_at) <= today
        humans = [e for e in events if e.party != Party.SYSTEM]
        assert all(e.actor is not None and e.comment for e in humans)
    oldest = EscalationEvent.objects.order_by("created_at").first().created_at
    assert timezone.localdate(oldest) < today - datetime.timedelta(days=30)
    assert {"kam.becker", "kam.wolf", "kam.aydin"} <= set(
        Notification.objects.filter(url__startswith="/payments/").values_list(
            "user__username", flat=True
        )
    )
    assert Notification.objects.filter(
        user__username="leitung", url__contains="deadline_passed"
    ).exists()

    invoices = Invoice.objects.all()
    assert invoices.filter(amount_paid__gt=0, amount_paid__lt=F("amount")).exists()
    assert invoices.filter(amount_paid=F("amount"), escalations=None).exists()
    assert invoices.filter(due_date__gt=today).exists()
    assert {"EUR", "CHF"} <= set(invoices.values_list("currency", flat=True))
    listed = list(overdue_uncovered(today).select_related("account"))
    assert {invoice.account.tier for invoice in listed} >= {"", "Bronze"}
    assert EscalationPolicy.objects.get(tier_rank=3).covered is False

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _snapshot() == first
