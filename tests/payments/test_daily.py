"""The daily escalation job on simulated days: which invoices it escalates (overdue past the
tier's grace days, of a covered tier), the KAM's deadline and notification, broken promises,
missed deadlines, payments that close cases, idempotence, the database's guard against a second
active case, concurrent runs, and the job as finance starts it."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, TeamRole
from kam.models import Job, Notification
from payments import services, tasks
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
from tests.factories import AccountFactory, TeamMemberFactory
from tests.payments.factories import InvoiceFactory

A, S = EscalationAction, EscalationState
ON = datetime.date(2026, 11, 20)
NOTHING = {"paid": 0, "reopened": 0, "opened": 0, "informed": 0, "deadline_missed": 0}


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def _tier(account: Account, rank: int) -> Account:
    Account.objects.filter(pk=account.pk).update(
        tier=("Gold", "Silber", "Bronze")[rank - 1], tier_rank=rank
    )
    account.refresh_from_db()
    return account


def _invoice(account: Account, due: datetime.date, **values) -> Invoice:
    return InvoiceFactory(account=account, issue_date=due - _days(30), due_date=due, **values)


def _run(on: datetime.date, **expected: int) -> dict[str, int]:
    result = services.escalations_run(on=on)
    assert result == {**NOTHING, **expected}
    return result


def _pay(user, invoice: Invoice, amount_paid: Decimal, on: datetime.date) -> Invoice:
    invoice.refresh_from_db()
    return services.invoice_save(
        user=user,
        invoice=invoice,
        version=invoice.version,
        account=invoice.account,
        number=invoice.number,
        amount=invoice.amount,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount_paid=amount_paid,
        paid_date=on,
    )


def _timeline(escalation: Escalation) -> list[tuple[str, str, str, str]]:
    return list(
        escalation.events.order_by("pk").values_list("action", "from_state", "to_state", "party")
    )


@pytest.fixture
def key_account(cast) -> Account:
    """The cast's account as a top-tier key account: 5 grace days, 10 days to clarify."""
    EscalationPolicy.objects.create(tier_rank=1, grace_days=5, clarification_days=10)
    return _tier(cast.account, 1)


# Which invoices are escalated ----------------------------------------------------------------


def test_an_invoice_past_its_grace_days_opens_a_case_and_the_kam_is_told_the_deadline(
    cast, key_account
) -> None:
    overdue = _invoice(key_account, ON - _days(6))
    in_grace = _invoice(key_account, ON - _days(5))
    due_today = _invoice(key_account, ON)
    not_due = _invoice(key_account, ON + _days(3))
    paid = _invoice(key_account, ON - _days(30), amount_paid=Decimal("12500.00"))

    _run(ON, opened=1, informed=1)

    escalation = Escalation.objects.get()
    assert escalation.invoice == overdue
    assert (escalation.state, escalation.tier, escalation.tier_rank) == (S.KAM_INFORMED, "Gold", 1)
    assert escalation.deadline == ON + _days(10)
    assert escalation.kam_informed_at is not None
    assert _timeline(escalation) == [
        (A.OPEN, "", S.OPEN, Party.SYSTEM),
        (A.INFORM, S.OPEN, S.KAM_INFORMED, Party.SYSTEM),
    ]
    assert not escalation.events.exclude(actor=None).exists()
    notification = Notification.objects.get(user=cast.kam)
    assert "30.11.2026" in notification.message
    assert overdue.number in notification.message
    assert "12.500,00" in notification.message
    assert notification.url == reverse("payments:escalation-detail", args=[escalation.pk])
    assert set(overdue_uncovered(ON)) == {in_grace}

    # The next day the second invoice's grace has run out; the others are not overdue enough.
    _run(ON + _days(1), opened=1, informed=1)
    assert set(Escalation.objects.values_list("invoice", flat=True)) == {overdue.pk, in_grace.pk}
    assert not Escalation.objects.filter(invoice__in=[due_today, not_due, paid]).exists()


