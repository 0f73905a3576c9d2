"""The payment-escalation KPIs of the programme dashboard against hand-computed values, who
sees them, their exports and their query count.

The cases (``build_cases``), opened by the daily job on 20 November 2026 and moved on by the
people through the escalation service:

| case | account, tier | KAM    | open amount       | steps (days after opening) | state        |
| a1   | cast's, Gold  | kam    | 1,000.00 EUR      | –                          | KAM informed |
| a2   | cast's, Gold  | kam    | 300.00 USD of 500 | –                          | KAM informed |
| a3   | cast's, Gold  | kam    | 600.00 EUR        | KAM: promise to pay (2)    | resolved     |
| b1   | other, Silver | Albers | 2,000.00 EUR      | –                          | KAM informed |
| b2   | other, Silver | Albers | 700.00 EUR        | finance: credit note (4)   | resolved     |
| b3   | other, Silver | Albers | 400.00 EUR        | stop decided (4), lifted (6) | stop lifted |
| b4   | other, Silver | Albers | 900.00 USD        | stop decided (4)           | stop decided |
| c1   | no KAM, Gold  | –      | 300.00 EUR        | –                          | open         |
| c2   | no KAM, Gold  | –      | 100.00 EUR        | finance: dispute settled (10.5) | resolved |

A stop is decided after the KAM's statement and finance's proposal.

Open: 5 (Gold 3: 1,300.00 EUR + 300.00 USD; Silver 2: 2,000.00 EUR + 900.00 USD). Median days
to clarification of 2, 4 and 10.5: 4.0 (the mean would be 5.5). Closed 4, resolved 3: 75.0 %
without a delivery stop; delivery stops decided: 2 (b3, b4).
"""

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Account, Region, TeamRole
from kam.models import User
from kam.roles import Role
from kpis.catalogue import KPIS
from kpis.filters import ProgrammeFilterSet
from kpis.selectors.escalations import EscalationKpis, escalation_kpis
from payments.models import Escalation, EscalationAction, EscalationState, Invoice, Resolution
from payments.services import escalation_act, escalations_run
from tests.access import ROLES, Row, check_access
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.payments.factories import InvoiceFactory

DAY = datetime.date(2026, 11, 20)
OPENED = datetime.datetime(2026, 11, 20, 6, 0, tzinfo=datetime.UTC)
PAYMENT_READERS = {"leadership": 200, "finance": 200, "admin": 200}
DASHBOARD = {**PAYMENT_READERS, "viewer": 200}
SECTION = 'id="payment-escalations"'

