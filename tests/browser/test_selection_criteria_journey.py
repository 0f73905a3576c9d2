"""Leadership tries a heavier weight in a draft, previews the movements and releases it."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import PotentialYear
from kam.roles import Role
from selection import services
from selection.demo import seed_selection
from selection.models import (
    AccountAttribute,
    AccountAttributeValue,
    AttributeType,
    CriteriaVersion,
    SelectionResult,
    VersionState,
)
from selection.selectors import version_preview
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD, AccountFactory, UserFactory

pytestmark = pytest.mark.browser

TIERS = {1: "Gold", 2: "Silver", 3: "Bronze"}


def _demo_like_draft(leadership) -> CriteriaVersion:
    """Accounts with potentials and tiers, the demo's criteria set released, run and approved,
    and a draft of its next version."""
    blocker = AccountAttribute.objects.create(
        key="exclusive_competitor_contract",
        name="Exklusivvertrag mit Wettbewerber",
        data_type=AttributeType.YES_NO,
    )
    for index in range(16):
        rank = index % 4 + 1
        account = AccountFactory(
            name=f"Konto {index:02d} AG",
            erp_number=f"J{index:05d}",
            tier=TIERS.get(rank, ""),
            tier_rank=rank if rank in TIERS else None,
            countries_of_operation=["DE", "AT", "CH"][: 4 - min(rank, 3)],
        )
        revenue = Decimal(6_000_000 // rank - 150_000 * (index % 3))
        PotentialYear.objects.bulk_create(
            PotentialYear(
                account=account,
                year=year,
                expected_revenue=revenue * (1 + Decimal(step) / 20),
                expected_margin=revenue * Decimal("0.18"),
            )
            for step, year in enumerate((2026, 2027, 2028))
        )
        if index == 3:
            # A competitor's exclusive contract: the K.O. check excludes this account.
            AccountAttributeValue.objects.create(account=account, attribute=blocker, flag=True)
    seed_selection(leadership=leadership)
    released = CriteriaVersion.objects.get(state=VersionState.RELEASED)
    return services.version_draft_start(version=released, user=leadership)


def test_leadership_weighs_previews_and_releases_a_draft(page, live_server, html_checker):
    leadership = UserFactory(
        username="katrin", first_name="Katrin", last_name="Vogel", roles=[Role.SALES_LEADERSHIP]
    )
    draft = _demo_like_draft(leadership)
    strategic = draft.criteria.get(source="attribute:strategic_importance")
    knockout = draft.knockouts.first()
    login(page, live_server, "katrin", TEST_PASSWORD)

    visit(page, live_server, "/selection/criteria/", html_checker)
    page.locator(f'a[href="{draft.criteria_set.get_absolute_url()}"]').first.click()
    assert_accessible(page)
    html_checker.add("criteria-set", page.request.get(page.url).text())
    for path in (
        f"/selection/versions/{draft.pk}/settings/",
        f"/selection/versions/{draft.pk}/tiers/",
        f"/selection/versions/{draft.pk}/knockouts/new/",
        f"/selection/knockouts/{knockout.pk}/edit/",
        f"/selection/knockouts/{knockout.pk}/delete/",
        f"/selection/scored/{strategic.pk}/edit/",
        "/selection/criteria/new/",
        "/selection/attributes/",
        "/selection/attributes/new/",
    ):
        visit(page, live_server, path, html_checker)

    visit(page, live_server, draft.get_absolute_url(), html_checker)
    weight = page.locator(f"#id_weight_{strategic.pk}")
    expect(weight).to_have_value("20,00")
    weight.fill("200")
    page.locator('button[name="preview"]').click()
    page.wait_for_url(f"{live_server.url}/selection/versions/{draft.pk}/preview/")
    assert_accessible(page)
    html_checker.add("preview", page.request.get(page.url).text())

    strategic.refresh_from_db()
    assert strategic.weight == 200
    expected = version_preview(CriteriaVersion.objects.get(pk=draft.pk))
    assert expected.change_count > 0
    expect(page.locator("#change-count")).to_have_text(str(expected.change_count))
    expect(page.locator("#movement-matrix tbody tr")).to_have_count(len(expected.rows))
    moved = expected.changes[0]
    expect(page.get_by_role("link", name=moved.name)).to_be_visible()
    assert SelectionResult.objects.filter(run__version=draft).count() == 0

    page.locator(f'main a[href="{draft.get_absolute_url()}"]').first.click()
    page.wait_for_url(f"{live_server.url}{draft.get_absolute_url()}")
    release = page.locator("#release")
    release.locator('input[name="change_note"]').fill("Strategische Bedeutung stärker gewichtet")
    release.locator('button[type="submit"]').click()
    expect(page.locator("h1 + .badge.text-bg-success")).to_be_visible()
    assert_accessible(page)
    html_checker.add("released", page.request.get(page.url).text())

    released = CriteriaVersion.objects.get(pk=draft.pk)
    assert released.state == VersionState.RELEASED
    assert released.released_by == leadership
    assert released.change_note == "Strategische Bedeutung stärker gewichtet"

    results = SelectionResult.objects.select_related("account").order_by("-total")
    best, excluded = results.first(), results.filter(knockout="failed").first()
    for account in (best.account, excluded.account):
        visit(page, live_server, f"/accounts/{account.pk}/selection/", html_checker)
        expect(page.locator("#explanation svg[role=img]").first).to_be_visible()
    visit(page, live_server, f"/selection/accounts/{best.account_id}/attributes/", html_checker)
