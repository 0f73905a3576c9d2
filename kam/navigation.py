"""The top navigation: each entry names the predicate that decides who sees it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kam import access
from kam.models import User


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    active_prefix: str  # view names starting with this mark the entry as the current area
    visible: Callable[[User], bool]
    description: str | Promise = ""


def _everyone(user: User) -> bool:
    return user.is_authenticated


def _staff(user: User) -> bool:
    return user.is_authenticated and user.is_staff


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem(_("Overview"), "kam:home", "kam:home", _everyone),
    NavItem(
        _("Accounts"),
        "accounts:account-list",
        "accounts:",
        access.may_list_accounts,
        _("Customer profiles, account teams and the buying center."),
    ),
    NavItem(
        _("Key accounts"),
        "selection:tier-list",
        "selection:",
        access.may_list_accounts,
        _("The key-account selection: tiers, runs, criteria and the portfolio."),
    ),
    NavItem(
        _("Plans"),
        "plans:plan-list",
        "plans:",
        access.may_list_accounts,
        _("Three-year key account plans, their reviews and your open actions."),
    ),
    NavItem(
        _("KPIs"),
        "kpis:dashboard",
        "kpis:",
        access.may_read_programme,
        _("The programme's figures and KPIs, imports and the annual refresh."),
    ),
    NavItem(
        _("Payments"),
        "payments:escalation-list",
        "payments:",
        access.may_open_payments,
        _("Overdue invoices of key accounts, clarified with the key account manager."),
    ),
    NavItem(
        _("Jobs"),
        "kam:job-list",
        "kam:job",
        _everyone,
        _("Background work such as printouts and imports, with progress and results."),
    ),
    NavItem(
        _("Administration"),
        "admin:index",
        "admin:",
        _staff,
        _("Users, roles and the programme's configuration."),
    ),
)


def nav_for(request: HttpRequest) -> list[dict[str, object]]:
    """The entries the request's user may use, the current area marked active."""
    user = request.user
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match else ""
    items = []
    for item in NAV_ITEMS:
        if not item.visible(user):
            continue
        active = current.startswith(item.active_prefix)
        items.append(
            {
                "label": item.label,
                "description": item.description,
                "url": reverse(item.url_name),
                "active": active,
            }
        )
    return items
