"""Role × URL × method → status, written as data (see STYLE.md, Access)."""

from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from kam.models import Job
from tests.factories import JobFactory

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


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: str  # a URL name; "{account}", "{job}", "{failed_job}" take the cast's objects
    default: int | str  # expected for every signed-in role not listed in ``expect``
    expect: dict[str, int | str] = field(default_factory=dict)
    anonymous: int | str = LOGIN

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

MATRIX = (
    Row("home", "get", "kam:home", 200),
    Row("health", "get", "healthz", 200, anonymous=200),
    Row("login page", "get", "login", 200, anonymous=200),
    Row("password change", "get", "password_change", 200),
    Row("language", "post", "kam:language-set", 302, anonymous=302),
    Row("job list", "get", "kam:job-list", 200),
    Row("job detail", "get", "kam:job-detail {job}", 404, {"kam": 200, "admin": 200}),
    Row("job file", "get", "kam:job-file {job}", 404, {"kam": 200, "admin": 200}),
    Row("job retry", "post", "kam:job-retry {failed_job}", 404, {"kam": 302, "admin": 302}),
    Row("system check", "post", "kam:job-system-check", 403, {"admin": 302}),
    Row("system check by GET", "get", "kam:job-system-check", 405),
    Row("account list", "get", "accounts:account-list", 200, {"no_role": 403}),
    Row("account detail", "get", "accounts:account-detail {account}", 404, READ_ALL),
    Row("admin site", "get", "admin:index", 302, {"admin": 200}, anonymous=302),
)


@pytest.fixture
def objects(cast):
    job = JobFactory(created_by=cast.kam, state=Job.State.SUCCEEDED)
    job.result_file.save("matrix.pdf", ContentFile(b"%PDF-1.7 test"))
    failed_job = JobFactory(created_by=cast.kam, state=Job.State.FAILED, error="boom")
    return {"account": cast.account.pk, "job": job.pk, "failed_job": failed_job.pk}


def _url(row: Row, objects: dict[str, int]) -> str:
    name, _, arg = row.url.partition(" ")
    args = [objects[arg.strip("{}")]] if arg else []
    return reverse(name, args=args)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    user = cast.by_name(role)
    if user is not None:
        client.force_login(user)
    url = _url(row, objects)

    response = getattr(client, row.method)(url)

    expected = row.expected(role)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected, f"{role} {row.method.upper()} {url}"
