"""CSRF is enforced on every state-changing request: for every URL of the walk and every
unsafe method, a signed-in user with full rights and no token gets the CSRF 403 and the
database is unchanged. The token check runs before the view, so any argument that resolves
will do; the URL need not accept the method."""

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.security._urls import table_writes, url_patterns

UNSAFE = ("post", "put", "patch", "delete")


def arguments(route: str) -> list[str]:
    """A value for each converter of ``route`` that resolves (CSRF is checked before the view)."""
    return ["1" if kind == "int" else "x" for kind in re.findall(r"<(?:(\w+):)?\w+>", route)]


@pytest.mark.parametrize(("role", "methods"), [("admin", UNSAFE), ("leadership", ("post",))])
def test_no_unsafe_request_without_a_token_gets_through(cast, role, methods, caplog) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("The write fingerprint reads pg_stat_xact_user_tables (PostgreSQL).")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.by_name(role))
    before = table_writes()
    refused = []

    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        for pattern in url_patterns():
            url = reverse(pattern.name, args=arguments(pattern.route))
            for method in methods:
                caplog.clear()
                response = getattr(client, method)(url)
                if response.status_code != 403 or not caplog.records:
                    refused.append(f"{method.upper()} {url} → {response.status_code}")

    assert not refused, f"requests without a CSRF token that were not refused: {refused}"
    assert table_writes() == before
