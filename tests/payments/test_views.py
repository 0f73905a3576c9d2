"""The payments pages: the queue's filters, sums per currency, sorting and export; the step
forms (errors keep the input, a stale version says so, buttons come from the workflow); the
invoice list and form; the policy; the account tab; the start page; and query counts."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import Account, TeamRole
from kam.templatetags.kam import money
from payments import services, workflow
from payments.models import Escalation, EscalationPolicy, Invoice
from payments.models import EscalationAction as A
from payments.models import EscalationState as S
from payments.selectors import escalation_filterset, escalation_totals
from payments.services.escalations import case_of
from tests.factories import AccountFactory, TeamMemberFactory
from tests.payments.factories import InvoiceFactory

TIERS = {1: "Gold", 2: "Silver", 3: "Bronze"}


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(days: int) -> datetime.date:
    return today() - datetime.timedelta(days=days)


def open_escalation(
    account: Account,
    *,
    tier_rank: int = 1,
    days_overdue: int = 30,
    opened_days_ago: int = 0,
    **invoice: object,
) -> Escalation:
    """An overdue invoice of ``account`` (made a key account of ``tier_rank``) and the
    escalation the daily job opens for it ``opened_days_ago`` days ago (the KAM informed when
    the account has one); the job runs again today when that was earlier."""
    Account.objects.filter(pk=account.pk).update(tier=TIERS[tier_rank], tier_rank=tier_rank)
    invoice_row = InvoiceFactory(
        account=account,
        issue_date=days_ago(days_overdue + 30),
        due_date=days_ago(days_overdue),
        **invoice,
    )
    services.escalations_run(on=days_ago(opened_days_ago))
    if opened_days_ago:
        services.escalations_run(on=today())
    return Escalation.objects.get(invoice=invoice_row)


def step_data(escalation: Escalation, action: str, *, comment: str = "", **fields: str) -> dict:
    """The POST of the step form for ``action`` (its fields carry the step as prefix)."""
    data = {
        "action": action,
        f"{action}-comment": comment,
        f"{action}-version": str(escalation.version),
    }
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return data


def numbers(rows) -> list[str]:
    return [row.invoice.number for row in rows]


@pytest.fixture
def world(cast):
    """A: the KAM's top-tier account, 40 days overdue, deadline missed, 10,000 EUR.
    B: another KAM's Silver account, 12 days overdue, 5,000 CHF.
    C: a closed (resolved) escalation of a Silver account.
    D: the KAM's account again, 3,000 EUR of which 1,000 paid."""
    TeamMemberFactory(
        account=cast.other_account, user=cast.outsider_kam, role=TeamRole.KEY_ACCOUNT_MANAGER
    )
    a = open_escalation(
        cast.account, number="A-1", amount=Decimal("10000"), days_overdue=40, opened_days_ago=20
    )
    b = open_escalation(
        cast.other_account, tier_rank=2, number="B-1", amount=Decimal("5000"), currency="CHF",
        days_overdue=12,
    )  # fmt: skip
    third = AccountFactory(name="Carstens Chemie AG")
    c = open_escalation(third, tier_rank=2, number="C-1", amount=Decimal("2000"))
    services.escalation_act(
        escalation=c, user=cast.finance, action=A.RESOLVE, comment="Bezahlt.", resolution="paid"
    )
    d = open_escalation(
        cast.account, number="D-1", amount=Decimal("3000"), amount_paid=Decimal("1000")
    )
    return {"A": a, "B": b, "C": c, "D": d}


