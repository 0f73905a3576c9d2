"""Writes of the accounts app. Every write checks its business rules in one transaction.

Edits of accounts and contacts carry the ``version`` the user started from; a stale version
raises :class:`EditConflict` instead of silently overwriting someone else's change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from accounts.models import (
    Account,
    AccountTeamMember,
    Contact,
    ContactRole,
    Relationship,
    TeamRole,
)
from accounts.selectors import relationships_seen
from kam.concurrency import EditConflict, lock_at, save_counted
from kam.models import User

__all__ = ["EditConflict"]  # raised by the versioned writes below; views catch it from here


def _refuse_cycle(
    *, own_pk: int | None, node: models.Model | None, up: str, field: str, message: str, code: str
) -> None:
    """Walk ``node`` upwards along ``up``; raise when the walk comes back to ``own_pk``."""
    seen = {own_pk} if own_pk else set()
    while node is not None:
        if node.pk in seen:
            raise ValidationError({field: ValidationError(message, code=code)})
        seen.add(node.pk)
        node = getattr(node, up)


def _check_parent(account: Account, parent: Account | None) -> None:
    _refuse_cycle(
        own_pk=account.pk,
        node=parent,
        up="parent",
        field="parent",
        message=_("This would make the account a member of its own group."),
        code="parent_cycle",
    )


def account_update(*, account: Account, version: int, values: dict[str, Any]) -> Account:
    """Change an account's profile or potential texts. Raises EditConflict or ValidationError."""
    with transaction.atomic():
        current = lock_at(Account, account.pk, version)
        if "parent" in values:
            _check_parent(current, values["parent"])
        return save_counted(current, values)


def account_potential_update(
    *, account: Account, version: int, values: dict[str, Any], year_formset, competitor_formset
) -> Account:
    """Save the potential analysis: the account's figures and texts, years and competitors."""
    with transaction.atomic():
        current = lock_at(Account, account.pk, version)
        year_formset.instance = current
        competitor_formset.instance = current
        year_formset.save()
        competitor_formset.save()
        return save_counted(current, values)


def _check_reports_to(contact: Contact | None, account: Account, manager: Contact | None) -> None:
    if manager is None:
        return
    if manager.account_id != account.pk:
        raise ValidationError(
            {
                "reports_to": ValidationError(
                    _("The manager must be a contact of the same account."), code="other_account"
                )
            }
        )
    _refuse_cycle(
        own_pk=contact.pk if contact else None,
        node=manager,
        up="reports_to",
        field="reports_to",
        message=_("This would make the contact report to themselves."),
        code="reports_to_cycle",
    )


def _sync_roles(contact: Contact, roles: list[str]) -> None:
    wanted = set(roles)
    existing = {role.role: role for role in contact.roles.all()}
    for name, role in existing.items():
        if name not in wanted:
            role.delete()
    for name in wanted - existing.keys():
        ContactRole.objects.create(contact=contact, role=name)


def contact_create(
    *, account: Account, values: dict[str, Any], roles: list[str], factor_formset=None
) -> Contact:
    """Add a person to the account's buying center. Raises ValidationError."""
    with transaction.atomic():
        _check_reports_to(None, account, values.get("reports_to"))
        contact = Contact(account=account, **values)
        contact.full_clean()
        contact.save()
        _sync_roles(contact, roles)
        if factor_formset is not None:
            factor_formset.instance = contact
            factor_formset.save()
    return contact


def contact_update(
    *,
    contact: Contact,
    version: int,
    values: dict[str, Any],
    roles: list[str],
    factor_formset=None,
) -> Contact:
    """Change a contact, its roles and decision factors. Raises EditConflict or ValidationError."""
    with transaction.atomic():
        current = lock_at(Contact, contact.pk, version)
        _check_reports_to(current, current.account, values.get("reports_to"))
        current = save_counted(current, values)
        _sync_roles(current, roles)
        if factor_formset is not None:
            factor_formset.instance = current
            factor_formset.save()
    return current


def contact_delete(*, contact: Contact) -> None:
    """Remove a contact entered by mistake; their reports move up to the contact's manager."""
    with transaction.atomic():
        Contact.objects.filter(reports_to=contact).update(reports_to=contact.reports_to)
        contact.delete()


def relationship_save(
    *,
    contact: Contact,
    user: User,
    strength: int,
    last_touched: date | None,
    notes: str = "",
    seen: str | None = None,
) -> Relationship:
    """Record (or update) the relationship one team member holds with a contact.

    ``seen`` is :func:`accounts.selectors.relationships_seen` as the user opened the form (None:
    not checked). When the save would replace a stored relationship and any of the contact's
    relationships changed since ``seen`` (the form picks the person only on saving, so the
    digest covers them all), raises ValidationError, code ``edit_conflict``, and writes nothing.
    A new relationship replaces nothing and is saved.
    """
    if not AccountTeamMember.objects.filter(account_id=contact.account_id, user=user).exists():
        raise ValidationError(
            {
                "user": ValidationError(
                    _("Only members of the account team can hold a relationship."),
                    code="not_on_team",
                )
            }
        )
    with transaction.atomic():
        # Saves of the same contact's relationships take turns, so the check below holds.
        Contact.objects.select_for_update().filter(pk=contact.pk).exists()
        stored = Relationship.objects.filter(contact=contact, user=user).exists()
        if seen is not None and stored and seen != relationships_seen(contact=contact):
            raise ValidationError(
                _(
                    "Someone else saved a relationship with this contact after you opened this "
                    "form. Nothing was saved; your entries are kept below. Save again to "
                    "replace theirs with yours."
                ),
                code="edit_conflict",
            )
        relationship, _created = Relationship.objects.update_or_create(
            contact=contact,
            user=user,
            defaults={"strength": strength, "last_touched": last_touched, "notes": notes},
        )
    return relationship


def relationship_delete(*, relationship: Relationship) -> None:
    relationship.delete()


def team_member_add(*, account: Account, user: User, role: str) -> AccountTeamMember:
    """Put a user on the account team. At most one key account manager; a user only once."""
    try:
        with transaction.atomic():
            return AccountTeamMember.objects.create(account=account, user=user, role=role)
    except IntegrityError as exc:
        if (
            role == TeamRole.KEY_ACCOUNT_MANAGER
            and AccountTeamMember.objects.filter(
                account=account, role=TeamRole.KEY_ACCOUNT_MANAGER
            ).exists()
        ):
            raise ValidationError(
                {
                    "role": ValidationError(
                        _("The account already has a key account manager."), code="second_kam"
                    )
                }
            ) from exc
        raise ValidationError(
            {
                "user": ValidationError(
                    _("This person is already on the account team."), code="duplicate_member"
                )
            }
        ) from exc


def team_member_remove(*, member: AccountTeamMember) -> None:
    """Take a user off the team; their relationships with the account's contacts end too."""
    with transaction.atomic():
        Relationship.objects.filter(
            user_id=member.user_id, contact__account_id=member.account_id
        ).delete()
        member.delete()
