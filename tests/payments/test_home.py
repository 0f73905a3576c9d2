"""The start page's payment work for finance and sales leadership: what waits on them."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Account
from payments.models import EscalationAction as A
from payments.selectors import payment_work
from payments.services import escalation_act, escalations_run
from tests.payments.factories import InvoiceFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 20)


def _proposed_stop(cast, *, tier_rank: int):
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=tier_rank)
    InvoiceFactory(account=cast.account, due_date=DAY - datetime.timedelta(days=30))
    escalations_run(on=DAY)
    escalation = cast.account.escalations.get()
    escalation_act(
        escalation=escalation, user=cast.kam, action=A.STATEMENT, comment="Klärt", on=DAY
    )
    escalation_act(
        escalation=escalation, user=cast.finance, action=A.PROPOSE_STOP, comment="Stopp", on=DAY
    )
    return escalation


def test_finance_sees_the_stops_waiting_for_its_decision(cast) -> None:
    _proposed_stop(cast, tier_rank=1)

    work = payment_work(user=cast.finance, today=DAY)

    assert (work.active, work.awaiting_decision, work.deadline_passed) == (1, 1, 0)
    assert payment_work(user=cast.leadership, today=DAY).awaiting_decision == 0


def test_leadership_waits_on_a_top_tier_stop_once_finance_has_decided(cast) -> None:
    escalation = _proposed_stop(cast, tier_rank=1)
    escalation_act(
        escalation=escalation, user=cast.finance, action=A.DECIDE_STOP, comment="Ja", on=DAY
    )

    assert payment_work(user=cast.leadership, today=DAY).awaiting_decision == 1
    assert payment_work(user=cast.finance, today=DAY).awaiting_decision == 0


def test_a_lower_tier_stop_never_waits_on_leadership(cast) -> None:
    _proposed_stop(cast, tier_rank=2)

    assert payment_work(user=cast.leadership, today=DAY).awaiting_decision == 0


def test_passed_deadlines_count_and_others_see_no_payment_work(cast) -> None:
    _proposed_stop(cast, tier_rank=2)
    later = DAY + datetime.timedelta(days=60)

    assert payment_work(user=cast.finance, today=later).deadline_passed == 1
    for user in (cast.kam, cast.viewer, cast.admin, cast.team_member):
        assert not payment_work(user=user, today=later)


def test_the_start_page_links_finance_to_its_decisions(client, cast) -> None:
    _proposed_stop(cast, tier_rank=1)
    client.force_login(cast.finance)

    page = client.get(reverse("kam:home")).content.decode()

    assert 'id="payment-work"' in page
    assert f"{reverse('payments:escalation-list')}?state=stop_proposed" in page
    client.force_login(cast.viewer)
    assert 'id="payment-work"' not in client.get(reverse("kam:home")).content.decode()
