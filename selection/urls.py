from django.urls import path

from selection.views import account, criteria, portfolio, runs

app_name = "selection"

urlpatterns = [
    # The tiered account list, the portfolio and allocation (portfolio.py).
    path("", portfolio.TierListView.as_view(), name="tier-list"),
    path("export/<str:fmt>/", portfolio.tier_list_export, name="tier-list-export"),
    path("portfolio/", portfolio.PortfolioView.as_view(), name="portfolio"),
    path(
        "portfolio/settings/", portfolio.PortfolioSettingsView.as_view(), name="portfolio-settings"
    ),
    path("allocation/", portfolio.AllocationView.as_view(), name="allocation"),
    path("allocation.json", portfolio.allocation_json, name="allocation-json"),
    # Criteria sets, versions and custom attributes (criteria.py).
    path("criteria/", criteria.CriteriaSetListView.as_view(), name="criteria-set-list"),
    path("criteria/new/", criteria.CriteriaSetCreateView.as_view(), name="criteria-set-create"),
    path(
        "criteria/<int:pk>/", criteria.CriteriaSetDetailView.as_view(), name="criteria-set-detail"
    ),
    path("versions/<int:pk>/", criteria.VersionDetailView.as_view(), name="version-detail"),
    path("versions/<int:pk>/draft/", criteria.version_draft_start, name="version-draft"),
    path(
        "versions/<int:pk>/settings/",
        criteria.VersionSettingsView.as_view(),
        name="version-settings",
    ),
    path("versions/<int:pk>/tiers/", criteria.VersionTiersView.as_view(), name="version-tiers"),
    path("versions/<int:pk>/weights/", criteria.version_weights, name="version-weights"),
    path(
        "versions/<int:pk>/preview/", criteria.VersionPreviewView.as_view(), name="version-preview"
    ),
    path("versions/<int:pk>/release/", criteria.version_release, name="version-release"),
    path(
        "versions/<int:pk>/knockouts/new/",
        criteria.KnockoutFormView.as_view(),
        name="knockout-create",
    ),
    path(
        "knockouts/<int:item_pk>/edit/", criteria.KnockoutFormView.as_view(), name="knockout-edit"
    ),
    path("knockouts/<int:item_pk>/delete/", criteria.knockout_delete, name="knockout-delete"),
    path(
        "versions/<int:pk>/criteria/new/",
        criteria.CriterionFormView.as_view(),
        name="criterion-create",
    ),
    path("scored/<int:item_pk>/edit/", criteria.CriterionFormView.as_view(), name="criterion-edit"),
    path("scored/<int:item_pk>/delete/", criteria.criterion_delete, name="criterion-delete"),
    path("attributes/", criteria.AttributeListView.as_view(), name="attribute-list"),
    path("attributes/new/", criteria.AttributeFormView.as_view(), name="attribute-create"),
    path("attributes/<int:pk>/edit/", criteria.AttributeFormView.as_view(), name="attribute-edit"),
    # Runs, review and approval (runs.py).
    path("runs/", runs.RunListView.as_view(), name="run-list"),
    path("runs/new/", runs.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", runs.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/export/<str:fmt>/", runs.run_export, name="run-export"),
    path("runs/<int:pk>/approve/", runs.run_approve, name="run-approve"),
    path("runs/<int:pk>/discard/", runs.run_discard, name="run-discard"),
    path(
        "runs/<int:pk>/accounts/<int:account_pk>/",
        runs.ResultDetailView.as_view(),
        name="result-detail",
    ),
    path(
        "runs/<int:pk>/accounts/<int:account_pk>/override/",
        runs.result_override,
        name="result-override",
    ),
    path("changes/", runs.TierChangeListView.as_view(), name="tier-change-list"),
    # On an account's page (account.py).
    path(
        "accounts/<int:pk>/attributes/",
        account.AttributeValuesEditView.as_view(),
        name="attribute-values-edit",
    ),
]
