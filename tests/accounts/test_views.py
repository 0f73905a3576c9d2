"""The account pages from the browser's side: forms, errors, htmx sections, conflicts."""

import re

import pytest
from django.urls import reverse

from accounts import services
from accounts.forms import TeamMemberForm
from accounts.models import Account, Contact, ContactRole, PotentialYear, Relationship
from kam.models import User

CONTACT = {
    "first_name": "Birgit",
    "last_name": "Hahn",
    "position": "Leiterin Einkauf",
    "influence": "high",
    "attitude": "4",
    "roles": ["buyer", "decider"],
    "factors-TOTAL_FORMS": "1",
    "factors-INITIAL_FORMS": "0",
    "factors-0-factor": "price",
    "factors-0-custom_name": "",
    "factors-0-importance": "5",
}


@pytest.fixture
def kam_client(client, cast):
    client.force_login(cast.kam)
    return client


def _post_contact(client, account, **changes):
    return client.post(
        reverse("accounts:contact-create", args=[account.pk]),
        {**CONTACT, **changes},
        headers={"HX-Request": "true"},
    )


def test_adding_a_contact_with_htmx_returns_the_updated_buying_center(kam_client, cast) -> None:
    response = _post_contact(kam_client, cast.account)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#buying-center"
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="buying-center"')
    assert "Birgit Hahn" in page
    contact = Contact.objects.get(last_name="Hahn")
    assert set(contact.roles.values_list("role", flat=True)) == {"buyer", "decider"}
    assert contact.decision_factors.get().factor == "price"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"last_name": ""}, "last_name", "Dieses Feld ist zwingend erforderlich."),
        ({"last_name": "x" * 81}, "last_name", "höchstens 80 Zeichen"),
        ({"attitude": "6"}, "attitude", "kleiner oder gleich 5"),
        ({"attitude": "sehr gut"}, "attitude", "Bitte eine ganze Zahl eingeben."),
        ({"email": "kein-mail"}, "email", "gültige E-Mail-Adresse"),
        ({"roles": ["kaiser"]}, "roles", "keine gültige Auswahl"),
        ({"factors-0-factor": "custom"}, "custom_name", "Benennen Sie Ihren eigenen"),
    ],
)
def test_bad_contact_input_gets_a_translated_error_and_keeps_the_input(
    kam_client, cast, changes, field, message
) -> None:
    response = _post_contact(kam_client, cast.account, **changes)

    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert "Leiterin Einkauf" in page
    assert not Contact.objects.filter(position="Leiterin Einkauf").exists()


def test_a_manager_from_another_account_is_refused(kam_client, cast) -> None:
    stranger = Contact.objects.create(account=cast.other_account, last_name="Fremd")

    response = _post_contact(kam_client, cast.account, reports_to=str(stranger.pk))

    assert "keine gültige Auswahl" in response.content.decode()
    assert not Contact.objects.filter(last_name="Hahn").exists()


def test_a_reports_to_cycle_is_refused_with_a_message(kam_client, cast) -> None:
    boss = services.contact_create(account=cast.account, values={"last_name": "Boss"}, roles=[])
    worker = services.contact_create(
        account=cast.account, values={"last_name": "Hand", "reports_to": boss}, roles=[]
    )

    response = kam_client.post(
        reverse("accounts:contact-edit", args=[boss.pk]),
        {**CONTACT, "last_name": "Boss", "version": "1", "reports_to": str(worker.pk)},
    )

    assert "würde der Kontakt an sich selbst berichten" in response.content.decode()
    assert Contact.objects.get(pk=boss.pk).reports_to is None


