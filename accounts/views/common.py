"""Helpers shared by the accounts views: showing service errors on forms."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import services


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


def show_conflict(form: forms.Form, conflict: services.EditConflict) -> None:
    form.data = form.data.copy()
    form.data["version"] = conflict.current.version
    form.add_error(
        None,
        forms.ValidationError(
            _(
                "Someone else saved a change after you opened this form. Your entries are kept "
                "below; check the changes listed here and save again."
            ),
            code="edit_conflict",
        ),
    )
    form.conflict_changes = conflict.changes
