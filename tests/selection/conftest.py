"""Selection fixtures built through the real services: a released version and runs of it."""

from decimal import Decimal

import pytest

from accounts.models import PotentialYear
from kam.services import job_execute
from selection import services
from selection.models import AccountAttribute, AttributeType, CriteriaVersion, SelectionRun


@pytest.fixture
def workplaces(db) -> AccountAttribute:
    return AccountAttribute.objects.create(
        key="it_workplaces", name="IT workplaces", data_type=AttributeType.NUMBER, unit="seats"
    )


@pytest.fixture
def released_version(cast, workplaces) -> CriteriaVersion:
    """Gold ≥ 7, Silver ≥ 5.5, Bronze ≥ 4; K.O. more than 1,000 IT workplaces; revenue
    potential (bands, weight 3) and IT workplaces (bands, weight 1). ``cast.account`` has
    2,000 workplaces and 6 M€ potential (Gold); ``cast.other_account`` 500 (K.O. failed)."""
    for account, seats, revenue in (
        (cast.account, 2000, 6_000_000),
        (cast.other_account, 500, 100),
    ):
        services.attribute_value_set(
            account=account, attribute=workplaces, number=Decimal(seats), user=cast.leadership
        )
        PotentialYear.objects.create(
            account=account, year=2027, expected_revenue=revenue, expected_margin=revenue // 5
        )
    criteria_set = services.criteria_set_create(name="Key accounts", user=cast.leadership)
    version = criteria_set.versions.get()
    services.knockout_save(
        version=version,
        revision=version.revision,
        name="More than 1,000 IT workplaces",
        group=1,
        source="attribute:it_workplaces",
        operator="gt",
        threshold=Decimal(1000),
    )
    services.criterion_save(
        version=version,
        revision=version.revision,
        name="Revenue potential",
        source="potential_revenue",
        method="bands",
        weight=Decimal(3),
        bands=[
            (Decimal(0), Decimal(0)),
            (Decimal(1_000_000), Decimal(5)),
            (Decimal(5_000_000), Decimal(10)),
        ],
    )
    services.criterion_save(
        version=version,
        revision=version.revision,
        name="IT workplaces",
        source="attribute:it_workplaces",
        method="bands",
        weight=Decimal(1),
        bands=[(Decimal(0), Decimal(0)), (Decimal(1000), Decimal(6)), (Decimal(5000), Decimal(10))],
    )
    return services.version_release(
        version=version, revision=version.revision, user=cast.leadership
    )


def compute(run: SelectionRun) -> SelectionRun:
    job_execute(job_id=run.job_id, work=services.selection_run_compute)
    run.refresh_from_db()
    return run


@pytest.fixture
def ready_run(cast, released_version) -> SelectionRun:
    """A computed run over all accounts, waiting for review."""
    return compute(services.selection_run_start(version=released_version, user=cast.leadership))


@pytest.fixture
def approved_run(cast, ready_run) -> SelectionRun:
    services.selection_run_approve(run=ready_run, user=cast.leadership)
    ready_run.refresh_from_db()
    return ready_run
