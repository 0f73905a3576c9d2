"""Template helpers of the selection pages: the area's sub-navigation."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kam import access

register = template.Library()

# (label, URL name, view-name prefix that marks it current, who sees it)
SUBNAV = (
    (
        _("Tiered accounts"),
        "selection:tier-list",
        ("selection:tier-list",),
        access.may_list_accounts,
    ),
    (_("Portfolio"), "selection:portfolio", ("selection:portfolio",), access.may_read_selection),
    (_("Allocation"), "selection:allocation", ("selection:allocation",), access.may_list_accounts),
    (
        _("Tier changes"),
        "selection:tier-change-list",
        ("selection:tier-change",),
        access.may_list_accounts,
    ),
    (
        _("Runs"),
        "selection:run-list",
        ("selection:run", "selection:result"),
        access.may_read_selection,
    ),
    (
        _("Criteria"),
        "selection:criteria-set-list",
        ("selection:criteria", "selection:version", "selection:knockout", "selection:criterion"),
        access.may_read_selection,
    ),
    (
        _("Attributes"),
        "selection:attribute-list",
        ("selection:attribute-",),
        access.may_read_selection,
    ),
)


@register.inclusion_tag("selection/includes/_subnav.html", takes_context=True)
def selection_subnav(context) -> dict:
    request = context["request"]
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match else ""
    items = [
        {"label": label, "url": reverse(name), "active": current.startswith(prefixes)}
        for label, name, prefixes, visible in SUBNAV
        if visible(request.user)
    ]
    return {"items": items}
