"""The URL walk the security tests share: every named pattern of the project, found from the
resolver rather than listed by hand, so a new URL is checked the day it is added."""

import importlib
import pkgutil
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

import tests

# Left out of the walk, each for a reason; admin's staff-only gate is asserted on its own.
SKIPPED_NAMESPACES = {
    "admin": "Django's own staff-only site, tested by Django; test_url_coverage asserts the gate",
}
# Test packages whose modules are not imported to gather Rows: browser tests need Playwright.
UNIMPORTED_TEST_PACKAGES = {"tests.browser", "tests.security"}


@dataclass(frozen=True)
class Pattern:
    name: str  # "namespace:name" as reverse() takes it
    route: str
    arguments: tuple[str, ...]


def url_patterns() -> list[Pattern]:
    """Every named URL pattern outside the skipped namespaces, in URLconf order."""
    found: list[Pattern] = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, (namespace, entry.namespace)))
                if entry.namespace in SKIPPED_NAMESPACES:
                    continue
                walk(entry.url_patterns, inner, route)
            elif isinstance(entry, URLPattern):
                assert entry.name, f"an unnamed URL pattern cannot be in the matrix: {route}"
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.append(Pattern(name, route, tuple(entry.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, "", "")
    return found


def import_all_test_modules() -> None:
    """Import every test module, so each one's module-level ``Row``s land in the registry."""
    for module in pkgutil.walk_packages(tests.__path__, "tests."):
        if not any(module.name.startswith(p) for p in UNIMPORTED_TEST_PACKAGES):
            importlib.import_module(module.name)


# Writes a request may make without changing the app's state, each for a reason.
ALLOWED_UPDATES = {
    # SESSION_SAVE_EVERY_REQUEST slides the idle timeout: every request re-saves the session.
    "django_session": "the session's expiry moves with each request (inactivity timeout)",
}


def table_writes() -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated and deleted per table so far in this transaction (PostgreSQL's
    pg_stat_xact_user_tables), with the updates of ``ALLOWED_UPDATES`` left out."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {
            name: (inserted, 0 if name in ALLOWED_UPDATES else updated, deleted)
            for name, inserted, updated, deleted in cursor.fetchall()
        }
