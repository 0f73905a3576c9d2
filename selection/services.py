"""Writes of the selection app: attributes, criteria versions, runs, overrides and approval.

Drafts carry a ``revision``; a change from a stale revision raises a ValidationError with
code ``edit_conflict`` instead of overwriting someone else's change. Released versions and
computed runs never change: editing a released version starts the next draft.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.filters import AccountFilterSet
from accounts.models import Account, AccountTeamMember, TeamRole
from kam.bulk import BulkWriter
from kam.models import Job, User
from kam.services import ProgressReporter, job_enqueue, notify
from selection import scoring
from selection.models import (
    FLAG_OPERATORS,
    MAX_POINTS,
    AccountAttribute,
    AccountAttributeValue,
    AttributeType,
    CriteriaSet,
    CriteriaVersion,
    KnockoutCriterion,
    KnockoutOutcome,
    PortfolioSettings,
    RunState,
    ScoreBand,
    ScoredCriterion,
    ScoringMethod,
    SelectionResult,
    SelectionRun,
    Tier,
    TierChange,
    TierOverride,
    VersionState,
)
from selection.sources import SourceValues, sources_by_key

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
SEGMENT_FILTERS = ("region", "industry", "status", "account_type", "country", "tier")


# Custom attributes ----------------------------------------------------------------------


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


# Criteria sets and versions -------------------------------------------------------------


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


# Portfolio ---------------------------------------------------------------------------------


def portfolio_settings_update(
    *, coverage_weight: int, share_of_wallet_weight: int
) -> PortfolioSettings:
    """Save the weights of the position on the one settings row, creating it when missing.

    Raises ValidationError when both weights are 0 or one is outside 0–100.
    """
    with transaction.atomic():
        row = (
            PortfolioSettings.objects.select_for_update().order_by("pk").first()
            or PortfolioSettings()
        )
        row.coverage_weight = coverage_weight
        row.share_of_wallet_weight = share_of_wallet_weight
        row.full_clean()
        row.save()
    return row


# Runs ---------------------------------------------------------------------------------------


def segment_accounts(segment: dict[str, Any]) -> QuerySet[Account]:
    """The accounts a run covers: all, or those matching the segment's account-list filters."""
    data = QueryDict(mutable=True)
    for name in SEGMENT_FILTERS:
        if segment.get(name):
            data[name] = segment[name]
    filterset = AccountFilterSet(data, queryset=Account.objects.all())
    if not filterset.is_valid():
        raise ValidationError(_("The segment's filters are not valid."), code="segment")
    return filterset.qs.order_by()


def selection_run_start(
    *,
    version: CriteriaVersion,
    user: User,
    segment: dict[str, Any] | None = None,
    segment_label: str = "",
) -> SelectionRun:
    """Queue a run of a released version over all accounts or a segment."""
    if version.state != VersionState.RELEASED:
        raise ValidationError(_("Release the draft before running it."), code="not_released")
    segment = {k: v for k, v in (segment or {}).items() if k in SEGMENT_FILTERS and v}
    with transaction.atomic():
        job = job_enqueue(kind=Job.Kind.SELECTION_RUN, created_by=user, params={})
        run = SelectionRun.objects.create(
            version=version, created_by=user, job=job, segment=segment, segment_label=segment_label
        )
        Job.objects.filter(pk=job.pk).update(params={"run_id": run.pk})
    return run


def scheme_of(
    version: CriteriaVersion,
) -> tuple[scoring.Scheme, list[KnockoutCriterion], list[ScoredCriterion], list[Tier]]:
    """The version's rules for the engine, with the rows they came from in the same order."""
    knockouts = list(version.knockouts.order_by("group", "position", "pk"))
    criteria = list(version.criteria.prefetch_related("bands").order_by("position", "pk"))
    tiers = list(version.tiers.order_by("rank"))
    scheme = scoring.Scheme(
        knockouts=tuple(
            scoring.KnockoutRule(
                group=k.group,
                operator=k.operator,
                threshold=None if k.threshold is None else float(k.threshold),
            )
            for k in knockouts
        ),
        scores=tuple(
            scoring.ScoreRule(
                weight=float(c.weight),
                method=c.method,
                bands=tuple((float(b.min_value), float(b.points)) for b in c.bands.all()),
            )
            for c in criteria
        ),
        tiers=tuple(scoring.TierRule(rank=t.rank, min_score=float(t.min_score)) for t in tiers),
        unknown_passes=version.unknown_rule == "pass",
    )
    return scheme, knockouts, criteria, tiers


