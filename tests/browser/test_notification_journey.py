"""A key account manager reads a notification in Chromium and follows it."""

import pytest
from playwright.sync_api import expect

from kam.models import Notification
from kam.roles import Role
from tests.browser.conftest import login, visit
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def test_kam_sees_the_count_opens_the_notification_and_it_is_read(
    page, live_server, html_checker
) -> None:
    kam = UserFactory(username="jonas", roles=[Role.KEY_ACCOUNT_MANAGER])
    notification = Notification.objects.create(
        user=kam, message="Die Stufen von 2 Ihrer Accounts haben sich geändert.", url="/accounts/"
    )
    login(page, live_server, "jonas", TEST_PASSWORD)

    header = page.get_by_role("link", name="Benachrichtigungen")
    expect(header).to_contain_text("1")
    visit(page, live_server, "/notifications/", html_checker)
    page.get_by_role("button", name="Die Stufen von 2 Ihrer Accounts haben sich geändert.").click()

    page.wait_for_url(f"{live_server.url}/accounts/")
    expect(page.get_by_role("link", name="Benachrichtigungen")).not_to_contain_text("1")
    notification.refresh_from_db()
    assert notification.read_at is not None
    html_checker.assert_valid()
