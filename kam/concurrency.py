"""Optimistic locking shared by every app: a row's counter grows with each save, and a writer
that started from an older counter is refused with what the other person changed.

Models opt in with a positive integer counter field (``version`` on accounts, contacts,
custom attributes and tier overrides, ``revision`` on plans and their items) and
django-simple-history, which supplies the state the user started from. Rows without a counter
carry the values the user started from in hidden fields instead (figures, the escalation
policy, the portfolio weights, an import's mapping, attribute values, relationships).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models


@dataclass
class FieldChange:
    """One field someone else changed: its label, the value the user saw, the value now."""

    name: str
    label: str
    theirs: str
    current: str


@dataclass
class EditConflict(Exception):
    """Someone saved the object after the user opened it; nothing was written."""

    current: models.Model
    changes: list[FieldChange] = field(default_factory=list)


def display_value(instance: models.Model, model_field: models.Field) -> str:
    """The field's value as a person reads it ("–" for empty)."""
    display = getattr(instance, f"get_{model_field.name}_display", None)
    # A multiple CountryField has a display method but no flat choices to look values up in.
    if display is not None and not model_field.is_relation and model_field.flatchoices:
        return str(display()) or "–"
    value = getattr(instance, model_field.name)
    if value in (None, "", []):
        return "–"
    if isinstance(value, list):
        return ", ".join(str(getattr(item, "name", item)) for item in value)
    return str(value)


IGNORED_FIELDS = frozenset({"version", "revision", "updated_at", "id"})


def changes_since(
    current: models.Model,
    counter: int,
    *,
    counter_field: str = "version",
    fields: Iterable[str] | None = None,
) -> list[FieldChange]:
    """What changed between the row at ``counter`` and ``current`` (optionally only ``fields``)."""
    base = current.history.filter(**{counter_field: counter}).order_by("-history_date").first()
    if base is None:
        return []
    wanted = set(fields) if fields is not None else None
    changes = []
    for model_field in current._meta.concrete_fields:
        if model_field.name in IGNORED_FIELDS or (
            wanted is not None and model_field.name not in wanted
        ):
            continue
        old = getattr(base, model_field.attname, None)
        new = getattr(current, model_field.attname)
        if old != new:
            changes.append(
                FieldChange(
                    name=model_field.name,
                    label=str(model_field.verbose_name),
                    theirs=display_value(base.instance, model_field),
                    current=display_value(current, model_field),
                )
            )
    return changes


def lock_at(
    model: type[models.Model],
    pk: Any,
    counter: int,
    *,
    counter_field: str = "version",
    fields: Iterable[str] | None = None,
) -> models.Model:
    """Lock the row for this transaction; raise EditConflict if it moved past ``counter``.

    With ``fields``, a row that moved on only in *other* fields is not a conflict: the user's
    save touches ``fields`` alone, so nothing of the other person's is overwritten.
    Raises ``model.DoesNotExist`` when the row is gone.
    """
    current = model.objects.select_for_update().get(pk=pk)
    if getattr(current, counter_field) != counter:
        changes = changes_since(current, counter, counter_field=counter_field, fields=fields)
        if fields is None or changes or not _history_covers(current, counter, counter_field):
            raise EditConflict(current=current, changes=changes)
    return current


def _history_covers(current: models.Model, counter: int, counter_field: str) -> bool:
    return current.history.filter(**{counter_field: counter}).exists()


def save_counted(
    instance: models.Model, values: dict[str, Any], *, counter_field: str = "version"
) -> models.Model:
    """Apply ``values`` to a row locked by :func:`lock_at`, validate, bump its counter, save."""
    for name, value in values.items():
        setattr(instance, name, value)
    # The row is locked (select_for_update), so a plain increment cannot race.
    setattr(instance, counter_field, getattr(instance, counter_field) + 1)
    instance.full_clean()
    instance.save()
    return instance


def run_alone(name: str) -> None:
    """Inside a transaction, wait until no other transaction holds the lock ``name``; it is
    released at commit or rollback. PostgreSQL advisory lock; a no-op on SQLite, which runs one
    writing transaction at a time anyway."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
