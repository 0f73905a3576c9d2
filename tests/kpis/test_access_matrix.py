"""Role × URL × method → status for every URL of the kpis app (see tests/access.py)."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from kpis.models import AnnualFigure, AnnualRefresh, ImportBatch, ImportKind, ImportSource
from tests.access import EDIT, READ_ALL, ROLES, Row, check_access

YEAR = "2025"
PROGRAMME = {"leadership": 200, "admin": 200, "finance": 200, "viewer": 200}
IMPORTERS_GET = {"leadership": 200, "admin": 200}
IMPORTERS_POST = {"leadership": 302, "admin": 302}

MATRIX = (
    Row("programme dashboard", "get", "kpis:dashboard", 403, PROGRAMME),
    Row("dashboard export", "get", "kpis:dashboard-export tiers csv", 403, PROGRAMME),
    Row("dashboard export xlsx", "get", "kpis:dashboard-export tiers xlsx", 403, PROGRAMME),
    Row("KPI definitions", "get", "kpis:definitions", 200),
    Row("account KPI tab", "get", "accounts:account-kpis {account}", 404, READ_ALL),
    Row("figure grid", "get", f"kpis:figure-grid {{account}} {YEAR}", 404, READ_ALL),
    Row("figure grid save", "post", f"kpis:figure-grid {{account}} {YEAR}", 404, EDIT),
    Row("figure export", "get", "kpis:figure-export {account} csv", 404, READ_ALL),
    Row("import list", "get", "kpis:import-list", 403, PROGRAMME),
    Row("import upload page", "get", "kpis:import-create", 403, IMPORTERS_GET),
    Row("import upload", "post", "kpis:import-create", 403, IMPORTERS_GET),
    Row("import detail", "get", "kpis:import-detail {batch}", 403, PROGRAMME),
    Row("import mapping page", "get", "kpis:import-mapping {batch}", 403, IMPORTERS_GET),
    Row("import confirm", "post", "kpis:import-confirm {batch}", 403, IMPORTERS_POST),
    Row("import confirm by GET", "get", "kpis:import-confirm {batch}", 405),
    Row("import discard", "post", "kpis:import-discard {batch}", 403, IMPORTERS_POST),
    Row("refresh list", "get", "kpis:refresh-list", 403, PROGRAMME),
    Row("refresh start", "post", "kpis:refresh-start", 403, IMPORTERS_GET),
    Row("refresh start by GET", "get", "kpis:refresh-start", 405),
    Row("refresh detail", "get", "kpis:refresh-detail {refresh}", 403, PROGRAMME),
)


@pytest.fixture
def objects(cast):
    AnnualFigure.objects.create(
        account=cast.account, year=int(YEAR), measure="revenue", actual=Decimal(1000)
    )
    source = ImportSource.objects.create(name="ERP", kind=ImportKind.FIGURES)
    batch = ImportBatch(
        source=source,
        kind=ImportKind.FIGURES,
        year=int(YEAR),
        file_name="umsatz.csv",
        file_sha256="0" * 64,
        file_size=10,
        uploaded_by=cast.leadership,
    )
    batch.file.save("umsatz.csv", ContentFile(b"Kundennummer;Jahr\n"), save=False)
    batch.save()
    refresh = AnnualRefresh.objects.create(year=2024, started_by=cast.leadership)
    return {"account": cast.account.pk, "batch": batch.pk, "refresh": refresh.year}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)
