"""Forms of the plans app, one module per area; import the forms from here."""

from plans.forms.editing import (
    ITEM_FORMS,
    SECTION_FORMS,
    ItemForm,
    MergeField,
    MoveForm,
    PlanCreateForm,
    RevisionOnlyForm,
    SectionForm,
    prepare_merge,
    split_diff,
)

__all__ = [
    "ITEM_FORMS",
    "SECTION_FORMS",
    "ItemForm",
    "MergeField",
    "MoveForm",
    "PlanCreateForm",
    "RevisionOnlyForm",
    "SectionForm",
    "prepare_merge",
    "split_diff",
]
