from django.contrib import admin
from django.urls import include, path

from kam import views

handler500 = "kam.views.server_error"

kam_patterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("language/", views.language_set, name="language-set"),
    path("jobs/", views.JobListView.as_view(), name="job-list"),
    path("jobs/system-check/", views.system_check_start, name="job-system-check"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job-retry"),
    path("jobs/<int:pk>/file/", views.job_result_file, name="job-file"),
    path("notifications/", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/read/", views.notifications_read_all, name="notification-read-all"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
]

urlpatterns = [
    path("", include((kam_patterns, "kam"))),
    path("healthz", views.healthz, name="healthz"),
    path("auth/", include("django.contrib.auth.urls")),
    path("accounts/", include("accounts.urls")),
    path("selection/", include("selection.urls")),
    path("plans/", include("plans.urls")),
    path("kpis/", include("kpis.urls")),
    path("payments/", include("payments.urls")),
    path("admin/", admin.site.urls),
]
