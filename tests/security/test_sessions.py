"""Sessions: no fixation, logout kills the session, login is rate-limited, password rules
hold, and production settings send cookies only over HTTPS with HSTS."""

import json

from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD
from tests.production import PRODUCTION_ENV, run_python

SETTINGS_NAMES = (
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "DEBUG",
)
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{n: getattr(settings, n) for n in {SETTINGS_NAMES!r}}}))"
)


def login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_the_session_key_changes_at_login(client, cast):
    client.get(reverse("login"))
    client.session.save()
    planted = client.session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = planted

    assert login(client, "kam", TEST_PASSWORD).status_code == 302

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert attacker.get(reverse("kam:home")).status_code == 302


def test_an_old_session_cookie_is_dead_after_logout(client, cast):
    login(client, "kam", TEST_PASSWORD)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("kam:home")).status_code == 200

    client.post(reverse("logout"))

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = replay.get(reverse("kam:home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "_auth_user_id" not in replay.session


def test_login_locks_out_after_repeated_failures_even_with_the_right_password(client, cast):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "kam", "wrong-password").status_code == 200
    assert login(client, "kam", "wrong-password").status_code == 429

    response = login(client, "kam", TEST_PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another browser (same address) cannot get around the lock either.
    assert login(Client(), "kam", TEST_PASSWORD).status_code == 429


def test_the_password_change_form_enforces_every_rule(client, cast):
    client.force_login(cast.kam)
    for weak, code in (
        ("Sh0rt-pw", "password_too_short"),
        ("password1234", "password_too_common"),
        ("4829105736", "password_entirely_numeric"),
        ("kam@example.com", "password_too_similar"),
    ):
        response = client.post(
            reverse("password_change"),
            {"old_password": TEST_PASSWORD, "new_password1": weak, "new_password2": weak},
        )
        assert response.status_code == 200, weak
        codes = [e.code for e in response.context["form"].errors.as_data()["new_password2"]]
        assert code in codes, (weak, codes)
    cast.kam.refresh_from_db()
    assert cast.kam.check_password(TEST_PASSWORD)


def test_production_cookies_are_secure_and_hsts_is_on():
    result = run_python("-c", PRINT_SETTINGS, env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    for name in (*SETTINGS_NAMES[:5], "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT"):
        assert values[name], name
    assert values["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 180
