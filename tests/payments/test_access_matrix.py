"""Role × URL × method → status for every URL of the payments app (see tests/access.py), and
the steps on an escalation as data: who may take which step, and what it really changed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from accounts.models import Account
from kam.models import Job
from payments import services
from payments.models import Escalation, EscalationEvent, EscalationPolicy, Invoice, Party
from payments.models import EscalationAction as A
from payments.models import EscalationState as S
from tests.access import LOGIN, ROLES, Row, check_access
from tests.payments.test_views import open_escalation, step_data

OPEN_PAYMENTS = dict.fromkeys(
    ("leadership", "kam", "team_member", "outsider_kam", "finance", "admin"), 200
)
READ_ALL = {"leadership": 200, "finance": 200, "admin": 200}
KAM_READ = READ_ALL | {"kam": 200}
PARTIES = {"leadership": 200, "kam": 200, "finance": 200, "admin": 403}
FINANCE_GET = {"finance": 200}
FINANCE_POST = {"finance": 302}
IN_SCOPE_NOT_FINANCE = {"leadership": 403, "kam": 403, "admin": 403, "finance": 200}
POLICY_EDIT = {"finance": 200, "leadership": 200, "admin": 403}

MATRIX = (
    Row("queue", "get", "payments:escalation-list", 403, OPEN_PAYMENTS),
    Row("queue export csv", "get", "payments:escalation-export csv", 403, OPEN_PAYMENTS),
    Row("queue export xlsx", "get", "payments:escalation-export xlsx", 403, OPEN_PAYMENTS),
    Row("queue export unknown format", "get", "payments:escalation-export pdf", 403,
        dict.fromkeys(OPEN_PAYMENTS, 404)),
    Row("escalation", "get", "payments:escalation-detail {escalation}", 404, KAM_READ),
    Row("escalation missing", "get", "payments:escalation-detail {missing}", 404),
    Row("step without a step", "post", "payments:escalation-act {escalation}", 404, PARTIES),
    Row("step by GET", "get", "payments:escalation-act {escalation}", 405),
    Row("daily job", "post", "payments:escalation-run", 403, FINANCE_POST),
    Row("daily job by GET", "get", "payments:escalation-run", 405),
    Row("invoices", "get", "payments:invoice-list", 403, OPEN_PAYMENTS),
    Row("invoice entry page", "get", "payments:invoice-create", 403, FINANCE_GET),
    Row("invoice entry", "post", "payments:invoice-create", 403, FINANCE_GET),
    Row("invoice page", "get", "payments:invoice-update {invoice}", 404, IN_SCOPE_NOT_FINANCE),
    Row("invoice change", "post", "payments:invoice-update {invoice}", 404, IN_SCOPE_NOT_FINANCE),
    Row("policy", "get", "payments:policy", 403, READ_ALL),
    Row("policy change", "post", "payments:policy", 403, POLICY_EDIT),
    Row("account tab", "get", "accounts:account-escalations {account}", 404, KAM_READ),
)  # fmt: skip


@pytest.fixture
def objects(cast):
    escalation = open_escalation(cast.account)
    return {
        "escalation": escalation.pk,
        "invoice": escalation.invoice_id,
        "account": cast.account.pk,
        "missing": 999_999,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


@dataclass(frozen=True)
class Step:
    """A step posted by ``role`` after the steps ``before`` (role, action) were taken; the
    status expected and the state the escalation is in afterwards."""

    name: str
    role: str
    action: str
    status: int | str
    state: str
    before: tuple[tuple[str, str], ...] = ()
    tier_rank: int = 1
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def recorded(self) -> bool:
        return self.status == 302


HEARD = (("kam", A.STATEMENT),)
PROPOSED = (*HEARD, ("finance", A.PROPOSE_STOP))
PROMISE = {"resolution": "promise_to_pay", "promised_date": "2099-12-31"}

STEPS = (
    Step("finance comments", "finance", A.COMMENT, 302, S.KAM_INFORMED),
    Step("sales leadership comments", "leadership", A.COMMENT, 302, S.KAM_INFORMED),
    Step("the KAM comments", "kam", A.COMMENT, 302, S.KAM_INFORMED),
    Step("the KAM states", "kam", A.STATEMENT, 302, S.IN_CLARIFICATION),
    Step("the KAM resolves with a promise to pay", "kam", A.RESOLVE, 302, S.RESOLVED,
         fields=PROMISE),
    Step("the KAM may not record a payment", "kam", A.RESOLVE, 200, S.KAM_INFORMED,
         fields={"resolution": "paid"}),
    Step("finance records a payment", "finance", A.RESOLVE, 302, S.RESOLVED,
         fields={"resolution": "paid"}),
    Step("the KAM may not propose a stop", "kam", A.PROPOSE_STOP, 403, S.IN_CLARIFICATION, HEARD),
    Step("finance may propose a stop before the KAM was heard", "finance", A.PROPOSE_STOP, 302,
         S.STOP_PROPOSED),
    Step("no stop decided before the KAM was heard", "finance", A.DECIDE_STOP, 200,
         S.STOP_PROPOSED, (("finance", A.PROPOSE_STOP),)),
    Step("finance proposes a stop after the statement", "finance", A.PROPOSE_STOP, 302,
         S.STOP_PROPOSED, HEARD),
    Step("the KAM objects to a proposed stop", "kam", A.STATEMENT, 302, S.STOP_PROPOSED, PROPOSED),
    Step("the KAM may not decide a stop", "kam", A.DECIDE_STOP, 403, S.STOP_PROPOSED, PROPOSED),
    Step("finance decides: the top tier still waits for leadership", "finance", A.DECIDE_STOP,
         302, S.STOP_PROPOSED, PROPOSED),
    Step("leadership decides after finance: the stop is decided", "leadership", A.DECIDE_STOP,
         302, S.STOP_DECIDED, (*PROPOSED, ("finance", A.DECIDE_STOP))),
    Step("finance alone decides a lower tier's stop", "finance", A.DECIDE_STOP, 302,
         S.STOP_DECIDED, PROPOSED, tier_rank=2),
    Step("leadership does not decide a lower tier's stop", "leadership", A.DECIDE_STOP, 200,
         S.STOP_PROPOSED, PROPOSED, tier_rank=2),
    Step("finance rejects a proposed stop", "finance", A.REJECT_STOP, 302, S.IN_CLARIFICATION,
         PROPOSED),
    Step("administrators read but take no step", "admin", A.COMMENT, 403, S.KAM_INFORMED),
    Step("a mentor of the account sees nothing", "team_member", A.COMMENT, 404, S.KAM_INFORMED),
    Step("another KAM sees nothing", "outsider_kam", A.STATEMENT, 404, S.KAM_INFORMED),
    Step("a viewer sees nothing", "viewer", A.COMMENT, 404, S.KAM_INFORMED),
    Step("no role sees nothing", "no_role", A.COMMENT, 404, S.KAM_INFORMED),
    Step("anonymous signs in first", "anonymous", A.COMMENT, LOGIN, S.KAM_INFORMED),
)  # fmt: skip


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name)
def test_steps(client, cast, step: Step) -> None:
    escalation = open_escalation(cast.account, tier_rank=step.tier_rank)
    for role, action in step.before:
        services.escalation_act(
            escalation=escalation, user=cast.by_name(role), action=action, comment="before"
        )
    escalation.refresh_from_db()
    events_before = escalation.events.count()
    user = cast.by_name(step.role)
    if user is not None:
        client.force_login(user)

    response = client.post(
        reverse("payments:escalation-act", args=[escalation.pk]),
        step_data(escalation, step.action, comment="Mit dem Kunden gesprochen.", **step.fields),
    )

    if step.status == LOGIN:
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == step.status
    escalation.refresh_from_db()
    assert escalation.state == step.state
    events = list(escalation.events.order_by("pk"))
    if step.recorded:
        assert len(events) == events_before + 1
        assert events[-1].actor == user
        assert events[-1].action == step.action
        assert events[-1].comment == "Mit dem Kunden gesprochen."
    else:
        assert len(events) == events_before


def test_leadership_decision_is_recorded_on_the_escalation(client, cast) -> None:
    escalation = open_escalation(cast.account)
    for role, action in (*PROPOSED, ("finance", A.DECIDE_STOP)):
        services.escalation_act(
            escalation=escalation, user=cast.by_name(role), action=action, comment="x"
        )
    client.force_login(cast.leadership)

    client.post(
        reverse("payments:escalation-act", args=[escalation.pk]),
        step_data(escalation, A.DECIDE_STOP, comment="Freigegeben."),
    )

    escalation.refresh_from_db()
    assert escalation.finance_decided_by == cast.finance
    assert escalation.leadership_decided_by == cast.leadership


def test_finance_starts_the_daily_job(client, cast) -> None:
    client.force_login(cast.finance)

    response = client.post(reverse("payments:escalation-run"))

    job = Job.objects.get(kind=Job.Kind.ESCALATION_RUN)
    assert job.created_by == cast.finance
    assert response["Location"] == reverse("kam:job-detail", args=[job.pk])


@pytest.mark.parametrize("role", ["finance", "leadership"])
def test_finance_and_leadership_change_the_policy(client, cast, role) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    client.force_login(cast.by_name(role))

    response = client.post(
        reverse("payments:policy"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-tier_rank": "1",
            "form-0-covered": "on",
            "form-0-grace_days": "2",
            "form-0-clarification_days": "9",
        },
    )

    assert response.status_code == 302
    policy = EscalationPolicy.objects.get(tier_rank=1)
    assert (policy.grace_days, policy.clarification_days, policy.updated_by) == (
        2,
        9,
        cast.by_name(role),
    )


def test_only_finance_enters_invoices(client, cast) -> None:
    data = {
        "account": cast.account.erp_number,
        "number": "RE-1",
        "amount": "1.234,56",
        "currency": "eur",
        "issue_date": "2026-10-01",
        "due_date": "2026-10-31",
        "amount_paid": "",
        "paid_date": "",
    }
    for role in ("leadership", "kam", "admin"):
        client.force_login(cast.by_name(role))
        assert client.post(reverse("payments:invoice-create"), data).status_code == 403
    assert not Invoice.objects.exists()
    client.force_login(cast.finance)

    response = client.post(reverse("payments:invoice-create"), data)

    assert response.status_code == 302
    invoice = Invoice.objects.get()
    assert (invoice.account, invoice.number, str(invoice.amount), invoice.currency) == (
        cast.account,
        "RE-1",
        "1234.56",
        "EUR",
    )


def test_an_escalation_of_another_account_is_not_found_for_its_kam(client, cast) -> None:
    escalation = open_escalation(cast.other_account)
    client.force_login(cast.kam)

    response = client.get(reverse("payments:escalation-detail", args=[escalation.pk]))

    assert response.status_code == 404
    assert Escalation.objects.filter(pk=escalation.pk).exists()


def test_daily_job_steps_show_as_the_daily_job(client, cast) -> None:
    escalation = open_escalation(cast.account)
    client.force_login(cast.finance)

    response = client.get(reverse("payments:escalation-detail", args=[escalation.pk]))

    assert EscalationEvent.objects.filter(escalation=escalation, actor=None).count() == 2
    assert response.content.decode().count(str(Party.SYSTEM.label)) >= 2
