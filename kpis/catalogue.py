"""The annual measures and the KPIs, defined once in code and shown with their definitions.

A *measure* is a figure collected per account and year (optionally per product group and
region) as actual and target; a *KPI* is what the dashboards compute from measures, plans,
the buying center and the selection. Names and formulas are translated for the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    CURRENCY = "currency", _("currency")
    PIECES = "pieces", _("pieces")
    PERCENT = "percent", _("%")
    COUNT = "count", _("count")
    PER_YEAR = "per_year", _("times a year")
    HOURS = "hours", _("hours")
    SCORE = "score", _("score 1–5")
    DAYS = "days", _("days")


class Measure(models.TextChoices):
    VOLUME = "volume", _("Volume")
    REVENUE = "revenue", _("Revenue")
    DISTRIBUTION = "distribution", _("Distribution")
    MARKET_SHARE = "market_share", _("Market share")
    CONTRIBUTION_MARGIN = "contribution_margin", _("Contribution margin")
    MINIMUM_PRICE = "minimum_price", _("Minimum price")
    SPECIAL_PRICE = "special_price", _("Special price")
    ASSORTMENT = "assortment", _("Assortment")
    AVERAGE_CUSTOMER_REVENUE = "average_customer_revenue", _("Average customer revenue")
    ORDER_STRUCTURE = "order_structure", _("Order structure")
    ARTICLE_STRUCTURE = "article_structure", _("Article structure")
    PROMOTION_ARTICLES = "promotion_articles", _("Promotion articles")
    MINIMUM_ORDER_SIZE = "minimum_order_size", _("Minimum order size")
    TURNOVER_RATE = "turnover_rate", _("Turnover rate")
    RETURNS = "returns", _("Returns")
    PROMOTIONS = "promotions", _("Promotions")
    SERVICE_EFFORT = "service_effort", _("Service effort")
    PROCESSING_INTENSITY = "processing_intensity", _("Processing intensity")
    WILLINGNESS_TO_COOPERATE = "willingness_to_cooperate", _("Willingness to cooperate")


@dataclass(frozen=True)
class MeasureDefinition:
    """How a measure is read: its unit, the smallest and largest value it may take."""

    measure: Measure
    unit: Unit
    description: Promise
    minimum: Decimal | None = Decimal(0)
    maximum: Decimal | None = None

    @property
    def label(self) -> str:
        return str(self.measure.label)


HUNDRED, FIVE = Decimal(100), Decimal(5)

MEASURES: dict[str, MeasureDefinition] = {
    d.measure.value: d
    for d in (
        MeasureDefinition(Measure.VOLUME, Unit.PIECES, _("Units sold to the account (Absatz).")),
        MeasureDefinition(Measure.REVENUE, Unit.CURRENCY, _("Net revenue with the account.")),
        MeasureDefinition(
            Measure.DISTRIBUTION,
            Unit.PERCENT,
            _("Share of the account's outlets that list our products."),
            maximum=HUNDRED,
        ),
        MeasureDefinition(
            Measure.MARKET_SHARE,
            Unit.PERCENT,
            _("Our share of the account's purchases in our categories."),
            maximum=HUNDRED,
        ),
        MeasureDefinition(
            Measure.CONTRIBUTION_MARGIN,
            Unit.CURRENCY,
            _("Revenue less variable costs (Deckungsbeitrag); may be negative."),
            minimum=None,
        ),
        MeasureDefinition(Measure.MINIMUM_PRICE, Unit.CURRENCY, _("Lowest agreed unit price.")),
        MeasureDefinition(
            Measure.SPECIAL_PRICE, Unit.CURRENCY, _("Average special (promotional) unit price.")
        ),
        MeasureDefinition(Measure.ASSORTMENT, Unit.COUNT, _("Articles listed by the account.")),
        MeasureDefinition(
            Measure.AVERAGE_CUSTOMER_REVENUE, Unit.CURRENCY, _("Average revenue per order.")
        ),
        MeasureDefinition(Measure.ORDER_STRUCTURE, Unit.COUNT, _("Orders placed in the year.")),
        MeasureDefinition(
            Measure.ARTICLE_STRUCTURE, Unit.COUNT, _("Different articles ordered in the year.")
        ),
        MeasureDefinition(
            Measure.PROMOTION_ARTICLES, Unit.COUNT, _("Articles sold in promotions.")
        ),
        MeasureDefinition(
            Measure.MINIMUM_ORDER_SIZE, Unit.CURRENCY, _("Smallest order value accepted.")
        ),
        MeasureDefinition(
            Measure.TURNOVER_RATE, Unit.PER_YEAR, _("How often the account's stock turns.")
        ),
        MeasureDefinition(
            Measure.RETURNS, Unit.PERCENT, _("Returned share of delivered value."), maximum=HUNDRED
        ),
        MeasureDefinition(Measure.PROMOTIONS, Unit.COUNT, _("Promotions run with the account.")),
        MeasureDefinition(
            Measure.SERVICE_EFFORT, Unit.HOURS, _("Hours of service given to the account.")
        ),
        MeasureDefinition(
            Measure.PROCESSING_INTENSITY,
            Unit.SCORE,
            _("Effort to process the account's orders, 1 (low) to 5 (high)."),
            minimum=Decimal(1),
            maximum=FIVE,
        ),
        MeasureDefinition(
            Measure.WILLINGNESS_TO_COOPERATE,
            Unit.SCORE,
            _("The account's willingness to cooperate, 1 (low) to 5 (high)."),
            minimum=Decimal(1),
            maximum=FIVE,
        ),
    )
}

# Measures whose account-level target (no product group, no region) the key account plan
# sets: the plan is the one source of those targets, so figures never store them.
PLAN_MEASURES: dict[str, str] = {
    Measure.REVENUE: "revenue",
    Measure.CONTRIBUTION_MARGIN: "contribution_margin",
    Measure.VOLUME: "volume",
}


@dataclass(frozen=True)
class KpiDefinition:
    """A KPI as the UI shows it: name, formula in words, unit, and whether more is better."""

    key: str
    name: Promise
    formula: Promise
    unit: Unit
    higher_is_better: bool = True


KPIS: dict[str, KpiDefinition] = {
    k.key: k
    for k in (
        KpiDefinition(
            "revenue", _("Revenue"), _("Actual revenue of the year (sum of accounts)."),
            Unit.CURRENCY,
        ),
        KpiDefinition(
            "revenue_target", _("Revenue target"),
            _("Revenue target of the year from the key account plan covering it."), Unit.CURRENCY,
        ),
        KpiDefinition(
            "revenue_attainment", _("Target attainment"),
            _("Actual revenue ÷ revenue target × 100, over accounts that have both."),
            Unit.PERCENT,
        ),
        KpiDefinition(
            "contribution_margin", _("Contribution margin"),
            _("Actual contribution margin of the year."), Unit.CURRENCY,
        ),
        KpiDefinition(
            "margin_attainment", _("Margin attainment"),
            _("Actual contribution margin ÷ its target × 100, over accounts that have both."),
            Unit.PERCENT,
        ),
        KpiDefinition(
            "growth", _("Growth"),
            _("(Revenue of the year − revenue of the year before) ÷ revenue of the year before "
              "× 100, over accounts with revenue in both years."),
            Unit.PERCENT,
        ),
        KpiDefinition(
            "share_of_wallet", _("Share of wallet"),
            _("Actual revenue ÷ the revenue potential of the year (potential analysis) × 100."),
            Unit.PERCENT,
        ),
        KpiDefinition(
            "action_completion", _("Plan action completion"),
            _("Done actions ÷ all actions of the current plans × 100."), Unit.PERCENT,
        ),
        KpiDefinition(
            "actions_overdue", _("Overdue actions"),
            _("Open plan actions whose due date has passed."), Unit.COUNT,
            higher_is_better=False,
        ),
        KpiDefinition(
            "reviews_overdue", _("Reviews overdue"),
            _("Plans whose mentor review is past its due date."), Unit.COUNT,
            higher_is_better=False,
        ),
        KpiDefinition(
            "coverage", _("Buying-center coverage"),
            _("Active high-influence contacts with a relationship to our team ÷ all active "
              "high-influence contacts × 100."),
            Unit.PERCENT,
        ),
        KpiDefinition(
            "red_flags", _("Red flags"),
            _("Accounts below 90 % of their revenue target, or with a decision maker nobody "
              "on our team knows, or (key accounts) without a key account manager."),
            Unit.COUNT, higher_is_better=False,
        ),
        KpiDefinition(
            "tier_movements", _("Tier movements"),
            _("Accounts whose tier changed in the year (approved selection runs)."), Unit.COUNT,
        ),
        KpiDefinition(
            "key_accounts_per_kam", _("Key accounts per KAM"),
            _("Key accounts ÷ key account managers who manage at least one."), Unit.COUNT,
        ),
        KpiDefinition(
            "escalations_open", _("Open payment escalations"),
            _("Payment escalations of overdue invoices not yet closed (neither resolved nor "
              "a delivery stop lifted), per tier and per key account manager."),
            Unit.COUNT, higher_is_better=False,
        ),
        KpiDefinition(
            "amount_at_risk", _("Amount at risk"),
            _("Open amount (amount − amount paid) of the invoices of the open payment "
              "escalations, per currency, per tier and per key account manager."),
            Unit.CURRENCY, higher_is_better=False,
        ),
        KpiDefinition(
            "days_to_clarification", _("Days to clarification"),
            _("Median of the days from opening a payment escalation to recording how it was "
              "resolved, over the resolved escalations (a broken promise to pay reopens a case "
              "until it is resolved again)."),
            Unit.DAYS, higher_is_better=False,
        ),
        KpiDefinition(
            "resolved_without_stop", _("Resolved without a delivery stop"),
            _("Closed payment escalations resolved without a delivery stop ÷ all closed "
              "payment escalations (resolved, or delivery stop lifted) × 100."),
            Unit.PERCENT,
        ),
    )
}  # fmt: skip

RED_FLAG_ATTAINMENT = Decimal(90)
