"""Three-year key account plans: the working copy, its items, reviews and frozen versions.

A plan covers ``start_year`` and the two years after it. Its texts, targets, objectives,
actions, risks, resource requests and contact strategies form the *working copy*, which the
account team edits; approval freezes a :class:`PlanVersion` (a snapshot of all of it) that
never changes again. Every editable row carries a ``revision`` that grows with each save, so
two people editing the same row never overwrite each other silently.
"""

from __future__ import annotations

import calendar
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Account, Contact, PartnershipStrategy
from selection.models import Quadrant

HORIZON_YEARS = 3


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")


class RelationshipPhase(models.TextChoices):
    PRE_SALE = "pre_sale", _("Pre-sale")
    NEGOTIATION = "negotiation", _("Contract negotiation")
    DELIVERY = "delivery", _("Implementation and delivery")
    REVIEW = "review", _("Review")
    EXPLOITATION = "exploitation", _("Exploitation")


class Metric(models.TextChoices):
    REVENUE = "revenue", _("Revenue")
    CONTRIBUTION_MARGIN = "contribution_margin", _("Contribution margin")
    SHARE_OF_WALLET = "share_of_wallet", _("Share of wallet")
    VOLUME = "volume", _("Volume")
    CUSTOM = "custom", _("Own KPI")


