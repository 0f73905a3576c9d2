"""Role × URL × method → status, written as data (see STYLE.md, Access)."""

import pytest
from django.core.files.base import ContentFile

from accounts.models import Contact, Relationship, TeamRole
from kam.models import Job, Notification
from tests.access import EDIT, EDIT_REDIRECT, READ_ALL, ROLES, Row, check_access
from tests.factories import JobFactory, TeamMemberFactory

MATRIX = (
    Row("home", "get", "kam:home", 200),
    Row("health", "get", "healthz", 200, anonymous=200),
    Row("login page", "get", "login", 200, anonymous=200),
    Row("password change", "get", "password_change", 200),
    Row("password changed", "get", "password_change_done", 200),
    Row("logout", "post", "logout", 200),
    Row("logout by GET", "get", "logout", 405),
    Row("password reset page", "get", "password_reset", 200, anonymous=200),
    Row("password reset sent", "get", "password_reset_done", 200, anonymous=200),
    Row("password reset bad link", "get", "password_reset_confirm x y", 200, anonymous=200),
    Row("password reset complete", "get", "password_reset_complete", 200, anonymous=200),
    Row("language", "post", "kam:language-set", 302, anonymous=302),
    Row("job list", "get", "kam:job-list", 200),
    Row("job detail", "get", "kam:job-detail {job}", 404, {"kam": 200, "admin": 200}),
    Row("job file", "get", "kam:job-file {job}", 404, {"kam": 200, "admin": 200}),
    Row("job retry", "post", "kam:job-retry {failed_job}", 404, {"kam": 302, "admin": 302}),
    Row("system check", "post", "kam:job-system-check", 403, {"admin": 302}),
    Row("notification list", "get", "kam:notification-list", 200),
    Row("notification open", "post", "kam:notification-open {notification}", 404, {"kam": 302}),
    Row("notification open by GET", "get", "kam:notification-open {notification}", 405),
    Row("notifications read", "post", "kam:notification-read-all", 302),
    Row("system check by GET", "get", "kam:job-system-check", 405),
    Row("account list", "get", "accounts:account-list", 200, {"no_role": 403}),
    Row("account export", "get", "accounts:account-export csv", 200, {"no_role": 403}),
    Row("account detail", "get", "accounts:account-detail {account}", 404, READ_ALL),
    *(
        Row(f"account tab {name}", "get", f"accounts:account-{name} {{account}}", 404, READ_ALL)
        for name in (
            "potential",
            "buying-center",
            "relationships",
            "team",
            "history",
            "plan",
            "kpis",
            "selection",
        )
    ),
    Row("account edit page", "get", "accounts:account-edit {account}", 404, EDIT),
    Row("account edit", "post", "accounts:account-edit {account}", 404, EDIT),
    Row("potential edit page", "get", "accounts:account-potential-edit {account}", 404, EDIT),
    Row("potential edit", "post", "accounts:account-potential-edit {account}", 404, EDIT),
    Row("team member add", "post", "accounts:account-team {account}", 404, EDIT),
    Row("team member remove", "post", "accounts:team-member-remove {member}", 404, EDIT_REDIRECT),
    Row("contact create page", "get", "accounts:contact-create {account}", 404, EDIT),
    Row("contact create", "post", "accounts:contact-create {account}", 404, EDIT),
    Row("contact edit page", "get", "accounts:contact-edit {contact}", 404, EDIT),
    Row("contact edit", "post", "accounts:contact-edit {contact}", 404, EDIT),
    Row("contact delete page", "get", "accounts:contact-delete {contact}", 404, EDIT),
    Row("contact delete", "post", "accounts:contact-delete {contact}", 404, EDIT_REDIRECT),
    Row("relationship page", "get", "accounts:relationship-create {contact}", 404, EDIT),
    Row("relationship create", "post", "accounts:relationship-create {contact}", 404, EDIT),
    Row(
        "relationship delete",
        "post",
        "accounts:relationship-delete {relationship}",
        404,
        EDIT_REDIRECT,
    ),
    Row("relationship delete by GET", "get", "accounts:relationship-delete {relationship}", 405),
    Row("admin site", "get", "admin:index", 302, {"admin": 200}, anonymous=302),
)


@pytest.fixture
def objects(cast):
    job = JobFactory(created_by=cast.kam, state=Job.State.SUCCEEDED)
    job.result_file.save("matrix.pdf", ContentFile(b"%PDF-1.7 test"))
    failed_job = JobFactory(created_by=cast.kam, state=Job.State.FAILED, error="boom")
    contact = Contact.objects.create(account=cast.account, last_name="Krause")
    relationship = Relationship.objects.create(contact=contact, user=cast.kam, strength=3)
    member = TeamMemberFactory(account=cast.account, role=TeamRole.SALES)
    notification = Notification.objects.create(user=cast.kam, message="Tier changed", url="/")
    return {
        "account": cast.account.pk,
        "job": job.pk,
        "failed_job": failed_job.pk,
        "contact": contact.pk,
        "relationship": relationship.pk,
        "member": member.pk,
        "notification": notification.pk,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)
