from django.urls import path

from plans.views import editing, page, printouts, workflow

app_name = "plans"

ITEM = "<int:pk>/items/<slug:kind>/<int:item_pk>/"

urlpatterns = [
    path("", workflow.PlanListView.as_view(), name="plan-list"),
    path("actions/", workflow.ActionListView.as_view(), name="action-list"),
    path("printouts/", printouts.PrintoutCreateView.as_view(), name="printout-create"),
    path("new/<int:account_pk>/", page.PlanCreateView.as_view(), name="plan-create"),
    path("<int:pk>/", page.PlanDetailView.as_view(), name="plan-detail"),
    path(
        "<int:pk>/sections/<slug:section>/", editing.SectionEditView.as_view(), name="section-edit"
    ),
    path("<int:pk>/items/<slug:kind>/new/", editing.ItemEditView.as_view(), name="item-create"),
    path(ITEM, editing.ItemEditView.as_view(), name="item-edit"),
    path(f"{ITEM}delete/", editing.item_delete, name="item-delete"),
    path(f"{ITEM}move/", editing.item_move, name="item-move"),
    path("<int:pk>/submit/", workflow.plan_submit, name="plan-submit"),
    path("<int:pk>/withdraw/", workflow.plan_withdraw, name="plan-withdraw"),
    path(
        "<int:pk>/request-changes/",
        workflow.RequestChangesView.as_view(),
        name="plan-request-changes",
    ),
    path("<int:pk>/approve/", workflow.plan_approve, name="plan-approve"),
    path("<int:pk>/roll-forward/", workflow.plan_roll_forward, name="plan-roll-forward"),
    path("<int:pk>/reviews/new/", workflow.ReviewCreateView.as_view(), name="review-create"),
    path(
        "<int:pk>/versions/<int:number>/",
        workflow.VersionDetailView.as_view(),
        name="version-detail",
    ),
    path("<int:pk>/compare/", workflow.VersionCompareView.as_view(), name="version-compare"),
    path("<int:pk>/pdf/", printouts.plan_pdf, name="plan-pdf"),
]
