"""A KAM maps a buying center in Chromium: contact, roles, attitude, relationship, flags."""

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import Contact, Relationship, TeamRole
from kam.roles import Role
from tests.browser.conftest import assert_accessible, login, visit
from tests.factories import TEST_PASSWORD, AccountFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.browser


def test_kam_maps_a_buying_center_and_sees_the_flags_change(page, live_server, html_checker):
    kam = UserFactory(
        username="jonas", first_name="Jonas", last_name="Becker", roles=[Role.KEY_ACCOUNT_MANAGER]
    )
    account = AccountFactory(name="Brandt Maschinenbau GmbH", tier="Gold", tier_rank=1)
    TeamMemberFactory(account=account, user=kam, role=TeamRole.KEY_ACCOUNT_MANAGER)
    ceo = services.contact_create(
        account=account,
        values={
            "first_name": "Klaus",
            "last_name": "Brandt",
            "position": "Geschäftsführer",
            "influence": "high",
            "attitude": 1,
        },
        roles=["approver"],
    )
    login(page, live_server, "jonas", TEST_PASSWORD)

    visit(page, live_server, f"/accounts/{account.pk}/", html_checker)
    page.get_by_role("link", name="Buying Center").click()
    expect(page.get_by_role("note", name="Warnsignale")).to_contain_text(
        "Entscheider oder einflussreicher Kontakt ohne Beziehung"
    )
    assert_accessible(page)
    html_checker.add("buying-center", page.request.get(page.url).text())
    page.evaluate("window.__notReloaded = true")

    page.get_by_role("link", name="Kontakt hinzufügen").click()
    form = page.locator("#contact-panel form")
    form.get_by_label("Vorname").fill("Birgit")
    form.get_by_label("Nachname").fill("Hahn")
    form.get_by_label("Position").fill("Leiterin Einkauf")
    form.get_by_label("Berichtet an").select_option(label="Klaus Brandt")
    form.get_by_label("Einkäufer").check()
    form.get_by_label("Entscheider").check()
    form.get_by_label("Einfluss*", exact=True).select_option("high")
    form.get_by_label("Einstellung zu uns*", exact=True).fill("5")
    assert_accessible(page)
    form.get_by_role("button", name="Kontakt speichern").click()

    chart = page.locator(".org-chart")
    expect(chart.get_by_text("Birgit Hahn")).to_be_visible()
    expect(page.get_by_role("row", name="Birgit Hahn Leiterin Einkauf")).to_contain_text(
        "Entscheider"
    )
    assert page.evaluate("window.__notReloaded") is True
    hahn = Contact.objects.get(last_name="Hahn")
    assert hahn.reports_to == ceo
    assert hahn.attitude == 5

    page.get_by_role("link", name="Beziehungslandkarte").click()
    visit(page, live_server, f"/accounts/{account.pk}/relationships/", html_checker)
    page.get_by_role("link", name="Beziehung hinzufügen mit Klaus Brandt").click()
    panel = page.locator("#relationship-panel form")
    panel.get_by_label("Teammitglied").select_option(label="Jonas Becker")
    panel.get_by_label("Stärke").select_option("4")
    panel.get_by_role("button", name="Beziehung speichern").click()

    expect(page.locator("td.strength-4")).to_have_count(1)
    assert Relationship.objects.get(contact=ceo).strength == 4
    assert_accessible(page)

    page.get_by_role("link", name="Buying Center").click()
    flags = page.get_by_role("note", name="Warnsignale")
    expect(flags).not_to_contain_text("Kein Fürsprecher")
    expect(page.locator(f"#contact-{ceo.pk}")).not_to_contain_text("ohne Beziehung")
    expect(page.locator(f"#contact-{hahn.pk}")).to_contain_text("ohne Beziehung")
    for path in ("potential/", "team/", "history/", "edit/", "potential/edit/", "contacts/new/"):
        visit(page, live_server, f"/accounts/{account.pk}/{path}", html_checker)