def queue(client, **params) -> list[str]:
    response = client.get(reverse("payments:escalation-list"), params)
    assert response.status_code == 200
    return numbers(response.context["escalations"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["A-1", "B-1", "D-1"]),
        ({"state": "all"}, ["A-1", "B-1", "C-1", "D-1"]),
        ({"state": S.RESOLVED}, ["C-1"]),
        ({"state": S.KAM_INFORMED}, ["A-1", "B-1", "D-1"]),
        ({"tier": "Silver"}, ["B-1"]),
        ({"kam": "{kam}"}, ["A-1", "D-1"]),
        ({"deadline_passed": "true"}, ["A-1"]),
        ({"deadline_passed": "false"}, ["B-1", "D-1"]),
        ({"days_overdue": "31"}, ["A-1"]),
        ({"days_overdue": "30"}, ["A-1", "D-1"]),
        ({"amount_min": "4000"}, ["A-1", "B-1"]),
        ({"amount_max": "4000"}, ["D-1"]),
        ({"amount_min": "2000", "amount_max": "2000"}, ["D-1"]),
        ({"q": "b-1"}, ["B-1"]),
        ({"q": "Lorenz"}, ["B-1"]),
        ({"sort": "-amount"}, ["A-1", "B-1", "D-1"]),
        ({"sort": "days_overdue"}, ["B-1", "D-1", "A-1"]),
        ({"sort": "account"}, ["A-1", "D-1", "B-1"]),
    ],
)
def test_queue_filters_and_sorts(client, cast, world, params, expected) -> None:
    params = {key: value.format(kam=cast.kam.pk) for key, value in params.items()}
    client.force_login(cast.finance)

    assert queue(client, **params) == expected


def test_a_kam_sees_only_the_escalations_of_their_accounts(client, cast, world) -> None:
    client.force_login(cast.kam)
    assert queue(client, state="all") == ["A-1", "D-1"]
    client.force_login(cast.outsider_kam)
    assert queue(client, state="all") == ["B-1"]
    client.force_login(cast.team_member)
    assert queue(client, state="all") == []


def test_amounts_at_risk_per_currency(client, cast, world) -> None:
    client.force_login(cast.finance)

    response = client.get(reverse("payments:escalation-list"), {"state": "all"})

    totals = {t.currency: t for t in response.context["totals"].currencies}
    # C is closed: not at risk. D counts its open 2,000, not its 3,000.
    assert {c: (t.open_amount, t.count) for c, t in totals.items()} == {
        "CHF": (Decimal("5000"), 1),
        "EUR": (Decimal("12000"), 2),
    }
    assert totals["EUR"].deadline_missed == 1
    page = response.content.decode()
    with translation.override("de"):
        assert money(Decimal("12000"), "EUR") in page
        assert money(Decimal("5000"), "CHF") in page


def test_amounts_at_risk_are_one_grouped_query(cast, world, django_assert_num_queries) -> None:
    escalations = escalation_filterset(user=cast.finance, data={}).qs

    with django_assert_num_queries(1):
        totals = escalation_totals(escalations)

    assert [t.currency for t in totals.currencies] == ["CHF", "EUR"]


def test_missed_deadlines_are_flagged_in_the_queue(client, cast, world) -> None:
    client.force_login(cast.finance)

    response = client.get(reverse("payments:escalation-list"))

    rows = {row.invoice.number: row for row in response.context["escalations"]}
    assert rows["A-1"].deadline_missed_at is not None
    assert rows["D-1"].deadline_missed_at is None
    page = response.content.decode()
    assert page.count('class="table-danger"') == 1
    assert gettext("Escalated to sales leadership") in page


def test_csv_export_holds_the_filtered_queue(client, cast, world) -> None:
    client.force_login(cast.finance)

    response = client.get(
        reverse("payments:escalation-export", args=["csv"]), {"state": "all", "tier": "Gold"}
    )

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][:4] == [
        gettext("Account"),
        gettext("ERP customer number"),
        gettext("Invoice number"),
        gettext("Open amount"),
    ]
    assert [row[2] for row in rows[1:]] == ["A-1", "D-1"]
    a, d = rows[1], rows[2]
    assert (a[0], a[3], a[4], a[7]) == ("Brandt Maschinenbau GmbH", "10000,00", "EUR", "40")
    assert d[3] == "2000,00"
    assert a[12]  # escalated to sales leadership on
    assert not d[12]


