"""Views of the accounts app, split by page: the account and its tabs, the buying center."""

from accounts.views.accounts import (
    ACCOUNT_TABS,
    AccountBuyingCenterView,
    AccountDetailView,
    AccountHistoryView,
    AccountListView,
    AccountPotentialEditView,
    AccountPotentialView,
    AccountProfileEditView,
    AccountRelationshipsView,
    AccountTabView,
    AccountTeamView,
    account_export,
    team_member_remove,
)
from accounts.views.buying_center import (
    ContactDeleteView,
    ContactFormView,
    RelationshipCreateView,
    relationship_delete,
)

__all__ = [
    "ACCOUNT_TABS",
    "AccountBuyingCenterView",
    "AccountDetailView",
    "AccountHistoryView",
    "AccountListView",
    "AccountPotentialEditView",
    "AccountPotentialView",
    "AccountProfileEditView",
    "AccountRelationshipsView",
    "AccountTabView",
    "AccountTeamView",
    "ContactDeleteView",
    "ContactFormView",
    "RelationshipCreateView",
    "account_export",
    "relationship_delete",
    "team_member_remove",
]