def evaluate_accounts(
    version: CriteriaVersion, accounts: QuerySet[Account]
) -> tuple[
    SourceValues, scoring.Evaluation, list[KnockoutCriterion], list[ScoredCriterion], list[Tier]
]:
    """Read the values ``version`` needs for ``accounts`` and score them (nothing stored)."""
    scheme, knockouts, criteria, tiers = scheme_of(version)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The reads are few big aggregations that PostgreSQL's JIT compiles for longer
            # than they run (about half a second each at 100,000 accounts).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        values = SourceValues(accounts)
        values.prefetch([*(k.source for k in knockouts), *(c.source for c in criteria)])
        knockout_values = [values.array(k.source) for k in knockouts]
        score_values = [values.array(c.source) for c in criteria]
    evaluation = scoring.evaluate(scheme, knockout_values, score_values, len(values))
    return values, evaluation, knockouts, criteria, tiers


def _json_numbers(values: np.ndarray) -> list[str]:
    """JSON texts of floats (4 decimals at most), ``null`` for NaN; fast for 100,000s."""
    return [
        "null" if not math.isfinite(v) else repr(int(v) if v.is_integer() else v)
        for v in np.round(values, 4).tolist()
    ]


def _details(
    evaluation: scoring.Evaluation,
    knockout_values: list[np.ndarray],
    score_values: list[np.ndarray],
) -> list[str]:
    """Each account's ``details`` JSON (see SelectionResult), one %-template per row."""
    pair = "[%s,%s]"
    template = (
        '{"knockouts":['
        + ",".join([pair] * len(knockout_values))
        + '],"scores":['
        + ",".join([pair] * len(score_values))
        + "]}"
    )
    columns: list[list] = []
    for i, values in enumerate(knockout_values):
        columns += [evaluation.knockout_outcomes[i].tolist(), _json_numbers(values)]
    for i, values in enumerate(score_values):
        columns += [_json_numbers(values), _json_numbers(evaluation.points[i])]
    if not columns:
        return [template] * len(evaluation.total)
    return [template % row for row in zip(*columns, strict=True)]


KNOCKOUT_CODES = {
    scoring.PASSED: KnockoutOutcome.PASSED.value,
    scoring.FAILED: KnockoutOutcome.FAILED.value,
    scoring.UNKNOWN: KnockoutOutcome.UNKNOWN.value,
}


