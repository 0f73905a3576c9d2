"""Reads of the accounts app, scoped through :mod:`kam.access`."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.http import QueryDict

from accounts.filters import AccountFilterSet
from accounts.models import Account, AccountTeamMember, TeamRole
from kam import access
from kam.models import User


def account_filterset(*, user: User, data: QueryDict | None) -> AccountFilterSet:
    """All accounts for anyone who may read the list, filtered by ``data``.

    Each row carries ``kam_name`` (the key account manager's name) and ``openable`` (whether
    the user may open the account), so the page needs a constant number of queries.
    """
    if not access.may_list_accounts(user):
        queryset = Account.objects.none()
    else:
        kam = AccountTeamMember.objects.filter(
            account=OuterRef("pk"), role=TeamRole.KEY_ACCOUNT_MANAGER
        ).select_related("user")
        openable = access.scope(user, Account.objects.filter(pk=OuterRef("pk")))
        queryset = Account.objects.annotate(
            kam_first_name=Subquery(kam.values("user__first_name")[:1]),
            kam_last_name=Subquery(kam.values("user__last_name")[:1]),
            openable=Exists(openable),
        )
    return AccountFilterSet(data, queryset=queryset.order_by("name", "pk"))


def account_get(*, user: User, pk: int) -> Account:
    """One account the user may open, with its team; raises Http404 otherwise."""
    team = AccountTeamMember.objects.select_related("user").order_by("role", "user__last_name")
    queryset = Account.objects.prefetch_related(Prefetch("team_members", queryset=team))
    return access.get_for_user(user, queryset, pk=pk)


def accounts_of_user(*, user: User) -> QuerySet[Account]:
    """The accounts on whose team the user is, for the start page."""
    return Account.objects.filter(team_members__user=user).order_by("name")
