"""Writes of invoices entered by finance and of the escalation policy."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from kam import access
from kam.concurrency import EditConflict, FieldChange, run_alone
from kam.models import User
from payments.models import EscalationPolicy, Invoice
from payments.services.daily import escalations_close_paid
from payments.services.escalations import policies_by_rank, policy_terms, today

INVOICE_FIELDS = (
    "account",
    "number",
    "amount",
    "currency",
    "issue_date",
    "due_date",
    "amount_paid",
    "paid_date",
)


def _check(values: dict) -> None:
    errors = {}
    amount, paid = values["amount"], values.get("amount_paid") or Decimal("0")
    if values["due_date"] < values["issue_date"]:
        errors["due_date"] = _("The due date cannot be before the issue date.")
    if paid > amount:
        errors["amount_paid"] = _("More cannot be paid than the invoice's amount.")
    if values.get("paid_date") and not paid:
        errors["paid_date"] = _("A paid date needs an amount paid.")
    if errors:
        raise ValidationError(errors, code="invalid")


def invoice_save(
    *,
    user: User,
    invoice: Invoice | None = None,
    version: int | None = None,
    account: Account,
    number: str,
    amount: Decimal,
    currency: str,
    issue_date: datetime.date,
    due_date: datetime.date,
    amount_paid: Decimal = Decimal("0"),
    paid_date: datetime.date | None = None,
) -> Invoice:
    """Create an invoice (``invoice`` None) or change it; a fully paid invoice closes its case.

    Raises PermissionDenied unless the user is finance, ValidationError for a number the
    account has already, inconsistent amounts or dates, or a stale ``version``.
    """
    if not access.may_manage_invoices(user):
        raise PermissionDenied
    values = {
        "account": account,
        "number": number.strip(),
        "amount": amount,
        "currency": currency.upper(),
        "issue_date": issue_date,
        "due_date": due_date,
        "amount_paid": amount_paid or Decimal("0"),
        "paid_date": paid_date,
    }
    _check(values)
    try:
        with transaction.atomic():
            if invoice is None:
                invoice = Invoice.objects.create(**values)
            else:
                locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
                if version is not None and locked.version != version:
                    raise ValidationError(
                        _(
                            "Someone else changed this invoice since you opened it. Nothing "
                            "was saved: check the values now stored and enter yours again."
                        ),
                        code="stale",
                    )
                for name, value in values.items():
                    setattr(locked, name, value)
                locked.version += 1
                locked.save()
                invoice = locked
            if invoice.is_paid:
                escalations_close_paid(invoice_ids=[invoice.pk], on=today())
    except IntegrityError as error:
        raise ValidationError(
            {"number": _("This account has an invoice with this number already.")},
            code="duplicate",
        ) from error
    return invoice


def policy_save(
    *, user: User, tier_rank: int, covered: bool, grace_days: int, clarification_days: int
) -> EscalationPolicy:
    """Set the escalation policy of a tier (by rank). Raises PermissionDenied unless the user is
    finance or sales leadership; ValidationError for days out of range."""
    if not access.may_edit_escalation_policy(user):
        raise PermissionDenied
    policy = EscalationPolicy(
        tier_rank=tier_rank,
        covered=covered,
        grace_days=grace_days,
        clarification_days=clarification_days,
        updated_by=user,
    )
    policy.full_clean(validate_unique=False)
    policy, _created = EscalationPolicy.objects.update_or_create(
        tier_rank=tier_rank,
        defaults={
            "covered": covered,
            "grace_days": grace_days,
            "clarification_days": clarification_days,
            "updated_by": user,
        },
    )
    return policy


Terms = tuple[bool, int, int]  # covered, grace days, days to clarify


def _terms_changes(rank: int, seen: Terms, now: Terms) -> list[FieldChange]:
    """The terms of tier ``rank`` someone else changed, labelled as the policy page labels them."""

    def covered(value: bool) -> str:
        return _("yes") if value else _("no: normal dunning")

    fields = (
        ("covered", _("Escalate tier rank %(rank)s"), covered),
        ("grace_days", _("Grace days of tier rank %(rank)s"), str),
        ("clarification_days", _("Days to clarify of tier rank %(rank)s"), str),
    )
    return [
        FieldChange(
            name=f"{rank}-{name}",
            label=label % {"rank": rank},
            theirs=show(before),
            current=show(after),
        )
        for (name, label, show), before, after in zip(fields, seen, now, strict=True)
        if before != after
    ]


def policies_save(
    *, user: User, terms: list[dict], started_from: dict[int, Terms] | None = None
) -> list[EscalationPolicy]:
    """Save the terms of several tiers (each a dict of :func:`policy_save`'s keywords) all or
    none: a refused row raises its ValidationError and leaves every tier as it was.

    ``started_from`` maps a tier rank to the terms the user saw (a rank without: not checked).
    A tier someone else changed since is an EditConflict and nothing is written, unless it
    already holds the terms the user wants.
    """
    started_from = started_from or {}
    with transaction.atomic():
        # A tier's first save creates its row: there is nothing to lock before it exists.
        run_alone("payments:escalation-policy")
        policies = policies_by_rank()
        conflicts: dict[int, list[FieldChange]] = {}
        for row in terms:
            rank = row["tier_rank"]
            now = policy_terms(rank, policies)
            wanted = (row["covered"], row["grace_days"], row["clarification_days"])
            if rank in started_from and now not in (started_from[rank], wanted):
                conflicts[rank] = _terms_changes(rank, started_from[rank], now)
        if conflicts:
            rank = next(iter(conflicts))
            raise EditConflict(
                current=policies.get(rank) or EscalationPolicy(tier_rank=rank),
                changes=[change for changes in conflicts.values() for change in changes],
            )
        return [policy_save(user=user, **row) for row in terms]
