"""Leadership runs the key-account selection in Chromium, overrides a tier with a reason and
approves; the account's key account manager then sees the new tier.

Elements are found by their names and addresses, not their texts: the journey must hold in
every language the app speaks.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from selection.models import RunState, SelectionRun, TierChange, TierOverride
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD, AccountFactory
from tests.selection import conftest as selection_fixtures

pytestmark = pytest.mark.browser

workplaces = selection_fixtures.workplaces
released_version = selection_fixtures.released_version


def _check(page, html_checker, name: str) -> None:
    """axe-core on the page as it is now; its HTML (fetched again by GET) for vnu."""
    assert_accessible(page)
    html_checker.add(name, page.request.get(page.url).text())


def test_leadership_runs_overrides_and_approves_then_the_kam_sees_the_tier(
    page, live_server, html_checker, cast, released_version, eager_jobs
) -> None:
    AccountFactory(name="Ohne Daten AG")  # no values: K.O. unknown, not a key account
    login(page, live_server, cast.leadership.username, TEST_PASSWORD)

    visit(page, live_server, reverse("selection:run-list"), html_checker)
    page.locator(f"a[href='{reverse('selection:run-create')}']").first.click()
    _check(page, html_checker, "run-create")
    page.locator("select[name=version]").select_option(str(released_version.pk))
    page.locator("main form[method=post] button[type=submit]").click()

    # The worker computes in-process, so the run page opens ready for review.
    run = SelectionRun.objects.get()
    page.wait_for_url(f"{live_server.url}{run.get_absolute_url()}")
    run.refresh_from_db()
    assert run.state == RunState.READY
    expect(page.locator("svg[role=img]").first).to_be_visible()
    _check(page, html_checker, "run-detail")

    page.locator("select[name=movement]").select_option("new")
    page.locator("form[role=search] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"movement=new"))
    rows = page.locator("#accounts tbody tr")
    expect(rows).to_have_count(1)
    result_url = reverse("selection:result-detail", args=[run.pk, cast.account.pk])
    page.locator(f"#accounts a[href='{result_url}']").click()
    page.wait_for_url(f"{live_server.url}{result_url}")
    _check(page, html_checker, "result-detail")

    override_form = page.locator("form[action$='/override/']").first
    override_form.locator("select[name=rank]").select_option("2")
    override_form.locator("button[type=submit]").click()
    expect(page.locator("textarea[name=reason].is-invalid")).to_be_visible()
    assert not TierOverride.objects.exists()
    assert_accessible(page)

    override_form = page.locator("form[action$='/override/']").first
    expect(override_form.locator("select[name=rank]")).to_have_value("2")
    override_form.locator("textarea[name=reason]").fill("Strategic pilot, not yet Gold")
    override_form.locator("button[type=submit]").click()
    expect(page.locator("button[name=remove]")).to_be_visible()
    override = TierOverride.objects.get()
    assert (override.tier, override.created_by) == ("Silver", cast.leadership)

    visit(page, live_server, run.get_absolute_url(), html_checker)
    page.locator("form[action$='/approve/'] button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert_accessible(page)
    run.refresh_from_db()
    assert run.state == RunState.APPROVED
    cast.account.refresh_from_db()
    assert cast.account.tier == "Silver"
    assert TierChange.objects.get(account=cast.account).reason == "Strategic pilot, not yet Gold"

    page.context.clear_cookies()
    login(page, live_server, cast.kam.username, TEST_PASSWORD)
    changes_url = f"{reverse('selection:tier-change-list')}?run={run.pk}"
    visit(page, live_server, changes_url, html_checker)
    change_rows = page.locator("table tbody tr")
    expect(change_rows).to_have_count(1)
    expect(change_rows.first).to_contain_text(cast.account.name)
    expect(change_rows.first).to_contain_text("Silver")
    expect(change_rows.first).to_contain_text("Strategic pilot, not yet Gold")

    tab_url = reverse("accounts:account-selection", args=[cast.account.pk])
    page.locator(f"a[href='{tab_url}']").first.click()
    page.wait_for_url(f"{live_server.url}{tab_url}")
    expect(page.locator("main")).to_contain_text("Silver")
    _check(page, html_checker, "account-selection")
