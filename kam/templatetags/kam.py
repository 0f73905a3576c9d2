import functools
import html
from decimal import Decimal

from babel.numbers import format_currency
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms, template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from kam.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(value: str | None) -> SafeString:
    """User-written Markdown as sanitised HTML (no raw HTML, no images); see kam/markdown.py."""
    return render_markdown(value)


@register.filter
def money(value: Decimal | float | int | None, currency: str = "EUR") -> str:
    """Format an amount in the active locale: ``1.234,56 €`` in German, ``€1,234.56`` in English."""
    if value is None or value == "":
        return ""
    return format_currency(value, currency, locale=to_locale(get_language() or "de"))


@register.simple_tag(takes_context=True)
def query_page(context: template.Context, number: int, param: str = "") -> str:
    """The current query string on page ``number`` of the list paged by ``param`` (default
    ``page``), for pages with more than one paged list."""
    query = context["request"].GET.copy()
    query[param or "page"] = number
    return query.urlencode()


@register.simple_tag(takes_context=True)
def query_without(context: template.Context, *keys: str) -> str:
    """The current query string without ``keys``: an export link keeps the filters, not the page."""
    query = context["request"].GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


@register.simple_tag(takes_context=True)
def sortable_th(
    context: template.Context, field: str, label: str, *, default: str = "", param: str = "sort"
) -> SafeString:
    """A column header whose link sorts by ``field``, reversing on a second click.

    The current order gets ``aria-sort``; ``default`` is the order when the query string names
    none. The link keeps the other parameters but goes back to the first page. Written in
    Python rather than an inclusion template: a list has a dozen of them on every view.
    """
    request = context["request"]
    current = (request.GET.get(param) or default).split(",")[0]
    if current == field:
        state, next_value, arrow = "ascending", f"-{field}", "▲"
    elif current == f"-{field}":
        state, next_value, arrow = "descending", field, "▼"
    else:
        state, next_value, arrow = "", field, ""
    query = request.GET.copy()
    query[param] = next_value
    query.pop("page", None)
    hint = _("sort descending") if next_value.startswith("-") else _("sort ascending")
    return format_html(
        '<th scope="col"{}><a class="sort-link link-body-emphasis text-decoration-none" '
        'href="?{}">{}<span class="visually-hidden">, {}</span>{}</a></th>',
        format_html(' aria-sort="{}"', state) if state else "",
        query.urlencode(),
        label,
        hint,
        format_html(' <span aria-hidden="true">{}</span>', arrow) if arrow else "",
    )


def _escape(value: object) -> str:
    # The standard library's escape, without django.utils.html's lazy-string wrapper: a
    # filter form escapes hundreds of strings.
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _control_classes(field: forms.BoundField, control_class: str) -> str:
    """The classes crispy-bootstrap5 gives a control: the widget's own, its type's name,
    Bootstrap's, and ``is-invalid`` with errors."""
    widget = field.field.widget
    classes = [widget.attrs.get("class", ""), type(widget).__name__.lower(), control_class]
    if field.errors:
        classes.append("is-invalid")
    return " ".join(filter(None, classes))


def _control_attrs(field: forms.BoundField, control_class: str) -> str:
    """The control's attributes as Django's widget templates write them (``id``, the ARIA
    attributes for errors and help text, ``required``), with crispy's classes."""
    widget = field.field.widget
    attrs = widget.build_attrs(
        widget.attrs,
        field.build_widget_attrs(
            {"class": _control_classes(field, control_class), "id": field.auto_id}, widget
        ),
    )
    return "".join(
        f" {name}" if value is True else f' {name}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False and value is not None
    )


@functools.lru_cache(maxsize=64)
def _options(choices: tuple[tuple[str, str], ...]) -> str:
    return "".join(
        f'<option value="{html.escape(code)}">{html.escape(label)}</option>'
        for code, label in choices
    )


def _select(field: forms.BoundField) -> str | None:
    """A single select, or None for what only the widget can show: several values, option
    groups, labels that are HTML.

    The options are written once per list of choices (a country list has 250) and the
    current one marked as Django marks it: the first option with the value.
    """
    value = field.value()
    if isinstance(value, list | tuple):  # django-filter's comma-separated widgets
        if len(value) > 1:
            return None
        value = value[0] if value else ""
    choices = []
    for code, label in field.field.choices:
        if isinstance(label, list | tuple) or hasattr(label, "__html__"):
            return None
        choices.append(("" if code is None else str(code), str(label)))
    current = f'<option value="{html.escape("" if value is None else str(value))}">'
    options = _options(tuple(choices)).replace(current, f"{current[:-1]} selected>", 1)
    return (
        f'<select name="{_escape(field.html_name)}"{_control_attrs(field, "form-select")}>'
        f"{options}</select>"
    )


def _input(field: forms.BoundField) -> str:
    widget = field.field.widget
    value = widget.format_value(field.value())
    value_attr = "" if value is None else f' value="{_escape(value)}"'
    return (
        f'<input type="{widget.input_type}" name="{_escape(field.html_name)}"{value_attr}'
        f"{_control_attrs(field, 'form-control')}>"
    )


# Inputs whose value Django writes as it is; the others are left to crispy.
_PLAIN_INPUTS = {"text", "search", "email", "url", "tel", "number", "date", "datetime-local"}


@register.simple_tag
def filter_field(field: forms.BoundField) -> SafeString:
    """``field`` in crispy-bootstrap5's markup: label, control, errors, help text.

    Written in Python for the filter forms above the lists: crispy's field template and
    Django's template per ``<option>`` cost more than a list's hundred rows. Widgets other
    than single-line inputs and single selects are left to crispy.
    """
    widget = field.field.widget
    control = None
    if isinstance(widget, forms.Select) and not widget.allow_multiple_selected:
        control = _select(field)
    elif isinstance(widget, forms.widgets.Input) and widget.input_type in _PLAIN_INPUTS:
        control = _input(field)
    if control is None:
        return as_crispy_field(field)
    auto_id = _escape(field.auto_id)
    css_classes = _escape(field.css_classes())
    parts = [f'<div id="div_{auto_id}" class="mb-3{" " if css_classes else ""}{css_classes}">']
    if field.label:
        label_for = f' for="{_escape(field.id_for_label)}"' if field.id_for_label else ""
        if field.field.required:
            parts.append(
                f'<label{label_for} class="form-label requiredField">{_escape(field.label)}'
                '<span class="asteriskField">*</span></label>'
            )
        else:
            parts.append(f'<label{label_for} class="form-label">{_escape(field.label)}</label>')
    parts.append(control)
    if field.errors:
        parts.append(f'<div id="{auto_id}_error" class="invalid-feedback">')
        parts.extend(
            f'<p id="error_{number}_{auto_id}"><strong>{_escape(error)}</strong></p>'
            for number, error in enumerate(field.errors, start=1)
        )
        parts.append("</div>")
    if field.help_text:
        # Unescaped, as crispy and Django's own form templates show help text.
        parts.append(f'<div id="{auto_id}_helptext" class="form-text">{field.help_text}</div>')
    parts.append("</div>")
    return mark_safe("".join(parts))  # noqa: S308 -- every value is escaped above  # nosec B308, B703
