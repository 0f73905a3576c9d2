from django.urls import path

from accounts import views
from kpis.views.account import AccountKpiView
from payments.views import AccountEscalationsView
from plans.views.page import AccountPlanView
from selection.views.account import AccountSelectionView

app_name = "accounts"

urlpatterns = [
    path("", views.AccountListView.as_view(), name="account-list"),
    path("export/<str:fmt>/", views.account_export, name="account-export"),
    path("<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"),
    path("<int:pk>/edit/", views.AccountProfileEditView.as_view(), name="account-edit"),
    path("<int:pk>/potential/", views.AccountPotentialView.as_view(), name="account-potential"),
    path(
        "<int:pk>/potential/edit/",
        views.AccountPotentialEditView.as_view(),
        name="account-potential-edit",
    ),
    path(
        "<int:pk>/buying-center/",
        views.AccountBuyingCenterView.as_view(),
        name="account-buying-center",
    ),
    path(
        "<int:pk>/relationships/",
        views.AccountRelationshipsView.as_view(),
        name="account-relationships",
    ),
    path("<int:pk>/team/", views.AccountTeamView.as_view(), name="account-team"),
    path("<int:pk>/history/", views.AccountHistoryView.as_view(), name="account-history"),
    path("<int:pk>/selection/", AccountSelectionView.as_view(), name="account-selection"),
    path("<int:pk>/plan/", AccountPlanView.as_view(), name="account-plan"),
    path("<int:pk>/kpis/", AccountKpiView.as_view(), name="account-kpis"),
    path("<int:pk>/escalations/", AccountEscalationsView.as_view(), name="account-escalations"),
    path("<int:pk>/contacts/new/", views.ContactFormView.as_view(), name="contact-create"),
    path("contacts/<int:contact_pk>/edit/", views.ContactFormView.as_view(), name="contact-edit"),
    path(
        "contacts/<int:contact_pk>/delete/",
        views.ContactDeleteView.as_view(),
        name="contact-delete",
    ),
    path(
        "contacts/<int:contact_pk>/relationships/new/",
        views.RelationshipCreateView.as_view(),
        name="relationship-create",
    ),
    path(
        "relationships/<int:relationship_pk>/delete/",
        views.relationship_delete,
        name="relationship-delete",
    ),
    path(
        "team/<int:member_pk>/remove/",
        views.team_member_remove,
        name="team-member-remove",
    ),
]
