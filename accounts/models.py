from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords


class Industry(models.TextChoices):
    AUTOMOTIVE = "automotive", _("Automotive")
    MECHANICAL_ENGINEERING = "mechanical_engineering", _("Mechanical engineering")
    CHEMICALS = "chemicals", _("Chemicals and pharmaceuticals")
    ELECTRONICS = "electronics", _("Electrical and electronics")
    RETAIL = "retail", _("Retail and wholesale")
    LOGISTICS = "logistics", _("Logistics")
    FOOD = "food", _("Food and beverages")
    ENERGY = "energy", _("Energy and utilities")
    HEALTHCARE = "healthcare", _("Healthcare")
    PUBLIC_SECTOR = "public_sector", _("Public sector and associations")


class Region(models.TextChoices):
    NORTH = "north", _("North")
    EAST = "east", _("East")
    SOUTH = "south", _("South")
    WEST = "west", _("West")
    INTERNATIONAL = "international", _("International")


class AccountType(models.TextChoices):
    DIRECT = "direct", _("Direct customer")
    CUSTOMERS_CUSTOMER = "customers_customer", _("Customer's customer")
    ASSOCIATION = "association", _("Multiplier: association")
    LIGHTHOUSE = "lighthouse", _("Multiplier: lighthouse customer")
    INFLUENCER = "influencer", _("Multiplier: influencer")


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class PartnershipStrategy(models.TextChoices):
    LEAN = "lean", _("Lean partnership")
    OPERATIONAL = "operational", _("Operational partnership")
    STRATEGIC = "strategic", _("Strategic partnership")


def _percent(name: str) -> models.DecimalField:
    return models.DecimalField(
        name,
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )


