from decimal import Decimal

from babel.numbers import format_currency
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()


@register.filter
def money(value: Decimal | float | int | None, currency: str = "EUR") -> str:
    """Format an amount in the active locale: ``1.234,56 €`` in German, ``€1,234.56`` in English."""
    if value is None or value == "":
        return ""
    return format_currency(value, currency, locale=to_locale(get_language() or "de"))


@register.simple_tag(takes_context=True)
def query_replace(context: template.Context, **changes: object) -> str:
    """The current query string with ``changes`` applied, so paging keeps the filters."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@register.simple_tag(takes_context=True)
def query_without(context: template.Context, *keys: str) -> str:
    """The current query string without ``keys``: an export link keeps the filters, not the page."""
    query = context["request"].GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


@register.inclusion_tag("includes/_sortable_th.html", takes_context=True)
def sortable_th(
    context: template.Context, field: str, label: str, *, default: str = "", param: str = "sort"
) -> dict[str, str]:
    """A column header whose link sorts by ``field``, reversing on a second click.

    The current order gets ``aria-sort``; ``default`` is the order when the query string names
    none. The link keeps the other parameters but goes back to the first page.
    """
    request = context["request"]
    current = (request.GET.get(param) or default).split(",")[0]
    if current == field:
        state, next_value = "ascending", f"-{field}"
    elif current == f"-{field}":
        state, next_value = "descending", field
    else:
        state, next_value = "", field
    query = request.GET.copy()
    query[param] = next_value
    query.pop("page", None)
    return {
        "label": label,
        "state": state,
        "next_descending": next_value.startswith("-"),
        "query": query.urlencode(),
    }
