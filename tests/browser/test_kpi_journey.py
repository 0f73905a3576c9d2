"""Leadership imports a German ERP export in Chromium: fixes the column mapping, sees the
preview with one error row, corrects the file, imports it, starts the annual refresh, follows
it to the end and opens the draft selection run it produced; the key account manager then
sees the new figures on the start page and the account's KPI tab.

Elements are found by their names and addresses, not their texts: the journey must hold in
every language the app speaks.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kpis.models import AnnualFigure, AnnualRefresh, ImportBatch, ImportState
from selection.models import RunState
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD
from tests.selection.conftest import released_version, workplaces  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

YEAR = 2025


def _csv(rows: list[str]) -> bytes:
    # As a German ERP writes it: Windows-1252, ';', thousands dots and decimal commas.
    header = "Kd-Schlüssel;Jahr;Umsatz;Absatz"
    return "\r\n".join([header, *rows, ""]).encode("cp1252")


def _upload(page, live_server, html_checker, tmp_path, name: str, content: bytes) -> ImportBatch:
    # From the dashboard to the imports and their upload form.
    visit(page, live_server, reverse("kpis:dashboard"))
    page.locator(f"main a[href='{reverse('kpis:import-list')}']").click()
    page.wait_for_url(f"{live_server.url}{reverse('kpis:import-list')}")
    page.locator(f"main a[href='{reverse('kpis:import-create')}']").first.click()
    page.wait_for_url(f"{live_server.url}{reverse('kpis:import-create')}")
    assert_accessible(page)
    html_checker.add(f"import-create-{name}", page.content())
    form = page.locator("main form[enctype='multipart/form-data']")
    source = form.locator("select[name=source]")
    if source.count():
        source.select_option(label="SAP")
    else:
        form.locator("[name=new_source]").fill("SAP")
    form.locator("[name=year]").fill(str(YEAR))
    path = tmp_path / name
    path.write_bytes(content)
    form.locator("input[type=file]").set_input_files(str(path))
    form.locator("button[type=submit]").click()
    batch = ImportBatch.objects.filter(file_name=name).latest("pk")
    page.wait_for_url(f"{live_server.url}{batch.get_absolute_url()}")
    return batch


def test_an_erp_export_is_mapped_previewed_corrected_imported_and_refreshed(
    page,
    live_server,
    html_checker,
    cast,
    eager_jobs,
    tmp_path,
    settings,
    released_version,  # noqa: F811
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    account, other = cast.account, cast.other_account
    login(page, live_server, cast.leadership.username, TEST_PASSWORD)

    # The customer number's column has a name the app does not know: the mapping is fixed.
    first = _csv(
        [
            f"{account.erp_number};{YEAR};1.250.000,50;1.200",
            f"{other.erp_number};{YEAR};98.000,00;-5",
        ]
    )
    batch = _upload(page, live_server, html_checker, tmp_path, "umsatz-2025.csv", first)
    mapping_url = reverse("kpis:import-mapping", args=[batch.pk])
    page.locator(f"main a[href='{mapping_url}']").first.click()
    page.wait_for_url(f"{live_server.url}{mapping_url}")
    assert_accessible(page)
    html_checker.add("import-mapping", page.content())
    page.locator("select[name=column_0]").select_option("account")
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}{batch.get_absolute_url()}")

    # The preview: one row to create, one error row (a negative volume); nothing written yet.
    batch.refresh_from_db()
    assert batch.errors == 1
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("3")  # the file's row number
    confirm = page.locator(f"form[action='{reverse('kpis:import-confirm', args=[batch.pk])}']")
    expect(confirm.locator("button[type=submit]")).to_be_disabled()
    assert not AnnualFigure.objects.exists()
    visit(page, live_server, batch.get_absolute_url(), html_checker)

    # The corrected file of the same source imports with the saved mapping.
    second = _csv(
        [
            f"{account.erp_number};{YEAR};1.250.000,50;1.200",
            f"{other.erp_number};{YEAR};98.000,00;5",
        ]
    )
    fixed = _upload(page, live_server, html_checker, tmp_path, "umsatz-2025-korrigiert.csv", second)
    assert fixed.errors == 0
    confirm = page.locator(f"form[action='{reverse('kpis:import-confirm', args=[fixed.pk])}']")
    confirm.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}{fixed.get_absolute_url()}")
    fixed.refresh_from_db()
    assert fixed.state == ImportState.IMPORTED
    revenue = AnnualFigure.objects.get(account=account, year=YEAR, measure="revenue")
    assert str(revenue.actual) == "1250000.50"
    assert AnnualFigure.objects.get(account=other, year=YEAR, measure="volume").actual == 5
    visit(page, live_server, reverse("kpis:import-list"), html_checker)

    # The annual refresh of the year, reached from the dashboard: started, followed to its
    # report, its selection opened.
    visit(page, live_server, reverse("kpis:dashboard"), html_checker)
    page.locator(f"main a[href='{reverse('kpis:refresh-list')}']").click()
    page.wait_for_url(f"{live_server.url}{reverse('kpis:refresh-list')}")
    assert_accessible(page)
    start = page.locator(f"form[action='{reverse('kpis:refresh-start')}']")
    start.locator("[name=year]").fill(str(YEAR))
    start.locator("button[type=submit]").click()
    detail_url = reverse("kpis:refresh-detail", args=[YEAR])
    page.wait_for_url(f"{live_server.url}{detail_url}")
    refresh = AnnualRefresh.objects.get(year=YEAR)
    assert refresh.finished_at is not None
    expect(page.locator("#refresh-progress #step-close")).to_be_visible()
    expect(page.locator("#refresh-progress")).not_to_have_attribute("data-hx-trigger", "every 1s")
    visit(page, live_server, detail_url, html_checker)
    run = refresh.selection_run
    assert run is not None
    assert run.state == RunState.READY
    run_url = reverse("selection:run-detail", args=[run.pk])
    page.locator(f"#refresh-selection a[href='{run_url}']").click()
    page.wait_for_url(f"{live_server.url}{run_url}")
    expect(page.locator("#movements-title")).to_be_visible()
    assert_accessible(page)

    # The key account manager sees the new figures.
    page.context.clear_cookies()
    login(page, live_server, cast.kam.username, TEST_PASSWORD)
    assert "1.250.000" in page.locator("main").inner_text()
    visit(page, live_server, reverse("kam:home"), html_checker)
    visit(page, live_server, reverse("accounts:account-kpis", args=[account.pk]), html_checker)
    expect(page.locator("main")).to_contain_text("1.250.000")
