"""Content Security Policy without inline script: the header forbids it and no page needs it.

Every named page without arguments, an account's page and a selection run's page are fetched
as an administrator (who sees every page).
"""

import re

import pytest
from django.urls import URLResolver, get_resolver, reverse

from tests.selection.conftest import (  # noqa: F401 - fixtures
    approved_run,
    ready_run,
    released_version,
    workplaces,
)

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
# Pages whose GET is an action or a download, not an HTML page.
SKIP = {"logout", "healthz"}


def names_without_arguments(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            if not pattern.pattern.regex.groupindex:
                names |= names_without_arguments(pattern, inner)
        elif pattern.name and not pattern.pattern.regex.groupindex:
            names.add(prefix + pattern.name)
    return names - SKIP


def script_sources(policy: str) -> str:
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip()
    )
    return directives.get("script-src") or directives.get("default-src", "")


def assert_no_inline_script(url: str, response) -> None:
    policy = response["Content-Security-Policy"]
    sources = script_sources(policy)
    assert "'self'" in sources, (url, policy)
    assert "unsafe-inline" not in sources, (url, policy)
    assert "unsafe-eval" not in sources, (url, policy)
    html = response.content.decode()
    assert INLINE_SCRIPT.findall(html) == [], url
    assert EVENT_HANDLER.findall(html) == [], url
    assert JS_URL.findall(html) == [], url


def test_the_checks_catch_inline_script():
    assert INLINE_SCRIPT.findall('<script>alert(1)</script><script src="/a.js"></script>') == [
        "<script>"
    ]
    assert EVENT_HANDLER.findall('<button class="b" onclick="x()">')
    assert not EVENT_HANDLER.findall('<button data-on="x">')


@pytest.mark.django_db
def test_every_page_of_an_administrator_has_no_inline_script(client, cast, request):
    run = request.getfixturevalue("approved_run")
    client.force_login(cast.admin)
    urls = [reverse(name) for name in sorted(names_without_arguments())]
    urls += [
        reverse("accounts:account-detail", args=[cast.account.pk]),
        reverse("selection:run-detail", args=[run.pk]),
    ]
    checked = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        assert_no_inline_script(url, response)
        checked += 1
    assert checked >= 10
