"""Forms of the payments pages: a step on an escalation, an invoice, and the escalation policy.

They shape input only; whether a step is allowed is the workflow table's to say
(:mod:`payments.workflow`), and the services raise what it refuses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.forms import BaseFormSet, formset_factory
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from payments import workflow
from payments.models import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    EscalationAction,
    EscalationPolicy,
    Invoice,
    Party,
    Resolution,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
DAYS_ATTRS = {"class": "form-control"}

# Per step a person takes: the button's text and what the step does, as the form explains it.
STEP_TEXTS: dict[str, tuple[Promise, Promise]] = {
    EscalationAction.STATEMENT: (
        _("Give your statement"),
        _("What the customer says and what you agreed with them. Finance is told."),
    ),
    EscalationAction.RESOLVE: (
        _("Resolve the case"),
        _(
            "The invoice is clarified: paid, promised to be paid by a date, dispute settled, "
            "payment plan or credit note. A promise to pay that passes its date reopens the case."
        ),
    ),
    EscalationAction.PROPOSE_STOP: (
        _("Propose a delivery stop"),
        _("The key account manager is told and asked for a statement before anyone decides."),
    ),
    EscalationAction.DECIDE_STOP: (
        _("Decide the delivery stop"),
        _("Finance decides; for the top tier sales leadership decides as well."),
    ),
    EscalationAction.REJECT_STOP: (
        _("Reject the delivery stop"),
        _("No delivery stop: the case goes back to clarification."),
    ),
    EscalationAction.LIFT_STOP: (
        _("Lift the delivery stop"),
        _("Deliveries resume and the case is closed."),
    ),
    EscalationAction.INFORM: (
        _("Inform the key account manager"),
        _("The key account manager is notified with the deadline of the tier's policy."),
    ),
    EscalationAction.COMMENT: (
        _("Add a comment"),
        _("A note on the timeline; the state does not change."),
    ),
}

# Steps whose button warns: they stop, or propose to stop, the customer's deliveries.
GRAVE_STEPS = frozenset({EscalationAction.PROPOSE_STOP, EscalationAction.DECIDE_STOP})

# The workflow's refusal codes that belong to one field of the form; others show above it.
FIELD_OF_CODE = {
    "comment": "comment",
    "resolution": "resolution",
    "resolution_party": "resolution",
    "promised_date": "promised_date",
}


class EscalationStepForm(forms.Form):
    """One step on an escalation by one party; prefixed with the step so that the page can
    hold one form per step. Only the resolve step asks for a resolution and promised date."""

    comment = forms.CharField(
        label=_("Comment"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded on the timeline with your name."),
    )
    resolution = forms.ChoiceField(label=_("Resolution"))
    promised_date = forms.DateField(
        label=_("Promised payment date"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Only for a promise to pay: the date the customer promised."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, action: str, party: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", action)
        super().__init__(*args, **kwargs)
        self.action, self.party = action, party
        self.fields["comment"].required = workflow.RULES[action].comment_required
        if action == EscalationAction.RESOLVE:
            allowed = workflow.RESOLUTIONS_BY_PARTY.get(party, frozenset())
            self.fields["resolution"].choices = [
                ("", "---------"),
                *((value, label) for value, label in Resolution.choices if value in allowed),
            ]
        else:
            del self.fields["resolution"]
            del self.fields["promised_date"]

    @property
    def label(self) -> Promise:
        return STEP_TEXTS[self.action][0]

    @property
    def explanation(self) -> Promise:
        return STEP_TEXTS[self.action][1]

    @property
    def party_label(self) -> str:
        return Party(self.party).label

    @property
    def grave(self) -> bool:
        return self.action in GRAVE_STEPS

    def add_step_error(self, error: ValidationError) -> None:
        """Show the workflow's or the service's refusal on the field it concerns."""
        name = FIELD_OF_CODE.get(error.code or "")
        self.add_error(name if name in self.fields else None, error)


class InvoiceForm(forms.Form):
    """An invoice as finance enters it. The account is named by its ERP customer number (a
    text field: a list of 100,000 accounts would not load)."""

    account = forms.CharField(
        label=_("Account (ERP customer number)"),
        max_length=32,
        help_text=_("The customer number of the account in the ERP."),
    )
    number = forms.CharField(label=_("Invoice number"), max_length=40)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        min_value=Decimal("0.01"),
        localize=True,
        widget=AMOUNT_INPUT,
    )
    currency = forms.CharField(
        label=_("Currency"),
        initial="EUR",
        min_length=3,
        max_length=3,
        validators=[
            RegexValidator(r"^[A-Za-z]{3}$", _("Three letters, as in EUR or CHF."), code="currency")
        ],
        widget=forms.TextInput(attrs={"size": 3, "autocapitalize": "characters"}),
    )
    issue_date = forms.DateField(label=_("Issue date"), widget=DATE_INPUT)
    due_date = forms.DateField(label=_("Due date"), widget=DATE_INPUT)
    amount_paid = forms.DecimalField(
        label=_("Amount paid"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        min_value=Decimal("0"),
        required=False,
        localize=True,
        widget=AMOUNT_INPUT,
        help_text=_("A fully paid invoice closes its escalation."),
    )
    paid_date = forms.DateField(label=_("Paid on"), required=False, widget=DATE_INPUT)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A change carries the version it started from; a new invoice has none.
        self.fields["version"].required = editing

    @classmethod
    def initial_of(cls, invoice: Invoice) -> dict[str, Any]:
        return {
            "account": invoice.account.erp_number,
            "number": invoice.number,
            "amount": invoice.amount,
            "currency": invoice.currency,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "amount_paid": invoice.amount_paid,
            "paid_date": invoice.paid_date,
            "version": invoice.version,
        }

    def clean_account(self) -> Account:
        number = self.cleaned_data["account"].strip()
        account = Account.objects.filter(erp_number__iexact=number).first()
        if account is None:
            raise forms.ValidationError(
                _("No account has the ERP customer number %(number)s."),
                code="unknown_account",
                params={"number": number},
            )
        return account

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_amount_paid(self) -> Decimal:
        return self.cleaned_data["amount_paid"] or Decimal("0")

    def values(self) -> dict[str, Any]:
        """The invoice's fields for :func:`payments.services.invoice_save`, without version."""
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


