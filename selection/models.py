"""Key-account selection: criteria sets in versions, runs that score every account, tiers.

A criteria set is the company's rule for who is a key account. Its versions are edited as
drafts and frozen when released; a run applies one released version to the accounts and keeps
an immutable snapshot of every account's outcome. Leadership overrides proposed tiers with a
reason and approves the run, which writes the tiers onto the accounts.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Account

MAX_POINTS = Decimal(10)
points_validators = [MinValueValidator(Decimal(0)), MaxValueValidator(MAX_POINTS)]
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #rrggbb."))


class AttributeType(models.TextChoices):
    NUMBER = "number", _("Number")
    YES_NO = "yes_no", _("Yes/no")
    RATING = "rating", _("Rating (0–10 points with a comment)")


class AccountAttribute(models.Model):
    """A custom account attribute that leadership defines for criteria ("IT workplaces")."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120, unique=True)
    data_type = models.CharField(
        _("type"), max_length=16, choices=AttributeType.choices, default=AttributeType.NUMBER
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Grows with every saved change; the history gives the state a refused editor started from.
    version = models.PositiveIntegerField(_("version"), default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("account attribute")
        verbose_name_plural = _("account attributes")
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


class AccountAttributeValue(models.Model):
    """One account's value of a custom attribute; no row means the value is unknown."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="attribute_values",
    )
    attribute = models.ForeignKey(
        AccountAttribute,
        verbose_name=_("attribute"),
        on_delete=models.CASCADE,
        related_name="values",
    )
    number = models.DecimalField(_("value"), max_digits=18, decimal_places=4, null=True, blank=True)
    flag = models.BooleanField(_("yes/no"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("account attribute value")
        verbose_name_plural = _("account attribute values")
        constraints = [
            models.UniqueConstraint(
                fields=["attribute", "account"], name="selection_attribute_value_once"
            ),
            models.CheckConstraint(
                condition=Q(number__isnull=False) | Q(flag__isnull=False),
                name="selection_attribute_value_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.flag if self.number is None else self.number}"


class CriteriaSet(models.Model):
    """The company's rule for who is a key account, kept in versions."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("criteria set")
        verbose_name_plural = _("criteria sets")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("selection:criteria-set-detail", args=[self.pk])


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RELEASED = "released", _("Released")


class UnknownRule(models.TextChoices):
    """How a K.O. group whose outcome is unknown (a missing value) counts."""

    FAIL = "fail", _("An unknown value excludes the account (counts as failed)")
    PASS = "pass", _("An unknown value does not exclude the account (counts as passed)")


class CriteriaVersion(models.Model):
    """One version of a criteria set: K.O. criteria, scored criteria and the tier scheme.

    A draft may change; a released version is frozen, and editing it starts the next draft.
    """

    criteria_set = models.ForeignKey(
        CriteriaSet,
        verbose_name=_("criteria set"),
        on_delete=models.CASCADE,
        related_name="versions",
    )
    number = models.PositiveSmallIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=16, choices=VersionState.choices, default=VersionState.DRAFT
    )
    unknown_rule = models.CharField(
        _("unknown K.O. values"),
        max_length=8,
        choices=UnknownRule.choices,
        default=UnknownRule.FAIL,
    )
    change_note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    # Written by every change of a draft; forms compare it to refuse lost updates.
    revision = models.PositiveIntegerField(_("revision"), default=1)

    class Meta:
        verbose_name = _("criteria version")
        verbose_name_plural = _("criteria versions")
        ordering = ("criteria_set", "-number")
        constraints = [
            models.UniqueConstraint(
                fields=["criteria_set", "number"], name="selection_version_number_once"
            ),
            models.UniqueConstraint(
                fields=["criteria_set"],
                condition=Q(state="draft"),
                name="selection_one_draft_per_set",
            ),
            models.CheckConstraint(
                condition=Q(state="draft", released_at__isnull=True)
                | Q(state="released", released_at__isnull=False),
                name="selection_version_released_when_dated",
            ),
        ]

    def __str__(self) -> str:
        return _("%(set)s, version %(number)s") % {"set": self.criteria_set, "number": self.number}

    def get_absolute_url(self) -> str:
        return reverse("selection:version-detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.state == VersionState.DRAFT


class Tier(models.Model):
    """A tier of a version's scheme: rank 1 is the top; an account needs ``min_score``."""

    version = models.ForeignKey(
        CriteriaVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="tiers"
    )
    rank = models.PositiveSmallIntegerField(_("rank"), validators=[MinValueValidator(1)])
    name = models.CharField(_("name"), max_length=40)
    min_score = models.DecimalField(
        _("minimum score"), max_digits=4, decimal_places=2, validators=points_validators
    )
    colour = models.CharField(
        _("colour"), max_length=7, default="#6c757d", validators=[colour_validator]
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ("version", "rank")
        constraints = [
            models.UniqueConstraint(fields=["version", "rank"], name="selection_tier_rank_once"),
            models.UniqueConstraint(fields=["version", "name"], name="selection_tier_name_once"),
            models.CheckConstraint(
                condition=Q(min_score__gte=0, min_score__lte=MAX_POINTS),
                name="selection_tier_min_score_on_scale",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Operator(models.TextChoices):
    GT = "gt", _("greater than")
    GTE = "gte", _("at least")
    LT = "lt", _("less than")
    LTE = "lte", _("at most")
    EQ = "eq", _("equal to")
    NE = "ne", _("not equal to")
    IS_YES = "yes", _("is yes")
    IS_NO = "no", _("is no")


FLAG_OPERATORS = frozenset({Operator.IS_YES, Operator.IS_NO})


class KnockoutCriterion(models.Model):
    """A K.O. rule ``value <operator> threshold``; an account must pass every group.

    Criteria that share a ``group`` number are alternatives (any one passing passes the
    group), so ">1,000 IT workplaces OR >5,000 requests a month" is one group of two.
    """

    version = models.ForeignKey(
        CriteriaVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="knockouts",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=120)
    group = models.PositiveSmallIntegerField(
        _("group"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Criteria with the same group number are alternatives: one passing is enough."),
    )
    source = models.CharField(_("value"), max_length=64)
    operator = models.CharField(_("operator"), max_length=8, choices=Operator.choices)
    threshold = models.DecimalField(
        _("threshold"), max_digits=18, decimal_places=4, null=True, blank=True
    )

    class Meta:
        verbose_name = _("knock-out criterion")
        verbose_name_plural = _("knock-out criteria")
        ordering = ("version", "group", "position", "pk")
        constraints = [
            models.CheckConstraint(
                condition=Q(operator__in=["yes", "no"]) | Q(threshold__isnull=False),
                name="selection_knockout_threshold_given",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScoringMethod(models.TextChoices):
    BANDS = "bands", _("Bands: a value from … gives points")
    DIRECT = "direct", _("Direct: the value is the points (a rating 0–10)")


class ScoredCriterion(models.Model):
    """A weighted criterion that turns an account's value into 0–10 points."""

    version = models.ForeignKey(
        CriteriaVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="criteria",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=120)
    source = models.CharField(_("value"), max_length=64)
    method = models.CharField(
        _("scoring"), max_length=8, choices=ScoringMethod.choices, default=ScoringMethod.BANDS
    )
    weight = models.DecimalField(
        _("weight"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(1000))],
    )

    class Meta:
        verbose_name = _("scored criterion")
        verbose_name_plural = _("scored criteria")
        ordering = ("version", "position", "pk")
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="selection_criterion_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScoreBand(models.Model):
    """Points for a value from ``min_value`` up to the next band's minimum."""

    criterion = models.ForeignKey(
        ScoredCriterion, verbose_name=_("criterion"), on_delete=models.CASCADE, related_name="bands"
    )
    min_value = models.DecimalField(_("from value"), max_digits=18, decimal_places=4)
    points = models.DecimalField(
        _("points"), max_digits=4, decimal_places=2, validators=points_validators
    )

    class Meta:
        verbose_name = _("score band")
        verbose_name_plural = _("score bands")
        ordering = ("criterion", "min_value")
        constraints = [
            models.UniqueConstraint(fields=["criterion", "min_value"], name="selection_band_once"),
            models.CheckConstraint(
                condition=Q(points__gte=0, points__lte=MAX_POINTS),
                name="selection_band_points_on_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_value}: {self.points}"


class RunState(models.TextChoices):
    COMPUTING = "computing", _("Computing")
    READY = "ready", _("Ready for review")
    APPROVED = "approved", _("Approved")
    DISCARDED = "discarded", _("Discarded")


class SelectionRun(models.Model):
    """One application of a released criteria version to all accounts or a segment.

    Its results are an immutable snapshot; approval writes the (overridden) tiers onto the
    accounts. At most one approved run is current.
    """

    version = models.ForeignKey(
        CriteriaVersion,
        verbose_name=_("criteria version"),
        on_delete=models.PROTECT,
        related_name="runs",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=RunState.choices, default=RunState.COMPUTING
    )
    segment = models.JSONField(_("segment"), default=dict, blank=True)
    segment_label = models.CharField(_("segment"), max_length=300, blank=True)
    job = models.OneToOneField(
        "kam.Job",
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="selection_run",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    account_count = models.PositiveIntegerField(_("accounts"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    is_current = models.BooleanField(_("current"), default=False)

    class Meta:
        verbose_name = _("selection run")
        verbose_name_plural = _("selection runs")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="selection_one_current_run",
            ),
            models.CheckConstraint(
                condition=Q(is_current=False) | Q(state="approved"),
                name="selection_current_run_is_approved",
            ),
            models.CheckConstraint(
                condition=Q(state="approved", approved_at__isnull=False)
                | (~Q(state="approved") & Q(approved_at__isnull=True)),
                name="selection_run_approved_when_dated",
            ),
        ]

    def __str__(self) -> str:
        return _("Selection run %(number)s") % {"number": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("selection:run-detail", args=[self.pk])


class KnockoutOutcome(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown")


class Movement(models.TextChoices):
    NEW = "new", _("New key account")
    UP = "up", _("Up")
    SAME = "same", _("Same tier")
    DOWN = "down", _("Down")
    OUT = "out", _("Out")
    NONE = "none", _("Not a key account")


class SelectionResult(models.Model):
    """One account's outcome in a run, as computed; never changed afterwards.

    ``details`` keeps the values the rules saw, in the order of the version's K.O. criteria
    (group, position, pk) and scored criteria (position, pk): ``{"knockouts": [value, …],
    "scores": [value, …]}``, null where unknown. With the frozen version they give back every
    outcome, point and contribution (:func:`selection.selectors.explanation`).
    """

    # Checking the run's key, and keeping more indexes, on each of the 100,000s of rows a run
    # writes at once costs a tenth of the run; the rows are only ever written with their run,
    # in its transaction.
    run = models.ForeignKey(
        SelectionRun,
        verbose_name=_("run"),
        on_delete=models.CASCADE,
        related_name="results",
        db_constraint=False,
        db_index=False,  # the tier index below starts with the run
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="selection_results",
        db_index=False,  # the uniqueness below starts with the account
    )
    knockout = models.CharField(_("K.O. check"), max_length=8, choices=KnockoutOutcome.choices)
    # No database constraint or index either: the criterion is part of a released version,
    # which never changes (the ORM still protects it from deletion).
    failed_knockout = models.ForeignKey(
        KnockoutCriterion,
        verbose_name=_("K.O. criterion failed"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    total = models.DecimalField(_("score"), max_digits=4, decimal_places=2)
    proposed_rank = models.PositiveSmallIntegerField(_("proposed tier rank"), null=True, blank=True)
    proposed_tier = models.CharField(_("proposed tier"), max_length=40, blank=True)
    previous_rank = models.PositiveSmallIntegerField(_("tier rank before"), null=True, blank=True)
    previous_tier = models.CharField(_("tier before"), max_length=40, blank=True)
    movement = models.CharField(_("movement"), max_length=8, choices=Movement.choices)
    details = models.JSONField(_("details"), default=dict)

    class Meta:
        verbose_name = _("selection result")
        verbose_name_plural = _("selection results")
        ordering = ("run", "proposed_rank", "-total", "account")
        # Few indexes on purpose: a run writes 100,000s of rows at once. The run's pages read
        # by tier and score; an account's tab reads through the uniqueness (account first).
        indexes = [
            models.Index(fields=["run", "proposed_rank", "-total"], name="selection_result_tier"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "run"], name="selection_result_once"),
            models.CheckConstraint(
                condition=Q(total__gte=0, total__lte=MAX_POINTS), name="selection_result_on_scale"
            ),
            models.CheckConstraint(
                condition=Q(knockout="passed")
                | Q(knockout="unknown")
                | Q(proposed_rank__isnull=True),
                name="selection_result_knockout_excludes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run} · {self.account}"


class TierOverride(models.Model):
    """Leadership's decision to give an account another tier than the run proposed."""

    result = models.OneToOneField(
        SelectionResult, verbose_name=_("result"), on_delete=models.CASCADE, related_name="override"
    )
    rank = models.PositiveSmallIntegerField(_("tier rank"), null=True, blank=True)
    tier = models.CharField(_("tier"), max_length=40, blank=True)
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("decided at"), auto_now=True)
    # Grows with every saved change, so a second reviewer cannot overwrite the first unseen.
    version = models.PositiveIntegerField(_("version"), default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier override")
        verbose_name_plural = _("tier overrides")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="selection_override_has_reason"),
            models.CheckConstraint(
                condition=Q(rank__isnull=True, tier="") | Q(rank__isnull=False) & ~Q(tier=""),
                name="selection_override_tier_and_rank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.result}: {self.tier or '—'}"


class TierChange(models.Model):
    """An account's tier history: one row per tier an approval changed, with the why."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    run = models.ForeignKey(
        SelectionRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="tier_changes"
    )
    from_tier = models.CharField(_("from"), max_length=40, blank=True)
    from_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    to_tier = models.CharField(_("to"), max_length=40, blank=True)
    to_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=2)
    reason = models.TextField(_("override reason"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ("account", "-changed_at", "-pk")
        indexes = [
            models.Index(fields=["account", "-changed_at"], name="selection_tier_change_account")
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "account"], name="selection_tier_change_once"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_tier or '—'} → {self.to_tier or '—'}"


class PortfolioSettings(models.Model):
    """The weights of our position with an account in the portfolio matrix (one row)."""

    coverage_weight = models.PositiveSmallIntegerField(
        _("weight of buying-center coverage"), default=50, validators=[MaxValueValidator(100)]
    )
    share_of_wallet_weight = models.PositiveSmallIntegerField(
        _("weight of share of wallet"), default=50, validators=[MaxValueValidator(100)]
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("portfolio settings")
        verbose_name_plural = _("portfolio settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage_weight__gt=0) | Q(share_of_wallet_weight__gt=0),
                name="selection_portfolio_some_weight",
            ),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class Quadrant(models.TextChoices):
    """The development strategy the portfolio suggests, after attractiveness and position."""

    INVEST = "invest", _("Invest and grow")
    SELECTIVE = "selective", _("Selective: build the position")
    MAINTAIN = "maintain", _("Maintain / manage for profit")
    REDUCE = "reduce", _("Reduce / serve efficiently")
