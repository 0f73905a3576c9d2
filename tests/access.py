"""The access matrix harness: role × URL × method → status, written as data (STYLE.md, Access).

Each app's tests list ``Row``s and an ``objects`` fixture naming the objects the URLs take;
:func:`check_access` requests the URL as the role and compares the status.
"""

from dataclasses import dataclass, field

from django.test import Client
from django.urls import reverse

ROLES = (
    "anonymous",
    "leadership",
    "kam",
    "team_member",
    "outsider_kam",
    "finance",
    "viewer",
    "admin",
    "no_role",
)
LOGIN = "login"

# Every Row ever made, so tests/security/test_url_coverage.py can prove each URL has one.
REGISTRY: list["Row"] = []


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: str  # a URL name and its arguments: "{account}" takes objects["account"]
    default: int | str  # expected for every signed-in role not listed in ``expect``
    expect: dict[str, int | str] = field(default_factory=dict)
    anonymous: int | str = LOGIN

    def __post_init__(self) -> None:
        REGISTRY.append(self)

    def expected(self, role: str) -> int | str:
        if role == "anonymous":
            return self.anonymous
        return self.expect.get(role, self.default)


READ_ALL = {
    "leadership": 200,
    "kam": 200,
    "team_member": 200,
    "finance": 200,
    "viewer": 200,
    "admin": 200,
}

# Inside the scope but read-only: 403; the account's team and leadership may change it
# (200 re-renders a form with errors for the empty POSTs, 302 follows a done action).
EDIT = {
    "leadership": 200,
    "admin": 200,
    "kam": 200,
    "team_member": 200,
    "finance": 403,
    "viewer": 403,
}
EDIT_REDIRECT = {**EDIT, "leadership": 302, "admin": 302, "kam": 302, "team_member": 302}


def url_of(row: Row, objects: dict[str, int]) -> str:
    name, *args = row.url.split(" ")
    return reverse(name, args=[objects[a.strip("{}")] if a.startswith("{") else a for a in args])


def check_access(client: Client, cast, objects: dict[str, int], row: Row, role: str) -> None:
    """Request the row's URL as ``role`` and assert the status the row expects."""
    user = cast.by_name(role)
    if user is not None:
        client.force_login(user)
    url = url_of(row, objects)

    response = getattr(client, row.method)(url)

    expected = row.expected(role)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected, f"{role} {row.method.upper()} {url}"
