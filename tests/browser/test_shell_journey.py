"""Each role logs in, sees its navigation, switches language and logs out, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import TeamRole
from kam import services
from kam.models import Job
from kam.roles import Role
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import (
    TEST_PASSWORD,
    AccountFactory,
    JobFactory,
    TeamMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

PROGRAMME = ["Übersicht", "Accounts", "Key Accounts", "Pläne", "Kennzahlen"]
WITH_PAYMENTS = [*PROGRAMME, "Zahlungen", "Aufträge"]
NAVIGATION = {
    Role.SALES_LEADERSHIP: WITH_PAYMENTS,
    Role.KEY_ACCOUNT_MANAGER: [
        "Übersicht",
        "Accounts",
        "Key Accounts",
        "Pläne",
        "Zahlungen",
        "Aufträge",
    ],
    Role.FINANCE: WITH_PAYMENTS,
    Role.VIEWER: [*PROGRAMME, "Aufträge"],
    Role.ADMINISTRATOR: [*WITH_PAYMENTS, "Administration"],
}


@pytest.mark.parametrize("role", list(NAVIGATION), ids=lambda role: role.name.lower())
def test_each_role_logs_in_sees_its_navigation_switches_language_and_logs_out(
    page, live_server, html_checker, role
) -> None:
    user = UserFactory(
        username="anna", first_name="Anna", roles=[role], is_staff=role == Role.ADMINISTRATOR
    )
    visit(page, live_server, "/auth/login/", html_checker)

    login(page, live_server, "anna", TEST_PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Willkommen, Anna")
    navigation = page.get_by_role("navigation", name="Hauptnavigation")
    expect(navigation.locator(".navbar-nav .nav-link")).to_have_text(NAVIGATION[role])
    assert_accessible(page)
    html_checker.add("home", page.request.get(page.url).text())

    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Wechseln").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Anna")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    user.refresh_from_db()
    assert user.language == "en"

    page.get_by_role("button", name=re.compile("Anna")).click()
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You have been logged out")
    page.goto(f"{live_server.url}/jobs/")
    expect(page).to_have_url(re.compile(r"/auth/login/\?next=/jobs/"))


def test_kam_pages_pass_axe_and_the_html_checker(page, live_server, html_checker) -> None:
    kam = UserFactory(username="jonas", first_name="Jonas", roles=[Role.KEY_ACCOUNT_MANAGER])
    account = AccountFactory(name="Brandt Maschinenbau GmbH")
    AccountFactory(name="Lorenz Logistik SE")
    TeamMemberFactory(account=account, user=kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    job = JobFactory(created_by=kam, state=Job.State.FAILED, error="ValueError: Zeile 3")
    login(page, live_server, "jonas", TEST_PASSWORD)

    for path in (
        "/",
        "/accounts/",
        "/accounts/?q=Brandt",
        f"/accounts/{account.pk}/",
        "/jobs/",
        f"/jobs/{job.pk}/",
        "/auth/password_change/",
        "/no-such-page/",
    ):
        visit(page, live_server, path, html_checker)

    page.goto(f"{live_server.url}/accounts/")
    expect(page.get_by_role("link", name="Brandt Maschinenbau GmbH")).to_be_visible()
    expect(page.get_by_role("cell", name="Lorenz Logistik SE")).to_be_visible()
    expect(page.get_by_role("link", name="Lorenz Logistik SE")).to_have_count(0)


def test_anonymous_pages_pass_axe_and_the_html_checker(page, live_server, html_checker) -> None:
    for path in ("/auth/login/", "/auth/password_reset/", "/auth/password_reset/done/"):
        visit(page, live_server, path, html_checker)


def test_job_progress_updates_live_without_a_reload(page, live_server) -> None:
    admin = UserFactory(
        username="admin", first_name="Thomas", roles=[Role.ADMINISTRATOR], is_staff=True
    )
    job = JobFactory(
        created_by=admin,
        state=Job.State.RUNNING,
        progress=30,
        progress_message="Datenbank wird gelesen",
    )
    login(page, live_server, "admin", TEST_PASSWORD)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.get_by_role("status")).to_contain_text("Datenbank wird gelesen")
    page.evaluate("window.__notReloaded = true")

    services.job_report_progress(job, 80, "PDF wird erzeugt")
    expect(page.get_by_role("status")).to_contain_text("PDF wird erzeugt")
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED, progress=100)

    expect(page.get_by_role("status")).to_contain_text("Erfolgreich")
    assert page.evaluate("window.__notReloaded") is True
    assert_accessible(page)