def test_a_partly_paid_invoice_is_escalated_for_its_open_amount(cast, key_account) -> None:
    invoice = _invoice(
        key_account, ON - _days(20), amount=Decimal("10000.00"), amount_paid=Decimal("4000.00")
    )

    _run(ON, opened=1, informed=1)

    escalation = Escalation.objects.select_related("invoice").get()
    assert escalation.invoice == invoice
    assert escalation.invoice.open_amount == Decimal("6000.00")
    assert "6.000,00" in Notification.objects.get(user=cast.kam).message


def test_invoices_of_other_accounts_and_uncovered_tiers_are_listed_not_escalated(
    cast, key_account
) -> None:
    EscalationPolicy.objects.create(tier_rank=3, covered=False, grace_days=0, clarification_days=5)
    bronze = _tier(AccountFactory(), 3)
    no_key_account = _invoice(cast.other_account, ON - _days(40))
    uncovered = _invoice(bronze, ON - _days(40))
    covered = _invoice(key_account, ON - _days(40))
    _invoice(cast.other_account, ON + _days(1))
    _invoice(bronze, ON - _days(40), amount_paid=Decimal("12500.00"))

    _run(ON, opened=1, informed=1)

    assert Escalation.objects.get().invoice == covered
    assert set(overdue_uncovered(ON)) == {no_key_account, uncovered}
    _run(ON + _days(30), deadline_missed=1)
    assert Escalation.objects.count() == 1


