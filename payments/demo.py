"""The demo's open items and payment escalations: a case in every state, with real timelines.

Used by ``seed_demo`` after the figures; idempotent (skipped once its invoices exist). Finance
sets the escalation policy and enters the invoices; then the last weeks are replayed day by
day: each morning the daily job runs with that day's date, and during the day the key account
managers, finance and sales leadership take their steps through the services. What a day's
steps wrote at the real clock is then moved to that day, so each timeline reads like weeks of
work. Gold and Silver are escalated with the KAM; Bronze follows normal dunning, and so do the
accounts that are no key accounts. One case opens on a day its account is between two KAMs
and waits, open, for finance to inform the successor.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account, AccountTeamMember, TeamRole
from kam.models import Notification, User
from payments import services
from payments.models import Escalation, EscalationAction, EscalationEvent, Invoice, Resolution
from payments.services.escalations import key_account_managers

A = EscalationAction
NUMBER_BASE = 40100
# tier rank: (covered, grace days, days to clarify)
POLICIES = {1: (True, 3, 5), 2: (True, 5, 7), 3: (False, 10, 10)}
PAYS = "pays"


@dataclass(frozen=True)
class Step:
    """What someone does ``ago`` days before today: ``who`` is ``"kam"`` (the account's key
    account manager) or a demo username; ``action`` a step of the escalation, or ``PAYS``
    (finance books ``amount_paid``, by default the whole invoice)."""

    ago: int
    who: str
    action: str
    comment: str = ""
    resolution: str = ""
    promised_in: int | None = None
    amount_paid: str | None = None


def _kam(ago: int, action: str, comment: str, **extra) -> Step:
    return Step(ago, "kam", action, comment, **extra)


def _by(who: str, ago: int, action: str, comment: str, **extra) -> Step:
    return Step(ago, who, action, comment, **extra)


def _pays(ago: int, amount_paid: str | None = None) -> Step:
    return Step(ago, "finanz", PAYS, amount_paid=amount_paid)


@dataclass(frozen=True)
class Case:
    """An overdue invoice of a key account the daily job escalates ``opens`` days ago (its due
    date follows from the tier's grace days), and what the people do about it. ``kam_vacant``:
    the account has no key account manager on that day, so nobody is informed."""

    tier_rank: int
    amount: str
    opens: int
    steps: tuple[Step, ...] = ()
    currency: str = "EUR"
    paid: str = "0"
    kam_vacant: bool = False


@dataclass(frozen=True)
class Item:
    """An invoice the job leaves alone (due ``due`` days from today): not yet due, paid, within
    its grace days, of an uncovered tier or of an account that is no key account (rank None)."""

    tier_rank: int | None
    amount: str
    due: int
    paid: str = "0"


CASES = (
    Case(2, "18400.00", 2, kam_vacant=True),
    Case(1, "42750.00", 1),
    Case(
        2,
        "9860.00",
        6,
        (
            _kam(
                4,
                A.STATEMENT,
                "Der Kunde vermisst den Lieferschein zur Teillieferung; ich kläre das.",
            ),
            _by("finanz", 3, A.COMMENT, "Lieferschein als PDF an den KAM geschickt."),
        ),
        currency="CHF",
    ),
    Case(
        1,
        "27300.00",
        20,
        (
            _kam(
                19,
                A.STATEMENT,
                "Die Rechnung hängt im Freigabelauf des Kunden; Zahlung kommt diese Woche.",
            ),
            _pays(17),
        ),
    ),
    Case(
        2,
        "15980.00",
        10,
        (
            _kam(
                8,
                A.RESOLVE,
                "Die Leiterin Finanzen des Kunden sagt die Zahlung schriftlich zu.",
                resolution=Resolution.PROMISE_TO_PAY,
                promised_in=12,
            ),
        ),
    ),
    Case(
        1,
        "63200.00",
        25,
        (
            _kam(
                24,
                A.STATEMENT,
                "Der Kunde reklamiert die Preise der Positionen 3 bis 5 (alte Preisliste).",
            ),
            _kam(
                21,
                A.RESOLVE,
                "Preisabweichung geklärt: die Preise stimmen, der Kunde zahlt den vollen Betrag.",
                resolution=Resolution.DISPUTE_SETTLED,
            ),
        ),
    ),
    Case(
        2,
        "36000.00",
        30,
        (
            _kam(
                28,
                A.STATEMENT,
                "Liquiditätsengpass nach dem Brand im Lager; der Kunde bittet um Raten.",
            ),
            _kam(
                26,
                A.RESOLVE,
                "Drei Monatsraten à 12.000 € vereinbart, die erste zum Monatsende.",
                resolution=Resolution.PAYMENT_PLAN,
            ),
            _pays(20, amount_paid="12000.00"),
        ),
    ),
    Case(
        1,
        "21540.00",
        15,
        (
            _kam(
                14,
                A.STATEMENT,
                "Mengendifferenz: 40 Stück fehlten bei der Anlieferung im Werk Nord.",
            ),
            _by(
                "finanz",
                12,
                A.RESOLVE,
                "Gutschrift über die fehlende Menge erstellt; der Rest ist bezahlt.",
                resolution=Resolution.CREDIT_NOTE,
            ),
        ),
    ),
    Case(
        2,
        "12750.00",
        12,
        (
            _kam(
                10,
                A.RESOLVE,
                "Zahlung zugesagt nach der Freigabe durch den Geschäftsführer.",
                resolution=Resolution.PROMISE_TO_PAY,
                promised_in=6,
            ),
        ),
    ),
    Case(1, "88900.00", 9),
    Case(
        1,
        "54300.00",
        14,
        (
            _by(
                "finanz",
                6,
                A.PROPOSE_STOP,
                "Seit drei Wochen überfällig, keine Antwort trotz Frist.",
            ),
            _kam(
                5,
                A.STATEMENT,
                "Bitte keine Sperre: der Kunde stellt sein ERP um, die Zahlung läuft danach.",
            ),
            _by("leitung", 4, A.COMMENT, "Ich spreche mit der Geschäftsführung des Kunden."),
        ),
    ),
    Case(
        1,
        "148200.00",
        28,
        (
            _kam(
                26,
                A.STATEMENT,
                "Der Kunde verweist auf eine offene Reklamation, die längst erledigt ist.",
            ),
            _by(
                "finanz",
                20,
                A.PROPOSE_STOP,
                "Die Reklamation ist abgeschlossen; trotzdem kein Zahlungseingang.",
            ),
            _kam(
                19,
                A.STATEMENT,
                "Einverstanden: ohne Zahlung bis Freitag keine weiteren Lieferungen.",
            ),
            _by("finanz", 18, A.DECIDE_STOP, "Lieferstopp ab Montag, bis die Zahlung eingeht."),
            _by(
                "leitung",
                17,
                A.DECIDE_STOP,
                "Für den Gold-Kunden mitentschieden; der KAM informiert den Einkauf.",
            ),
        ),
    ),
    Case(
        2,
        "24600.00",
        16,
        (
            _kam(14, A.STATEMENT, "Der Kunde ist über den Betrag informiert und prüft."),
            _by("finanz", 7, A.PROPOSE_STOP, "Frist verstrichen, keine Zahlung."),
            _kam(6, A.STATEMENT, "Ich kann die Zahlung nicht zusagen; die Sperre ist vertretbar."),
            _by("finanz", 5, A.DECIDE_STOP, "Lieferstopp beschlossen."),
        ),
    ),
    Case(
        2,
        "31800.00",
        40,
        (
            _kam(
                38,
                A.STATEMENT,
                "Schutzschirmverfahren: Zahlungen nur mit Zustimmung des Sachwalters.",
            ),
            _by("finanz", 35, A.PROPOSE_STOP, "Keine weiteren Lieferungen auf offene Rechnung."),
            _kam(34, A.STATEMENT, "Verstanden; Lieferungen nur noch gegen Vorkasse."),
            _by("finanz", 33, A.DECIDE_STOP, "Lieferstopp bis zum Ausgleich der Rechnung."),
            _pays(29),
        ),
    ),
    Case(
        1,
        "47100.00",
        18,
        (
            _kam(16, A.STATEMENT, "Der neue Rahmenvertrag steht kurz vor der Unterschrift."),
            _by(
                "finanz",
                11,
                A.PROPOSE_STOP,
                "Frist verstrichen; wir schlagen einen Lieferstopp vor.",
            ),
            _kam(10, A.STATEMENT, "Eine Sperre gefährdet den Rahmenvertrag über drei Jahre."),
            _by(
                "leitung",
                9,
                A.REJECT_STOP,
                "Keine Sperre während der Verhandlung; der KAM holt die Zahlung bis Monatsende.",
            ),
        ),
    ),
)

ITEMS = (
    Item(1, "12900.00", -2),
    Item(1, "33400.00", 10),
    Item(2, "8700.00", 21),
    Item(1, "19250.00", 30),
    Item(1, "22800.00", -35, paid="22800.00"),
    Item(2, "6450.00", -50, paid="6450.00"),
    Item(2, "14200.00", 12, paid="5000.00"),
    Item(3, "7300.00", -20),
    Item(3, "11900.00", -45),
    Item(None, "4850.00", -15),
    Item(None, "9120.00", -60),
    Item(None, "3300.00", 14),
    Item(None, "5600.00", -40, paid="5600.00"),
)
PAYMENT_TERM_DAYS = 30


@dataclass
class _Clock:
    """Moves the timestamps a step wrote at the real clock to the simulated day it happened
    on; steps of one day follow each other a few minutes apart."""

    minutes: dict[datetime.date, int] = field(default_factory=dict)

    @contextmanager
    def at(self, day: datetime.date, hour: int) -> Iterator[None]:
        since = timezone.now()
        yield
        minute = self.minutes.get(day, 0)
        self.minutes[day] = minute + 17
        moment = timezone.make_aware(
            datetime.datetime.combine(day, datetime.time(hour)) + datetime.timedelta(minutes=minute)
        )
        stamps = {
            Escalation: (
                "opened_at",
                "kam_informed_at",
                "kam_heard_at",
                "deadline_missed_at",
                "clarified_at",
                "closed_at",
            ),
            EscalationEvent: ("created_at",),
            Notification: ("created_at",),
        }
        for model, names in stamps.items():
            for name in names:
                model.objects.filter(**{f"{name}__gte": since}).update(**{name: moment})


def _by_tier(key_accounts: list[Account]) -> dict[int, list[Account]]:
    tiers: dict[int, list[Account]] = {}
    for account in sorted(key_accounts, key=lambda a: a.erp_number):
        if account.tier_rank:
            tiers.setdefault(account.tier_rank, []).append(account)
    return tiers


@contextmanager
def _kam_between_two(account: Account) -> Iterator[None]:
    """The account's key account manager is off its team for the block: the case the job
    opens then waits, open, for finance to inform the successor. (The demo's teams are the
    seed's; its KAM is back once the block ends, so a second seed changes nothing.)"""
    leaving = list(
        AccountTeamMember.objects.filter(
            account=account, role=TeamRole.KEY_ACCOUNT_MANAGER
        ).values_list("pk", flat=True)
    )
    AccountTeamMember.objects.filter(pk__in=leaving).update(role=TeamRole.SALES)
    yield
    AccountTeamMember.objects.filter(pk__in=leaving).update(role=TeamRole.KEY_ACCOUNT_MANAGER)


def seed_payments(
    *,
    accounts: list[Account],
    key_accounts: list[Account],
    users: dict[str, User],
    today: datetime.date,
) -> dict[str, int]:
    """Policies, invoices and escalations in every state, unless the demo's invoices exist;
    returns how many invoices and escalations it made."""
    numbers = [f"RE-{NUMBER_BASE + n}" for n in range(len(CASES) + len(ITEMS))]
    if Invoice.objects.filter(number__in=numbers).exists():
        return {"invoices": 0, "payment escalations": 0}
    finance = users["finanz"]
    for rank, (covered, grace, days) in POLICIES.items():
        services.policy_save(
            user=finance, tier_rank=rank, covered=covered, grace_days=grace, clarification_days=days
        )
    tiers = _by_tier(key_accounts)
    others = [a for a in sorted(accounts, key=lambda a: a.erp_number) if not a.tier]
    turn = dict.fromkeys((*tiers, None), 0)

    def account_of(rank: int | None) -> Account:
        pool = tiers[rank] if rank is not None else others
        account = pool[turn[rank] % len(pool)]
        turn[rank] += 1
        return account

    def enter(account: Account, number: str, amount: str, due: datetime.date, **values) -> Invoice:
        paid = Decimal(values.pop("paid", "0"))
        return services.invoice_save(
            user=finance,
            account=account,
            number=number,
            amount=Decimal(amount),
            currency=values.pop("currency", "EUR"),
            issue_date=due - datetime.timedelta(days=PAYMENT_TERM_DAYS),
            due_date=due,
            amount_paid=paid,
            paid_date=due - datetime.timedelta(days=2) if paid else None,
        )

    numbered = iter(numbers)
    scripts: dict[int, list[tuple[Invoice, Step]]] = {}
    vacant: dict[int, Account] = {}
    for case in CASES:
        account = account_of(case.tier_rank)
        if case.kam_vacant:
            vacant[case.opens] = account
        grace = POLICIES[case.tier_rank][1]
        due = today - datetime.timedelta(days=case.opens + grace + 1)
        invoice = enter(
            account, next(numbered), case.amount, due, currency=case.currency, paid=case.paid
        )
        for step in case.steps:
            scripts.setdefault(step.ago, []).append((invoice, step))
    for item in ITEMS:
        due = today + datetime.timedelta(days=item.due)
        enter(account_of(item.tier_rank), next(numbered), item.amount, due, paid=item.paid)

    clock = _Clock()
    first = max(case.opens for case in CASES) + 1
    for ago in range(first, -1, -1):
        day = today - datetime.timedelta(days=ago)
        with clock.at(day, 5):
            if ago in vacant:
                with _kam_between_two(vacant[ago]):
                    services.escalations_run(on=day)
            else:
                services.escalations_run(on=day)
        for invoice, step in scripts.get(ago, []):
            with clock.at(day, 9):
                _take(step, invoice, users, day)
    made = Escalation.objects.filter(invoice__number__in=numbers).count()
    return {"invoices": len(numbers), "payment escalations": made}


def _take(step: Step, invoice: Invoice, users: dict[str, User], day: datetime.date) -> None:
    invoice.refresh_from_db()
    if step.action == PAYS:
        services.invoice_save(
            user=users[step.who],
            invoice=invoice,
            version=invoice.version,
            account=invoice.account,
            number=invoice.number,
            amount=invoice.amount,
            currency=invoice.currency,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount_paid=Decimal(step.amount_paid) if step.amount_paid else invoice.amount,
            paid_date=day,
        )
        return
    if step.who == "kam":
        user = key_account_managers([invoice.account_id])[invoice.account_id]
    else:
        user = users[step.who]
    promised = None
    if step.promised_in is not None:
        promised = day + datetime.timedelta(days=step.promised_in)
    services.escalation_act(
        escalation=invoice.escalations.order_by("-pk").first(),
        user=user,
        action=step.action,
        comment=step.comment,
        resolution=step.resolution,
        promised_date=promised,
        on=day,
    )