def test_xlsx_export_holds_numbers(client, cast, world) -> None:
    client.force_login(cast.finance)

    response = client.get(reverse("payments:escalation-export", args=["xlsx"]))

    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[2] for row in rows[1:]] == ["A-1", "B-1", "D-1"]
    assert [(row[3], row[4]) for row in rows[1:]] == [(10000, "EUR"), (5000, "CHF"), (2000, "EUR")]


def test_step_forms_are_the_workflows_steps(client, cast) -> None:
    escalation = open_escalation(cast.account)
    for user in (cast.kam, cast.finance, cast.leadership, cast.admin):
        client.force_login(user)

        response = client.get(reverse("payments:escalation-detail", args=[escalation.pk]))

        parties = frozenset(response.context["detail"].parties)
        expected = [a for a, _p in workflow.allowed(case_of(escalation, today()), parties)]
        assert [form.action for form in response.context["step_forms"]] == expected
        page = response.content.decode()
        assert page.count('name="action"') == len(expected)
    assert expected == []  # the administrator reads only


def test_a_refused_step_keeps_the_input(client, cast) -> None:
    escalation = open_escalation(cast.account)
    client.force_login(cast.kam)

    response = client.post(
        reverse("payments:escalation-act", args=[escalation.pk]),
        step_data(escalation, A.RESOLVE, comment="Zahlung zugesagt.", resolution="promise_to_pay"),
    )

    assert response.status_code == 200
    form = next(f for f in response.context["step_forms"] if f.action == A.RESOLVE)
    assert form.errors["promised_date"]
    page = response.content.decode()
    assert "Zahlung zugesagt." in page
    assert 'value="promise_to_pay" selected' in page
    escalation.refresh_from_db()
    assert escalation.state == S.KAM_INFORMED
    assert escalation.events.count() == 2


def test_a_step_without_comment_is_refused_on_the_field(client, cast) -> None:
    escalation = open_escalation(cast.account)
    client.force_login(cast.kam)

    response = client.post(
        reverse("payments:escalation-act", args=[escalation.pk]),
        step_data(escalation, A.STATEMENT, comment=""),
    )

    form = next(f for f in response.context["step_forms"] if f.action == A.STATEMENT)
    assert "comment" in form.errors
    assert Escalation.objects.get(pk=escalation.pk).state == S.KAM_INFORMED


def test_a_stale_version_says_someone_was_first(client, cast) -> None:
    escalation = open_escalation(cast.account)
    seen = escalation.version
    services.escalation_act(
        escalation=escalation, user=cast.finance, action=A.COMMENT, comment="Erinnerung."
    )
    escalation.refresh_from_db()
    client.force_login(cast.kam)

    response = client.post(
        reverse("payments:escalation-act", args=[escalation.pk]),
        {"action": A.STATEMENT, "statement-comment": "Kunde zahlt.", "statement-version": seen},
    )

    assert response.status_code == 200
    form = response.context["bound"]
    assert [e.code for e in form.errors.as_data()["__all__"]] == ["stale"]
    page = response.content.decode()
    assert "Kunde zahlt." in page
    # The form now carries the current version: sending it again is a deliberate step.
    assert f'name="statement-version" value="{escalation.version}"' in page
    escalation.refresh_from_db()
    assert escalation.state == S.KAM_INFORMED
    assert escalation.kam_heard_at is None


def test_a_step_taken_redirects_to_the_escalation(client, cast) -> None:
    escalation = open_escalation(cast.account)
    client.force_login(cast.kam)

    response = client.post(
        reverse("payments:escalation-act", args=[escalation.pk]),
        step_data(escalation, A.RESOLVE, comment="Zugesagt.", resolution="promise_to_pay",
                  promised_date=(today() + datetime.timedelta(days=7)).isoformat()),
    )  # fmt: skip

    assert response["Location"] == escalation.get_absolute_url()
    escalation.refresh_from_db()
    assert (escalation.state, escalation.resolution) == (S.RESOLVED, "promise_to_pay")
    assert escalation.promised_date == today() + datetime.timedelta(days=7)


