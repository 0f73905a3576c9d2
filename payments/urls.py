from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("", views.EscalationListView.as_view(), name="escalation-list"),
    path("export/<str:fmt>/", views.escalation_export, name="escalation-export"),
    path("<int:pk>/", views.EscalationDetailView.as_view(), name="escalation-detail"),
    path("<int:pk>/act/", views.escalation_act, name="escalation-act"),
    path("run/", views.escalation_run_start, name="escalation-run"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/new/", views.InvoiceCreateView.as_view(), name="invoice-create"),
    path("invoices/<int:pk>/", views.InvoiceUpdateView.as_view(), name="invoice-update"),
    path("policy/", views.PolicyView.as_view(), name="policy"),
]
