"""Leadership reads the tiered list, opens an account from the portfolio and ranks three claims."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Account, Contact, Relationship
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD, AccountFactory
from tests.selection.conftest import (  # noqa: F401 - fixtures used by name
    approved_run,
    ready_run,
    released_version,
    workplaces,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("approved_run")]


def test_leadership_reads_the_tier_list_the_portfolio_and_the_allocation(
    page, live_server, html_checker, cast
) -> None:
    account = cast.account  # Gold in the approved run, with a score of 9
    Account.objects.filter(pk=account.pk).update(share_of_wallet=Decimal(30))
    for index, covered in enumerate((True, True, False)):
        contact = Contact.objects.create(account=account, last_name=f"Kontakt {index}")
        if covered:
            Relationship.objects.create(contact=contact, user=cast.kam, strength=4)
    silver = AccountFactory(name="Silber Spedition KG", tier="Silver", tier_rank=2)
    login(page, live_server, "leadership", TEST_PASSWORD)

    visit(page, live_server, "/selection/", html_checker)
    groups = page.locator("table tbody")
    expect(groups).to_have_count(2)
    expect(groups.first.locator("th")).to_contain_text("Gold")
    expect(groups.first).to_contain_text(account.name)
    expect(groups.nth(1)).to_contain_text(silver.name)
    visit(page, live_server, "/selection/?tier=Silver", html_checker)
    expect(page.locator("table tbody")).to_have_count(1)

    visit(page, live_server, "/selection/portfolio/", html_checker)
    point = page.locator(f'svg a.portfolio-point[href="/accounts/{account.pk}/"]')
    expect(point).to_have_count(1)
    expect(point.locator("title")).to_contain_text(account.name)
    point.click()
    page.wait_for_url(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("h1")).to_contain_text(account.name)

    visit(page, live_server, "/selection/portfolio/settings/", html_checker)

    visit(page, live_server, "/selection/allocation/", html_checker)
    numbers = [cast.other_account.erp_number, silver.erp_number, account.erp_number]
    page.locator("textarea[name=erp]").fill("\n".join(numbers))
    page.locator("#main form[method=get] button[type=submit]").click()
    rows = page.locator("#allocation-ranking tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(account.name)
    expect(rows.nth(1)).to_contain_text(silver.name)
    expect(rows.nth(2)).to_contain_text(cast.other_account.name)
    assert_accessible(page)
    html_checker.add("allocation-ranked", page.request.get(page.url).text())
    expect(page.locator("textarea[name=erp]")).to_have_value("\n".join(numbers))
