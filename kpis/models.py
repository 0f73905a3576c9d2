"""Annual figures (actual and target per account, year and breakdown), their imports, the
closed years, the annual refresh, and the KPI rows the dashboards read.

Targets of the plan measures at account level live in the key account plan only (see
``catalogue.PLAN_MEASURES``); :class:`AccountKpi` joins both and is derived, never edited.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from kpis.catalogue import PLAN_MEASURES, Measure

YEAR_VALIDATORS = [MinValueValidator(2000), MaxValueValidator(2100)]
AMOUNT = {"max_digits": 16, "decimal_places": 2, "null": True, "blank": True}


class AnnualFigure(models.Model):
    """One measure of one account in one year, for the whole account or one breakdown.

    An empty ``product_group`` and ``region`` is the account total.
    """

    # The unique constraint's index (account first) serves lookups by account; a second index
    # would only slow the imports' bulk upserts.
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="figures",
        db_index=False,
    )
    year = models.PositiveSmallIntegerField(_("year"), validators=YEAR_VALIDATORS)
    measure = models.CharField(_("measure"), max_length=32, choices=Measure.choices)
    product_group = models.CharField(_("product group"), max_length=60, blank=True, default="")
    region = models.CharField(_("region"), max_length=60, blank=True, default="")
    actual = models.DecimalField(_("actual"), **AMOUNT)
    target = models.DecimalField(_("target"), **AMOUNT)
    # Informational links, never searched by: without an index or a database constraint, an
    # import of 500,000 figures is spared as many foreign-key checks at its commit (PostgreSQL
    # defers them). Django still nulls them when a batch or user is deleted (SET_NULL).
    import_batch = models.ForeignKey(
        "kpis.ImportBatch",
        verbose_name=_("last import"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("annual figure")
        verbose_name_plural = _("annual figures")
        ordering = ("account", "year", "measure", "product_group", "region")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "year", "measure", "product_group", "region"],
                name="kpis_figure_once",
            ),
            models.CheckConstraint(
                condition=Q(actual__isnull=False) | Q(target__isnull=False),
                name="kpis_figure_has_value",
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=True)
                | ~Q(measure__in=list(PLAN_MEASURES))
                | ~Q(product_group="")
                | ~Q(region=""),
                name="kpis_figure_plan_target_in_plan",
            ),
        ]
        indexes = [
            models.Index(fields=["year", "measure"], name="kpis_figure_year_measure"),
            # The dashboards' product-group choices and sums read only the group rows.
            models.Index(
                fields=["product_group", "year", "measure"],
                condition=~Q(product_group="") & Q(region=""),
                name="kpis_figure_group_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.year} {self.measure}"

    @property
    def is_total(self) -> bool:
        return not self.product_group and not self.region


class ClosedYear(models.Model):
    """A year the annual refresh froze: its figures change only by an administrator's correction."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True, validators=YEAR_VALIDATORS)
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("closed year")
        verbose_name_plural = _("closed years")
        ordering = ("-year",)

    def __str__(self) -> str:
        return str(self.year)


class FigureCorrection(models.Model):
    """An administrator's change to the figures of a closed year, with the reason given."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    changes = models.JSONField(_("changes"), default=list)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("correction of a closed year")
        verbose_name_plural = _("corrections of closed years")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.account_id} {self.year}"


class ImportKind(models.TextChoices):
    FIGURES = "figures", _("Annual figures")
    INVOICES = "invoices", _("Open items (invoices)")


class ImportSource(models.Model):
    """Where files come from (e.g. "SAP annual extract"), with its saved column mapping.

    ``mapping`` maps a field key of the import kind to the file's column header, so next
    year's file of the same source imports without mapping again.
    """

    kind = models.CharField(
        _("kind"), max_length=16, choices=ImportKind.choices, default=ImportKind.FIGURES
    )
    name = models.CharField(_("source"), max_length=100)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("import source")
        verbose_name_plural = _("import sources")
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="kpis_source_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class ImportState(models.TextChoices):
    PREVIEWED = "previewed", _("Preview")
    IMPORTING = "importing", _("Importing")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Failed")
    DISCARDED = "discarded", _("Discarded")


class ImportBatch(models.Model):
    """One uploaded file: its preview, and once confirmed, what the import wrote."""

    source = models.ForeignKey(
        ImportSource, verbose_name=_("source"), on_delete=models.PROTECT, related_name="batches"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    year = models.PositiveSmallIntegerField(
        _("year"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    file_size = models.PositiveBigIntegerField(_("size (bytes)"))
    state = models.CharField(
        _("state"), max_length=16, choices=ImportState.choices, default=ImportState.PREVIEWED
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    job = models.OneToOneField(
        "kam.Job",
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_batch",
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    # The preview: the column mapping used, the first changes and the row errors (capped).
    report = models.JSONField(_("report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ("-uploaded_at", "-pk")

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("kpis:import-detail", args=[self.pk])


class AnnualRefresh(models.Model):
    """The yearly refresh for ``year`` (the year being closed), step by step (the ERP extract
    is imported before the year is closed; see ``kpis.services.refresh``).

    Each step records when it finished, so a refresh interrupted half-way and started again
    skips what is done and never does anything twice.
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True, validators=YEAR_VALIDATORS)
    job = models.ForeignKey(
        "kam.Job",
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("year closed at"), null=True, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("import from the drop folder"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("drop folder read at"), null=True, blank=True)
    recomputed_at = models.DateTimeField(_("KPIs recomputed at"), null=True, blank=True)
    selection_run = models.ForeignKey(
        "selection.SelectionRun",
        verbose_name=_("draft selection run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    selection_started_at = models.DateTimeField(_("selection started at"), null=True, blank=True)
    rolled_forward_at = models.DateTimeField(_("plans rolled forward at"), null=True, blank=True)
    notified_at = models.DateTimeField(_("KAMs notified at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("annual refresh")
        verbose_name_plural = _("annual refreshes")
        ordering = ("-year",)

    def __str__(self) -> str:
        return str(self.year)

    def get_absolute_url(self) -> str:
        return reverse("kpis:refresh-detail", args=[self.year])


class AccountKpi(models.Model):
    """The KPI inputs of one account in one year, derived from its figures, plan and potential.

    Recomputed by ``kpis.services.kpis_recompute`` (after figures or plan targets change, and by
    the annual refresh); the dashboards aggregate these rows in the database.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="kpis"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    revenue = models.DecimalField(_("revenue"), **AMOUNT)
    revenue_target = models.DecimalField(_("revenue target"), **AMOUNT)
    revenue_prior = models.DecimalField(_("revenue of the year before"), **AMOUNT)
    contribution_margin = models.DecimalField(_("contribution margin"), **AMOUNT)
    margin_target = models.DecimalField(_("contribution margin target"), **AMOUNT)
    volume = models.DecimalField(_("volume"), **AMOUNT)
    volume_target = models.DecimalField(_("volume target"), **AMOUNT)
    potential_revenue = models.DecimalField(_("revenue potential"), **AMOUNT)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("account KPIs")
        verbose_name_plural = _("account KPIs")
        constraints = [
            models.UniqueConstraint(fields=["account", "year"], name="kpis_account_kpi_once")
        ]
        indexes = [models.Index(fields=["year", "account"], name="kpis_accountkpi_year")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.year}"
