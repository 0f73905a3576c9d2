"""The start page tells each user what waits for them in the plans."""

import datetime

from django.urls import reverse

from plans import services
from plans.models import Action


def _work(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("kam:home"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_kam_sees_open_and_overdue_actions_and_leadership_the_plans_to_approve(
    client, cast, submitted_plan
) -> None:
    action = Action.objects.get(plan=submitted_plan)
    Action.objects.filter(pk=action.pk).update(due_date=datetime.date(2020, 1, 1))

    kam_page = _work(client, cast.kam)
    leadership_page = _work(client, cast.leadership)

    actions_url = reverse("plans:action-list")
    assert f'href="{actions_url}"' in kam_page
    assert f'href="{actions_url}?overdue=on"' in kam_page
    assert "?status=submitted" not in kam_page
    assert f'href="{reverse("plans:plan-list")}?status=submitted"' in leadership_page
    assert f'href="{actions_url}"' not in leadership_page  # leadership owns no action here


def test_without_plan_work_the_start_page_shows_no_plan_section(client, cast, plan) -> None:
    services.plan_submit(plan=plan, user=cast.kam)
    Action.objects.filter(plan=plan).update(status="done")

    assert 'id="plan-work"' not in _work(client, cast.kam)
    assert 'id="plan-work"' not in _work(client, cast.viewer)
