from typing import TypeVar

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


# One limit for every free text without a natural length (notes, plan sections, comments):
# far above what a person writes, far below what would bloat pages, PDFs and exports.
FREE_TEXT_MAX_LENGTH = 20_000

F = TypeVar("F", bound=type[forms.BaseForm])
TEXT_INPUT_TYPES = frozenset({"text", "email", "password", "search", "tel", "url"})


def limit_free_text(form_class: F) -> F:
    """Give every text field of ``form_class`` that has no length limit the shared one.

    An over-long value is then refused with the usual form error instead of being stored
    (or cut) silently; fields with their own ``max_length`` keep it.
    """
    for field in form_class.base_fields.values():
        if isinstance(field, forms.CharField) and field.max_length is None:
            field.max_length = FREE_TEXT_MAX_LENGTH
            field.validators.append(MaxLengthValidator(FREE_TEXT_MAX_LENGTH))
            # HTML allows maxlength on text-like inputs and textareas only (not type="color").
            kind = field.widget.attrs.get("type") or getattr(field.widget, "input_type", "text")
            if kind in TEXT_INPUT_TYPES:
                field.widget.attrs.update(field.widget_attrs(field.widget))
    return form_class