class PolicyForm(forms.Form):
    """The escalation terms of one tier rank (a row of the policy page)."""

    tier_rank = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    covered = forms.BooleanField(
        label=EscalationPolicy._meta.get_field("covered").verbose_name,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    grace_days = forms.IntegerField(
        label=EscalationPolicy._meta.get_field("grace_days").verbose_name,
        min_value=0,
        max_value=90,
        widget=forms.NumberInput(attrs={"min": 0, "max": 90, **DAYS_ATTRS}),
    )
    clarification_days = forms.IntegerField(
        label=EscalationPolicy._meta.get_field("clarification_days").verbose_name,
        min_value=1,
        max_value=60,
        widget=forms.NumberInput(attrs={"min": 1, "max": 60, **DAYS_ATTRS}),
    )

    # The terms the user started from (see ``started``), so that only rows the user changed
    # are written, and a row someone else changed meanwhile is a conflict, not overwritten.
    was = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20)

    @staticmethod
    def started(covered: bool, grace_days: int, clarification_days: int) -> str:
        """Terms as the hidden ``was`` field carries them: "1 14 10"."""
        return f"{int(covered)} {grace_days} {clarification_days}"

    def clean_was(self) -> tuple[bool, int, int] | None:
        value = self.cleaned_data["was"].strip()
        if not value:
            return None
        try:
            covered, grace_days, clarification_days = (int(part) for part in value.split())
        except ValueError:
            raise forms.ValidationError(
                _("The form was changed outside the app; open it again."), code="invalid"
            ) from None
        return bool(covered), grace_days, clarification_days

    def terms(self) -> tuple[bool, int, int]:
        data = self.cleaned_data
        return data["covered"], data["grace_days"], data["clarification_days"]

    def values(self) -> dict[str, Any]:
        """The row for :func:`payments.services.policies_save`, without ``was``."""
        return {name: value for name, value in self.cleaned_data.items() if name != "was"}

    def changed_by_user(self) -> bool:
        """Whether the user changed the row: against the terms they started from, or, posted
        without them (not from this page), against the terms stored now."""
        was = self.cleaned_data["was"]
        if was is None:
            was = tuple(
                self.initial.get(name) for name in ("covered", "grace_days", "clarification_days")
            )
        return self.terms() != was

    def full_clean(self) -> None:
        """Mark refused inputs as Bootstrap and screen readers expect: the policy table renders
        its controls bare, without crispy's field template."""
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"


class BasePolicyFormSet(BaseFormSet):
    conflict_changes: list = []

    def refuse(self, message: str, changes: list) -> None:
        """Show that nothing was saved because someone else changed ``changes`` meanwhile."""
        self.non_form_errors().append(message)
        self.conflict_changes = changes


PolicyFormSet = formset_factory(PolicyForm, formset=BasePolicyFormSet, extra=0)
