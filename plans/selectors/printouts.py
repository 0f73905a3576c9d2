"""Reads for printouts: which versions the annual printout holds, and a snapshot shaped for print.

:func:`print_context` turns a plan snapshot (codes, ISO dates, decimals as text; see
``plans/selectors/snapshot.py``) into what ``plans/plan_print.html`` shows: labels in the
active language, dates and numbers as Python values, and the geometry of the inline charts.
Call it inside ``translation.override(plan language)``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Exists, F, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from accounts.models import (
    AccountTeamMember,
    BuyingRole,
    Industry,
    Influence,
    PartnershipStrategy,
    Region,
    TeamRole,
)
from accounts.selectors import RedFlag
from kam.models import User
from plans.models import (
    HORIZON_YEARS,
    ActionStatus,
    Department,
    Level,
    Metric,
    ObjectiveStatus,
    Plan,
    PlanStatus,
    PlanVersion,
    RelationshipPhase,
    ResourceStatus,
)
from plans.selectors.sections import choice_label
from selection.models import MAX_POINTS, Quadrant

CURRENCY_METRICS = frozenset({Metric.REVENUE, Metric.CONTRIBUTION_MARGIN})

# The inline charts' geometry in SVG user units. The targets' bar charts are small multiples
# in one SVG, two a row: one replaced box lays out far faster than floats or a grid.
BAR_CHART_WIDTH, BAR_CHART_HEIGHT, BAR_CHARTS_PER_ROW, BAR_CHART_GUTTER = 320, 150, 2, 20
BAR_AREA_TOP, BAR_AREA_BOTTOM, BAR_AREA_LEFT = 32, 124, 14
BAR_WIDTH, BAR_GAP = 30, 4
PORTFOLIO_SIZE, PORTFOLIO_LEFT, PORTFOLIO_TOP = 200, 34, 8

# The printout's sections in order: id (the anchor), title and partial. The table of contents
# and the headings both read this list.
SECTIONS = (
    ("profile", gettext_lazy("Account profile"), "_profile.html"),
    ("situation", gettext_lazy("Situation"), "_situation.html"),
    ("strategy", gettext_lazy("Value proposition and strategy"), "_strategy.html"),
    ("portfolio", gettext_lazy("Portfolio position"), "_portfolio.html"),
    ("buying-center", gettext_lazy("Buying center"), "_buying_center.html"),
    ("contact-strategies", gettext_lazy("Contact strategies"), "_contact_strategies.html"),
    ("targets", gettext_lazy("Targets and actuals"), "_targets.html"),
    ("objectives", gettext_lazy("Objectives and actions"), "_objectives.html"),
    ("risks", gettext_lazy("Risks"), "_risks.html"),
    ("resources", gettext_lazy("Resources from the company"), "_resources.html"),
    ("reviews", gettext_lazy("Mentor reviews"), "_reviews.html"),
    ("sign-off", gettext_lazy("Sign-off"), "_signatures.html"),
)
SITUATION_FIELDS = ("business_goals", "market_trends", "purchasing_strategy", "competition")
SWOT_FIELDS = (("strengths", "weaknesses"), ("opportunities", "threats"))
STRATEGY_FIELDS = ("value_proposition", "account_strategy")


def printout_versions(
    *, year: int, tier: str = "", kam: User | None = None
) -> QuerySet[PlanVersion]:
    """The versions the annual printout of ``year`` holds: per account, the newest approved
    version of its newest approved plan whose horizon covers ``year``; optionally only
    accounts of ``tier`` or managed by ``kam``. Ordered by account name; snapshots deferred.
    """
    plans = Plan.objects.filter(
        start_year__gte=year - HORIZON_YEARS + 1,
        start_year__lte=year,
    ).filter(Exists(PlanVersion.objects.filter(plan=OuterRef("pk"))))
    if tier:
        plans = plans.filter(account__tier=tier)
    if kam is not None:
        plans = plans.filter(
            Exists(
                AccountTeamMember.objects.filter(
                    account=OuterRef("account"), user=kam, role=TeamRole.KEY_ACCOUNT_MANAGER
                )
            )
        )
    newest_plan = (
        plans.filter(account=OuterRef("plan__account")).order_by("-start_year").values("pk")[:1]
    )
    newest_version = (
        PlanVersion.objects.filter(plan=OuterRef("plan")).order_by("-number").values("pk")[:1]
    )
    return (
        PlanVersion.objects.filter(plan=Subquery(newest_plan), pk=Subquery(newest_version))
        .select_related("plan__account")
        .defer("snapshot")
        .order_by("plan__account__name", "plan__account__erp_number", "pk")
    )


def printout_tiers() -> list[str]:
    """The tiers of accounts that have an approved plan, best rank first."""
    rows = (
        PlanVersion.objects.exclude(plan__account__tier="")
        .values("plan__account__tier")
        .annotate(rank=Min("plan__account__tier_rank"))
        .order_by(F("rank").asc(nulls_last=True), "plan__account__tier")
    )
    return [row["plan__account__tier"] for row in rows]


def printout_managers() -> QuerySet[User]:
    """Key account managers of accounts that have an approved plan, by name."""
    managed = AccountTeamMember.objects.filter(
        user=OuterRef("pk"),
        role=TeamRole.KEY_ACCOUNT_MANAGER,
        account__plans__versions__isnull=False,
    )
    return User.objects.filter(Exists(managed)).order_by("last_name", "first_name", "pk")


def _decimal(value: str | None) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _signed(number: int) -> str:
    return f"+{number}" if number > 0 else str(number).replace("-", "−")


def _attitude_band(attitude: int) -> tuple[str, str]:
    """The colour band of an attitude (−5 … +5) and its label, as the buying center shows it."""
    if attitude <= -3:
        return "hostile", _("against us (−5 to −3)")
    if attitude < 0:
        return "negative", _("sceptical (−2 to −1)")
    if attitude == 0:
        return "neutral", _("neutral (0)")
    if attitude < 4:
        return "positive", _("supportive (+1 to +3)")
    return "champion", _("champion (+4 to +5)")


def _attitude(attitude: int) -> dict[str, str]:
    band, label = _attitude_band(attitude)
    return {"value": _signed(attitude), "band": band, "label": label}


def _roles(codes: list[str]) -> list[str]:
    return [choice_label(BuyingRole, code) for code in codes]


def _org_node(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": node["name"],
        "position": node["position"],
        "roles": _roles(node["roles"]),
        "influence": node["influence"],
        "influence_label": choice_label(Influence, node["influence"]),
        "attitude": _attitude(node["attitude"]),
        "flags": [choice_label(RedFlag, flag) for flag in node["flags"]],
        "reports": [_org_node(child) for child in node["reports"]],
    }


def _buying_center(center: dict[str, Any]) -> dict[str, Any]:
    members = [row["member"] for row in center["matrix"]]
    rows = [
        {
            "contact": contact,
            "strengths": [row["strengths"][index] for row in center["matrix"]],
        }
        for index, contact in enumerate(center["contacts"])
    ]
    return {
        "tree": [_org_node(node) for node in center["tree"]],
        "members": members,
        "matrix": rows,
        "flags": [choice_label(RedFlag, flag) for flag in center["flags"]],
        "legend": [_attitude_band(value) for value in (-5, -1, 0, 1, 5)],
    }


def _bar_chart(index: int, name: str, years: list[int], values, actuals) -> dict[str, Any]:
    """The ``index``-th small grouped bar chart: per year the target bar and, where known,
    the actual bar. Negative values get no bar (the table above the charts shows them)."""
    known = [v for v in (*values, *actuals) if v is not None and v >= 0]
    largest = max(known, default=Decimal(0)) or Decimal(1)
    span = BAR_AREA_BOTTOM - BAR_AREA_TOP
    group = (BAR_CHART_WIDTH - BAR_AREA_LEFT) / len(years)
    bars, ticks = [], []
    for column, year in enumerate(years):
        left = BAR_AREA_LEFT + column * group + (group - 2 * BAR_WIDTH - BAR_GAP) / 2
        for offset, kind, value in ((0, "target", values[column]), (1, "actual", actuals[column])):
            if value is None or value < 0:
                continue
            height = float(value / largest) * span
            bars.append(
                {
                    "kind": kind,
                    "x": f"{left + offset * (BAR_WIDTH + BAR_GAP):.1f}",
                    "y": f"{BAR_AREA_BOTTOM - height:.1f}",
                    "width": BAR_WIDTH,
                    "height": f"{height:.1f}",
                    "value": value,
                    "label_x": f"{left + offset * (BAR_WIDTH + BAR_GAP) + BAR_WIDTH / 2:.1f}",
                    "label_y": f"{BAR_AREA_BOTTOM - height - 4:.1f}",
                }
            )
        ticks.append({"year": year, "x": f"{BAR_AREA_LEFT + (column + 0.5) * group:.1f}"})
    return {
        "name": name,
        "x": (index % BAR_CHARTS_PER_ROW) * (BAR_CHART_WIDTH + BAR_CHART_GUTTER),
        "y": (index // BAR_CHARTS_PER_ROW) * BAR_CHART_HEIGHT,
        "width": BAR_CHART_WIDTH,
        "title_y": BAR_AREA_TOP - 18,
        "baseline": BAR_AREA_BOTTOM,
        "left": BAR_AREA_LEFT,
        "tick_y": BAR_AREA_BOTTOM + 16,
        "bars": bars,
        "ticks": ticks,
        "empty": not known,
    }


def _charts(targets: list[dict[str, Any]]) -> dict[str, Any]:
    """The SVG canvas holding every target's chart."""
    rows = -(-len(targets) // BAR_CHARTS_PER_ROW)
    return {
        "charts": [target["chart"] for target in targets],
        "width": BAR_CHARTS_PER_ROW * BAR_CHART_WIDTH + BAR_CHART_GUTTER,
        "height": rows * BAR_CHART_HEIGHT,
    }


def _targets(snapshot: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    years = snapshot["plan"]["years"]
    rows = []
    for index, target in enumerate(snapshot["targets"]):
        metric = target["metric"]
        name = target["name"] if metric == Metric.CUSTOM else choice_label(Metric, metric)
        values = [_decimal(v) for v in target["values"]]
        actuals = [_decimal(v) for v in target["actuals"]] or [None] * len(years)
        is_money = metric in CURRENCY_METRICS and not target["unit"]
        unit = currency if is_money else target["unit"]
        rows.append(
            {
                "name": name,
                "unit": unit,
                "is_money": is_money,
                "years": [
                    {"year": year, "target": values[i], "actual": actuals[i]}
                    for i, year in enumerate(years)
                ],
                "chart": _bar_chart(
                    index, f"{name} ({unit})" if unit else name, years, values, actuals
                ),
            }
        )
    return rows


def _portfolio(portfolio: dict[str, Any] | None) -> dict[str, Any] | None:
    if portfolio is None:
        return None
    attractiveness = _decimal(portfolio["attractiveness"])
    position = _decimal(portfolio["position"])
    half = PORTFOLIO_SIZE / 2
    point = None
    if attractiveness is not None and position is not None:
        point = {
            "x": f"{PORTFOLIO_LEFT + float(position / MAX_POINTS) * PORTFOLIO_SIZE:.1f}",
            "y": f"{PORTFOLIO_TOP + (1 - float(attractiveness / MAX_POINTS)) * PORTFOLIO_SIZE:.1f}",
        }
    quadrant = portfolio["quadrant"]
    return {
        "quadrant": quadrant,
        "quadrant_label": choice_label(Quadrant, quadrant),
        "attractiveness": attractiveness,
        "position": position,
        "coverage": _decimal(portfolio["coverage"]),
        "point": point,
        "size": PORTFOLIO_SIZE,
        "left": PORTFOLIO_LEFT,
        "top": PORTFOLIO_TOP,
        "half": half,
        "middle_x": PORTFOLIO_LEFT + half,
        "middle_y": PORTFOLIO_TOP + half,
        "right": PORTFOLIO_LEFT + PORTFOLIO_SIZE,
        "bottom": PORTFOLIO_TOP + PORTFOLIO_SIZE,
        "width": PORTFOLIO_LEFT + PORTFOLIO_SIZE + 8,
        "height": PORTFOLIO_TOP + PORTFOLIO_SIZE + 30,
        "quadrants": [
            # Top: attractive; right: strong position (as on the portfolio page).
            {"x": PORTFOLIO_LEFT, "y": PORTFOLIO_TOP, "code": Quadrant.SELECTIVE},
            {"x": PORTFOLIO_LEFT + half, "y": PORTFOLIO_TOP, "code": Quadrant.INVEST},
            {"x": PORTFOLIO_LEFT, "y": PORTFOLIO_TOP + half, "code": Quadrant.REDUCE},
            {"x": PORTFOLIO_LEFT + half, "y": PORTFOLIO_TOP + half, "code": Quadrant.MAINTAIN},
        ],
    }


def _text(texts: dict[str, str], name: str) -> dict[str, str]:
    """One of the plan's texts with its field's label."""
    return {
        "label": capfirst(Plan._meta.get_field(name).verbose_name),
        "text": texts.get(name, ""),
    }


def print_context(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The template context of ``plans/plan_print.html`` for a plan snapshot (any schema so
    far), with labels in the active language."""
    account = snapshot["account"]
    plan = snapshot["plan"]
    years = plan["years"]
    approval = snapshot.get("approval")
    currency = account.get("currency") or "EUR"
    texts, choices = snapshot["texts"], snapshot["choices"]
    targets = _targets(snapshot, currency)
    return {
        "sections": [
            {"id": id_, "title": str(title), "template": f"plans/print/{partial}"}
            for id_, title, partial in SECTIONS
        ],
        "account": {
            **account,
            "industry_label": choice_label(Industry, account["industry"]),
            "region_label": choice_label(Region, account["region"]),
            "country_label": str(dict(countries).get(account["country"], account["country"])),
            "strategy_label": choice_label(PartnershipStrategy, account["strategy"]),
            "share_of_wallet": _decimal(account["share_of_wallet"]),
            "share_of_wallet_target": _decimal(account["share_of_wallet_target"]),
            "team": [
                {"name": member["name"], "role": choice_label(TeamRole, member["role"])}
                for member in account["team"]
            ],
        },
        "plan": {
            **plan,
            "first_year": years[0],
            "last_year": years[-1],
            "status_label": choice_label(PlanStatus, plan["status"]),
        },
        "approval": {
            "number": approval["number"],
            "by": approval.get("by", ""),
            "at": _datetime(approval.get("at")),
        }
        if approval
        else None,
        "situation": [_text(texts, name) for name in SITUATION_FIELDS],
        "swot": [[_text(texts, name) for name in row] for row in SWOT_FIELDS],
        "strategy": [_text(texts, name) for name in STRATEGY_FIELDS],
        "choices": {
            "partnership_level": choice_label(PartnershipStrategy, choices["partnership_level"]),
            "development_strategy": choice_label(Quadrant, choices["development_strategy"]),
            "phase": choice_label(RelationshipPhase, choices["phase"]),
        },
        "currency": currency,
        "targets": targets,
        "charts": _charts(targets),
        "objectives": [
            {
                **objective,
                "target": choice_label(Metric, objective["target"]),
                "status_label": choice_label(ObjectiveStatus, objective["status"]),
                "actions": [
                    {
                        **action,
                        "due_date": _date(action["due_date"]),
                        "status_label": choice_label(ActionStatus, action["status"]),
                        "phase_label": choice_label(RelationshipPhase, action["phase"]),
                    }
                    for action in objective["actions"]
                ],
            }
            for objective in snapshot["objectives"]
        ],
        "risks": sorted(
            (
                {
                    **risk,
                    "likelihood_label": choice_label(Level, risk["likelihood"]),
                    "impact_label": choice_label(Level, risk["impact"]),
                }
                for risk in snapshot["risks"]
            ),
            key=lambda risk: -risk["severity"],
        ),
        "resources": [
            {
                **resource,
                "department_label": choice_label(Department, resource["department"]),
                "status_label": choice_label(ResourceStatus, resource["status"]),
            }
            for resource in snapshot["resources"]
        ],
        "contact_strategies": [
            {
                **strategy,
                "roles": _roles(strategy["roles"]),
                "influence_label": choice_label(Influence, strategy["influence"]),
                "attitude": _attitude(strategy["attitude"]),
            }
            for strategy in snapshot["contact_strategies"]
        ],
        "buying_center": _buying_center(snapshot["buying_center"]),
        "portfolio": _portfolio(snapshot.get("portfolio")),
        "reviews": [
            {**review, "reviewed_on": _date(review["reviewed_on"])}
            for review in snapshot["reviews"]
        ],
        # A version's printout is cached and must not change; only a working copy is dated.
        "printed_at": None if approval else timezone.localtime(),
    }
