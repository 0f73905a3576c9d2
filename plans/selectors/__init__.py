"""Reads of the plans app, one module per area; import the functions from here."""

from plans.selectors.compare import Comparison, snapshot_compare
from plans.selectors.lists import (
    action_filterset,
    overdue_count,
    plan_filterset,
    plan_list_rows,
    plan_work,
)
from plans.selectors.plans import (
    PlanPage,
    ReviewStatus,
    current_plan,
    current_plans_with_review_due,
    plan_get,
    plan_get_editable,
    plan_page,
    plans_for,
)
from plans.selectors.printouts import (
    print_context,
    printout_managers,
    printout_tiers,
    printout_versions,
)
from plans.selectors.sections import CURRENT, SectionView, plan_snapshot_at, snapshot_sections
from plans.selectors.snapshot import plan_actuals, plan_snapshot

__all__ = [
    "CURRENT",
    "Comparison",
    "PlanPage",
    "ReviewStatus",
    "SectionView",
    "action_filterset",
    "current_plan",
    "current_plans_with_review_due",
    "overdue_count",
    "plan_actuals",
    "plan_filterset",
    "plan_get",
    "plan_get_editable",
    "plan_list_rows",
    "plan_page",
    "plan_snapshot",
    "plan_snapshot_at",
    "plan_work",
    "plans_for",
    "print_context",
    "printout_managers",
    "printout_tiers",
    "printout_versions",
    "snapshot_compare",
    "snapshot_sections",
]
