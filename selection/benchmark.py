"""The ``selection`` section of ``manage.py bench``: a full run over every account, timed.

A run of a released version with 12 scored criteria and 3 K.O. criteria is started and
computed in this process (reading the values, scoring, storing one result per account), and
compared with a baseline that reads the same values and computes the same totals in numpy,
storing only (account, total) with one COPY. The runs are deleted afterwards.
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

import numpy as np
from django.db import connection, transaction

from accounts.models import Account
from kam.models import Job, User
from kam.services import job_execute
from selection import services
from selection.demo import demo_attributes, draft_fill
from selection.models import CriteriaSet, CriteriaVersion, SelectionRun, VersionState
from selection.sources import SourceValues

BENCH_SET_NAME = "Benchmark: 12 criteria"
BAR_SECONDS = 10.0

_REVENUE_BANDS = ((0, 0), (100_000, 2), (250_000, 4), (500_000, 6), (1_000_000, 8), (5_000_000, 10))
_PERCENT_BANDS = ((0, 0), (10, 3), (20, 6), (30, 8), (50, 10))
# name, source, method, weight, bands
CRITERIA = (
    ("Revenue potential", "potential_revenue", "bands", 25, _REVENUE_BANDS),
    ("Margin potential", "potential_margin", "bands", 10, _REVENUE_BANDS),
    ("Achievable margin", "potential_margin_rate", "bands", 10, _PERCENT_BANDS),
    ("Growth", "potential_growth", "bands", 10, ((-100, 0), (0, 3), (5, 6), (10, 10))),
    ("Addressable potential", "addressable_potential", "bands", 10, _REVENUE_BANDS),
    ("Share of wallet", "share_of_wallet", "bands", 5, _PERCENT_BANDS),
    ("Competition", "competitor_share", "bands", 5, ((0, 10), (20, 6), (50, 2))),
    ("International", "countries_of_operation", "bands", 5, ((0, 0), (2, 5), (4, 10))),
    ("Buying center", "buying_center_size", "bands", 5, ((0, 0), (4, 5), (8, 10))),
    ("Coverage", "relationship_coverage", "bands", 5, _PERCENT_BANDS),
    ("Strategic importance", "attribute:strategic_importance", "direct", 5, ()),
    ("IT workplaces", "attribute:it_workplaces", "bands", 5, ((0, 0), (1000, 5), (5000, 10))),
)
KNOCKOUTS = (
    ("IT workplaces > 1,000", 1, "attribute:it_workplaces", "gt", Decimal(1000)),
    ("Requests > 5,000", 1, "attribute:customer_requests", "gt", Decimal(5000)),
    ("No exclusive contract", 2, "attribute:exclusive_competitor_contract", "no", None),
)


def bench_version(user: User) -> CriteriaVersion:
    """The benchmark's released version, created on first use (needs ``seed_bulk``'s attributes)."""
    existing = CriteriaVersion.objects.filter(
        criteria_set__name=BENCH_SET_NAME, state=VersionState.RELEASED
    ).first()
    if existing:
        return existing
    demo_attributes()
    criteria_set = CriteriaSet.objects.filter(name=BENCH_SET_NAME).first() or (
        services.criteria_set_create(name=BENCH_SET_NAME, user=user)
    )
    version = criteria_set.versions.get(state=VersionState.DRAFT)
    draft_fill(version, knockouts=KNOCKOUTS, criteria=CRITERIA)
    return services.version_release(version=version, revision=version.revision, user=user)


def _run_once(version: CriteriaVersion, user: User) -> float:
    started = time.perf_counter()
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.SELECTION_RUN, created_by=user)
        run = SelectionRun.objects.create(version=version, created_by=user, job=job)
        Job.objects.filter(pk=job.pk).update(params={"run_id": run.pk})
    finished = job_execute(job_id=job.pk, work=services.selection_run_compute)
    elapsed = time.perf_counter() - started
    if finished is None or finished.state != Job.State.SUCCEEDED:
        raise RuntimeError(f"The benchmark run failed: {finished and finished.error}")
    run.delete()
    job.delete()
    return elapsed


def _baseline_once(version: CriteriaVersion) -> float:
    """Read the same values, compute the same totals in numpy, COPY (account, total)."""
    started = time.perf_counter()
    scheme, _knockouts, criteria, _tiers = services.scheme_of(version)
    values = SourceValues(Account.objects.all())
    total = np.zeros(len(values))
    for rule, criterion, share in zip(scheme.scores, criteria, scheme.shares, strict=True):
        v = values.array(criterion.source)
        if rule.method == "direct":
            points = np.clip(np.nan_to_num(v), 0, 10)
        else:
            bands = sorted(rule.bands)
            index = (
                np.searchsorted([b[0] for b in bands], np.nan_to_num(v, nan=-np.inf), "right") - 1
            )
            points = np.where(index >= 0, np.array([b[1] for b in bands])[index.clip(0)], 0)
        total += points * share
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_scores (account_id bigint, total numeric(4,2))"
        )
        if connection.vendor == "postgresql":
            with cursor.copy("COPY bench_scores (account_id, total) FROM STDIN") as copy:
                for row in zip(values.ids.tolist(), np.round(total, 2).tolist(), strict=True):
                    copy.write_row(row)
        else:
            cursor.executemany(
                "INSERT INTO bench_scores VALUES (%s, %s)",
                list(zip(values.ids.tolist(), np.round(total, 2).tolist(), strict=True)),
            )
        cursor.execute("DROP TABLE bench_scores")
    return time.perf_counter() - started


def measure_selection(*, user: User, repeat: int) -> dict[str, object]:
    """Median seconds of a full run and of the baseline, their ratio, and the bar."""
    version = bench_version(user)
    runs = [_run_once(version, user) for _ in range(repeat)]
    baselines = [_baseline_once(version) for _ in range(repeat)]
    median, baseline = statistics.median(runs), statistics.median(baselines)
    return {
        "accounts": Account.objects.count(),
        "criteria": len(CRITERIA),
        "knockouts": len(KNOCKOUTS),
        "median_s": round(median, 3),
        "max_s": round(max(runs), 3),
        "baseline_s": round(baseline, 3),
        "ratio": round(median / baseline, 2) if baseline else None,
        "bar_s": BAR_SECONDS,
        "passes": max(runs) <= BAR_SECONDS,
    }
