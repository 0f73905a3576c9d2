"""Writes of the criteria: custom attributes and their values, criteria sets and versions.

Drafts carry a ``revision``; a change from a stale revision raises a ValidationError with
code ``edit_conflict`` instead of overwriting someone else's change. Released versions never
change: editing one starts the next draft.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from kam.concurrency import lock_at, save_counted
from kam.models import User
from selection.models import (
    FLAG_OPERATORS,
    MAX_POINTS,
    AccountAttribute,
    AccountAttributeValue,
    AttributeType,
    CriteriaSet,
    CriteriaVersion,
    KnockoutCriterion,
    ScoreBand,
    ScoredCriterion,
    ScoringMethod,
    Tier,
    VersionState,
)
from selection.sources import sources_by_key

# Tier schemes companies use (shared/DOMAIN.md, step 3): (name, minimum score, colour).
TIER_PRESETS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "gold_silver_bronze": (
        ("Gold", "7.00", "#b8860b"),
        ("Silver", "5.50", "#6c757d"),
        ("Bronze", "4.00", "#8b4513"),
    ),
    "premier_league": (
        ("Premier", "7.50", "#0b5394"),
        ("1. Liga", "5.50", "#38761d"),
        ("2. Liga", "4.00", "#7f6000"),
    ),
    "first_club_economy_standby": (
        ("First", "8.00", "#741b47"),
        ("Club", "6.50", "#0b5394"),
        ("Economy", "5.00", "#38761d"),
        ("Standby", "3.50", "#6c757d"),
    ),
}


def attribute_save(
    *, attribute: AccountAttribute | None, version: int | None, values: dict[str, Any]
) -> AccountAttribute:
    """Define a custom attribute (``attribute`` None) or change one from the ``version`` the
    user started from. Raises EditConflict (nothing written) or ValidationError."""
    with transaction.atomic():
        if attribute is None:
            attribute = AccountAttribute(**values)
            attribute.full_clean()
            attribute.save()
            return attribute
        current = lock_at(AccountAttribute, attribute.pk, version)
        return save_counted(current, values)


def attribute_value_set(
    *,
    account: Account,
    attribute: AccountAttribute,
    number: Decimal | None = None,
    flag: bool | None = None,
    comment: str = "",
    user: User,
) -> AccountAttributeValue | None:
    """Store an account's value of an attribute; no value at all removes it (unknown).

    Raises ValidationError when the value does not fit the attribute's type.
    """
    if attribute.data_type == AttributeType.YES_NO:
        number = None
    else:
        flag = None
    if (
        attribute.data_type == AttributeType.RATING
        and number is not None
        and not Decimal(0) <= number <= MAX_POINTS
    ):
        raise ValidationError(
            {"number": _("A rating is given in points from 0 to 10.")}, code="rating_range"
        )
    with transaction.atomic():
        if number is None and flag is None:
            AccountAttributeValue.objects.filter(account=account, attribute=attribute).delete()
            return None
        value, _created = AccountAttributeValue.objects.update_or_create(
            account=account,
            attribute=attribute,
            defaults={"number": number, "flag": flag, "comment": comment, "updated_by": user},
        )
    return value


class AttributeValueRefused(ValidationError):
    """One of several values was refused; ``attribute`` names which (nothing was stored)."""

    def __init__(self, attribute: AccountAttribute, error: ValidationError) -> None:
        super().__init__(error.error_dict if hasattr(error, "error_dict") else error.error_list)
        self.attribute = attribute


def attribute_values_set(
    *, account: Account, values: list[tuple[AccountAttribute, dict[str, Any]]], user: User
) -> None:
    """Store several of an account's attribute values, all or none.

    ``values`` pairs an attribute with the arguments of :func:`attribute_value_set`. Raises
    :class:`AttributeValueRefused` for the first value that does not fit its attribute.
    """
    with transaction.atomic():
        for attribute, arguments in values:
            try:
                attribute_value_set(account=account, attribute=attribute, user=user, **arguments)
            except ValidationError as error:
                raise AttributeValueRefused(attribute, error) from error


def _touch(version: CriteriaVersion, revision: int) -> None:
    """Refuse a change to a released version or from a stale revision, then bump it."""
    if version.state != VersionState.DRAFT:
        raise ValidationError(
            _("A released version is frozen. Start a new draft to change the criteria."),
            code="frozen",
        )
    updated = CriteriaVersion.objects.filter(
        pk=version.pk, state=VersionState.DRAFT, revision=revision
    ).update(revision=F("revision") + 1)
    if not updated:
        raise ValidationError(
            _(
                "Someone else changed this draft after you opened it. Your entries are kept: "
                "check the draft as it is now and save again."
            ),
            code="edit_conflict",
        )
    version.revision = revision + 1


def _tiers_create(version: CriteriaVersion, preset: str) -> None:
    Tier.objects.bulk_create(
        Tier(version=version, rank=rank, name=name, min_score=Decimal(score), colour=colour)
        for rank, (name, score, colour) in enumerate(TIER_PRESETS[preset], start=1)
    )


def criteria_set_create(
    *, name: str, description: str = "", preset: str = "gold_silver_bronze", user: User
) -> CriteriaSet:
    """A new criteria set with an empty first draft whose tiers follow ``preset``."""
    if preset not in TIER_PRESETS:
        raise ValidationError({"preset": _("Choose one of the tier presets.")}, code="preset")
    with transaction.atomic():
        criteria_set = CriteriaSet.objects.create(name=name, description=description)
        version = CriteriaVersion.objects.create(
            criteria_set=criteria_set, number=1, created_by=user
        )
        _tiers_create(version, preset)
    return criteria_set


def version_draft_start(*, version: CriteriaVersion, user: User) -> CriteriaVersion:
    """The set's draft, copied from ``version`` when the set has none yet (idempotent)."""
    with transaction.atomic():
        criteria_set = CriteriaSet.objects.select_for_update().get(pk=version.criteria_set_id)
        draft = criteria_set.versions.filter(state=VersionState.DRAFT).first()
        if draft is not None:
            return draft
        number = (
            criteria_set.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        draft = CriteriaVersion.objects.create(
            criteria_set=criteria_set,
            number=number,
            unknown_rule=version.unknown_rule,
            created_by=user,
        )
        Tier.objects.bulk_create(
            Tier(version=draft, rank=t.rank, name=t.name, min_score=t.min_score, colour=t.colour)
            for t in version.tiers.all()
        )
        KnockoutCriterion.objects.bulk_create(
            KnockoutCriterion(
                version=draft,
                position=k.position,
                name=k.name,
                group=k.group,
                source=k.source,
                operator=k.operator,
                threshold=k.threshold,
            )
            for k in version.knockouts.all()
        )
        for criterion in version.criteria.prefetch_related("bands"):
            copy = ScoredCriterion.objects.create(
                version=draft,
                position=criterion.position,
                name=criterion.name,
                source=criterion.source,
                method=criterion.method,
                weight=criterion.weight,
            )
            ScoreBand.objects.bulk_create(
                ScoreBand(criterion=copy, min_value=b.min_value, points=b.points)
                for b in criterion.bands.all()
            )
    return draft


def version_settings_update(
    *, version: CriteriaVersion, revision: int, unknown_rule: str, change_note: str
) -> CriteriaVersion:
    with transaction.atomic():
        _touch(version, revision)
        version.unknown_rule, version.change_note = unknown_rule, change_note
        version.save(update_fields=["unknown_rule", "change_note"])
    return version


def _check_tiers(tiers: list[dict[str, Any]]) -> None:
    if not tiers:
        raise ValidationError(_("A tier scheme needs at least one tier."), code="no_tiers")
    names = [t["name"].strip().casefold() for t in tiers]
    if len(set(names)) != len(names):
        raise ValidationError(_("Each tier needs its own name."), code="tier_names")
    scores = [Decimal(t["min_score"]) for t in tiers]
    if any(a <= b for a, b in itertools.pairwise(scores)):
        raise ValidationError(
            _("Each tier needs a higher minimum score than the tier below it."),
            code="tier_order",
        )


def tiers_save(*, version: CriteriaVersion, revision: int, tiers: list[dict[str, Any]]) -> None:
    """Replace the draft's tiers by ``tiers`` (best first: name, min_score, colour)."""
    _check_tiers(tiers)
    with transaction.atomic():
        _touch(version, revision)
        version.tiers.all().delete()
        Tier.objects.bulk_create(
            Tier(
                version=version,
                rank=rank,
                name=t["name"].strip(),
                min_score=t["min_score"],
                colour=t["colour"],
            )
            for rank, t in enumerate(tiers, start=1)
        )


def _check_source(source: str, *, operator: str | None = None, method: str | None = None) -> None:
    found = sources_by_key().get(source)
    if found is None:
        raise ValidationError({"source": _("Choose a value the app knows.")}, code="source")
    if operator is not None and found.is_flag != (operator in FLAG_OPERATORS):
        raise ValidationError(
            {"operator": _("Use “is yes” or “is no” for a yes/no value, a comparison otherwise.")},
            code="operator",
        )
    if method == ScoringMethod.BANDS and found.is_flag:
        raise ValidationError(
            {"method": _("A yes/no value cannot be scored in bands.")}, code="method"
        )


def knockout_save(
    *,
    version: CriteriaVersion,
    revision: int,
    criterion: KnockoutCriterion | None = None,
    name: str,
    group: int,
    source: str,
    operator: str,
    threshold: Decimal | None,
) -> KnockoutCriterion:
    """Add or change a draft's K.O. criterion."""
    _check_source(source, operator=operator)
    if operator not in FLAG_OPERATORS and threshold is None:
        raise ValidationError({"threshold": _("A comparison needs a threshold.")}, code="threshold")
    if operator in FLAG_OPERATORS:
        threshold = None
    with transaction.atomic():
        _touch(version, revision)
        if criterion is None:
            criterion = KnockoutCriterion(version=version, position=version.knockouts.count())
        criterion.name, criterion.group, criterion.source = name, group, source
        criterion.operator, criterion.threshold = operator, threshold
        criterion.save()
    return criterion


def _check_bands(bands: list[tuple[Decimal, Decimal]]) -> None:
    minimums = [b[0] for b in bands]
    if len(set(minimums)) != len(minimums):
        raise ValidationError(
            {"bands": _("Two bands start at the same value.")}, code="band_duplicate"
        )
    if any(not Decimal(0) <= points <= MAX_POINTS for _value, points in bands):
        raise ValidationError({"bands": _("Points go from 0 to 10.")}, code="band_points")


def criterion_save(
    *,
    version: CriteriaVersion,
    revision: int,
    criterion: ScoredCriterion | None = None,
    name: str,
    source: str,
    method: str,
    weight: Decimal,
    bands: list[tuple[Decimal, Decimal]],
) -> ScoredCriterion:
    """Add or change a draft's scored criterion with its bands (ignored for direct points)."""
    _check_source(source, method=method)
    if weight <= 0:
        raise ValidationError({"weight": _("A weight must be more than 0.")}, code="weight")
    if method == ScoringMethod.BANDS:
        if not bands:
            raise ValidationError(
                {"bands": _("Give at least one band of points.")}, code="bands_missing"
            )
        _check_bands(bands)
    else:
        bands = []
    with transaction.atomic():
        _touch(version, revision)
        if criterion is None:
            criterion = ScoredCriterion(version=version, position=version.criteria.count())
        criterion.name, criterion.source, criterion.method = name, source, method
        criterion.weight = weight
        criterion.save()
        criterion.bands.all().delete()
        ScoreBand.objects.bulk_create(
            ScoreBand(criterion=criterion, min_value=value, points=points)
            for value, points in bands
        )
    return criterion


def weights_update(*, version: CriteriaVersion, revision: int, weights: dict[int, Decimal]) -> None:
    """Change several criteria's weights at once (the what-if table)."""
    if any(weight <= 0 for weight in weights.values()):
        raise ValidationError(_("A weight must be more than 0."), code="weight")
    with transaction.atomic():
        _touch(version, revision)
        criteria = {c.pk: c for c in version.criteria.filter(pk__in=weights)}
        for pk, criterion in criteria.items():
            criterion.weight = weights[pk]
        ScoredCriterion.objects.bulk_update(criteria.values(), ["weight"])


def criterion_delete(
    *, version: CriteriaVersion, revision: int, criterion: KnockoutCriterion | ScoredCriterion
) -> None:
    """Remove a K.O. or scored criterion from a draft."""
    with transaction.atomic():
        _touch(version, revision)
        criterion.delete()


def version_release(
    *, version: CriteriaVersion, revision: int, user: User, change_note: str = ""
) -> CriteriaVersion:
    """Freeze a complete draft as a version that runs may use."""
    if not version.tiers.exists():
        raise ValidationError(_("A version needs a tier scheme."), code="no_tiers")
    if not version.criteria.exists() and not version.knockouts.exists():
        raise ValidationError(_("A version needs at least one criterion."), code="no_criteria")
    with transaction.atomic():
        _touch(version, revision)
        version.state = VersionState.RELEASED
        version.released_by, version.released_at = user, timezone.now()
        if change_note:
            version.change_note = change_note
        version.save(update_fields=["state", "released_by", "released_at", "change_note"])
    return version