class Plan(models.Model):
    """An account's key account plan for three years from ``start_year`` (the working copy)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="plans"
    )
    start_year = models.PositiveSmallIntegerField(
        _("first year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    language = models.CharField(
        _("language of the plan"), max_length=8, choices=settings.LANGUAGES, default="de"
    )

    business_goals = models.TextField(_("the customer's business goals and strategy"), blank=True)
    market_trends = models.TextField(_("market and trends"), blank=True)
    purchasing_strategy = models.TextField(_("the customer's purchasing strategy"), blank=True)
    competition = models.TextField(_("competitors at the account"), blank=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)
    opportunities = models.TextField(_("opportunities"), blank=True)
    threats = models.TextField(_("threats"), blank=True)

    value_proposition = models.TextField(_("our value proposition"), blank=True)
    account_strategy = models.TextField(_("account strategy"), blank=True)
    partnership_level = models.CharField(
        _("partnership level"), max_length=16, choices=PartnershipStrategy.choices, blank=True
    )
    # The development strategies of the portfolio quadrants (stars, cash cows, …).
    development_strategy = models.CharField(
        _("development strategy"), max_length=16, choices=Quadrant.choices, blank=True
    )
    phase = models.CharField(
        _("phase of the relationship"), max_length=16, choices=RelationshipPhase.choices, blank=True
    )

    review_interval_months = models.PositiveSmallIntegerField(
        _("mentor review every (months)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )
    # The review due date for which the KAM and the mentor were last told it is overdue,
    # so the daily check tells them once per due date.
    overdue_notified_for = models.DateField(null=True, blank=True, editable=False)

    revision = models.PositiveIntegerField(_("revision"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "overdue_notified_for"])

    class Meta:
        verbose_name = _("key account plan")
        verbose_name_plural = _("key account plans")
        ordering = ("account__name", "-start_year")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "start_year"], name="plans_plan_once_per_account_and_year"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PlanStatus.values), name="plans_plan_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(start_year__gte=2000, start_year__lte=2100),
                name="plans_plan_start_year_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.start_year}–{self.end_year}"

    def get_absolute_url(self) -> str:
        return reverse("plans:plan-detail", args=[self.pk])

    @property
    def end_year(self) -> int:
        return self.start_year + HORIZON_YEARS - 1

    @property
    def years(self) -> list[int]:
        return [self.start_year + offset for offset in range(HORIZON_YEARS)]

    def review_due(self, last_review: date | None) -> date:
        """When the next mentor review falls due: an interval after the last one, or after
        the plan was started."""
        start = last_review or self.created_at.date()
        return add_months(start, self.review_interval_months)

    @property
    def is_locked(self) -> bool:
        """A submitted plan waits for leadership; nobody edits it until it is decided."""
        return self.status == PlanStatus.SUBMITTED


class PlanItem(models.Model):
    """Rows edited inline on the plan page: each guards itself with a revision."""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE)
    position = models.PositiveIntegerField(_("position"), default=0)
    revision = models.PositiveIntegerField(_("revision"), default=1)

    class Meta:
        abstract = True
        ordering = ("position", "pk")


class Target(PlanItem):
    """A KPI the plan sets targets for, one value per year of the horizon."""

    metric = models.CharField(_("KPI"), max_length=24, choices=Metric.choices)
    custom_name = models.CharField(_("name of the own KPI"), max_length=80, blank=True)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    year_1 = models.DecimalField(
        _("first year"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    year_2 = models.DecimalField(
        _("second year"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    year_3 = models.DecimalField(
        _("third year"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    history = HistoricalRecords()

    class Meta(PlanItem.Meta):
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        default_related_name = "targets"
        constraints = [
            models.CheckConstraint(
                condition=~Q(metric="custom") | ~Q(custom_name=""),
                name="plans_target_custom_named",
            ),
            models.UniqueConstraint(
                fields=["plan", "metric"],
                condition=~Q(metric="custom"),
                name="plans_target_metric_once",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.custom_name if self.metric == Metric.CUSTOM else str(self.get_metric_display())

    @property
    def values(self) -> list:
        return [self.year_1, self.year_2, self.year_3]


class ObjectiveStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACHIEVED = "achieved", _("Achieved")
    MISSED = "missed", _("Missed")
    DROPPED = "dropped", _("Dropped")


class Objective(PlanItem):
    """A measurable goal of the plan, reached in ``target_year`` and moving one KPI."""

    title = models.CharField(_("objective"), max_length=200)
    measure = models.CharField(
        _("measured by"),
        max_length=300,
        help_text=_("How we know it is reached, e.g. 'framework contract signed'."),
    )
    target_year = models.PositiveSmallIntegerField(_("target year"))
    target = models.ForeignKey(
        Target,
        verbose_name=_("KPI it moves"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="objectives",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ObjectiveStatus.choices, default=ObjectiveStatus.OPEN
    )
    history = HistoricalRecords()

    class Meta(PlanItem.Meta):
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        default_related_name = "objectives"

    def __str__(self) -> str:
        return self.title


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class Action(PlanItem):
    """A step towards an objective, owned by someone on the account team."""

    objective = models.ForeignKey(
        Objective, verbose_name=_("objective"), on_delete=models.CASCADE, related_name="actions"
    )
    title = models.CharField(_("action"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plan_actions",
    )
    due_date = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    phase = models.CharField(
        _("phase"), max_length=16, choices=RelationshipPhase.choices, blank=True
    )
    contacts = models.ManyToManyField(
        Contact, verbose_name=_("contacts involved"), blank=True, related_name="plan_actions"
    )
    history = HistoricalRecords(m2m_fields=[contacts])

    class Meta(PlanItem.Meta):
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        default_related_name = "actions"
        indexes = [
            # "My open actions": by owner, only the open ones, soonest first.
            models.Index(
                fields=["owner", "due_date"],
                condition=Q(status__in=["open", "in_progress"]),
                name="plans_action_open_by_owner",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Level(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


LEVEL_WEIGHT = {Level.LOW: 1, Level.MEDIUM: 2, Level.HIGH: 3}


class Risk(PlanItem):
    """Something that may stop the plan, how likely and how bad, and what we do about it."""

    description = models.CharField(_("risk"), max_length=300)
    likelihood = models.CharField(_("likelihood"), max_length=8, choices=Level.choices)
    impact = models.CharField(_("impact"), max_length=8, choices=Level.choices)
    mitigation = models.TextField(_("mitigation"), blank=True)
    history = HistoricalRecords()

    class Meta(PlanItem.Meta):
        verbose_name = _("risk")
        verbose_name_plural = _("risks")
        default_related_name = "risks"

    def __str__(self) -> str:
        return self.description

    @property
    def severity(self) -> int:
        """1 (low × low) to 9 (high × high), to sort and colour the risk register."""
        return LEVEL_WEIGHT[self.likelihood] * LEVEL_WEIGHT[self.impact]


class Department(models.TextChoices):
    SERVICE = "service", _("Service")
    PRODUCTION = "production", _("Production")
    LOGISTICS = "logistics", _("Logistics")
    FINANCE = "finance", _("Finance")
    OTHER = "other", _("Other")


class ResourceStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    AGREED = "agreed", _("Agreed")
    DECLINED = "declined", _("Declined")


class ResourceRequest(PlanItem):
    """What the plan needs from the rest of the company, and whom we asked."""

    department = models.CharField(_("department"), max_length=16, choices=Department.choices)
    description = models.CharField(_("what is needed"), max_length=300)
    requested_from = models.CharField(_("person asked"), max_length=120)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ResourceStatus.choices,
        default=ResourceStatus.REQUESTED,
    )
    history = HistoricalRecords()

    class Meta(PlanItem.Meta):
        verbose_name = _("resource request")
        verbose_name_plural = _("resource requests")
        default_related_name = "resource_requests"

    def __str__(self) -> str:
        return self.description


class ContactStrategy(PlanItem):
    """For one contact of the buying center: the relationship we aim for and who owns it.

    The contact's role, influence and attitude are read from the accounts app, not retyped.
    """

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="strategies"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("relationship owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact_strategies",
    )
    target_strength = models.PositiveSmallIntegerField(
        _("intended relationship strength"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (acquainted) to 5 (trusted)."),
    )
    approach = models.CharField(_("how we get there"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta(PlanItem.Meta):
        verbose_name = _("contact strategy")
        verbose_name_plural = _("contact strategies")
        default_related_name = "contact_strategies"
        constraints = [
            models.UniqueConstraint(fields=["plan", "contact"], name="plans_contact_strategy_once"),
            models.CheckConstraint(
                condition=Q(target_strength__gte=1, target_strength__lte=5),
                name="plans_contact_strategy_strength_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.contact)


class PlanEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    SUBMITTED = "submitted", _("Submitted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    REOPENED = "reopened", _("Reopened for the next round")
    ROLLED_FORWARD = "rolled_forward", _("Started from the previous plan")


class PlanEvent(models.Model):
    """One step of a plan's workflow, with who took it and (for requested changes) why."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("step"), max_length=24, choices=PlanEventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("plan step")
        verbose_name_plural = _("plan steps")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="changes_requested") | ~Q(comment=""),
                name="plans_event_changes_requested_has_comment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.plan}"


class PlanVersion(models.Model):
    """An approved plan, frozen: a snapshot of the whole working copy at approval.

    Never changed after it is written; ``pdf`` caches its printout, which is deterministic.
    """

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("snapshot"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"))
    pdf = models.FileField(_("printout"), upload_to="plans/versions/%Y/", blank=True)

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ("plan", "-number")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plans_version_number_once")
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("plans:version-detail", args=[self.plan_id, self.number])


class Review(models.Model):
    """A mentor's review of the plan: when, who, what they noted, and their sign-off."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="plan_reviews",
    )
    reviewed_on = models.DateField(_("reviewed on"))
    notes = models.TextField(_("notes"))
    signed_off = models.BooleanField(
        _("signed off"),
        default=False,
        help_text=_("The reviewer agrees with the plan as it stands."),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("mentor review")
        verbose_name_plural = _("mentor reviews")
        ordering = ("-reviewed_on", "-pk")

    def __str__(self) -> str:
        return f"{self.plan} {self.reviewed_on}"
