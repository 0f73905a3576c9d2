"""The demo's key-account selection: attributes, a criteria set modelled on DOMAIN.md, one run.

Used by ``seed_demo``; idempotent (an existing demo criteria set is left as it is).
"""

from __future__ import annotations

import random
from decimal import Decimal

from accounts.models import Account
from kam.models import User
from kam.services import job_execute
from selection import services
from selection.models import (
    AccountAttribute,
    AccountAttributeValue,
    AttributeType,
    CriteriaSet,
    CriteriaVersion,
)

DEMO_SET_NAME = "Key-Account-Auswahl"

# key, name, type, unit
ATTRIBUTES = (
    ("it_workplaces", "IT-Arbeitsplätze", AttributeType.NUMBER, "Plätze"),
    ("customer_requests", "Kundenanfragen pro Monat", AttributeType.NUMBER, "Anfragen"),
    ("exclusive_competitor_contract", "Exklusivvertrag mit Wettbewerber", AttributeType.YES_NO, ""),
    ("strategic_importance", "Strategische Bedeutung", AttributeType.RATING, "Punkte"),
    ("cross_selling", "Up- und Cross-Selling-Chancen", AttributeType.RATING, "Punkte"),
)

# name, group, source, operator, threshold
KNOCKOUTS = (
    ("Mehr als 1.000 IT-Arbeitsplätze", 1, "attribute:it_workplaces", "gt", Decimal(1000)),
    (
        "Mehr als 5.000 Kundenanfragen im Monat",
        1,
        "attribute:customer_requests",
        "gt",
        Decimal(5000),
    ),
    (
        "Kein Exklusivvertrag mit einem Wettbewerber",
        2,
        "attribute:exclusive_competitor_contract",
        "no",
        None,
    ),
)

# name, source, method, weight, bands (from value, points)
CRITERIA = (
    (
        "Umsatzpotenzial",
        "potential_revenue",
        "bands",
        25,
        ((0, 0), (250_000, 2), (500_000, 4), (1_000_000, 6), (2_500_000, 8), (5_000_000, 10)),
    ),
    (
        "Erzielbare Marge",
        "potential_margin_rate",
        "bands",
        15,
        ((0, 0), (10, 4), (20, 7), (30, 10)),
    ),
    ("Wachstum", "potential_growth", "bands", 10, ((-100, 0), (0, 3), (5, 6), (10, 10))),
    ("Strategische Bedeutung", "attribute:strategic_importance", "direct", 20, ()),
    ("Up- und Cross-Selling", "attribute:cross_selling", "direct", 10, ()),
    (
        "Internationale Organisation",
        "countries_of_operation",
        "bands",
        10,
        ((0, 0), (2, 5), (3, 8), (5, 10)),
    ),
    (
        "Abdeckung des Buying Centers",
        "relationship_coverage",
        "bands",
        10,
        ((0, 0), (40, 4), (60, 7), (80, 10)),
    ),
)


def _attribute_values(accounts: list[Account], attributes: dict[str, AccountAttribute]) -> None:
    """Values that follow each account's starting tier, with noise, so the run looks real."""
    rows = []
    for account in accounts:
        rng = random.Random(account.erp_number)  # noqa: S311 (demo data, not secrets)  # nosec B311
        rank = account.tier_rank or 4
        strength = {1: 9, 2: 7, 3: 5, 4: 3}[rank]
        workplaces = (
            rng.randint(1100, 9000) if rank < 4 or rng.random() < 0.4 else rng.randint(50, 900)
        )
        values = {
            "it_workplaces": (Decimal(workplaces), None),
            "strategic_importance": (Decimal(max(0, min(10, strength + rng.randint(-2, 1)))), None),
            "cross_selling": (Decimal(max(0, min(10, strength + rng.randint(-3, 2)))), None),
            "exclusive_competitor_contract": (None, rank == 4 and rng.random() < 0.15),
        }
        if rng.random() < 0.6:
            values["customer_requests"] = (Decimal(rng.randint(300, 9000)), None)
        rows.extend(
            AccountAttributeValue(
                account=account, attribute=attributes[key], number=number, flag=flag
            )
            for key, (number, flag) in values.items()
        )
    AccountAttributeValue.objects.bulk_create(rows, ignore_conflicts=True)


def draft_fill(version: CriteriaVersion, *, knockouts: tuple, criteria: tuple) -> None:
    """Add K.O. criteria (name, group, source, operator, threshold) and scored criteria
    (name, source, method, weight, bands as (from value, points)) to a draft."""
    for name, group, source, operator, threshold in knockouts:
        services.knockout_save(
            version=version,
            revision=version.revision,
            name=name,
            group=group,
            source=source,
            operator=operator,
            threshold=threshold,
        )
    for name, source, method, weight, bands in criteria:
        services.criterion_save(
            version=version,
            revision=version.revision,
            name=name,
            source=source,
            method=method,
            weight=Decimal(weight),
            bands=[(Decimal(value), Decimal(points)) for value, points in bands],
        )


def demo_attributes() -> dict[str, AccountAttribute]:
    """The demo's custom attributes by key, created when missing (seeds and the benchmark)."""
    attributes = {}
    for key, name, data_type, unit in ATTRIBUTES:
        attributes[key], _created = AccountAttribute.objects.get_or_create(
            key=key, defaults={"name": name, "data_type": data_type, "unit": unit}
        )
    return attributes


def seed_selection(*, leadership: User) -> dict[str, int]:
    """Create the demo criteria set, release it, run it and approve the run (once)."""
    if CriteriaSet.objects.filter(name=DEMO_SET_NAME).exists():
        return {}
    attributes = demo_attributes()
    accounts = list(Account.objects.order_by("pk"))
    _attribute_values(accounts, attributes)
    criteria_set = services.criteria_set_create(
        name=DEMO_SET_NAME,
        description=(
            "K.O.-Kriterien trennen die Spreu vom Weizen; die Überlebenden werden gewichtet "
            "bewertet und in Gold, Silber und Bronze eingestuft."
        ),
        preset="gold_silver_bronze",
        user=leadership,
    )
    version = criteria_set.versions.get()
    draft_fill(version, knockouts=KNOCKOUTS, criteria=CRITERIA)
    services.version_release(
        version=version, revision=version.revision, user=leadership, change_note="Erste Fassung"
    )
    run = services.selection_run_start(version=version, user=leadership)
    # The demo runs without a worker: compute in this process, then approve as leadership.
    job_execute(job_id=run.job_id, work=services.selection_run_compute)
    run.refresh_from_db()
    changed = services.selection_run_approve(run=run, user=leadership)
    return {"custom attributes": len(attributes), "selection runs": 1, "tier changes": changed}