Clock = Callable[[datetime.datetime], None]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Set the time the services read (``timezone.now`` and the day derived from it)."""

    def set_to(moment: datetime.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@dataclass
class Cases:
    cases: dict[str, Escalation]
    other_kam: User
    unmanaged: Account


def _after(days: float) -> datetime.datetime:
    return OPENED + datetime.timedelta(days=days)


def _invoice(account: Account, amount: str, currency: str = "EUR", paid: str = "0") -> Invoice:
    return InvoiceFactory(
        account=account, amount=Decimal(amount), currency=currency, amount_paid=Decimal(paid)
    )


def _act(case: Escalation, user: User, action: str, **kwargs) -> None:
    escalation_act(
        escalation=case, user=user, action=action, comment=f"{action} by {user}", **kwargs
    )


def build_cases(cast, clock: Clock) -> Cases:
    """The cases of the module's table, through the daily job and the people's steps."""
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    Account.objects.filter(pk=cast.other_account.pk).update(
        tier="Silver", tier_rank=2, region=Region.NORTH
    )
    User.objects.filter(pk=cast.kam.pk).update(first_name="Karl", last_name="Berger")
    other_kam = UserFactory(
        username="albers", first_name="Olga", last_name="Albers", roles=[Role.KEY_ACCOUNT_MANAGER]
    )
    TeamMemberFactory(account=cast.other_account, user=other_kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    unmanaged = AccountFactory(name="Ohne KAM AG", tier="Gold", tier_rank=1)
    invoices = {
        "a1": _invoice(cast.account, "1000"),
        "a2": _invoice(cast.account, "500", "USD", paid="200"),
        "a3": _invoice(cast.account, "600"),
        "b1": _invoice(cast.other_account, "2000"),
        "b2": _invoice(cast.other_account, "700"),
        "b3": _invoice(cast.other_account, "400"),
        "b4": _invoice(cast.other_account, "900", "USD"),
        "c1": _invoice(unmanaged, "300"),
        "c2": _invoice(unmanaged, "100"),
    }
    _invoice(AccountFactory(name="Kein Schlüsselkunde GmbH"), "5000")  # not a key account
    InvoiceFactory(  # not yet overdue
        account=cast.account, due_date=DAY + datetime.timedelta(days=60), amount=Decimal("800")
    )
    clock(OPENED)
    escalations_run(on=DAY)
    cases = {name: Escalation.objects.get(invoice=invoice) for name, invoice in invoices.items()}

    clock(_after(2))
    _act(
        cases["a3"],
        cast.kam,
        EscalationAction.RESOLVE,
        resolution=Resolution.PROMISE_TO_PAY,
        promised_date=DAY + datetime.timedelta(days=30),
    )
    clock(_after(4))
    _act(cases["b2"], cast.finance, EscalationAction.RESOLVE, resolution=Resolution.CREDIT_NOTE)
    for name in ("b3", "b4"):
        _act(cases[name], other_kam, EscalationAction.STATEMENT)
        _act(cases[name], cast.finance, EscalationAction.PROPOSE_STOP)
        _act(cases[name], cast.finance, EscalationAction.DECIDE_STOP)
    clock(_after(6))
    _act(cases["b3"], cast.finance, EscalationAction.LIFT_STOP)
    clock(_after(10.5))
    _act(cases["c2"], cast.finance, EscalationAction.RESOLVE, resolution=Resolution.DISPUTE_SETTLED)
    for case in cases.values():
        case.refresh_from_db()
    return Cases(cases=cases, other_kam=other_kam, unmanaged=unmanaged)


def kpis_for(user: User, **data: str) -> EscalationKpis:
    filterset = ProgrammeFilterSet(data, queryset=Account.objects.all())
    filterset.is_valid()
    return escalation_kpis(user=user, filterset=filterset)


def _at_risk(group) -> list[tuple[str, int, Decimal]]:
    return [(part.currency, part.open, part.amount) for part in group.amounts]


def test_the_cases_are_in_the_states_of_the_table(cast, clock) -> None:
    cases = build_cases(cast, clock).cases

    assert {name: case.state for name, case in cases.items()} == {
        "a1": EscalationState.KAM_INFORMED,
        "a2": EscalationState.KAM_INFORMED,
        "a3": EscalationState.RESOLVED,
        "b1": EscalationState.KAM_INFORMED,
        "b2": EscalationState.RESOLVED,
        "b3": EscalationState.STOP_LIFTED,
        "b4": EscalationState.STOP_DECIDED,
        "c1": EscalationState.OPEN,
        "c2": EscalationState.RESOLVED,
    }
    assert Escalation.objects.count() == 9  # nothing for the other account or the invoice not due


def test_open_escalations_and_amounts_per_tier_and_currency(cast, clock) -> None:
    build_cases(cast, clock)

    kpis = kpis_for(cast.finance)

    assert [(group.label, group.open) for group in kpis.tiers] == [("Gold", 3), ("Silver", 2)]
    assert _at_risk(kpis.tiers[0]) == [
        ("EUR", 2, Decimal("1300.00")),
        ("USD", 1, Decimal("300.00")),
    ]
    assert _at_risk(kpis.tiers[1]) == [
        ("EUR", 1, Decimal("2000.00")),
        ("USD", 1, Decimal("900.00")),
    ]
    assert kpis.total.open == 5
    assert _at_risk(kpis.total) == [("EUR", 3, Decimal("3300.00")), ("USD", 2, Decimal("1200.00"))]
    assert all(isinstance(part.amount, Decimal) for part in kpis.total.amounts)


def test_open_escalations_and_amounts_per_key_account_manager(cast, clock) -> None:
    built = build_cases(cast, clock)

    with translation.override("en"):
        kpis = kpis_for(cast.leadership)
        labels = [(group.key, str(group.label), group.open) for group in kpis.managers]

    assert labels == [
        (str(built.other_kam.pk), "Olga Albers", 2),
        (str(cast.kam.pk), "Karl Berger", 2),
        ("", "No key account manager", 1),
    ]
    albers, berger, nobody = kpis.managers
    assert _at_risk(albers) == [("EUR", 1, Decimal("2000.00")), ("USD", 1, Decimal("900.00"))]
    assert _at_risk(berger) == [("EUR", 1, Decimal("1000.00")), ("USD", 1, Decimal("300.00"))]
    assert _at_risk(nobody) == [("EUR", 1, Decimal("300.00"))]


def test_a_tier_is_one_row_whatever_its_rank_when_each_case_opened(cast, clock) -> None:
    build_cases(cast, clock)
    Account.objects.filter(pk=cast.other_account.pk).update(tier_rank=3)
    _invoice(cast.other_account, "50")
    clock(_after(1))

    escalations_run(on=DAY + datetime.timedelta(days=1))

    assert set(Escalation.objects.filter(tier="Silver").values_list("tier_rank", flat=True)) == {
        2,
        3,
    }
    kpis = kpis_for(cast.finance)
    assert [(group.label, group.open) for group in kpis.tiers] == [("Gold", 3), ("Silver", 3)]
    assert _at_risk(kpis.tiers[1])[0] == ("EUR", 2, Decimal("2050.00"))


def test_median_days_to_clarification_and_share_without_delivery_stop(cast, clock) -> None:
    build_cases(cast, clock)

    kpis = kpis_for(cast.admin)

    assert kpis.clarified == 3
    assert kpis.median_days == Decimal("4.0")  # of 2, 4 and 10.5 days; not their mean 5.5
    assert (kpis.closed, kpis.resolved, kpis.stops_decided) == (4, 3, 2)
    assert kpis.resolved_without_stop == Decimal("75.0")


def test_a_broken_promise_leaves_the_clarified_cases_until_resolved_again(cast, clock) -> None:
    cases = build_cases(cast, clock).cases
    clock(_after(40))

    escalations_run(on=DAY + datetime.timedelta(days=40))  # a3's promised date has passed

    cases["a3"].refresh_from_db()
    assert cases["a3"].state == EscalationState.KAM_INFORMED
    kpis = kpis_for(cast.finance)
    assert kpis.clarified == 2
    assert kpis.median_days == Decimal("7.2")  # of 4 and 10.5 days: 7.25, rounded half even
    assert (kpis.closed, kpis.resolved) == (3, 2)
    assert kpis.resolved_without_stop == Decimal("66.7")
    assert kpis.total.open == 6


def test_the_dashboards_filters_narrow_the_cases(cast, clock) -> None:
    build_cases(cast, clock)

    silver = kpis_for(cast.finance, tier="Silver")
    north = kpis_for(cast.finance, region=Region.NORTH, tier="all")
    managed_by_kam = kpis_for(cast.finance, kam=str(cast.kam.pk))
    not_key = kpis_for(cast.finance, tier="none")

    for kpis in (silver, north):
        assert [group.label for group in kpis.tiers] == ["Silver"]
        assert kpis.total.open == 2
        assert (kpis.closed, kpis.resolved, kpis.stops_decided) == (2, 1, 2)
        assert kpis.median_days == Decimal("4.0")
        assert kpis.resolved_without_stop == Decimal("50.0")
    assert [group.label for group in managed_by_kam.managers] == ["Karl Berger"]
    assert _at_risk(managed_by_kam.total) == [
        ("EUR", 1, Decimal("1000.00")),
        ("USD", 1, Decimal("300.00")),
    ]
    assert managed_by_kam.median_days == Decimal("2.0")
    assert not_key.total.open == 0
    assert not_key.median_days is None
    assert not_key.resolved_without_stop is None


@pytest.mark.parametrize("role", ["viewer", "kam", "outsider_kam", "team_member", "no_role"])
def test_only_who_reads_every_payment_gets_the_kpis(cast, role) -> None:
    with pytest.raises(PermissionDenied):
        kpis_for(cast.by_name(role))


MATRIX = (
    Row("dashboard", "get", "kpis:dashboard", 403, DASHBOARD),
    Row("tiers csv", "get", "kpis:dashboard-export escalation-tiers csv", 403, PAYMENT_READERS),
    Row("managers xlsx", "get", "kpis:dashboard-export escalation-managers xlsx", 403,
        PAYMENT_READERS),
    Row("unknown format", "get", "kpis:dashboard-export escalation-tiers pdf", 404),
)  # fmt: skip


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
@pytest.mark.parametrize("role", ROLES)
def test_access(client, cast, row, role) -> None:
    check_access(client, cast, {}, row, role)


def _page(client, user: User, language: str = "en", query: str = "") -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(reverse("kpis:dashboard") + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ("Payment escalations", "€3,300.00", "$1,200.00", "€1,300.00", "$900.00",
                "75.0\u00a0%", "4.0 days", "Olga Albers")),
        ("de", ("3.300,00\u00a0€", "1.200,00\u00a0$", "1.300,00\u00a0€", "75,0\u00a0%")),
    ],
)  # fmt: skip
def test_the_section_shows_the_kpis_localised(client, cast, clock, language, texts) -> None:
    build_cases(cast, clock)

    html = _page(client, cast.finance, language)

    assert SECTION in html
    for text in texts:
        assert text in html
    for key in ("escalations_open", "amount_at_risk", "days_to_clarification",
                "resolved_without_stop"):  # fmt: skip
        assert f'id="kpi-{key}"' in html
    assert html.index('id="chart-escalation-tiers-title"') < html.index(
        'id="table-escalation-tiers"'
    )
    assert 'id="table-escalation-managers"' in html
    assert "style=" not in html


def test_the_viewer_sees_the_dashboard_without_the_section(client, cast, clock) -> None:
    build_cases(cast, clock)

    html = _page(client, cast.viewer)

    assert SECTION not in html
    assert "3,300.00" not in html
    assert 'id="kpi-amount_at_risk"' not in html
    assert "escalation-tiers" not in html


def test_the_section_follows_the_filters(client, cast, clock) -> None:
    build_cases(cast, clock)

    html = _page(client, cast.leadership, query="?tier=Silver")

    section = html[html.index(SECTION) :]
    assert "€2,000.00" in section
    assert "€1,300.00" not in section
    assert "Karl Berger" not in section


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def _xlsx(response) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_exports_have_a_row_per_group_and_currency(client, cast, clock) -> None:
    build_cases(cast, clock)
    cast.finance.language = "en"
    cast.finance.save(update_fields=["language"])
    client.force_login(cast.finance)
    export = reverse("kpis:dashboard-export", args=["escalation-tiers", "csv"])

    tiers = _csv(client.get(export))
    silver = _csv(client.get(export + "?tier=Silver"))
    managers = _xlsx(
        client.get(reverse("kpis:dashboard-export", args=["escalation-managers", "xlsx"]))
    )

    assert tiers == [
        ["Tier", "Currency", "Open escalations", "Amount at risk"],
        ["Gold", "EUR", "2", "1300.00"],
        ["Gold", "USD", "1", "300.00"],
        ["Silver", "EUR", "1", "2000.00"],
        ["Silver", "USD", "1", "900.00"],
    ]
    assert silver[1:] == tiers[3:]
    assert managers[1:] == [
        ["Olga Albers", "EUR", 1, 2000],
        ["Olga Albers", "USD", 1, 900],
        ["Karl Berger", "EUR", 1, 1000],
        ["Karl Berger", "USD", 1, 300],
        ["No key account manager", "EUR", 1, 300],
    ]


def test_the_kpi_export_lists_the_escalation_kpis_for_payment_readers_only(
    client, cast, clock
) -> None:
    build_cases(cast, clock)
    url = reverse("kpis:dashboard-export", args=["kpis", "xlsx"])

    client.force_login(cast.leadership)
    rows = _xlsx(client.get(url))
    client.force_login(cast.viewer)
    viewer_rows = _xlsx(client.get(url))

    names = {str(KPIS[key].name) for key in ("escalations_open", "amount_at_risk")}
    at_risk = [row for row in rows if row[0] == str(KPIS["amount_at_risk"].name)]
    assert [(row[1], row[2]) for row in at_risk] == [(3300, "EUR"), (1200, "USD")]
    assert [row[1] for row in rows if row[0] == str(KPIS["resolved_without_stop"].name)] == [75]
    assert not names & {row[0] for row in viewer_rows}


def _more_cases(count: int, clock: Clock, on: datetime.date) -> None:
    """``count`` more key accounts, each with its own KAM, tier and currency and one overdue
    invoice, opened by the daily job on ``on``; every other case resolved by finance."""
    finance = UserFactory(roles=[Role.FINANCE])
    accounts = []
    for index in range(count):
        account = AccountFactory(tier=f"Tier {index}", tier_rank=10 + index)
        TeamMemberFactory(account=account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER)
        _invoice(account, "100", ("EUR", "USD", "CHF")[index % 3])
        accounts.append(account)
    clock(datetime.datetime.combine(on, datetime.time(6), tzinfo=datetime.UTC))
    escalations_run(on=on)
    clock(datetime.datetime.combine(on, datetime.time(18), tzinfo=datetime.UTC))
    for account in accounts[::2]:
        _act(
            Escalation.objects.get(account=account),
            finance,
            EscalationAction.RESOLVE,
            resolution=Resolution.PAYMENT_PLAN,
        )


def _queries(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("query", ["", "?tier=all&kam=", "?region=north"])
def test_the_query_count_does_not_grow_with_the_cases(
    client, cast, clock, django_assert_max_num_queries, query
) -> None:
    build_cases(cast, clock)
    url = reverse("kpis:dashboard") + query
    client.force_login(cast.viewer)
    without_section = _queries(client, url)
    client.force_login(cast.leadership)
    few = _queries(client, url)

    _more_cases(12, clock, DAY + datetime.timedelta(days=1))

    cache.clear()
    with django_assert_max_num_queries(few):
        assert client.get(url).status_code == 200
    assert few - without_section <= 5  # the section's own reads (4 on SQLite, 3 on PostgreSQL)
