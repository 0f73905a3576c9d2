"""The whole plan as plain data: what an approved version freezes and what the printout reads.

A snapshot is JSON (decimals as strings, dates as ISO text) and holds codes rather than
labels, so a frozen version is shown and printed in whichever language is asked for.
Its ``schema`` number changes when the shape does; readers handle every number written.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch

from accounts.models import TeamRole
from accounts.selectors import buying_center
from kpis.models import AccountKpi
from plans.models import Action, Metric, Plan

SCHEMA = 1

# The plan's own text and choice fields, in the order the page and the printout show them.
TEXT_FIELDS = (
    "business_goals", "market_trends", "purchasing_strategy", "competition",
    "strengths", "weaknesses", "opportunities", "threats",
    "value_proposition", "account_strategy",
)  # fmt: skip
CHOICE_FIELDS = ("partnership_level", "development_strategy", "phase")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _name(user) -> str:
    return str(user) if user is not None else ""


def plan_actuals(plan: Plan) -> dict[str, list[str | None]]:
    """Actual values per target metric and plan year, None where no actual is recorded.

    Revenue, contribution margin and volume come from the account's KPI rows (the annual
    figures' totals), the share of wallet is revenue ÷ the year's potential × 100; own KPIs
    have no actuals. Decimals as text, as the snapshot stores them. One query.
    """
    rows = {
        row["year"]: row
        for row in AccountKpi.objects.filter(account_id=plan.account_id, year__in=plan.years)
        .order_by()
        .values("year", "revenue", "contribution_margin", "volume", "potential_revenue")
    }

    def share_of_wallet(row: dict[str, Any]) -> Decimal | None:
        revenue, potential = row.get("revenue"), row.get("potential_revenue")
        if revenue is None or not potential or potential <= 0:
            return None
        return (revenue * 100 / potential).quantize(Decimal("0.01"))

    columns = {
        Metric.REVENUE: lambda row: row.get("revenue"),
        Metric.CONTRIBUTION_MARGIN: lambda row: row.get("contribution_margin"),
        Metric.VOLUME: lambda row: row.get("volume"),
        Metric.SHARE_OF_WALLET: share_of_wallet,
    }
    return {
        metric.value: [_plain(read(rows.get(year, {}))) for year in plan.years]
        for metric, read in columns.items()
    }


def plan_snapshot(plan: Plan, *, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the plan says, and the account context it was written in, as JSON data.

    ``approval`` (number, by, at) is recorded for a version being frozen. Reads a fixed number
    of queries whatever the size of the plan.
    """
    from selection.selectors.portfolio import account_position

    account = plan.account
    center = buying_center(account=account)
    kam = center.key_account_manager
    actuals = plan_actuals(plan)
    objectives = plan.objectives.select_related("target").prefetch_related(
        Prefetch(
            "actions",
            queryset=Action.objects.select_related("owner").prefetch_related("contacts"),
        )
    )
    best_strength = {card.contact.pk: card.best_strength for card in center.cards}
    point = account_position(account=account)
    return {
        "schema": SCHEMA,
        "account": {
            "id": account.pk,
            "name": account.name,
            "erp_number": account.erp_number,
            "tier": account.tier,
            "industry": account.industry,
            "region": account.region,
            "country": str(account.country),
            "strategy": account.strategy,
            "currency": account.currency,
            "share_of_wallet": _plain(account.share_of_wallet),
            "share_of_wallet_target": _plain(account.share_of_wallet_target),
            "customer_goals": account.customer_goals,
            "requirements": account.requirements,
            "key_account_manager": _name(kam.user) if kam else "",
            "team": [
                {"name": _name(m.user), "role": m.role}
                for m in center.team
                if m.role != TeamRole.MENTOR
            ],
            "mentors": [_name(m.user) for m in center.team if m.role == TeamRole.MENTOR],
            "competitors": [c.name for c in account.competitors.all()],
        },
        "plan": {
            "id": plan.pk,
            "start_year": plan.start_year,
            "years": plan.years,
            "language": plan.language,
            "status": plan.status,
            "review_interval_months": plan.review_interval_months,
        },
        "texts": {name: getattr(plan, name) for name in TEXT_FIELDS},
        "choices": {name: getattr(plan, name) for name in CHOICE_FIELDS},
        "targets": [
            {
                "metric": t.metric,
                "name": t.custom_name,
                "unit": t.unit,
                "values": [_plain(v) for v in t.values],
                "actuals": actuals.get(t.metric, [None] * len(plan.years)),
            }
            for t in plan.targets.all()
        ],
        "objectives": [
            {
                "title": o.title,
                "measure": o.measure,
                "target_year": o.target_year,
                # The metric's code (its label follows the reader's language), or an own
                # KPI's name.
                "target": (
                    ""
                    if o.target is None
                    else o.target.custom_name
                    if o.target.metric == Metric.CUSTOM
                    else o.target.metric
                ),
                "status": o.status,
                "actions": [
                    {
                        "title": a.title,
                        "owner": _name(a.owner),
                        "due_date": _plain(a.due_date),
                        "status": a.status,
                        "phase": a.phase,
                        "contacts": [str(c) for c in a.contacts.all()],
                    }
                    for a in o.actions.all()
                ],
            }
            for o in objectives
        ],
        "risks": [
            {
                "description": r.description,
                "likelihood": r.likelihood,
                "impact": r.impact,
                "severity": r.severity,
                "mitigation": r.mitigation,
            }
            for r in plan.risks.all()
        ],
        "resources": [
            {
                "department": r.department,
                "description": r.description,
                "requested_from": r.requested_from,
                "status": r.status,
            }
            for r in plan.resource_requests.all()
        ],
        "contact_strategies": [
            {
                "contact": str(s.contact),
                "position": s.contact.position,
                "roles": [role.role for role in s.contact.roles.all()],
                "influence": s.contact.influence,
                "attitude": s.contact.attitude,
                "strength": best_strength.get(s.contact_id, 0),
                "target_strength": s.target_strength,
                "owner": _name(s.owner),
                "approach": s.approach,
            }
            for s in plan.contact_strategies.select_related("contact", "owner").prefetch_related(
                "contact__roles"
            )
        ],
        "buying_center": _buying_center(center),
        "portfolio": _portfolio(point),
        "reviews": [
            {
                "reviewed_on": _plain(r.reviewed_on),
                "reviewer": _name(r.reviewer),
                "notes": r.notes,
                "signed_off": r.signed_off,
            }
            for r in plan.reviews.select_related("reviewer")
        ],
        "approval": {k: _plain(v) for k, v in approval.items()} if approval else None,
    }


def _buying_center(center) -> dict[str, Any]:
    def node(card) -> dict[str, Any]:
        contact = card.contact
        return {
            "name": str(contact),
            "position": contact.position,
            "roles": card.roles,
            "influence": contact.influence,
            "attitude": contact.attitude,
            "flags": [str(flag.value) for flag in card.flags],
            "reports": [node(child) for child in card.reports],
        }

    return {
        "tree": [node(card) for card in center.roots],
        "contacts": [str(card.contact) for card in center.cards],
        "matrix": [
            {"member": _name(member.user), "strengths": [r.strength if r else 0 for r in cells]}
            for member, cells in center.matrix()
        ],
        "flags": [str(flag.value) for flag in center.flags],
    }


def _portfolio(point) -> dict[str, Any] | None:
    if point is None or point.quadrant is None:
        return None
    return {
        "quadrant": str(point.quadrant.value),
        "attractiveness": _plain(point.attractiveness),
        "position": _plain(point.position),
        "coverage": _plain(point.coverage),
    }