def _many_escalations(cast, count: int) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    for _ in range(count):
        InvoiceFactory(account=cast.account, issue_date=days_ago(60), due_date=days_ago(30))
    other = AccountFactory()
    Account.objects.filter(pk=other.pk).update(tier="Silver", tier_rank=2)
    TeamMemberFactory(account=other, role=TeamRole.KEY_ACCOUNT_MANAGER)
    for _ in range(count):
        InvoiceFactory(
            account=other, issue_date=days_ago(60), due_date=days_ago(30), currency="USD"
        )
    services.escalations_run(on=today())


@pytest.mark.parametrize(
    "url",
    [
        "payments:escalation-list",
        "payments:invoice-list",
        "accounts:account-escalations {account}",
        "kam:home",
    ],
)
def test_query_count_does_not_grow_with_rows(client, cast, url, django_assert_max_num_queries):
    name, *args = url.split(" ")
    path = reverse(name, args=[cast.account.pk] if args else [])
    client.force_login(cast.kam if name == "kam:home" else cast.finance)
    _many_escalations(cast, 2)
    with django_assert_max_num_queries(40) as few:
        assert client.get(path).status_code == 200
    _many_escalations(cast, 10)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(path)

    assert response.status_code == 200


def test_detail_query_count_does_not_grow_with_the_timeline(
    client, cast, django_assert_max_num_queries
) -> None:
    escalation = open_escalation(cast.account)
    path = reverse("payments:escalation-detail", args=[escalation.pk])
    client.force_login(cast.finance)
    with django_assert_max_num_queries(40) as few:
        client.get(path)
    for number in range(10):
        services.escalation_act(
            escalation=escalation, user=cast.kam, action=A.COMMENT, comment=f"Notiz {number}"
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(path)

    assert len(response.context["detail"].events) == 12


def test_invoice_list_says_which_overdue_invoices_follow_normal_dunning(client, cast) -> None:
    covered = open_escalation(cast.account, number="K-1")
    plain = InvoiceFactory(
        account=cast.other_account, number="N-1", issue_date=days_ago(60), due_date=days_ago(30)
    )
    bronze = AccountFactory()
    Account.objects.filter(pk=bronze.pk).update(tier="Bronze", tier_rank=3)
    EscalationPolicy.objects.create(tier_rank=3, covered=False, grace_days=5, clarification_days=5)
    uncovered = InvoiceFactory(
        account=bronze, number="U-1", issue_date=days_ago(60), due_date=days_ago(30)
    )
    services.escalations_run(on=today())
    client.force_login(cast.finance)

    response = client.get(reverse("payments:invoice-list"), {"overdue": "on"})

    rows = {row.number: row for row in response.context["invoices"]}
    assert rows["K-1"].escalation_id == covered.pk
    assert rows["K-1"].dunning == ""
    assert rows[plain.number].dunning == gettext("Not a key account: follows normal dunning.")
    assert rows[uncovered.number].dunning == gettext(
        "Tier not covered by the policy: follows normal dunning."
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["OVER", "CHF", "PAID", "SOON"]),
        ({"overdue": "on"}, ["OVER", "CHF"]),
        ({"paid": "paid"}, ["PAID"]),
        ({"paid": "unpaid"}, ["OVER", "CHF", "SOON"]),
        ({"key_accounts": "on"}, ["OVER", "PAID", "SOON"]),
        ({"currency": "CHF"}, ["CHF"]),
        ({"q": "soon"}, ["SOON"]),
        ({"sort": "-due_date"}, ["SOON", "PAID", "CHF", "OVER"]),
    ],
)
def test_invoice_filters(client, cast, params, expected) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    make = InvoiceFactory
    make(account=cast.account, number="OVER", issue_date=days_ago(60), due_date=days_ago(30))
    make(
        account=cast.account,
        number="PAID",
        issue_date=days_ago(20),
        due_date=days_ago(5),
        amount=Decimal("100"),
        amount_paid=Decimal("100"),
    )
    make(account=cast.account, number="SOON", issue_date=days_ago(5), due_date=days_ago(-5))
    make(account=cast.other_account, number="CHF", currency="CHF", issue_date=days_ago(40),
         due_date=days_ago(10))  # fmt: skip
    client.force_login(cast.finance)

    response = client.get(reverse("payments:invoice-list"), params)

    assert [row.number for row in response.context["invoices"]] == expected