def test_a_concurrent_contact_edit_is_shown_and_not_overwritten(kam_client, cast) -> None:
    contact = services.contact_create(
        account=cast.account, values={"last_name": "Hahn", "attitude": 1}, roles=[]
    )
    services.contact_update(contact=contact, version=1, values={"attitude": 3}, roles=[])

    response = kam_client.post(
        reverse("accounts:contact-edit", args=[contact.pk]),
        {**CONTACT, "version": "1", "attitude": "-2", "position": "Meine Eingabe"},
    )

    page = response.content.decode()
    assert "Jemand anderes hat eine Änderung gespeichert" in page
    assert "Meine Eingabe" in page
    assert 'name="version" value="2"' in page
    assert Contact.objects.get(pk=contact.pk).attitude == 3
    again = kam_client.post(
        reverse("accounts:contact-edit", args=[contact.pk]),
        {**CONTACT, "version": "2", "attitude": "-2"},
    )
    assert again.status_code == 302
    assert Contact.objects.get(pk=contact.pk).attitude == -2


def test_profile_edit_saves_and_the_history_shows_who_changed_what(kam_client, cast) -> None:
    group = Account.objects.create(
        name="Brandt Holding", erp_number="H1", industry="automotive", region="south"
    )
    data = {
        "version": "1",
        "name": "Brandt Maschinenbau AG",
        "erp_number": cast.account.erp_number,
        "legal_form": "AG",
        "account_type": "direct",
        "status": "active",
        "strategy": "strategic",
        "industry": "automotive",
        "region": "south",
        "country": "DE",
        "countries_of_operation": ["DE", "AT"],
        "website": "brandt.example.com",
        "parent_erp_number": "h1",
    }

    response = kam_client.post(reverse("accounts:account-edit", args=[cast.account.pk]), data)

    assert response.status_code == 302
    account = Account.objects.get(pk=cast.account.pk)
    assert (account.name, account.parent, account.version) == ("Brandt Maschinenbau AG", group, 2)
    assert account.website == "https://brandt.example.com"
    history = kam_client.get(reverse("accounts:account-history", args=[account.pk]))
    page = history.content.decode()
    assert "Brandt Maschinenbau AG" in page
    assert str(cast.kam) in page


def test_an_unknown_parent_group_is_explained(kam_client, cast) -> None:
    response = kam_client.post(
        reverse("accounts:account-edit", args=[cast.account.pk]),
        {
            "version": "1",
            "name": "X",
            "erp_number": "X1",
            "industry": "automotive",
            "region": "south",
            "country": "DE",
            "account_type": "direct",
            "status": "active",
            "parent_erp_number": "NOPE",
        },
    )

    assert "Kein Account hat die ERP-Kundennummer NOPE." in response.content.decode()


