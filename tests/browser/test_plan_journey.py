"""A key account manager writes a plan in Chromium, leadership sends it back with a comment,
the KAM fixes and resubmits, leadership approves, and the PDF of the approved version
downloads with the approved content in it.

Elements are found by their names and addresses, not their texts: the journey must hold in
every language the app speaks.
"""

import re
import subprocess

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Contact
from plans.models import Plan, PlanEvent, PlanStatus
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _check(page, html_checker, name: str) -> None:
    """axe-core on the page as it is now (after htmx swaps); its HTML (fetched again) for vnu."""
    assert_accessible(page)
    html_checker.add(name, page.request.get(page.url).text())


def _save(page, form) -> None:
    """Submit an inline form and wait until htmx has swapped the form away."""
    form.locator("button[type=submit]").click()
    expect(form).to_have_count(0)


def test_a_plan_is_written_sent_back_fixed_approved_and_printed(
    page, live_server, html_checker, cast, eager_jobs, tmp_path
) -> None:
    contact = Contact.objects.create(
        account=cast.account, first_name="Petra", last_name="Brandt", position="CEO"
    )
    login(page, live_server, cast.kam.username, TEST_PASSWORD)

    visit(page, live_server, reverse("accounts:account-plan", args=[cast.account.pk]), html_checker)
    create_url = reverse("plans:plan-create", args=[cast.account.pk])
    create_form = page.locator(f"form[action='{create_url}']")
    create_form.locator("[name=start_year]").fill("2027")
    create_form.locator("button[type=submit]").click()
    plan = Plan.objects.get(account=cast.account)
    detail_url = reverse("plans:plan-detail", args=[plan.pk])
    page.wait_for_url(f"{live_server.url}{detail_url}")

    # The situation section opens in place, saves, and shows the Markdown rendered.
    section_url = reverse("plans:section-edit", args=[plan.pk, "situation"])
    page.locator(f"a[data-hx-get='{section_url}']").click()
    section_form = page.locator(f"form[action='{section_url}']")
    section_form.locator("textarea[name=business_goals]").fill(
        "Brandt will den **Export** verdoppeln."
    )
    _check(page, html_checker, "section-edit")
    _save(page, section_form)
    expect(page.locator("#section-situation strong")).to_have_text("Export")

    # A revenue target for the three years, edited in its row.
    revenue = plan.targets.get(metric="revenue")
    target_url = reverse("plans:item-edit", args=[plan.pk, "target", revenue.pk])
    page.locator(f"a[data-hx-get='{target_url}']").click()
    target_form = page.locator(f"form[action='{target_url}']")
    for field, value in (("year_1", "1200000"), ("year_2", "1500000"), ("year_3", "1800000")):
        target_form.locator(f"[name={field}]").fill(value)
    _save(page, target_form)
    revenue.refresh_from_db()
    assert revenue.values == [1_200_000, 1_500_000, 1_800_000]

    # An objective, and an action under it owned by the KAM with the CEO involved.
    objective_url = reverse("plans:item-create", args=[plan.pk, "objective"])
    page.locator(f"a[data-hx-get='{objective_url}']").click()
    objective_form = page.locator(f"form[action^='{objective_url}']")
    objective_form.locator("[name=title]").fill("Rahmenvertrag Ersatzteile")
    objective_form.locator("[name=measure]").fill("Vertrag unterschrieben")
    objective_form.locator("select[name=target_year]").select_option("2027")
    _save(page, objective_form)
    objective = plan.objectives.get()

    action_url = reverse("plans:item-create", args=[plan.pk, "action"])
    page.locator(f"a[data-hx-get='{action_url}?objective={objective.pk}']").click()
    action_form = page.locator(f"form[action^='{action_url}']")
    action_form.locator("[name=title]").fill("Workshop mit dem Einkauf")
    action_form.locator("select[name=owner]").select_option(str(cast.kam.pk))
    action_form.locator("[name=due_date]").fill("2027-03-31")
    action_form.locator(f"input[name=contacts][value='{contact.pk}']").check()
    _save(page, action_form)
    action = objective.actions.get()
    assert (action.owner, list(action.contacts.all())) == (cast.kam, [contact])
    _check(page, html_checker, "plan-detail-written")

    page.locator(f"form[action='{reverse('plans:plan-submit', args=[plan.pk])}'] button").click()
    page.wait_for_url(f"{live_server.url}{detail_url}")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED

    # Leadership asks for a change; the comment is required.
    page.context.clear_cookies()
    login(page, live_server, cast.leadership.username, TEST_PASSWORD)
    request_url = reverse("plans:plan-request-changes", args=[plan.pk])
    visit(page, live_server, detail_url, html_checker)
    page.locator(f"a[href='{request_url}']").click()
    page.wait_for_url(f"{live_server.url}{request_url}")
    request_form = page.locator("main form[method=post]")
    request_form.locator("button[type=submit]").click()
    expect(page.locator("textarea[name=comment].is-invalid")).to_be_visible()
    _check(page, html_checker, "request-changes-error")
    page.locator("textarea[name=comment]").fill("Bitte das Ziel für 2028 ergänzen.")
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}{detail_url}")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT

    # The KAM sees the comment, fixes the plan and resubmits.
    page.context.clear_cookies()
    login(page, live_server, cast.kam.username, TEST_PASSWORD)
    visit(page, live_server, detail_url, html_checker)
    expect(page.locator("main")).to_contain_text("Bitte das Ziel für 2028 ergänzen.")
    page.locator(f"a[data-hx-get='{objective_url}']").click()
    objective_form = page.locator(f"form[action^='{objective_url}']")
    objective_form.locator("[name=title]").fill("Share of Wallet 35 %")
    objective_form.locator("[name=measure]").fill("Anteil laut Jahresgespräch")
    objective_form.locator("select[name=target_year]").select_option("2028")
    _save(page, objective_form)
    page.locator(f"form[action='{reverse('plans:plan-submit', args=[plan.pk])}'] button").click()
    page.wait_for_url(f"{live_server.url}{detail_url}")

    # Leadership approves: version 1 is frozen with both objectives.
    page.context.clear_cookies()
    login(page, live_server, cast.leadership.username, TEST_PASSWORD)
    visit(page, live_server, detail_url, html_checker)
    page.locator(f"form[action='{reverse('plans:plan-approve', args=[plan.pk])}'] button").click()
    page.wait_for_url(f"{live_server.url}{detail_url}")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    version = plan.versions.get()
    assert [o["title"] for o in version.snapshot["objectives"]] == [
        "Rahmenvertrag Ersatzteile",
        "Share of Wallet 35 %",
    ]
    assert list(PlanEvent.objects.filter(plan=plan).values_list("kind", flat=True))[:4] == [
        "approved",
        "submitted",
        "changes_requested",
        "submitted",
    ]

    # The version's PDF is printed by a job; its page offers the download.
    version_url = reverse("plans:version-detail", args=[plan.pk, version.number])
    visit(page, live_server, version_url, html_checker)
    pdf_url = reverse("plans:plan-pdf", args=[plan.pk])
    page.locator(f"form[action='{pdf_url}'] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    download_link = page.locator("a[href$='/file/']")
    expect(download_link).to_be_visible()
    with page.expect_download() as download_info:
        download_link.click()
    pdf_path = tmp_path / "plan.pdf"
    download_info.value.save_as(pdf_path)
    text = subprocess.run(
        ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(text.split())  # table cells wrap their words onto several lines
    for expected in (
        cast.account.name,
        "Rahmenvertrag Ersatzteile",
        "Share of Wallet 35 %",
        "Workshop mit dem Einkauf",
        "1.200.000",
    ):
        assert expected in text
