"""Open items of accounts and the payment escalations of key accounts' overdue invoices.

An escalation's states and who may move it are the workflow table's (:mod:`payments.workflow`);
the rows here guard what must hold whatever wrote them: one active escalation per invoice,
amounts that add up, a resolution only on a resolved case.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

AMOUNT_DIGITS, AMOUNT_PLACES = 14, 2


def _amount(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs
    )


class EscalationPolicy(models.Model):
    """How overdue invoices of the accounts of one tier (by rank; 1 is the top) are escalated.

    A tier without a row follows the defaults in settings (``PAYMENT_GRACE_DAYS``,
    ``PAYMENT_CLARIFICATION_DAYS``) and is covered.
    """

    tier_rank = models.PositiveSmallIntegerField(
        _("tier rank"), unique=True, validators=[MinValueValidator(1)]
    )
    covered = models.BooleanField(
        _("escalate with the KAM"),
        default=True,
        help_text=_("Off: overdue invoices of this tier follow normal dunning outside the app."),
    )
    grace_days = models.PositiveSmallIntegerField(
        _("grace days"),
        validators=[MaxValueValidator(90)],
        help_text=_("Days after the due date before an escalation opens."),
    )
    clarification_days = models.PositiveSmallIntegerField(
        _("days to clarify"),
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("The key account manager's deadline, in days from being informed."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")
        ordering = ("tier_rank",)
        constraints = [
            models.CheckConstraint(
                condition=Q(grace_days__lte=90), name="payments_policy_grace_days_range"
            ),
            models.CheckConstraint(
                condition=Q(clarification_days__gte=1, clarification_days__lte=60),
                name="payments_policy_clarification_days_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.tier_rank)


class Invoice(models.Model):
    """An invoice of an account as the ERP knows it (imported, or entered by finance).

    ``version`` grows with every saved change; writers compare it to refuse lost updates.
    """

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    number = models.CharField(_("invoice number"), max_length=40)
    amount = _amount(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"), db_index=True)
    amount_paid = _amount(
        _("amount paid"), default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    paid_date = models.DateField(_("paid on"), null=True, blank=True)
    # Written only by the import: which file last changed the invoice (no constraint, like the
    # figures' link, so a large import does not check it row by row at commit).
    import_batch = models.ForeignKey(
        "kpis.ImportBatch",
        verbose_name=_("import"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ("due_date", "pk")
        indexes = [
            # The daily job's candidates: the unpaid invoices, by due date.
            models.Index(
                fields=["due_date"],
                condition=Q(amount_paid__lt=F("amount")),
                name="payments_invoice_unpaid",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number"], name="payments_invoice_number_once_per_account"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_invoice_amount"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=F("amount")),
                name="payments_invoice_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")),
                name="payments_invoice_due_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("payments:invoice-update", args=[self.pk])

    @property
    def open_amount(self) -> Decimal:
        return self.amount - self.amount_paid

    @property
    def is_paid(self) -> bool:
        return self.amount_paid >= self.amount

    def days_overdue(self, today: datetime.date) -> int:
        """Days past the due date on ``today`` (0 when not yet due or paid)."""
        if self.is_paid:
            return 0
        return max(0, (today - self.due_date).days)


class EscalationState(models.TextChoices):
    OPEN = "open", _("Open")
    KAM_INFORMED = "kam_informed", _("KAM informed")
    IN_CLARIFICATION = "in_clarification", _("In clarification")
    RESOLVED = "resolved", _("Resolved")
    STOP_PROPOSED = "stop_proposed", _("Delivery stop proposed")
    STOP_DECIDED = "stop_decided", _("Delivery stop decided")
    STOP_LIFTED = "stop_lifted", _("Delivery stop lifted")


# A case in these states is finished; every other state is active (one per invoice at most).
CLOSED_STATES = (EscalationState.RESOLVED, EscalationState.STOP_LIFTED)


class Resolution(models.TextChoices):
    PAID = "paid", _("Paid")
    PROMISE_TO_PAY = "promise_to_pay", _("Promise to pay")
    DISPUTE_SETTLED = "dispute_settled", _("Dispute settled")
    PAYMENT_PLAN = "payment_plan", _("Payment plan")
    CREDIT_NOTE = "credit_note", _("Credit note")


class Escalation(models.Model):
    """The clarification of one overdue invoice of a key account with its key account manager.

    ``tier``/``tier_rank`` and ``deadline`` are fixed when the case is opened (or reopened).
    The decision fields record who decided a delivery stop; ``version`` grows with every step.
    """

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="escalations"
    )
    # The invoice's account, kept here so a user's scope and the queue's filters are one join.
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="escalations",
    )
    state = models.CharField(
        _("state"), max_length=20, choices=EscalationState.choices, default=EscalationState.OPEN
    )
    tier = models.CharField(_("tier"), max_length=40)
    tier_rank = models.PositiveSmallIntegerField(_("tier rank"))
    opened_at = models.DateTimeField(_("opened at"))
    deadline = models.DateField(_("deadline"))
    kam_informed_at = models.DateTimeField(_("KAM informed at"), null=True, blank=True)
    kam_heard_at = models.DateTimeField(_("KAM's statement at"), null=True, blank=True)
    deadline_missed_at = models.DateTimeField(
        _("escalated to sales leadership at"), null=True, blank=True
    )
    clarified_at = models.DateTimeField(_("clarified at"), null=True, blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    promised_date = models.DateField(_("promised payment date"), null=True, blank=True)
    finance_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("stop decided by (finance)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    leadership_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("stop decided by (sales leadership)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("payment escalation")
        verbose_name_plural = _("payment escalations")
        ordering = ("deadline", "pk")
        indexes = [
            models.Index(fields=["state", "deadline"]),
            models.Index(fields=["account", "-opened_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=~Q(state__in=["resolved", "stop_lifted"]),
                name="payments_one_active_escalation_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in EscalationState]),
                name="payments_escalation_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(state="resolved", resolution__in=[r.value for r in Resolution])
                | (~Q(state="resolved") & Q(resolution="")),
                name="payments_escalation_resolution_when_resolved",
            ),
            models.CheckConstraint(
                condition=Q(resolution="promise_to_pay", promised_date__isnull=False)
                | ~Q(resolution="promise_to_pay"),
                name="payments_escalation_promise_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["stop_decided", "stop_lifted"])
                | Q(finance_decided_by__isnull=False),
                name="payments_escalation_stop_decided_by_finance",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["stop_decided", "stop_lifted"])
                | Q(kam_heard_at__isnull=False)
                | Q(deadline_missed_at__isnull=False),
                name="payments_escalation_stop_after_kam",
            ),
        ]

    def __str__(self) -> str:
        return _("Escalation of invoice %(number)s") % {"number": self.invoice.number}

    def get_absolute_url(self) -> str:
        return reverse("payments:escalation-detail", args=[self.pk])

    @property
    def is_closed(self) -> bool:
        return self.state in CLOSED_STATES

    def deadline_passed(self, today: datetime.date) -> bool:
        return today > self.deadline


class Party(models.TextChoices):
    """In which capacity someone takes a step (the daily job is the system)."""

    KAM = "kam", _("Key account manager")
    FINANCE = "finance", _("Finance")
    LEADERSHIP = "leadership", _("Sales leadership")
    SYSTEM = "system", _("Daily job")


class EscalationAction(models.TextChoices):
    OPEN = "open", _("Opened")
    INFORM = "inform", _("KAM informed")
    STATEMENT = "statement", _("KAM's statement")
    COMMENT = "comment", _("Comment")
    RESOLVE = "resolve", _("Resolved")
    PROPOSE_STOP = "propose_stop", _("Delivery stop proposed")
    DECIDE_STOP = "decide_stop", _("Delivery stop decided")
    REJECT_STOP = "reject_stop", _("Delivery stop rejected")
    LIFT_STOP = "lift_stop", _("Delivery stop lifted")
    DEADLINE_MISSED = "deadline_missed", _("Deadline missed: escalated to sales leadership")
    PROMISE_BROKEN = "promise_broken", _("Promise to pay broken: reopened")
    PAID = "paid", _("Invoice paid")


class EscalationEvent(models.Model):
    """One step of an escalation's timeline: who (None: the daily job), when, what, and why.

    Written once and never changed: the audit trail.
    """

    escalation = models.ForeignKey(
        Escalation, verbose_name=_("escalation"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("step"), max_length=20, choices=EscalationAction.choices)
    from_state = models.CharField(
        _("from"), max_length=20, choices=EscalationState.choices, blank=True
    )
    to_state = models.CharField(_("to"), max_length=20, choices=EscalationState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    party = models.CharField(_("as"), max_length=20, choices=Party.choices)
    comment = models.TextField(_("comment"), blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    promised_date = models.DateField(_("promised payment date"), null=True, blank=True)
    created_at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d})"
