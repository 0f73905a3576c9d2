"""GET and HEAD never change state: signed-in users with rights crawl the demo programme
from every URL that takes no argument, following each link to a URL name not yet visited,
and the database's insert/update/delete counters stay where they were."""

import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.urls import Resolver404, resolve

from accounts.models import Contact, Relationship
from kam.models import Job, User
from kam.roles import Role
from tests.factories import JobFactory
from tests.security._urls import table_writes, url_patterns

HREF = r'href="(/[^"#?]*)'
ROLES = {
    "admin": Role.ADMINISTRATOR,
    "leadership": Role.SALES_LEADERSHIP,
    "kam": Role.KEY_ACCOUNT_MANAGER,
    "finance": Role.FINANCE,
}


def crawl(client: Client) -> tuple[set[str], list[str]]:
    """GET and HEAD one URL per name, starting from the argument-less ones; return the names
    visited and the URLs after whose GET or HEAD the database had changed."""
    queue = [f"/{p.route}" for p in url_patterns() if not p.arguments]
    seen: set[str] = set()
    changed = []
    while queue:
        url = queue.pop(0)
        try:
            name = resolve(url).view_name
        except Resolver404:
            continue
        if name in seen or name.startswith("admin:"):
            continue
        seen.add(name)
        before = table_writes()
        page = client.get(url)
        client.head(url)
        if table_writes() != before:
            changed.append(url)
        if page.status_code == 200 and "html" in page.get("Content-Type", ""):
            queue.extend(re.findall(HREF, page.content.decode()))
    return seen, changed


@pytest.mark.parametrize("role", ["admin", "kam"])
def test_get_and_head_never_change_the_database_of_the_cast(cast, role) -> None:
    """The short version CI runs: the cast's small world with a contact, a relationship and a
    finished job, as the administrator and the KAM."""
    if connection.vendor != "postgresql":
        pytest.skip("The write fingerprint reads pg_stat_xact_user_tables (PostgreSQL).")
    user = cast.by_name(role)
    contact = Contact.objects.create(account=cast.account, last_name="Krause")
    Relationship.objects.create(contact=contact, user=cast.kam, strength=3)
    job = JobFactory(created_by=user, state=Job.State.SUCCEEDED)
    job.result_file.save("crawl.pdf", ContentFile(b"%PDF-1.7 test"))
    client = Client()
    client.force_login(user)

    seen, changed = crawl(client)

    assert {"accounts:contact-edit", "kam:job-detail", "kam:job-file"} <= seen
    assert len(seen) > 50, f"the crawl reached too little of the site: {sorted(seen)}"
    assert not changed, f"GET/HEAD requests that changed the database: {changed}"


@pytest.mark.long
@pytest.mark.parametrize("role", ROLES)
def test_get_and_head_never_change_the_database(demo, db, role) -> None:
    """The whole demo programme (about a minute to seed), as four roles with rights."""
    if connection.vendor != "postgresql":
        pytest.skip("The write fingerprint reads pg_stat_xact_user_tables (PostgreSQL).")
    user = User.objects.filter(groups__name=ROLES[role]).order_by("pk").first()
    client = Client()
    client.force_login(user)

    seen, changed = crawl(client)

    assert len(seen) > 30, f"the crawl reached too little of the site: {sorted(seen)}"
    assert not changed, f"GET/HEAD requests that changed the database: {changed}"
