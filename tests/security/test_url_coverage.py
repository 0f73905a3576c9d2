"""Every named URL of the project has a row in the access matrix (role × URL × method →
status): a URL added without one fails here, by name."""

from django.urls import reverse

from tests.access import REGISTRY
from tests.security._urls import SKIPPED_NAMESPACES, import_all_test_modules, url_patterns


def test_every_url_has_an_access_matrix_row() -> None:
    import_all_test_modules()
    covered = {row.url.split(" ")[0] for row in REGISTRY}

    missing = [p.name for p in url_patterns() if p.name not in covered]

    assert len(url_patterns()) > 100, "the URL walk found too few patterns to be the whole site"
    assert not missing, f"URLs without an access matrix Row (tests/access.py): {missing}"


def test_the_skipped_admin_site_is_for_staff_only(client, cast) -> None:
    assert set(SKIPPED_NAMESPACES) == {"admin"}
    index = reverse("admin:index")

    client.force_login(cast.leadership)
    leadership = client.get(index)
    client.force_login(cast.admin)
    staff = client.get(index)

    assert not cast.leadership.is_staff
    assert leadership.status_code == 302
    assert leadership["Location"].startswith(reverse("admin:login"))
    assert staff.status_code == 200
