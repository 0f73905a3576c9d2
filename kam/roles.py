"""The roles of the KAM programme, held as Django groups (created by a data migration)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A role a user holds; the value is the name of the Django group that carries it."""

    KEY_ACCOUNT_MANAGER = "Key Account Manager", _("Key account manager")
    SALES_LEADERSHIP = "Sales Leadership", _("Sales leadership")
    FINANCE = "Finance", _("Finance")
    ADMINISTRATOR = "Administrator", _("Administrator")
    VIEWER = "Viewer", _("Viewer")