class Account(models.Model):
    """A customer company (or group member) that the programme may manage as a key account.

    ``version`` grows with every saved change; writers compare it to refuse lost updates.
    """

    name = models.CharField(_("name"), max_length=200)
    erp_number = models.CharField(_("ERP customer number"), max_length=32, unique=True)
    legal_form = models.CharField(_("legal form"), max_length=40, blank=True)
    industry = models.CharField(_("industry"), max_length=32, choices=Industry.choices)
    region = models.CharField(_("region"), max_length=16, choices=Region.choices)
    country = CountryField(_("country"), default="DE")
    countries_of_operation = CountryField(_("countries of operation"), multiple=True, blank=True)
    website = models.URLField(_("website"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent group"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    account_type = models.CharField(
        _("account type"), max_length=24, choices=AccountType.choices, default=AccountType.DIRECT
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    strategy = models.CharField(
        _("partnership strategy"), max_length=16, choices=PartnershipStrategy.choices, blank=True
    )
    # Written only by the selection app's approval; everything else reads it.
    tier = models.CharField(_("tier"), max_length=40, blank=True, db_index=True)
    tier_rank = models.PositiveSmallIntegerField(_("tier rank"), null=True, blank=True)

    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    share_of_wallet = _percent(_("share of wallet today (%)"))
    share_of_wallet_target = _percent(_("targeted share of wallet (%)"))
    requirements = models.TextField(_("the customer's requirements"), blank=True)
    key_processes = models.TextField(_("key processes"), blank=True)
    partnership_starting_points = models.TextField(_("starting points for partnership"), blank=True)
    cooperation_history = models.TextField(_("history of the cooperation"), blank=True)
    customer_goals = models.TextField(_("the customer's own goals"), blank=True)

    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ("name", "pk")
        indexes = [
            models.Index(fields=["name", "id"]),
            models.Index(fields=["region", "tier_rank"]),
            # The group filter's choices: only the few accounts that belong to a group.
            models.Index(
                fields=["parent"],
                condition=Q(parent__isnull=False),
                name="accounts_account_grouped",
            ),
            # The tier filter's choices: an index-only scan over the key accounts alone.
            models.Index(
                fields=["tier", "tier_rank"],
                condition=~Q(tier=""),
                name="accounts_account_tiers",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("pk")), name="accounts_account_not_own_parent"
            ),
            models.CheckConstraint(
                condition=Q(share_of_wallet__gte=0, share_of_wallet__lte=100)
                | Q(share_of_wallet__isnull=True),
                name="accounts_account_share_of_wallet_percent",
            ),
            models.CheckConstraint(
                condition=Q(share_of_wallet_target__gte=0, share_of_wallet_target__lte=100)
                | Q(share_of_wallet_target__isnull=True),
                name="accounts_account_share_of_wallet_target_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:account-detail", args=[self.pk])

    @property
    def is_key_account(self) -> bool:
        return bool(self.tier)


class PotentialYear(models.Model):
    """Expected revenue and contribution margin of an account in one year."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="potential_years"
    )
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    expected_revenue = models.DecimalField(
        _("expected revenue"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    expected_margin = models.DecimalField(
        _("expected contribution margin"), max_digits=14, decimal_places=2
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("potential year")
        verbose_name_plural = _("potential years")
        ordering = ("account", "year")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "year"], name="accounts_potential_year_once"
            ),
            models.CheckConstraint(
                condition=Q(expected_revenue__gte=0), name="accounts_potential_revenue_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.year}"


class Competitor(models.Model):
    """A competitor present at the account, with its estimated share of the customer's spend."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="competitors"
    )
    name = models.CharField(_("competitor"), max_length=120)
    estimated_share = _percent(_("estimated share (%)"))
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ("account", "-estimated_share", "name")
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="accounts_competitor_once"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamRole(models.TextChoices):
    KEY_ACCOUNT_MANAGER = "key_account_manager", _("Key account manager")
    DEPUTY = "deputy", _("Deputy")
    MENTOR = "mentor", _("Mentor")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Service")
    TECHNICAL = "technical", _("Technical")
    FINANCE = "finance", _("Finance")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")


class AccountTeamMember(models.Model):
    """A person on our side who works an account. The team's key account manager owns it."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="team_members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="account_memberships",
    )
    role = models.CharField(_("team role"), max_length=32, choices=TeamRole.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
        # "Which users manage an account?" (the list's KAM filter) without scanning teams.
        indexes = [models.Index(fields=["role", "user"], name="accounts_team_role_user")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "user"], name="accounts_team_member_once_per_account"
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(role="key_account_manager"),
                name="accounts_one_key_account_manager_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) @ {self.account}"


class BuyingRole(models.TextChoices):
    """Buying-center roles after Webster & Wind, with initiator and approver."""

    INITIATOR = "initiator", _("Initiator")
    USER = "user", _("User")
    INFLUENCER = "influencer", _("Influencer")
    BUYER = "buyer", _("Buyer")
    DECIDER = "decider", _("Decider")
    APPROVER = "approver", _("Approver")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")


class Influence(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class ContactMode(models.TextChoices):
    GROWTH = "growth", _("Growth")
    TROUBLE = "trouble", _("Trouble")
    EVEN_KEEL = "even_keel", _("Even keel")
    OVERCONFIDENT = "overconfident", _("Overconfident")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    VIDEO = "video", _("Video call")
    IN_PERSON = "in_person", _("In person")
    MESSENGER = "messenger", _("Messenger")


ATTITUDE_MIN, ATTITUDE_MAX = -5, 5


class Contact(models.Model):
    """A person at the customer who buys, decides or influences: one card of the buying center.

    A contact who left stays on record (``has_left``) but leaves the active map.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80)
    position = models.CharField(_("position"), max_length=120, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    location = models.CharField(_("location"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=16, choices=Channel.choices, blank=True
    )
    last_contact_date = models.DateField(_("last contact"), null=True, blank=True)
    influence = models.CharField(
        _("influence"), max_length=8, choices=Influence.choices, default=Influence.MEDIUM
    )
    attitude = models.SmallIntegerField(
        _("attitude towards us"),
        default=0,
        validators=[MinValueValidator(ATTITUDE_MIN), MaxValueValidator(ATTITUDE_MAX)],
        help_text=_("From −5 (opponent) to +5 (champion)."),
    )
    mode = models.CharField(
        _("current mode"), max_length=16, choices=ContactMode.choices, blank=True
    )
    door_openers = models.TextField(
        _("door openers"), blank=True, help_text=_("What makes them listen to us; one per line.")
    )
    notes = models.TextField(_("notes"), blank=True)
    has_left = models.BooleanField(_("has left the company"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ("account", "last_name", "first_name", "pk")
        indexes = [models.Index(fields=["account", "has_left"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(attitude__gte=ATTITUDE_MIN, attitude__lte=ATTITUDE_MAX),
                name="accounts_contact_attitude_range",
            ),
            models.CheckConstraint(
                condition=~Q(reports_to=F("pk")), name="accounts_contact_not_own_manager"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def attitude_band(self) -> str:
        """A word for the attitude, used for colours: hostile … champion."""
        if self.attitude <= -3:
            return "hostile"
        if self.attitude < 0:
            return "negative"
        if self.attitude == 0:
            return "neutral"
        if self.attitude < 4:
            return "positive"
        return "champion"

    @property
    def door_opener_list(self) -> list[str]:
        return [line.strip() for line in self.door_openers.splitlines() if line.strip()]


class ContactRole(models.Model):
    """One buying-center role a contact plays; a contact may play several."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="roles"
    )
    role = models.CharField(_("role"), max_length=16, choices=BuyingRole.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("buying-center role")
        verbose_name_plural = _("buying-center roles")
        ordering = ("contact", "role")
        constraints = [
            models.UniqueConstraint(fields=["contact", "role"], name="accounts_contact_role_once"),
        ]

    def __str__(self) -> str:
        return self.get_role_display()


class DecisionFactor(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    BRAND = "brand", _("Brand")
    TECHNOLOGY = "technology", _("Technology")
    SERVICE = "service", _("Service")
    PRICE = "price", _("Price")
    PERSONAL_RELATIONSHIP = "personal_relationship", _("Personal relationship")
    RELIABILITY = "reliability", _("Reliability and friendliness")
    CUSTOM = "custom", _("Other")


class ContactDecisionFactor(models.Model):
    """A decision factor that matters to a contact, with its importance (1–5)."""

    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="decision_factors",
    )
    factor = models.CharField(_("decision factor"), max_length=24, choices=DecisionFactor.choices)
    custom_name = models.CharField(_("own factor"), max_length=80, blank=True)
    importance = models.PositiveSmallIntegerField(
        _("importance"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("decision factor")
        verbose_name_plural = _("decision factors")
        ordering = ("contact", "-importance", "factor")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "factor", "custom_name"], name="accounts_decision_factor_once"
            ),
            models.CheckConstraint(
                condition=Q(importance__gte=1, importance__lte=5),
                name="accounts_decision_factor_importance_range",
            ),
            models.CheckConstraint(
                condition=Q(factor="custom", custom_name__gt="")
                | (~Q(factor="custom") & Q(custom_name="")),
                name="accounts_decision_factor_custom_named",
            ),
        ]

    def __str__(self) -> str:
        return self.custom_name or self.get_factor_display()


class Relationship(models.Model):
    """A relationship between one of our team members and a contact at the customer."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="relationships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team member"),
        on_delete=models.CASCADE,
        related_name="relationships",
    )
    strength = models.PositiveSmallIntegerField(
        _("strength"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (acquainted) to 5 (trusted)."),
    )
    last_touched = models.DateField(_("last touched"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("relationship")
        verbose_name_plural = _("relationships")
        ordering = ("contact", "user")
        constraints = [
            models.UniqueConstraint(fields=["contact", "user"], name="accounts_relationship_once"),
            models.CheckConstraint(
                condition=Q(strength__gte=1, strength__lte=5),
                name="accounts_relationship_strength_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.contact}"