def test_invoice_form_names_unknown_accounts_and_duplicate_numbers(client, cast) -> None:
    InvoiceFactory(account=cast.account, number="RE-7")
    client.force_login(cast.finance)
    data = {
        "account": "NOPE",
        "number": "RE-7",
        "amount": "100",
        "currency": "EUR",
        "issue_date": "2026-10-01",
        "due_date": "2026-10-31",
    }

    unknown = client.post(reverse("payments:invoice-create"), data)
    duplicate = client.post(
        reverse("payments:invoice-create"), {**data, "account": cast.account.erp_number}
    )

    assert unknown.context["form"].has_error("account", "unknown_account")
    assert duplicate.context["form"].errors["number"]
    assert Invoice.objects.count() == 1


def test_invoice_change_with_a_stale_version_keeps_the_input(client, cast) -> None:
    invoice = InvoiceFactory(account=cast.account, amount=Decimal("500"))
    seen = invoice.version
    services.invoice_save(
        user=cast.finance,
        invoice=invoice,
        version=seen,
        account=cast.account,
        number=invoice.number,
        amount=Decimal("500"),
        currency="EUR",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount_paid=Decimal("200"),
    )
    client.force_login(cast.finance)
    data = {
        "account": cast.account.erp_number,
        "number": invoice.number,
        "amount": "750,00",
        "currency": "EUR",
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "amount_paid": "0",
        "version": seen,
    }

    response = client.post(reverse("payments:invoice-update", args=[invoice.pk]), data)

    assert response.status_code == 200
    assert response.context["stored"].amount_paid == Decimal("200")
    page = response.content.decode()
    assert 'value="750,00"' in page
    assert f'name="version" value="{seen + 1}"' in page
    invoice.refresh_from_db()
    assert (invoice.amount, invoice.amount_paid) == (Decimal("500"), Decimal("200"))

    client.post(
        reverse("payments:invoice-update", args=[invoice.pk]), {**data, "version": seen + 1}
    )

    invoice.refresh_from_db()
    assert (invoice.amount, invoice.amount_paid) == (Decimal("750"), Decimal("0"))


def test_paying_an_invoice_in_full_closes_its_escalation(client, cast) -> None:
    escalation = open_escalation(cast.account, amount=Decimal("800"))
    invoice = escalation.invoice
    client.force_login(cast.finance)

    client.post(
        reverse("payments:invoice-update", args=[invoice.pk]),
        {
            "account": cast.account.erp_number,
            "number": invoice.number,
            "amount": "800",
            "currency": "EUR",
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat(),
            "amount_paid": "800",
            "paid_date": today().isoformat(),
            "version": invoice.version,
        },
    )

    escalation.refresh_from_db()
    assert (escalation.state, escalation.resolution) == (S.RESOLVED, "paid")


def test_policy_lists_tier_ranks_in_use_read_only_for_administrators(client, cast) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    Account.objects.filter(pk=cast.other_account.pk).update(tier="Silver", tier_rank=2)
    EscalationPolicy.objects.create(tier_rank=2, covered=False, grace_days=3, clarification_days=9)
    client.force_login(cast.admin)

    response = client.get(reverse("payments:policy"))

    rows = [(row.tier_rank, row.tiers, row.covered, row.is_default) for row, _f in
            response.context["rows"]]  # fmt: skip
    assert rows == [(1, ["Gold"], True, True), (2, ["Silver"], False, False)]
    assert response.context["formset"] is None
    assert 'name="form-0-grace_days"' not in response.content.decode()


def test_policy_form_refuses_days_out_of_range(client, cast) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    client.force_login(cast.finance)

    response = client.post(
        reverse("payments:policy"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-tier_rank": "1",
            "form-0-grace_days": "91",
            "form-0-clarification_days": "0",
        },
    )

    assert response.status_code == 200
    errors = response.context["formset"].errors[0]
    assert set(errors) == {"grace_days", "clarification_days"}
    assert not EscalationPolicy.objects.exists()


