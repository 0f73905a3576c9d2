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
