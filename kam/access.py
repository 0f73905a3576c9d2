"""Who may see and change what: the one place every app asks.

Rules (see shared/DOMAIN.md):
- sales leadership and administrators see and change everything;
- finance and viewers see every account read-only (finance edits escalations in its own app);
- anyone on an account's team sees and changes that account;
- a key account manager also reads the (tiered) list of all accounts, but opens only their own;
- everything else is outside the user's scope;
- the key-account selection (criteria, runs, approval) is sales leadership's: the read-all
  roles read it, a key account manager sees the outcome on their own accounts;
- key account plans follow their account (the team edits, the read-all roles read); only sales
  leadership approves them or prints the annual set; the account's mentors record reviews;
- annual figures follow their account too, but a closed year changes only by an
  administrator's correction; imports, the annual refresh and the programme dashboard are
  sales leadership's (the read-all roles read the dashboard and the imports' records);
- payment escalations and invoices are read by finance, sales leadership and administrators,
  and by an account's key account manager for that account; nobody else sees them. Finance
  enters and imports invoices, runs the daily job and decides delivery stops; the KAM states
  and comments; sales leadership also decides a stop for the top tier (see payments/workflow.py).

Outside the scope answers 404 (the object's existence is not revealed); inside the scope but
read-only answers 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import Http404

from kam.roles import Role

if TYPE_CHECKING:
    from accounts.models import Account
    from kam.models import Job, User
    from payments.models import Escalation

M = TypeVar("M", bound=Model)

EDIT_ALL_ROLES = (Role.SALES_LEADERSHIP, Role.ADMINISTRATOR)
READ_ALL_ROLES = (*EDIT_ALL_ROLES, Role.FINANCE, Role.VIEWER)
ACCOUNT_LIST_ROLES = (*READ_ALL_ROLES, Role.KEY_ACCOUNT_MANAGER)


def _on_team(user: User, queryset: QuerySet[M], account_path: str) -> QuerySet[M]:
    from accounts.models import AccountTeamMember

    memberships = AccountTeamMember.objects.filter(
        user=user, account_id=OuterRef(account_path or "pk")
    )
    return queryset.filter(Exists(memberships))


def reads_all_accounts(user: User) -> bool:
    return user.is_authenticated and user.has_role(*READ_ALL_ROLES)


def edits_all_accounts(user: User) -> bool:
    return user.is_authenticated and user.has_role(*EDIT_ALL_ROLES)


def may_list_accounts(user: User) -> bool:
    """Whether the user may read the list of all accounts (not necessarily open them)."""
    return user.is_authenticated and user.has_role(*ACCOUNT_LIST_ROLES)


def scope(user: User, queryset: QuerySet[M], *, account_path: str = "") -> QuerySet[M]:
    """Narrow ``queryset`` to the rows the user may open.

    ``account_path`` is the lookup from the queryset's model to its account: ``""`` for
    accounts themselves, ``"account"`` for a contact, ``"plan__account"`` further away.
    """
    if not user.is_authenticated:
        return queryset.none()
    if reads_all_accounts(user):
        return queryset
    return _on_team(user, queryset, account_path)


def editable(user: User, queryset: QuerySet[M], *, account_path: str = "") -> QuerySet[M]:
    """Narrow ``queryset`` to the rows the user may change."""
    if not user.is_authenticated:
        return queryset.none()
    if edits_all_accounts(user):
        return queryset
    return _on_team(user, queryset, account_path)


def can_edit(user: User, account: Account) -> bool:
    """Whether the user may change this account and everything that belongs to it."""
    if not user.is_authenticated:
        return False
    if edits_all_accounts(user):
        return True
    return account.team_members.filter(user=user).exists()


def get_for_user(user: User, queryset: QuerySet[M], *, account_path: str = "", **lookup) -> M:
    """Return the one row the user may open, or raise 404 (also when it is out of scope)."""
    try:
        return scope(user, queryset, account_path=account_path).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404 from exc


def get_editable_for_user(
    user: User, queryset: QuerySet[M], *, account_path: str = "", **lookup
) -> M:
    """Return the row the user may change: 404 out of scope, 403 when only readable."""
    obj = get_for_user(user, queryset, account_path=account_path, **lookup)
    if not editable(user, queryset, account_path=account_path).filter(pk=obj.pk).exists():
        raise PermissionDenied
    return obj


def may_read_selection(user: User) -> bool:
    """Criteria, runs, explanations and the portfolio: leadership and the read-all roles."""
    return reads_all_accounts(user)


def may_manage_selection(user: User) -> bool:
    """Maintain criteria and attributes, run, override and approve: sales leadership."""
    return edits_all_accounts(user)


def may_approve_plans(user: User) -> bool:
    """Approve key account plans or send them back with requested changes: sales leadership."""
    return edits_all_accounts(user)


def may_review_plan(user: User, account: Account) -> bool:
    """Record a mentor review: the account's mentors, and sales leadership."""
    if edits_all_accounts(user):
        return True
    from accounts.models import TeamRole

    return account.team_members.filter(user=user, role=TeamRole.MENTOR).exists()