def _policy_post(rows: list[tuple[int, str, int, int, str]]) -> dict[str, str]:
    """The policy form's POST: per row its rank, covered ("on" or ""), days and ``was``."""
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows))}
    for index, (rank, covered, grace, days, was) in enumerate(rows):
        data |= {
            f"form-{index}-tier_rank": str(rank),
            f"form-{index}-grace_days": str(grace),
            f"form-{index}-clarification_days": str(days),
            f"form-{index}-was": was,
        }
        if covered:
            data[f"form-{index}-covered"] = covered
    return data


@pytest.fixture
def two_tiers(cast) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    Account.objects.filter(pk=cast.other_account.pk).update(tier="Silver", tier_rank=2)


def test_policy_saves_only_the_rows_the_user_changed(client, cast, settings, two_tiers) -> None:
    defaults = f"1 {settings.PAYMENT_GRACE_DAYS} {settings.PAYMENT_CLARIFICATION_DAYS}"
    # Someone else sets tier 1's grace days after this user opened the page.
    services.policies_save(
        user=cast.leadership,
        terms=[{"tier_rank": 1, "covered": True, "grace_days": 30, "clarification_days": 5}],
    )
    client.force_login(cast.finance)

    response = client.post(
        reverse("payments:policy"),
        _policy_post(
            [
                (
                    1,
                    "on",
                    settings.PAYMENT_GRACE_DAYS,
                    settings.PAYMENT_CLARIFICATION_DAYS,
                    defaults,
                ),
                (2, "on", 12, settings.PAYMENT_CLARIFICATION_DAYS, defaults),
            ]
        ),
    )

    assert response.status_code == 302
    terms = {p.tier_rank: (p.grace_days, p.updated_by) for p in EscalationPolicy.objects.all()}
    assert terms == {1: (30, cast.leadership), 2: (12, cast.finance)}


