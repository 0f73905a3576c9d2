from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kam.roles import Role


class User(AbstractUser):
    """A person who signs in. Roles are Django groups named after :class:`kam.roles.Role`."""

    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language the app speaks to this user; empty follows the browser."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def roles(self) -> frozenset[Role]:
        """The roles this user holds, read once per instance; superusers are administrators."""
        cached = self.__dict__.get("_roles")
        if cached is None:
            names = set(self.groups.values_list("name", flat=True)) if self.pk else set()
            cached = frozenset(role for role in Role if role.value in names)
            if self.is_superuser:
                cached |= {Role.ADMINISTRATOR}
            self.__dict__["_roles"] = cached
        return cached

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class Job(models.Model):
    """A long-running piece of work done by a Celery worker, with state the UI can show."""

    class Kind(models.TextChoices):
        SYSTEM_CHECK = "system_check", _("System check")
        SELECTION_RUN = "selection_run", _("Key-account selection run")
        PLAN_PDF = "plan_pdf", _("Key account plan printout")
        PLAN_PRINTOUT = "plan_printout", _("Annual printout of key account plans")
        FIGURE_IMPORT = "figure_import", _("Import of annual figures")
        ANNUAL_REFRESH = "annual_refresh", _("Annual refresh")
        INVOICE_IMPORT = "invoice_import", _("Import of open items")
        ESCALATION_RUN = "escalation_run", _("Daily payment escalation run")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    FINISHED_STATES: ClassVar[tuple[str, ...]] = (State.SUCCEEDED, State.FAILED)

    kind = models.CharField(_("kind"), max_length=64, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    progress_message = models.CharField(_("current step"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The worker running the job writes a heartbeat; a queued or running job whose heartbeat
    # went stale lost its worker or its message, and the recovery sweep queues it again.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    # Set by the worker that claimed the run; a late duplicate delivery claims nothing and a
    # worker whose claim was taken over writes nothing.
    claim = models.CharField(_("claim"), max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    result_file = models.FileField(_("result file"), upload_to="jobs/%Y/%m/", blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["created_by", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="kam_job_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["queued", "running", "succeeded", "failed"]),
                name="kam_job_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(state__in=["succeeded", "failed"]),
                name="kam_job_finished_only_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("kam:job-detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Notification(models.Model):
    """A message to one user shown in the app (and mailed where the sender says so)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    message = models.CharField(_("message"), max_length=500)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="kam_notification_unread",
            )
        ]

    def __str__(self) -> str:
        return self.message
