"""A payment escalation in Chromium: finance runs the daily job, which opens an escalation for
an overdue invoice of a key account; the key account manager answers with a promise to pay; the
promised date passes and the case reopens; finance proposes a delivery stop; the KAM objects
with a statement; finance decides; the timeline on the escalation and on the account shows
every step.

The days passing are simulated by running the daily job for a later date, as Celery beat would
on that morning. Elements are found by names and addresses, not texts, so the journey holds in
every language.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Account
from kam.models import Job, Notification
from payments.models import Escalation, EscalationAction, EscalationState, Resolution
from payments.services import escalations_run
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD
from tests.payments.factories import InvoiceFactory

pytestmark = pytest.mark.browser


def _switch_to(page, live_server, user) -> None:
    page.context.clear_cookies()
    login(page, live_server, user.username, TEST_PASSWORD)


def _take_step(page, action: str, comment: str, **fields: str) -> None:
    step = page.locator(f"#step-{action}")
    step.locator("summary").click()
    for name, value in fields.items():
        field = step.locator(f"[name='{action}-{name}']")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    step.locator(f"[name='{action}-comment']").fill(comment)
    step.locator("button[type=submit]").click()


def test_an_overdue_invoice_is_clarified_reopened_and_a_stop_decided_after_the_kam_objects(
    page, live_server, html_checker, cast, eager_jobs
) -> None:
    today = timezone.localdate()
    Account.objects.filter(pk=cast.account.pk).update(tier="Silber", tier_rank=2)
    invoice = InvoiceFactory(
        account=cast.account,
        number="RE-2026-0815",
        issue_date=today - datetime.timedelta(days=60),
        due_date=today - datetime.timedelta(days=30),
    )

    # Finance starts the daily job from its queue; it opens the escalation and informs the KAM.
    login(page, live_server, cast.finance.username, TEST_PASSWORD)
    visit(page, live_server, reverse("payments:escalation-list"), html_checker)
    page.locator(f"main form[action='{reverse('payments:escalation-run')}'] button").click()
    job = Job.objects.get(kind=Job.Kind.ESCALATION_RUN)
    page.wait_for_url(f"{live_server.url}{job.get_absolute_url()}")
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.result["opened"] == 1
    escalation = Escalation.objects.get(invoice=invoice)
    assert escalation.state == EscalationState.KAM_INFORMED
    assert Notification.objects.filter(user=cast.kam, url=escalation.get_absolute_url()).exists()

    # The KAM finds it on the start page and records the customer's promise to pay.
    _switch_to(page, live_server, cast.kam)
    assert_accessible(page)
    page.locator(f"#work-escalations a[href='{escalation.get_absolute_url()}']").click()
    page.wait_for_url(f"{live_server.url}{escalation.get_absolute_url()}")
    assert_accessible(page)
    html_checker.add("escalation-kam", page.content())
    promised = today + datetime.timedelta(days=3)
    _take_step(
        page,
        EscalationAction.RESOLVE,
        "Der Einkauf hat die Rechnung verlegt; Zahlung in drei Tagen zugesagt.",
        resolution=Resolution.PROMISE_TO_PAY,
        promised_date=promised.isoformat(),
    )
    page.wait_for_url(f"{live_server.url}{escalation.get_absolute_url()}")
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.RESOLVED
    assert escalation.promised_date == promised

    # The promised date passes unpaid: the next morning's run reopens the case.
    result = escalations_run(on=promised + datetime.timedelta(days=1))
    assert result["reopened"] == 1
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.KAM_INFORMED

    # Finance proposes a delivery stop; deciding it is not offered before the KAM is heard.
    _switch_to(page, live_server, cast.finance)
    visit(page, live_server, escalation.get_absolute_url(), html_checker)
    _take_step(page, EscalationAction.PROPOSE_STOP, "Zusage gebrochen, zweite Mahnung offen.")
    page.wait_for_url(f"{live_server.url}{escalation.get_absolute_url()}")
    expect(page.locator(f"#step-{EscalationAction.DECIDE_STOP}")).to_have_count(0)
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.STOP_PROPOSED

    # The KAM objects with a statement.
    _switch_to(page, live_server, cast.kam)
    visit(page, live_server, escalation.get_absolute_url())
    _take_step(
        page,
        EscalationAction.STATEMENT,
        "Bitte keinen Lieferstopp: laufendes Großprojekt, der Geschäftsführer zahlt persönlich.",
    )
    page.wait_for_url(f"{live_server.url}{escalation.get_absolute_url()}")
    escalation.refresh_from_db()
    assert escalation.kam_heard_at is not None

    # Finance decides, having read the statement.
    _switch_to(page, live_server, cast.finance)
    visit(page, live_server, escalation.get_absolute_url())
    _take_step(page, EscalationAction.DECIDE_STOP, "Stellungnahme gelesen; Lieferstopp ab Montag.")
    page.wait_for_url(f"{live_server.url}{escalation.get_absolute_url()}")
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.STOP_DECIDED
    assert escalation.finance_decided_by == cast.finance

    # Every step is on the timeline, on the escalation and on the account's tab.
    steps = [
        EscalationAction.OPEN,
        EscalationAction.INFORM,
        EscalationAction.RESOLVE,
        EscalationAction.PROMISE_BROKEN,
        EscalationAction.PROPOSE_STOP,
        EscalationAction.STATEMENT,
        EscalationAction.DECIDE_STOP,
    ]
    assert list(escalation.events.values_list("action", flat=True)) == steps
    visit(page, live_server, escalation.get_absolute_url(), html_checker)
    timeline = page.locator("#timeline tbody tr")
    expect(timeline).to_have_count(len(steps))
    expect(timeline.last).to_contain_text("Lieferstopp ab Montag")
    tab = reverse("accounts:account-escalations", args=[cast.account.pk])
    visit(page, live_server, tab, html_checker)
    expect(page.locator("main")).to_contain_text("Bitte keinen Lieferstopp")
    expect(page.locator("main")).to_contain_text(invoice.number)
