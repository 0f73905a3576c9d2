from django.urls import path

from kpis.views import dashboards, figures, imports, refresh

app_name = "kpis"

urlpatterns = [
    path("", dashboards.ProgrammeDashboardView.as_view(), name="dashboard"),
    path("export/<slug:table>/<str:fmt>/", dashboards.dashboard_export, name="dashboard-export"),
    path("definitions/", dashboards.KpiDefinitionsView.as_view(), name="definitions"),
    path(
        "figures/<int:account_pk>/<int:year>/",
        figures.FigureGridView.as_view(),
        name="figure-grid",
    ),
    path(
        "figures/<int:account_pk>/export/<str:fmt>/",
        figures.figure_export,
        name="figure-export",
    ),
    path("imports/", imports.ImportListView.as_view(), name="import-list"),
    path("imports/new/", imports.ImportCreateView.as_view(), name="import-create"),
    path("imports/<int:pk>/", imports.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<int:pk>/mapping/", imports.ImportMappingView.as_view(), name="import-mapping"),
    path("imports/<int:pk>/confirm/", imports.import_confirm, name="import-confirm"),
    path("imports/<int:pk>/discard/", imports.import_discard, name="import-discard"),
    path("refresh/", refresh.RefreshListView.as_view(), name="refresh-list"),
    path("refresh/start/", refresh.refresh_start, name="refresh-start"),
    path("refresh/<int:year>/", refresh.RefreshDetailView.as_view(), name="refresh-detail"),
]