def test_potential_years_and_competitors_are_saved_together(kam_client, cast) -> None:
    data = {
        "version": "1",
        "share_of_wallet": "12,5",
        "share_of_wallet_target": "30",
        "requirements": "Just-in-time",
        "key_processes": "",
        "partnership_starting_points": "",
        "cooperation_history": "",
        "customer_goals": "",
        "years-TOTAL_FORMS": "2",
        "years-INITIAL_FORMS": "0",
        "years-0-year": "2027",
        "years-0-expected_revenue": "1.250.000,00",
        "years-0-expected_margin": "310.000",
        "years-1-year": "2028",
        "years-1-expected_revenue": "1400000",
        "years-1-expected_margin": "350000",
        "competitors-TOTAL_FORMS": "1",
        "competitors-INITIAL_FORMS": "0",
        "competitors-0-name": "Wettbewerber GmbH",
        "competitors-0-estimated_share": "40",
    }

    response = kam_client.post(
        reverse("accounts:account-potential-edit", args=[cast.account.pk]), data
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    years = PotentialYear.objects.filter(account=cast.account).order_by("year")
    assert [(y.year, int(y.expected_revenue)) for y in years] == [(2027, 1250000), (2028, 1400000)]
    page = kam_client.get(reverse("accounts:account-potential", args=[cast.account.pk]))
    assert "1.250.000,00\xa0€" in page.content.decode()
    assert "Wettbewerber GmbH" in page.content.decode()


def test_target_below_today_is_refused(kam_client, cast) -> None:
    response = kam_client.post(
        reverse("accounts:account-potential-edit", args=[cast.account.pk]),
        {
            "version": "1",
            "share_of_wallet": "40",
            "share_of_wallet_target": "20",
            "years-TOTAL_FORMS": "0",
            "years-INITIAL_FORMS": "0",
            "competitors-TOTAL_FORMS": "0",
            "competitors-INITIAL_FORMS": "0",
        },
    )

    assert "Das Ziel sollte nicht unter dem heutigen Anteil liegen." in response.content.decode()


def test_a_relationship_added_with_htmx_updates_the_matrix(kam_client, cast) -> None:
    contact = services.contact_create(account=cast.account, values={"last_name": "Hahn"}, roles=[])

    response = kam_client.post(
        reverse("accounts:relationship-create", args=[contact.pk]),
        {"user": str(cast.team_member.pk), "strength": "5", "last_touched": "2026-11-01"},
        headers={"HX-Request": "true"},
    )

    assert response["HX-Retarget"] == "#relationship-map"
    assert 'class="strength-cell strength-5"' in response.content.decode()
    assert Relationship.objects.get(contact=contact).user == cast.team_member


def test_a_user_off_the_team_cannot_be_chosen_for_a_relationship(kam_client, cast) -> None:
    contact = services.contact_create(account=cast.account, values={"last_name": "Hahn"}, roles=[])

    response = kam_client.post(
        reverse("accounts:relationship-create", args=[contact.pk]),
        {"user": str(cast.outsider_kam.pk), "strength": "3"},
    )

    assert "keine gültige Auswahl" in response.content.decode()
    assert not Relationship.objects.exists()


def test_deleting_a_contact_asks_first_then_removes(kam_client, cast) -> None:
    contact = services.contact_create(
        account=cast.account, values={"last_name": "Hahn"}, roles=["user"]
    )
    url = reverse("accounts:contact-delete", args=[contact.pk])

    confirm = kam_client.get(url)
    assert "Wirklich Hahn entfernen?" in confirm.content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()

    kam_client.post(url)
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not ContactRole.objects.exists()


def test_second_kam_on_the_team_tab_is_explained(kam_client, cast) -> None:
    response = kam_client.post(
        reverse("accounts:account-team", args=[cast.account.pk]),
        {"user": str(cast.outsider_kam.pk), "role": "key_account_manager"},
    )

    assert "Der Account hat bereits einen Key Account Manager." in response.content.decode()


def test_html_ids_are_not_localised_for_large_keys(kam_client, cast) -> None:
    Contact.objects.create(pk=12345, account=cast.account, last_name="Groß")

    page = kam_client.get(reverse("accounts:account-buying-center", args=[cast.account.pk]))

    assert 'id="contact-12345"' in page.content.decode()


def test_the_team_tab_lists_a_bounded_number_of_people_and_finds_the_others(
    kam_client, cast
) -> None:
    User.objects.bulk_create(
        User(username=f"staff{n:03d}", first_name="Anna", last_name=f"Aaberg {n:03d}")
        for n in range(TeamMemberForm.PEOPLE_SHOWN + 5)
    )
    User.objects.create(username="zora", first_name="Zora", last_name="Zylinski")
    url = reverse("accounts:account-team", args=[cast.account.pk])

    first = kam_client.get(url).content.decode()
    found = kam_client.get(url, {"person": "zyl"}).content.decode()
    nobody = kam_client.get(url, {"person": "Qwertz"}).content.decode()

    people = re.search(r'<select name="user".*?</select>', first, re.S).group()
    assert people.count("<option") == TeamMemberForm.PEOPLE_SHOWN + 1  # and "---------"
    assert "Zylinski" not in first
    assert 'name="person"' in first
    assert "Zylinski" in found
    assert "Aaberg" not in found
    assert "Niemand mit diesem Namen gefunden." in nobody
    # Anyone active can be added, listed or not.
    added = kam_client.post(url, {"user": User.objects.get(username="zora").pk, "role": "sales"})
    assert added.status_code == 302
    assert cast.account.team_members.filter(user__username="zora").exists()
