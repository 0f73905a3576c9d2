from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


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


class Account(models.Model):
    """A customer company (or group member) that the programme may manage as a key account."""

    name = models.CharField(_("name"), max_length=200)
    erp_number = models.CharField(_("ERP customer number"), max_length=32, unique=True)
    industry = models.CharField(_("industry"), max_length=32, choices=Industry.choices)
    region = models.CharField(_("region"), max_length=16, choices=Region.choices)
    country = CountryField(_("country"), default="DE")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ("name", "pk")
        indexes = [models.Index(fields=["name"])]

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

    class Meta:
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
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
