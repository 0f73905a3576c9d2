"""Writes of the runs: start, compute (a job), discard, override and approve.

A computed run never changes: overrides are rows of their own, and approval writes the
tiers onto the accounts, all or nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.filters import AccountFilterSet, renew_list_cache
from accounts.models import Account, AccountTeamMember, TeamRole
from kam.bulk import BulkWriter
from kam.concurrency import EditConflict, FieldChange, display_value
from kam.models import Job, User
from kam.services import ProgressReporter, job_enqueue, notify
from selection import scoring
from selection.models import (
    CriteriaVersion,
    KnockoutCriterion,
    KnockoutOutcome,
    RunState,
    ScoredCriterion,
    SelectionResult,
    SelectionRun,
    Tier,
    TierChange,
    TierOverride,
    VersionState,
)
from selection.sources import SourceValues

SEGMENT_FILTERS = ("region", "industry", "status", "account_type", "country", "tier")


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


def scheme_from(
    version: CriteriaVersion,
    knockouts: list[KnockoutCriterion],
    criteria: list[ScoredCriterion],
    tiers: list[Tier],
) -> scoring.Scheme:
    """The engine's rules from a version's rows (criteria with their bands prefetched)."""
    return scoring.Scheme(
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


def scheme_of(
    version: CriteriaVersion,
) -> tuple[scoring.Scheme, list[KnockoutCriterion], list[ScoredCriterion], list[Tier]]:
    """The version's rules for the engine, with the rows they came from in the same order."""
    knockouts = list(version.knockouts.order_by("group", "position", "pk"))
    criteria = list(version.criteria.prefetch_related("bands").order_by("position", "pk"))
    tiers = list(version.tiers.order_by("rank"))
    return scheme_from(version, knockouts, criteria, tiers), knockouts, criteria, tiers


def evaluate_accounts(
    version: CriteriaVersion, accounts: QuerySet[Account]
) -> tuple[
    SourceValues, scoring.Evaluation, list[KnockoutCriterion], list[ScoredCriterion], list[Tier]
]:
    """Read the values ``version`` needs for ``accounts`` and score them (nothing stored)."""
    scheme, knockouts, criteria, tiers = scheme_of(version)
    values = SourceValues(accounts)
    values.read([*(k.source for k in knockouts), *(c.source for c in criteria)])
    knockout_values = [values.array(k.source) for k in knockouts]
    score_values = [values.array(c.source) for c in criteria]
    evaluation = scoring.evaluate(scheme, knockout_values, score_values, len(values))
    return values, evaluation, knockouts, criteria, tiers


def _details(
    n: int, knockout_values: list[np.ndarray], score_values: list[np.ndarray]
) -> list[str]:
    """Each account's ``details`` JSON (see SelectionResult): the values the rules saw.

    Built with one %-template per row, as 100,000s of rows go through here.
    """
    columns = [*knockout_values, *score_values]
    template = (
        '{"knockouts":['
        + ",".join(["%.10g"] * len(knockout_values))
        + '],"scores":['
        + ",".join(["%.10g"] * len(score_values))
        + "]}"
    )
    if not columns:
        return [template] * n
    matrix = np.column_stack(columns)
    matrix[~np.isfinite(matrix)] = np.nan
    # JSON has no NaN: printf writes it as "nan", which becomes null.
    return [(template % tuple(row)).replace("nan", "null") for row in matrix.tolist()]


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
        len(values),
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
            ids=False,
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


def _override_conflict(
    result: SelectionResult, current: TierOverride | None, version: int | None
) -> EditConflict | None:
    """The conflict when the result's override is not the one the user saw at ``version``
    (0: there was none; None: not checked), with what changed since."""
    if version is None or (current.version if current else 0) == version:
        return None
    seen = (
        TierOverride.history.filter(result_id=result.pk, version=version)
        .order_by("-history_date")
        .first()
        if version
        else None
    )
    changes = []
    for name in ("tier", "reason"):
        field = TierOverride._meta.get_field(name)
        theirs = display_value(seen.instance, field) if seen else "–"
        now = display_value(current, field) if current else "–"
        if theirs != now:
            changes.append(FieldChange(name, str(field.verbose_name), theirs, now))
    return EditConflict(current=current or TierOverride(result=result, version=0), changes=changes)


def tier_override_set(
    *,
    result: SelectionResult,
    rank: int | None,
    reason: str,
    user: User,
    version: int | None = None,
) -> TierOverride:
    """Give an account another tier than proposed (``rank`` None: not a key account).

    ``version`` is the override's the user started from (0: there was none). Raises
    ValidationError without a reason, for a tier the scheme lacks, or once the run is no longer
    under review; EditConflict (nothing written) when someone else changed the override since.
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
        current = TierOverride.objects.select_for_update().filter(result=result).first()
        if conflict := _override_conflict(result, current, version):
            raise conflict
        override = current or TierOverride(result=result, version=0)
        override.rank, override.tier = rank, tiers.get(rank, "")
        override.reason, override.created_by = reason, user
        # The row is locked (or new under the run's lock), so a plain increment cannot race.
        override.version += 1
        override.save()
    return override


def tier_override_remove(*, result: SelectionResult, version: int | None = None) -> None:
    """Take back the override; EditConflict (nothing removed) when it is no longer the one
    the user saw at ``version`` (None: not checked)."""
    with transaction.atomic():
        run = SelectionRun.objects.select_for_update().get(pk=result.run_id)
        if run.state != RunState.READY:
            raise ValidationError(_("Only a run under review can be changed."), code="not_ready")
        current = TierOverride.objects.select_for_update().filter(result=result).first()
        if current is None:
            return  # someone else took it back already: what the user wanted
        if conflict := _override_conflict(result, current, version):
            raise conflict
        current.delete()


def newer_version(*, run: SelectionRun) -> CriteriaVersion | None:
    """The newest released version of the run's criteria set, when newer than the run's."""
    return (
        CriteriaVersion.objects.filter(
            criteria_set_id=run.version.criteria_set_id,
            state=VersionState.RELEASED,
            number__gt=run.version.number,
        )
        .order_by("-number")
        .first()
    )


def approved_after_computing(*, run: SelectionRun) -> bool:
    """Whether tiers were approved after this run was computed (its "tier before" is stale)."""
    if run.computed_at is None:
        return False
    return SelectionRun.objects.filter(is_current=True, approved_at__gt=run.computed_at).exists()


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
        # Lock the current run so that two approvals cannot both pass the checks below.
        list(SelectionRun.objects.select_for_update().filter(is_current=True))
        if approved_after_computing(run=run):
            raise ValidationError(
                _("Tiers were approved after this run was computed. Run the selection again."),
                code="stale",
            )
        if newer_version(run=run) is not None and not older_version_confirmed:
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
            ids=False,
        )
        SelectionRun.objects.filter(is_current=True).update(is_current=False)
        SelectionRun.objects.filter(pk=run.pk).update(
            state=RunState.APPROVED, approved_by=user, approved_at=now, is_current=True
        )
        _notify_key_account_managers(run)
        # The tiers changed through update(), which sends no signals.
        transaction.on_commit(renew_list_cache)
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