def selection_run_compute(job: Job, report: ProgressReporter) -> dict[str, Any]:
    """Score every account of the job's run and store the snapshot; idempotent.

    A run already past computing is left alone; an interrupted one is computed again from
    scratch (its partial results are removed first).
    """
    run = SelectionRun.objects.select_related("version").get(pk=job.params["run_id"])
    if run.state != RunState.COMPUTING:
        return {"run": run.pk, "skipped": True}
    report(5, _("Reading the accounts' values"))
    values, evaluation, knockouts, criteria, tiers = evaluate_accounts(
        run.version, segment_accounts(run.segment)
    )
    report(50, _("Storing the results"))
    names = {t.rank: t.name for t in tiers}
    previous = values.tier_ranks.astype(np.int16)
    moves = scoring.movement(previous, evaluation.rank)
    details = _details(
        evaluation,
        [values.array(k.source) for k in knockouts],
        [values.array(c.source) for c in criteria],
    )
    previous_names = dict(
        Account.objects.filter(pk__in=values.accounts.values("pk"))
        .exclude(tier="")
        .values_list("pk", "tier")
    )
    failed_ids = [k.pk for k in knockouts]
    rows = [
        (
            run.pk,
            account_id,
            KNOCKOUT_CODES[ko],
            failed_ids[failed] if failed >= 0 else None,
            f"{total:.2f}",
            rank or None,
            names.get(rank, ""),
            prev or None,
            previous_names.get(account_id, "") if prev else "",
            move,
            detail,
        )
        for account_id, ko, failed, total, rank, prev, move, detail in zip(
            values.ids.tolist(),
            evaluation.knockout.tolist(),
            evaluation.failed_rule.tolist(),
            evaluation.total.tolist(),
            evaluation.rank.tolist(),
            previous.tolist(),
            moves.tolist(),
            details,
            strict=True,
        )
    ]
    summary = {
        "tiers": {str(k): v for k, v in Counter(evaluation.rank.tolist()).items()},
        "movements": dict(Counter(moves.tolist())),
        "knockout": {
            KNOCKOUT_CODES[k]: v for k, v in Counter(evaluation.knockout.tolist()).items()
        },
    }
    with transaction.atomic():
        SelectionResult.objects.filter(run=run).delete()
        BulkWriter(batch_size=2000).insert(
            SelectionResult,
            (
                "run_id",
                "account_id",
                "knockout",
                "failed_knockout_id",
                "total",
                "proposed_rank",
                "proposed_tier",
                "previous_rank",
                "previous_tier",
                "movement",
                "details",
            ),
            rows,
        )
        SelectionRun.objects.filter(pk=run.pk, state=RunState.COMPUTING).update(
            state=RunState.READY,
            computed_at=timezone.now(),
            account_count=len(rows),
            summary=summary,
        )
    report(95, _("Finishing"))
    return {"run": run.pk, "accounts": len(rows)}


def selection_run_discard(*, run: SelectionRun) -> None:
    """Set a run aside that will not be approved; its snapshot stays readable."""
    if not SelectionRun.objects.filter(pk=run.pk, state=RunState.READY).update(
        state=RunState.DISCARDED
    ):
        raise ValidationError(_("Only a run ready for review can be discarded."), code="not_ready")
    run.state = RunState.DISCARDED


