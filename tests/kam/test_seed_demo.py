"""``seed_demo`` builds a whole programme, and a second run changes nothing.

The demo is seeded once for this module (it takes about 20 s) in a transaction that is rolled
back after the last test; each test reads it inside its own savepoint.
"""

import datetime

from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from accounts.models import (
    Account,
    AccountTeamMember,
    BuyingRole,
    Competitor,
    Contact,
    ContactDecisionFactor,
    ContactRole,
    DecisionFactor,
    PotentialYear,
    Relationship,
)
from kam.models import User
from kam.roles import Role


def _snapshot() -> tuple:
    return (
        sorted(User.objects.values_list("username", "password", "first_name", "is_staff")),
        sorted(Account.objects.values_list("erp_number", "name", "industry", "region", "country")),
        sorted(
            AccountTeamMember.objects.values_list("account__erp_number", "user__username", "role")
        ),
    )


def _seed() -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_seed_demo_builds_a_programme_and_a_second_run_changes_nothing(demo, db) -> None:
    first, first_center = _snapshot(), _buying_center_snapshot()

    _seed()

    assert _snapshot() == first
    assert _buying_center_snapshot() == first_center
    assert all(first_center), "every kind of demo row exists"
    assert Account.objects.count() == 80
    assert Account.objects.values("industry").distinct().count() >= 8
    assert Account.objects.values("region").distinct().count() == 5
    for role in Role:
        assert Group.objects.get(name=role.value).user_set.exists(), role
    key_accounts = Account.objects.filter(team_members__role="key_account_manager").distinct()
    assert key_accounts.count() == 30


PROFILE_FIELDS = (
    "legal_form", "tier", "tier_rank", "account_type", "status", "strategy", "website",
    "countries_of_operation", "parent_id", "share_of_wallet", "share_of_wallet_target",
    "requirements", "key_processes", "partnership_starting_points", "cooperation_history",
    "customer_goals",
)  # fmt: skip
CONTACT_FIELDS = (
    "account_id", "last_name", "first_name", "position", "department", "reports_to_id",
    "influence", "attitude", "mode", "door_openers", "has_left", "last_contact_date",
)  # fmt: skip
OF_CONTACT = ("contact__account__erp_number", "contact__last_name", "contact__first_name")


def _buying_center_snapshot() -> tuple:
    return (
        list(Account.objects.order_by("pk").values_list("pk", *PROFILE_FIELDS)),
        list(
            PotentialYear.objects.order_by("pk").values_list(
                "pk", "account_id", "year", "expected_revenue", "expected_margin"
            )
        ),
        list(Competitor.objects.order_by("pk").values_list("pk", "account_id", "name")),
        list(Contact.objects.order_by("pk").values_list("pk", *CONTACT_FIELDS)),
        list(ContactRole.objects.order_by("pk").values_list("pk", *OF_CONTACT, "role")),
        list(
            ContactDecisionFactor.objects.order_by("pk").values_list(
                "pk", *OF_CONTACT, "factor", "custom_name", "importance"
            )
        ),
        list(
            Relationship.objects.order_by("pk").values_list(
                "pk", *OF_CONTACT, "user__username", "strength", "last_touched"
            )
        ),
    )


def test_seed_demo_profiles_key_accounts(demo, db) -> None:
    key_accounts = Account.objects.exclude(tier="")
    assert key_accounts.count() == 30
    assert {(a.tier, a.tier_rank) for a in key_accounts} == {
        ("Gold", 1),
        ("Silver", 2),
        ("Bronze", 3),
    }
    for account in key_accounts:
        assert account.strategy, account
        assert account.website, account
        assert account.requirements, account
        assert account.name.endswith(account.legal_form), account
        assert account.potential_years.count() == 4, account
        assert 1 <= account.competitors.count() <= 3, account
    holdings = Account.objects.filter(members__isnull=False).distinct()
    assert holdings.count() == 3
    assert all(2 <= holding.members.count() <= 4 for holding in holdings)


def test_seed_demo_maps_a_buying_center_tree_per_key_account(demo, db) -> None:
    key_accounts = list(Account.objects.exclude(tier=""))
    contacts = {contact.pk: contact for contact in Contact.objects.all()}
    for account in key_accounts:
        mine = [c for c in contacts.values() if c.account_id == account.pk]
        active = [c for c in mine if not c.has_left]
        assert 6 <= len(active) <= 15, account
        roots = [c for c in mine if c.reports_to_id is None]
        assert len(roots) == 1, account
        assert roots[0].department == "Geschäftsführung"
        for contact in mine:
            seen = set()
            while contact.reports_to_id is not None:
                assert contact.pk not in seen, f"cycle at {contact}"
                seen.add(contact.pk)
                contact = contacts[contact.reports_to_id]
                assert contact.account_id == account.pk
            assert contact == roots[0]

    assert set(ContactRole.objects.values_list("role", flat=True)) == set(BuyingRole)
    deciders = set(
        ContactRole.objects.filter(role=BuyingRole.DECIDER).values_list(
            "contact__account_id", flat=True
        )
    )
    assert 0 < len(deciders) < len(key_accounts), "some key accounts lack a decider"
    assert Contact.objects.filter(has_left=True).exists()
    assert Contact.objects.filter(attitude__lt=0).exists()
    assert Contact.objects.filter(attitude__gt=0).exists()
    assert ContactDecisionFactor.objects.filter(factor=DecisionFactor.CUSTOM).exists()
    assert not ContactDecisionFactor.objects.filter(
        factor=DecisionFactor.CUSTOM, custom_name=""
    ).exists()

    team = set(AccountTeamMember.objects.values_list("account_id", "user_id"))
    relationships = list(Relationship.objects.select_related("contact"))
    assert all((r.contact.account_id, r.user_id) in team for r in relationships)
    stale = timezone.localdate() - datetime.timedelta(days=90)
    assert any(r.last_touched < stale for r in relationships)
    assert any(r.last_touched >= stale for r in relationships)


def test_seed_demo_gives_every_key_account_a_plan_in_every_state(demo, db) -> None:
    from plans.models import Action, Plan, PlanEvent, PlanVersion
    from plans.selectors import current_plans_with_review_due

    today = timezone.localdate()

    key_accounts = Account.objects.filter(team_members__role="key_account_manager").distinct()
    assert Plan.objects.filter(account__in=key_accounts).values("account").distinct().count() == 30
    assert set(Plan.objects.values_list("status", flat=True)) == {"draft", "submitted", "approved"}
    assert PlanVersion.objects.filter(number=2).exists(), "some plans have a version history"
    assert PlanEvent.objects.filter(kind="changes_requested").exists()
    assert list(current_plans_with_review_due(before=today)), "some reviews are overdue"
    assert Action.objects.filter(due_date__lt=today, status="open").exists()