def may_print_annual_plans(user: User) -> bool:
    """Build the annual printout of all approved plans: sales leadership."""
    return edits_all_accounts(user)


def may_read_programme(user: User) -> bool:
    """The programme dashboard, import records and refreshes: the read-all roles."""
    return reads_all_accounts(user)


def may_import_figures(user: User) -> bool:
    """Upload, map and confirm imports of annual figures: sales leadership."""
    return edits_all_accounts(user)


def may_run_refresh(user: User) -> bool:
    """Start the annual refresh: sales leadership."""
    return edits_all_accounts(user)


def may_import(user: User, kind: str) -> bool:
    """Upload, map and confirm an import of ``kind`` (figures: leadership; invoices: finance)."""
    from kpis.models import ImportKind

    if kind == ImportKind.INVOICES:
        return may_manage_invoices(user)
    return may_import_figures(user)


def may_read_imports(user: User, kind: str) -> bool:
    """Read the records of imports of ``kind``."""
    from kpis.models import ImportKind

    if kind == ImportKind.INVOICES:
        return reads_all_payments(user)
    return may_read_programme(user)


PAYMENT_READ_ALL_ROLES = (Role.FINANCE, Role.SALES_LEADERSHIP, Role.ADMINISTRATOR)


def reads_all_payments(user: User) -> bool:
    """Every invoice and escalation: finance, sales leadership, administrators."""
    return user.is_authenticated and user.has_role(*PAYMENT_READ_ALL_ROLES)


def may_open_payments(user: User) -> bool:
    """Whether the payments pages open at all: the read-all roles and key account managers."""
    return reads_all_payments(user) or (
        user.is_authenticated and user.has_role(Role.KEY_ACCOUNT_MANAGER)
    )


def scope_payments(
    user: User, queryset: QuerySet[M], *, account_path: str = "account"
) -> QuerySet[M]:
    """Narrow invoices or escalations to those the user may read: all for the read-all roles,
    else those of the accounts the user manages as their key account manager."""
    if not user.is_authenticated:
        return queryset.none()
    if reads_all_payments(user):
        return queryset
    from accounts.models import AccountTeamMember, TeamRole

    managed = AccountTeamMember.objects.filter(
        user=user, role=TeamRole.KEY_ACCOUNT_MANAGER, account_id=OuterRef(account_path)
    )
    return queryset.filter(Exists(managed))


def escalation_parties(user: User, escalation: Escalation) -> frozenset[str]:
    """The capacities in which the user may take steps on the escalation (empty: none)."""
    from accounts.models import TeamRole
    from payments.models import Party

    if not user.is_authenticated:
        return frozenset()
    parties = set()
    if user.has_role(Role.FINANCE):
        parties.add(Party.FINANCE)
    if user.has_role(Role.SALES_LEADERSHIP):
        parties.add(Party.LEADERSHIP)
    if escalation.account.team_members.filter(
        user=user, role=TeamRole.KEY_ACCOUNT_MANAGER
    ).exists():
        parties.add(Party.KAM)
    return frozenset(parties)


def may_read_account_payments(user: User, account: Account) -> bool:
    """Whether the account's invoices and escalations (its Payments tab) are the user's to read."""
    if reads_all_payments(user):
        return True
    from accounts.models import TeamRole

    return (
        user.is_authenticated
        and account.team_members.filter(user=user, role=TeamRole.KEY_ACCOUNT_MANAGER).exists()
    )


def may_manage_invoices(user: User) -> bool:
    """Enter, change and import invoices, and start the daily escalation job: finance."""
    return user.is_authenticated and user.has_role(Role.FINANCE)


def may_edit_escalation_policy(user: User) -> bool:
    """Which tiers are escalated, grace days and deadlines: finance and sales leadership."""
    return user.is_authenticated and user.has_role(Role.FINANCE, Role.SALES_LEADERSHIP)


def may_correct_closed_year(user: User) -> bool:
    """Change the figures of a closed year (with a reason): administrators."""
    return user.is_authenticated and user.has_role(Role.ADMINISTRATOR)


def scope_jobs(user: User, queryset: QuerySet[Job]) -> QuerySet[Job]:
    """Jobs a user may see: their own; administrators see all."""
    if not user.is_authenticated:
        return queryset.none()
    if user.has_role(Role.ADMINISTRATOR):
        return queryset
    return queryset.filter(created_by=user)


def may_run_system_check(user: User) -> bool:
    return user.is_authenticated and user.has_role(Role.ADMINISTRATOR)
