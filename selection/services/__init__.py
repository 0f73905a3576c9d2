"""Writes of the selection app, one module per area; callers use ``services.<name>``."""

from selection.services.criteria import (
    TIER_PRESETS,
    attribute_value_set,
    criteria_set_create,
    criterion_delete,
    criterion_save,
    knockout_save,
    tiers_save,
    version_draft_start,
    version_release,
    version_settings_update,
    weights_update,
)
from selection.services.portfolio import portfolio_settings_update
from selection.services.runs import (
    SEGMENT_FILTERS,
    evaluate_accounts,
    scheme_of,
    segment_accounts,
    selection_run_approve,
    selection_run_compute,
    selection_run_discard,
    selection_run_start,
    tier_override_remove,
    tier_override_set,
)

__all__ = [
    "SEGMENT_FILTERS",
    "TIER_PRESETS",
    "attribute_value_set",
    "criteria_set_create",
    "criterion_delete",
    "criterion_save",
    "evaluate_accounts",
    "knockout_save",
    "portfolio_settings_update",
    "scheme_of",
    "segment_accounts",
    "selection_run_approve",
    "selection_run_compute",
    "selection_run_discard",
    "selection_run_start",
    "tier_override_remove",
    "tier_override_set",
    "tiers_save",
    "version_draft_start",
    "version_release",
    "version_settings_update",
    "weights_update",
]
