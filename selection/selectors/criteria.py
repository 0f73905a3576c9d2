"""Reads of the criteria pages: criteria sets with their versions, one version's outline."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from kam import access
from kam.models import User
from selection.models import (
    AccountAttribute,
    AccountAttributeValue,
    CriteriaSet,
    CriteriaVersion,
    KnockoutCriterion,
    ScoredCriterion,
    Tier,
)
from selection.sources import Source, sources_by_key


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def criteria_sets(*, user: User) -> list[CriteriaSet]:
    """Every criteria set with ``latest`` (newest released version) and ``draft`` set."""
    _require(access.may_read_selection(user))
    versions = CriteriaVersion.objects.select_related("released_by").order_by("-number")
    sets = list(
        CriteriaSet.objects.annotate(run_count=Count("versions__runs")).prefetch_related(
            Prefetch("versions", queryset=versions)
        )
    )
    for criteria_set in sets:
        all_versions = list(criteria_set.versions.all())
        criteria_set.draft = next((v for v in all_versions if v.is_draft), None)
        criteria_set.latest = next((v for v in all_versions if not v.is_draft), None)
    return sets


def criteria_set_get(*, user: User, pk: int) -> CriteriaSet:
    """A set with ``version_rows`` (newest first, each with ``run_count``) and ``draft``."""
    _require(access.may_read_selection(user))
    try:
        criteria_set = CriteriaSet.objects.get(pk=pk)
    except CriteriaSet.DoesNotExist as exc:
        raise Http404 from exc
    criteria_set.version_rows = list(
        criteria_set.versions.select_related("released_by", "created_by")
        .annotate(run_count=Count("runs"))
        .order_by("-number")
    )
    criteria_set.draft = next((v for v in criteria_set.version_rows if v.is_draft), None)
    return criteria_set


def knockout_get(*, user: User, pk: int) -> KnockoutCriterion:
    _require(access.may_read_selection(user))
    try:
        return KnockoutCriterion.objects.select_related("version__criteria_set").get(pk=pk)
    except KnockoutCriterion.DoesNotExist as exc:
        raise Http404 from exc


def criterion_get(*, user: User, pk: int) -> ScoredCriterion:
    _require(access.may_read_selection(user))
    try:
        return (
            ScoredCriterion.objects.select_related("version__criteria_set")
            .prefetch_related("bands")
            .get(pk=pk)
        )
    except ScoredCriterion.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class KnockoutRow:
    criterion: KnockoutCriterion
    source: Source | None


@dataclass
class KnockoutGroup:
    number: int
    rows: list[KnockoutRow]


@dataclass
class CriterionRow:
    criterion: ScoredCriterion
    source: Source | None
    share: Decimal  # the weight as a share of all weights, in percent


@dataclass
class VersionOutline:
    """A version as its page shows it: tiers best first, K.O. groups, weighted criteria."""

    version: CriteriaVersion
    tiers: list[Tier]
    groups: list[KnockoutGroup]
    criteria: list[CriterionRow]
    run_count: int

    @property
    def knockout_count(self) -> int:
        return sum(len(group.rows) for group in self.groups)


def version_outline(version: CriteriaVersion) -> VersionOutline:
    sources = sources_by_key()
    knockouts = version.knockouts.order_by("group", "position", "pk")
    groups = [
        KnockoutGroup(number=number, rows=[KnockoutRow(k, sources.get(k.source)) for k in members])
        for number, members in groupby(knockouts, key=lambda k: k.group)
    ]
    criteria = list(version.criteria.prefetch_related("bands").order_by("position", "pk"))
    total = sum((c.weight for c in criteria), Decimal(0)) or Decimal(1)
    return VersionOutline(
        version=version,
        tiers=list(version.tiers.order_by("rank")),
        groups=groups,
        criteria=[
            CriterionRow(
                criterion=c,
                source=sources.get(c.source),
                share=(c.weight / total * 100).quantize(Decimal("0.1")),
            )
            for c in criteria
        ],
        run_count=version.runs.count(),
    )


def attributes(*, user: User) -> QuerySet[AccountAttribute]:
    """Leadership's custom attributes with ``value_count`` (accounts that have a value)."""
    _require(access.may_read_selection(user))
    return AccountAttribute.objects.annotate(value_count=Count("values")).order_by("name")


def attribute_get(*, user: User, pk: int) -> AccountAttribute:
    _require(access.may_manage_selection(user))
    try:
        return AccountAttribute.objects.get(pk=pk)
    except AccountAttribute.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class AttributeValueRow:
    attribute: AccountAttribute
    value: AccountAttributeValue | None


def account_attribute_values(*, account_id: int) -> list[AttributeValueRow]:
    """Every attribute with the account's value (None: unknown), in two queries."""
    values = {
        v.attribute_id: v
        for v in AccountAttributeValue.objects.filter(account_id=account_id).select_related(
            "updated_by"
        )
    }
    return [
        AttributeValueRow(attribute=a, value=values.get(a.pk))
        for a in AccountAttribute.objects.order_by("name")
    ]
