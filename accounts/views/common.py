"""Helpers shared by the accounts views: showing service errors on forms."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import services

# Shown above a form whose save was refused; the form lists the changes (_conflict.html).
CONFLICT = _(
    "Someone else saved a change after you opened this form. Your entries are kept below; "
    "check the changes listed here and save again."
)


def add_service_error(
    form: forms.Form, error: ValidationError, renamed: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form: per field where the form has the field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    renamed = renamed or {}
    for name, errors in error.error_dict.items():
        name = renamed.get(name, name)
        form.add_error(name if name in form.fields else None, errors)


def show_conflict(
    form: forms.Form,
    conflict: services.EditConflict,
    *,
    started_from: dict[str, Any] | None = None,
) -> None:
    """Refuse the save on the form and list what the other person changed. The hidden fields
    the user started from (``version``, or those ``started_from`` names) move to now, so that
    saving again is a deliberate overwrite."""
    form.data = form.data.copy()
    for name, value in (started_from or {"version": conflict.current.version}).items():
        form.data[form.add_prefix(name)] = value
    form.add_error(None, forms.ValidationError(CONFLICT, code="edit_conflict"))
    form.conflict_changes = conflict.changes