def test_a_policy_conflict_keeps_my_row_shows_theirs_and_saving_again_is_deliberate(
    client, cast, settings, two_tiers
) -> None:
    defaults = f"1 {settings.PAYMENT_GRACE_DAYS} {settings.PAYMENT_CLARIFICATION_DAYS}"
    services.policies_save(
        user=cast.leadership,
        terms=[
            {"tier_rank": 1, "covered": True, "grace_days": 30, "clarification_days": 5},
            {"tier_rank": 2, "covered": False, "grace_days": 40, "clarification_days": 6},
        ],
    )
    client.force_login(cast.finance)

    refused = client.post(
        reverse("payments:policy"),
        _policy_post(
            [
                (1, "on", 21, settings.PAYMENT_CLARIFICATION_DAYS, defaults),
                (
                    2,
                    "on",
                    settings.PAYMENT_GRACE_DAYS,
                    settings.PAYMENT_CLARIFICATION_DAYS,
                    defaults,
                ),
            ]
        ),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert refused.status_code == 200
    formset = refused.context["formset"]
    assert [(c.label, c.theirs, c.current) for c in formset.conflict_changes] == [
        ("Grace days of tier rank 1", str(settings.PAYMENT_GRACE_DAYS), "30")
    ]
    # Mine stays, the row I did not touch shows theirs, and both now start from what is stored.
    assert [form["grace_days"].value() for form in formset] == ["21", "40"]
    assert formset.forms[1]["covered"].value() is False
    assert [form["was"].value() for form in formset] == ["1 30 5", "0 40 6"]
    assert EscalationPolicy.objects.get(tier_rank=1).grace_days == 30

    client.post(reverse("payments:policy"), formset.data)

    terms = {p.tier_rank: (p.covered, p.grace_days) for p in EscalationPolicy.objects.all()}
    assert terms == {1: (True, 21), 2: (False, 40)}


def test_account_tab_shows_escalations_invoices_and_timeline(client, cast, world) -> None:
    InvoiceFactory(
        account=cast.account, number="LATER", issue_date=days_ago(20), due_date=days_ago(-10)
    )
    client.force_login(cast.kam)

    response = client.get(reverse("accounts:account-escalations", args=[cast.account.pk]))

    payments = response.context["payments"]
    assert [e.invoice.number for e in payments.escalations] == ["A-1", "D-1"]
    assert [i.number for i in payments.invoices] == ["A-1", "D-1", "LATER"]
    assert payments.currency_totals == [("EUR", Decimal("24500.00"))]
    assert {e.escalation.invoice.number for e in payments.events} == {"A-1", "D-1"}
    assert payments.events[0].created_at >= payments.events[-1].created_at


def test_closed_escalations_follow_the_active_ones_on_the_account(client, cast) -> None:
    closed = open_escalation(cast.account, number="OLD")
    services.escalation_act(
        escalation=closed, user=cast.finance, action=A.RESOLVE, comment="ok", resolution="paid"
    )
    open_escalation(cast.account, number="NEW")
    client.force_login(cast.finance)

    response = client.get(reverse("accounts:account-escalations", args=[cast.account.pk]))

    assert [e.invoice.number for e in response.context["payments"].escalations] == ["NEW", "OLD"]


def test_start_page_shows_the_kams_active_escalations(client, cast, world) -> None:
    client.force_login(cast.kam)

    response = client.get(reverse("kam:home"))

    work = response.context["work"]
    assert numbers(work.escalations) == ["A-1", "D-1"]
    assert work.escalation_count == 2
    assert 'id="work-escalations"' in response.content.decode()


def test_start_page_hides_the_card_without_escalations(client, cast) -> None:
    client.force_login(cast.kam)

    response = client.get(reverse("kam:home"))

    assert response.context["work"].escalations == []
    assert 'id="work-escalations"' not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "shown"),
    [("finance", True), ("kam", True), ("leadership", True), ("viewer", False), ("no_role", False)],
)
def test_navigation_names_payments_for_those_who_may_open_them(client, cast, role, shown):
    client.force_login(cast.by_name(role))

    response = client.get(reverse("kam:home"))

    urls = [item["url"] for item in response.context["nav_items"]]
    assert (reverse("payments:escalation-list") in urls) is shown


@pytest.mark.parametrize(
    "url",
    [
        "payments:escalation-list",
        "payments:escalation-detail {escalation}",
        "payments:invoice-list",
        "payments:invoice-update {invoice}",
        "payments:policy",
        "accounts:account-escalations {account}",
    ],
)
def test_pages_have_no_inline_styles(client, cast, url) -> None:
    # The content security policy allows style sheets only.
    escalation = open_escalation(cast.account)
    objects = {
        "escalation": escalation.pk,
        "invoice": escalation.invoice_id,
        "account": cast.account.pk,
    }
    name, *args = url.split(" ")
    client.force_login(cast.finance)

    response = client.get(reverse(name, args=[objects[a.strip("{}")] for a in args]))

    assert response.status_code == 200
    assert "style=" not in response.content.decode()


def test_the_currency_choices_come_from_the_cache_and_a_new_currency_filters_at_once(
    client, cast
) -> None:
    InvoiceFactory(account=cast.account, number="EUR-1", due_date=days_ago(-5))
    client.force_login(cast.finance)
    url = reverse("payments:invoice-list")

    # The counts are taken at once: the next request starts a new query log.
    with CaptureQueriesContext(connection) as cold:
        client.get(url)
    cold_queries = len(cold)
    with CaptureQueriesContext(connection) as warm:
        client.get(url)
    warm_queries = len(warm)
    InvoiceFactory(account=cast.account, number="USD-1", currency="USD", due_date=days_ago(-5))
    listed = client.get(url)
    filtered = client.get(url, {"currency": "USD"})

    assert warm_queries == cold_queries - 1
    assert '<option value="USD"' not in listed.content.decode()  # until the cache expires
    assert [row.number for row in filtered.context["invoices"]] == ["USD-1"]
    assert '<option value="USD" selected>' in filtered.content.decode()