def tier_override_set(
    *, result: SelectionResult, rank: int | None, reason: str, user: User
) -> TierOverride:
    """Give an account another tier than proposed (``rank`` None: not a key account).

    Raises ValidationError without a reason, for a tier the scheme lacks, or once the run is
    no longer under review.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for the override.")}, code="reason")
    tiers = dict(result.run.version.tiers.values_list("rank", "name"))
    if rank is not None and rank not in tiers:
        raise ValidationError({"rank": _("Choose a tier of this scheme.")}, code="tier")
    with transaction.atomic():
        run = SelectionRun.objects.select_for_update().get(pk=result.run_id)
        if run.state != RunState.READY:
            raise ValidationError(_("Only a run under review can be changed."), code="not_ready")
        override, _created = TierOverride.objects.update_or_create(
            result=result,
            defaults={
                "rank": rank,
                "tier": tiers.get(rank, ""),
                "reason": reason,
                "created_by": user,
            },
        )
    return override


def tier_override_remove(*, result: SelectionResult) -> None:
    with transaction.atomic():
        run = SelectionRun.objects.select_for_update().get(pk=result.run_id)
        if run.state != RunState.READY:
            raise ValidationError(_("Only a run under review can be changed."), code="not_ready")
        TierOverride.objects.filter(result=result).delete()


def _newer_version_exists(run: SelectionRun) -> bool:
    return CriteriaVersion.objects.filter(
        criteria_set_id=run.version.criteria_set_id,
        state=VersionState.RELEASED,
        number__gt=run.version.number,
    ).exists()


def selection_run_approve(
    *, run: SelectionRun, user: User, older_version_confirmed: bool = False
) -> int:
    """Apply the run's tiers (overrides first) to its accounts, all or nothing.

    Writes each changed account's tier history, makes the run the current one and tells the
    affected key account managers. Returns how many accounts changed tier. Raises
    ValidationError when the run is not ready, when it was computed before the current tiers
    were approved, or when a newer criteria version exists and that was not confirmed.
    """
    with transaction.atomic():
        run = SelectionRun.objects.select_for_update().select_related("version").get(pk=run.pk)
        if run.state != RunState.READY:
            raise ValidationError(
                _("Only a run ready for review can be approved."), code="not_ready"
            )
        current = SelectionRun.objects.select_for_update().filter(is_current=True).first()
        if (
            current
            and current.approved_at
            and run.computed_at
            and current.approved_at > run.computed_at
        ):
            raise ValidationError(
                _("Tiers were approved after this run was computed. Run the selection again."),
                code="stale",
            )
        if _newer_version_exists(run) and not older_version_confirmed:
            raise ValidationError(
                _(
                    "A newer version of these criteria exists. Confirm that you approve the "
                    "run of the older version deliberately."
                ),
                code="older_version",
            )
        now = timezone.now()
        overrides = {
            account_id: (rank, tier, reason)
            for account_id, rank, tier, reason in TierOverride.objects.filter(
                result__run=run
            ).values_list("result__account_id", "rank", "tier", "reason")
        }
        changes = []
        rows = SelectionResult.objects.filter(run=run).values_list(
            "account_id",
            "previous_rank",
            "previous_tier",
            "proposed_rank",
            "proposed_tier",
            "total",
        )
        for account_id, prev_rank, prev_tier, rank, tier, total in rows.iterator(chunk_size=5000):
            rank, tier, reason = overrides.get(account_id, (rank, tier, ""))
            if (rank, tier) != (prev_rank, prev_tier):
                changes.append(
                    (
                        account_id,
                        run.pk,
                        prev_tier,
                        prev_rank,
                        tier,
                        rank,
                        total,
                        reason,
                        user.pk,
                        now,
                    )
                )
        by_tier: dict[tuple[int | None, str], list[int]] = {}
        for change in changes:
            by_tier.setdefault((change[5], change[4]), []).append(change[0])
        for (rank, tier), account_ids in by_tier.items():
            for start in range(0, len(account_ids), 5000):
                Account.objects.filter(pk__in=account_ids[start : start + 5000]).update(
                    tier=tier, tier_rank=rank
                )
        BulkWriter(batch_size=2000).insert(
            TierChange,
            (
                "account_id",
                "run_id",
                "from_tier",
                "from_rank",
                "to_tier",
                "to_rank",
                "score",
                "reason",
                "changed_by_id",
                "changed_at",
            ),
            changes,
        )
        SelectionRun.objects.filter(is_current=True).update(is_current=False)
        SelectionRun.objects.filter(pk=run.pk).update(
            state=RunState.APPROVED, approved_by=user, approved_at=now, is_current=True
        )
        _notify_key_account_managers(run)
    run.refresh_from_db()
    return len(changes)


def _notify_key_account_managers(run: SelectionRun) -> None:
    """One in-app notification (and e-mail) per key account manager whose accounts moved."""
    per_manager = Counter(
        AccountTeamMember.objects.filter(
            role=TeamRole.KEY_ACCOUNT_MANAGER, account__tier_changes__run=run
        ).values_list("user_id", flat=True)
    )
    url = f"{reverse('selection:tier-change-list')}?run={run.pk}"
    for user in User.objects.filter(pk__in=per_manager):
        count = per_manager[user.pk]
        # Each manager reads the message in their own language, not the approver's.
        with translation.override(user.language or settings.LANGUAGE_CODE):
            message = ngettext(
                "The key-account selection changed the tier of %(count)d of your accounts.",
                "The key-account selection changed the tiers of %(count)d of your accounts.",
                count,
            ) % {"count": count}
        notify(user=user, message=message, url=url, email=True)