def test_grace_days_and_deadline_follow_each_tiers_policy(cast, settings) -> None:
    settings.PAYMENT_GRACE_DAYS, settings.PAYMENT_CLARIFICATION_DAYS = 2, 4
    EscalationPolicy.objects.create(tier_rank=1, grace_days=0, clarification_days=3)
    EscalationPolicy.objects.create(tier_rank=2, grace_days=10, clarification_days=14)
    gold, silver, bronze = (_tier(AccountFactory(), rank) for rank in (1, 2, 3))
    for account in (gold, silver, bronze):
        TeamMemberFactory(account=account, user=cast.kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
        _invoice(account, ON - _days(1))

    _run(ON, opened=1, informed=1)
    _run(ON + _days(1))
    _run(ON + _days(2), opened=1, informed=1)
    _run(ON + _days(9), deadline_missed=2)
    _run(ON + _days(10), opened=1, informed=1)

    deadlines = dict(Escalation.objects.values_list("account", "deadline"))
    assert deadlines == {
        gold.pk: ON + _days(3),
        bronze.pk: ON + _days(2 + 4),
        silver.pk: ON + _days(10 + 14),
    }


# Without a KAM, and the KAM's deadline -------------------------------------------------------


def test_a_case_without_kam_stays_open_until_finance_informs_the_named_kam(cast) -> None:
    EscalationPolicy.objects.create(tier_rank=2, grace_days=0, clarification_days=5)
    account = _tier(AccountFactory(), 2)
    _invoice(account, ON - _days(3))

    _run(ON, opened=1)

    escalation = Escalation.objects.get()
    assert (escalation.state, escalation.kam_informed_at) == (S.OPEN, None)
    assert not Notification.objects.exists()
    with pytest.raises(ValidationError) as refused:
        services.escalation_act(
            escalation=escalation, user=cast.finance, action=A.INFORM, on=ON + _days(1)
        )
    assert refused.value.error_list[0].code == "no_kam"
    _run(ON + _days(1))

    TeamMemberFactory(account=account, user=cast.kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    services.escalation_act(
        escalation=escalation, user=cast.finance, action=A.INFORM, on=ON + _days(2)
    )

    escalation.refresh_from_db()
    assert escalation.state == S.KAM_INFORMED
    assert escalation.deadline == ON + _days(2 + 5)
    event = escalation.events.order_by("pk").last()
    assert (event.action, event.actor, event.party) == (A.INFORM, cast.finance, Party.FINANCE)
    assert Notification.objects.filter(user=cast.kam).count() == 1


def test_a_deadline_missed_while_nobody_could_be_informed_does_not_cover_the_kams_deadline(
    cast,
) -> None:
    EscalationPolicy.objects.create(tier_rank=2, grace_days=0, clarification_days=5)
    account = _tier(AccountFactory(), 2)
    _invoice(account, ON - _days(3))
    _run(ON, opened=1)
    _run(ON + _days(6), deadline_missed=1)
    escalation = Escalation.objects.get()
    TeamMemberFactory(account=account, user=cast.kam, role=TeamRole.KEY_ACCOUNT_MANAGER)

    services.escalation_act(
        escalation=escalation, user=cast.finance, action=A.INFORM, on=ON + _days(7)
    )

    escalation.refresh_from_db()
    assert (escalation.deadline, escalation.deadline_missed_at) == (ON + _days(12), None)
    _run(ON + _days(12))
    _run(ON + _days(13), deadline_missed=1)
    assert Notification.objects.filter(user=cast.leadership).count() == 2


def test_a_missed_deadline_escalates_to_leadership_once(cast, key_account) -> None:
    _invoice(key_account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    escalation = Escalation.objects.get()
    services.escalation_act(
        escalation=escalation,
        user=cast.kam,
        action=A.STATEMENT,
        comment="Der Kunde prüft die Rechnung noch.",
        on=ON + _days(2),
    )

    _run(ON + _days(10))
    assert not Notification.objects.filter(user=cast.leadership).exists()
    _run(ON + _days(11), deadline_missed=1)
    _run(ON + _days(11))
    _run(ON + _days(12))

    escalation.refresh_from_db()
    assert escalation.state == S.IN_CLARIFICATION
    assert escalation.deadline_missed_at is not None
    assert _timeline(escalation)[-1] == (
        A.DEADLINE_MISSED,
        S.IN_CLARIFICATION,
        S.IN_CLARIFICATION,
        Party.SYSTEM,
    )
    assert escalation.events.filter(action=A.DEADLINE_MISSED).count() == 1
    digest = Notification.objects.get(user=cast.leadership)
    assert key_account.name in digest.message
    assert digest.url == reverse("payments:escalation-list") + "?deadline_passed=true"
    assert not Notification.objects.filter(user__in=[cast.viewer, cast.admin]).exists()


def test_a_kam_silent_on_a_proposed_stop_is_escalated_and_only_then_finance_decides(
    cast, key_account
) -> None:
    _invoice(key_account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    escalation = Escalation.objects.get()
    services.escalation_act(
        escalation=escalation,
        user=cast.finance,
        action=A.PROPOSE_STOP,
        comment="Zweite Rechnung in Folge überfällig.",
        on=ON + _days(1),
    )
    decide = {"user": cast.finance, "action": A.DECIDE_STOP, "comment": "Keine Antwort."}

    with pytest.raises(ValidationError) as refused:
        services.escalation_act(escalation=escalation, on=ON + _days(11), **decide)
    assert refused.value.error_list[0].code == "kam_not_heard"
    _run(ON + _days(11), deadline_missed=1)
    services.escalation_act(escalation=escalation, on=ON + _days(11), **decide)

    escalation.refresh_from_db()
    assert escalation.state == S.STOP_PROPOSED  # the top tier: sales leadership decides too
    assert (escalation.kam_heard_at, escalation.finance_decided_by) == (None, cast.finance)
    assert escalation.deadline_missed_at is not None
    assert Notification.objects.filter(user=cast.leadership).count() == 2


# Promises, payments and closing ---------------------------------------------------------------


def _promise(cast, escalation: Escalation, promised: datetime.date, on: datetime.date) -> None:
    services.escalation_act(
        escalation=escalation,
        user=cast.kam,
        action=A.RESOLVE,
        resolution=Resolution.PROMISE_TO_PAY,
        promised_date=promised,
        comment="Zahlung zugesagt vom Leiter Finanzen.",
        on=on,
    )


def test_a_broken_promise_reopens_the_case_with_a_fresh_deadline(cast, key_account) -> None:
    _invoice(key_account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    escalation = Escalation.objects.get()
    _promise(cast, escalation, ON + _days(5), ON + _days(1))
    assert (escalation.state, escalation.closed_at is not None) == (S.RESOLVED, True)

    _run(ON + _days(5))
    notified = Notification.objects.filter(user=cast.kam).count()
    _run(ON + _days(6), reopened=1)
    _run(ON + _days(6))

    escalation.refresh_from_db()
    assert escalation.state == S.KAM_INFORMED
    assert escalation.deadline == ON + _days(6 + 10)
    assert (escalation.resolution, escalation.promised_date) == ("", None)
    assert (escalation.kam_heard_at, escalation.closed_at, escalation.deadline_missed_at) == (
        None,
        None,
        None,
    )
    assert _timeline(escalation)[-1] == (A.PROMISE_BROKEN, S.RESOLVED, S.KAM_INFORMED, Party.SYSTEM)
    reminder = Notification.objects.filter(user=cast.kam).first()
    assert Notification.objects.filter(user=cast.kam).count() == notified + 1
    assert "06.12.2026" in reminder.message


def test_a_kept_promise_is_closed_as_paid_and_never_reopened(cast, key_account) -> None:
    invoice = _invoice(key_account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    escalation = Escalation.objects.get()
    _promise(cast, escalation, ON + _days(5), ON + _days(1))

    _pay(cast.finance, invoice, invoice.amount, ON + _days(4))
    _run(ON + _days(6))

    escalation.refresh_from_db()
    assert (escalation.state, escalation.resolution) == (S.RESOLVED, Resolution.PAID)
    assert escalation.promised_date is None
    assert _timeline(escalation)[-1] == (A.PAID, S.RESOLVED, S.RESOLVED, Party.SYSTEM)


def test_a_part_payment_keeps_the_case_and_the_full_payment_closes_it(cast, key_account) -> None:
    invoice = _invoice(key_account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    escalation = Escalation.objects.get()

    _pay(cast.finance, invoice, Decimal("5000.00"), ON + _days(1))
    escalation.refresh_from_db()
    assert escalation.state == S.KAM_INFORMED
    assert escalation.invoice.open_amount == Decimal("7500.00")

    _pay(cast.finance, invoice, Decimal("12500.00"), ON + _days(2))
    escalation.refresh_from_db()
    assert (escalation.state, escalation.resolution) == (S.RESOLVED, Resolution.PAID)
    assert escalation.closed_at is not None
    assert _timeline(escalation)[-1] == (A.PAID, S.KAM_INFORMED, S.RESOLVED, Party.SYSTEM)
    _run(ON + _days(3))


def test_paying_lifts_a_decided_delivery_stop(cast) -> None:
    EscalationPolicy.objects.create(tier_rank=2, grace_days=0, clarification_days=5)
    account = _tier(cast.account, 2)
    invoice = _invoice(account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    escalation = Escalation.objects.get()
    for user, action in (
        (cast.kam, A.STATEMENT),
        (cast.finance, A.PROPOSE_STOP),
        (cast.kam, A.STATEMENT),
        (cast.finance, A.DECIDE_STOP),
    ):
        services.escalation_act(
            escalation=escalation, user=user, action=action, comment="Begründung.", on=ON
        )
    assert escalation.state == S.STOP_DECIDED

    _pay(cast.finance, invoice, invoice.amount, ON + _days(1))

    escalation.refresh_from_db()
    assert (escalation.state, escalation.resolution) == (S.STOP_LIFTED, "")
    assert escalation.finance_decided_by == cast.finance
    assert _timeline(escalation)[-1] == (A.PAID, S.STOP_DECIDED, S.STOP_LIFTED, Party.SYSTEM)


def test_the_job_closes_cases_of_invoices_the_import_marked_paid(cast, key_account) -> None:
    invoice = _invoice(key_account, ON - _days(10))
    _run(ON, opened=1, informed=1)
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=invoice.amount, paid_date=ON)

    _run(ON + _days(1), paid=1)
    _run(ON + _days(2))

    assert Escalation.objects.get().resolution == Resolution.PAID


# Idempotence, the database's guard and concurrency --------------------------------------------


def _counts() -> tuple[int, int, int]:
    return (
        Escalation.objects.count(),
        EscalationEvent.objects.count(),
        Notification.objects.count(),
    )


def test_running_twice_a_day_does_nothing_twice(
    cast, key_account, django_capture_on_commit_callbacks
) -> None:
    for days in (6, 20, 40):
        _invoice(key_account, ON - _days(days))
    with django_capture_on_commit_callbacks() as first_mails:
        _run(ON, opened=3, informed=3)
    escalation_of_promise = Escalation.objects.first()
    _promise(cast, escalation_of_promise, ON + _days(1), ON)
    _run(ON + _days(2), reopened=1)
    _run(ON + _days(13), deadline_missed=3)
    before = _counts()

    with django_capture_on_commit_callbacks() as mails:
        for on in (ON, ON + _days(2), ON + _days(13)):
            _run(on)

    assert _counts() == before
    assert len(first_mails) == 3
    assert mails == []


def test_the_database_refuses_a_second_active_case_for_an_invoice(cast, key_account) -> None:
    invoice = _invoice(key_account, ON - _days(10))
    values = {
        "invoice": invoice,
        "account": key_account,
        "tier": "Gold",
        "tier_rank": 1,
        "opened_at": timezone.now(),
        "deadline": ON,
    }
    Escalation.objects.create(**values, state=S.RESOLVED, resolution=Resolution.CREDIT_NOTE)
    Escalation.objects.create(**values)

    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(**values, state=S.STOP_PROPOSED)

    assert Escalation.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer anyway")
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_open_each_case_once(cast) -> None:
    EscalationPolicy.objects.create(tier_rank=1, grace_days=0, clarification_days=5)
    account = _tier(cast.account, 1)
    invoices = [_invoice(account, ON - _days(days)) for days in range(1, 9)]
    start = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            start.wait()
            results.append(services.escalations_run(on=ON))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(result["opened"] for result in results) == [0, len(invoices)]
    assert sorted(Escalation.objects.values_list("invoice", flat=True)) == [i.pk for i in invoices]
    assert EscalationEvent.objects.filter(action=A.OPEN).count() == len(invoices)
    assert EscalationEvent.objects.filter(action=A.INFORM).count() == len(invoices)
    assert Notification.objects.filter(user=cast.kam).count() == len(invoices)


# Mails and the job ---------------------------------------------------------------------------


def test_the_kam_gets_one_mail_with_the_deadline(cast, eager_jobs) -> None:
    EscalationPolicy.objects.create(tier_rank=1, grace_days=5, clarification_days=10)
    account = _tier(cast.account, 1)
    invoice = _invoice(account, ON - _days(10))

    services.escalations_run(on=ON)
    services.escalations_run(on=ON)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [cast.kam.email]
    assert "30.11.2026" in message.body
    assert invoice.number in message.body
    escalation = Escalation.objects.get()
    assert reverse("payments:escalation-detail", args=[escalation.pk]) in message.body
    assert Notification.objects.get(user=cast.kam).emailed_at is not None


def test_finance_starts_the_job_and_its_result_counts_what_it_did(
    cast, eager_jobs, settings
) -> None:
    settings.PAYMENT_DROP_FOLDER = ""
    _tier(cast.account, 1)
    today = timezone.localdate()
    _invoice(cast.account, today - _days(30))
    _invoice(cast.account, today - _days(60), amount_paid=Decimal("12500.00"))

    job = services.escalation_run_start(user=cast.finance)

    job.refresh_from_db()
    assert (job.kind, job.state, job.created_by) == (
        Job.Kind.ESCALATION_RUN,
        Job.State.SUCCEEDED,
        cast.finance,
    )
    assert job.params == {"on": today.isoformat()}
    assert job.result == {
        "import": {"state": "skipped", "reason": "no_folder"},
        **NOTHING,
        "opened": 1,
        "informed": 1,
    }
    assert Escalation.objects.get().state == S.KAM_INFORMED
    assert len(mail.outbox) == 1


def test_the_daily_beat_queues_a_run_of_its_own(cast, eager_jobs, settings) -> None:
    settings.PAYMENT_DROP_FOLDER = ""

    job = Job.objects.get(pk=tasks.escalations_daily())

    assert (job.state, job.created_by) == (Job.State.SUCCEEDED, None)
    assert job.result["opened"] == 0
