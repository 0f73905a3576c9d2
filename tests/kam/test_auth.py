import re

from django.conf import settings
from django.core import mail
from django.urls import reverse

from kam.models import User
from tests.factories import TEST_PASSWORD


def _login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_with_the_right_password_opens_the_overview(client, cast) -> None:
    response = _login(client, "kam", TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("kam:home")
    assert "Willkommen" in client.get(reverse("kam:home")).content.decode()


def test_a_wrong_password_gets_a_translated_error(client, cast) -> None:
    response = _login(client, "kam", "wrong-password")

    assert response.status_code == 200
    assert "Beide Felder berücksichtigen die Groß-/Kleinschreibung" in response.content.decode()


def test_login_is_blocked_after_repeated_failures(client, cast) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "kam", "wrong-password")

    response = _login(client, "kam", TEST_PASSWORD)

    assert response.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client, cast) -> None:
    client.force_login(cast.kam)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 200
    assert "Sie wurden abgemeldet" in response.content.decode()
    assert client.get(reverse("kam:home")).status_code == 302


def test_password_reset_sends_a_german_mail_with_a_working_link(client, cast) -> None:
    response = client.post(reverse("password_reset"), {"email": cast.kam.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "KAM: Passwort zurücksetzen"
    link = re.search(r"https?://[^/]+(/auth/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Neues Passwort festlegen" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert done.status_code == 302
    cast.kam.refresh_from_db()
    assert cast.kam.check_password("a-brand-new-passphrase")


def test_password_change_enforces_the_password_rules(client, cast) -> None:
    client.force_login(cast.kam)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "12345",
            "new_password2": "12345",
        },
    )

    assert response.status_code == 200
    assert "Dieses Passwort ist zu kurz" in response.content.decode()


def test_sessions_expire_after_inactivity() -> None:
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert 0 < settings.SESSION_COOKIE_AGE <= 60 * 60 * 12


def test_the_language_is_remembered_for_the_user(client, cast) -> None:
    client.force_login(cast.kam)

    response = client.post(reverse("kam:language-set"), {"language": "en", "next": "/jobs/"})

    assert response.status_code == 302
    assert response["Location"] == "/jobs/"
    assert User.objects.get(pk=cast.kam.pk).language == "en"
    client.cookies.clear()
    client.force_login(cast.kam)
    assert "Welcome" in client.get("/").content.decode()


def test_an_unknown_language_changes_nothing(client, cast) -> None:
    client.force_login(cast.kam)

    client.post(reverse("kam:language-set"), {"language": "xx"})

    assert User.objects.get(pk=cast.kam.pk).language == ""


def test_an_unsafe_next_url_is_not_followed(client, cast) -> None:
    client.force_login(cast.kam)

    response = client.post(
        reverse("kam:language-set"), {"language": "en", "next": "https://evil.example.com/"}
    )

    assert "evil.example.com" not in response["Location"]
