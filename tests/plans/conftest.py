"""Plan fixtures built through the real services."""

import datetime

import pytest

from accounts.models import Contact
from plans import services
from plans.models import Plan, PlanVersion


@pytest.fixture
def contact(cast) -> Contact:
    return Contact.objects.create(
        account=cast.account, first_name="Petra", last_name="Brandt", position="CEO"
    )


@pytest.fixture
def plan(cast, contact) -> Plan:
    """A draft plan of ``cast.account`` (2027–2029) with texts, an objective and an action
    owned by ``cast.kam`` that involves ``contact``."""
    plan = services.plan_create(account=cast.account, start_year=2027, user=cast.kam)
    plan = services.plan_section_update(
        plan=plan,
        section="situation",
        revision=plan.revision,
        values={"business_goals": "Brandt wants to double its **export** business."},
        user=cast.kam,
    )
    revenue = plan.targets.get(metric="revenue")
    services.item_update(
        item=revenue,
        revision=revenue.revision,
        values={"year_1": 1_200_000, "year_2": 1_500_000, "year_3": 1_800_000},
        user=cast.kam,
    )
    objective = services.item_create(
        plan=plan,
        kind="objective",
        values={
            "title": "Framework contract for spare parts",
            "measure": "Contract signed",
            "target_year": 2027,
            "target": revenue,
        },
        user=cast.kam,
    )
    services.item_create(
        plan=plan,
        kind="action",
        values={
            "objective": objective,
            "title": "Workshop with purchasing",
            "owner": cast.kam,
            "due_date": datetime.date(2027, 3, 31),
            "contacts": [contact],
        },
        user=cast.kam,
    )
    plan.refresh_from_db()
    return plan


@pytest.fixture
def submitted_plan(cast, plan) -> Plan:
    services.plan_submit(plan=plan, user=cast.kam)
    plan.refresh_from_db()
    return plan


@pytest.fixture
def approved_version(cast, submitted_plan) -> PlanVersion:
    return services.plan_approve(plan=submitted_plan, user=cast.leadership)
