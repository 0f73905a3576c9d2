"""Hostile cells in the import uploads (open items and annual figures): each is refused with a
row error naming it or stored exactly, the preview shows it as text, a file with one refused
row writes nothing, and nothing answers 500."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kam.services import job_execute
from kpis import services as kpi_services
from kpis.models import AnnualFigure, ImportBatch
from payments.models import Invoice
from tests.security.hostile import HUGE, NUL, PAYLOADS, runnable

HEADER = ["Kunden-Nr.", "Belegnummer", "Rechnungsbetrag", "Belegdatum", "Nettofälligkeit"]
MAPPING = {
    "number_format": "de",
    "column_0": "account",
    "column_1": "number",
    "column_2": "amount",
    "column_3": "issue_date",
    "column_4": "due_date",
}
# Invoice numbers short enough to be stored (40 characters at most).
SHORT = {
    "script": "<script>alert(1)</script>",
    "event_handler": '"><b onmouseover=alert(2)>x',
    "javascript_link": "javascript:alert(1)",
    "svg": "<svg onload=alert(1)>",
    "rtl_override": "RE\u202e1001-gpj.exe",
    "sql": "'; DROP TABLE x; --",
    "formula": "=1+2",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, data: bytes) -> ImportBatch:
    response = client.post(
        reverse("kpis:import-create"),
        {
            "kind": "invoices",
            "new_source": "OP <script>alert(1)</script>",
            "number_format": "auto",
            "file": SimpleUploadedFile("op.csv", data, content_type="text/csv"),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    batch = ImportBatch.objects.latest("pk")
    response = client.post(reverse("kpis:import-mapping", args=[batch.pk]), MAPPING)
    assert response.status_code == 302, response.context["form"].errors
    batch.refresh_from_db()
    return batch


def _row(erp: str, number: str) -> list[str]:
    return [erp, number, "1.234,56", "01.10.2026", "31.10.2026"]


def csv_bytes(*rows: list[str]) -> bytes:
    """A German CSV file, quoted as a spreadsheet writes it."""
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def test_hostile_invoice_numbers_are_stored_exactly_and_shown_as_text(
    client, cast, eager_jobs
) -> None:
    client.force_login(cast.finance)
    erp = cast.account.erp_number
    batch = _upload(client, csv_bytes(HEADER, *(_row(erp, n) for n in SHORT.values())))
    assert batch.errors == 0, batch.report["errors"]

    preview = client.get(batch.get_absolute_url())
    assert preview.status_code == 200
    assert runnable(preview.content.decode()) == []
    assert client.post(reverse("kpis:import-confirm", args=[batch.pk])).status_code == 302

    assert set(Invoice.objects.values_list("number", flat=True)) == set(SHORT.values())
    for url in (reverse("payments:invoice-list"), batch.get_absolute_url()):
        page = client.get(url)
        assert page.status_code == 200
        assert runnable(page.content.decode()) == []


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        (HUGE, "too_long"),
        (PAYLOADS["event_handler"] * 3, "too_long"),
    ],
    ids=["huge", "long_payload"],
)
def test_a_hostile_cell_is_a_row_error_and_the_file_writes_nothing(client, cast, cell, code):
    client.force_login(cast.finance)
    erp = cast.account.erp_number
    data = csv_bytes(HEADER, _row(erp, "RE-1"), _row(erp, cell), _row(erp, "RE-3"))

    batch = _upload(client, data)

    assert [(e["row"], e["code"]) for e in batch.report["errors"]] == [(3, code)]
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200
    assert runnable(page.content.decode()) == []
    response = client.post(reverse("kpis:import-confirm", args=[batch.pk]))
    assert response.status_code in {200, 302}
    assert not Invoice.objects.exists()


def test_a_file_with_a_nul_byte_is_refused_with_a_form_error(client, cast) -> None:
    client.force_login(cast.finance)
    data = csv_bytes(HEADER, _row(cast.account.erp_number, NUL))

    response = client.post(
        reverse("kpis:import-create"),
        {
            "kind": "invoices",
            "new_source": "OP",
            "number_format": "auto",
            "file": SimpleUploadedFile("op.csv", data, content_type="text/csv"),
        },
    )

    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["file"]] == ["binary"]
    assert not ImportBatch.objects.exists()


FIGURES_HEADER = ["Kundennummer", "Jahr", "Produktgruppe", "Region", "Umsatz"]


def _figures(cast, data: bytes) -> ImportBatch:
    return kpi_services.import_batch_upload(
        user=cast.leadership,
        source_name="SAP",
        year=2024,
        number_format="de",
        file_name="figures.csv",
        data=data,
    )


def test_hostile_breakdowns_are_stored_exactly_and_shown_as_text(client, cast) -> None:
    erp = cast.account.erp_number
    names = list(SHORT.values())
    data = csv_bytes(
        FIGURES_HEADER,
        *([erp, "2024", name, names[-1 - i], str(100 + i)] for i, name in enumerate(names)),
    )
    batch = _figures(cast, data)
    assert batch.errors == 0, batch.report["errors"]
    client.force_login(cast.leadership)
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200
    assert runnable(page.content.decode()) == []

    job = kpi_services.import_batch_confirm(batch=batch, user=cast.leadership)
    job_execute(job_id=job.pk, work=kpi_services.import_batch_apply_job)

    stored = set(AnnualFigure.objects.values_list("product_group", "region"))
    assert stored == {(name, names[-1 - i]) for i, name in enumerate(names)}
    page = client.get(reverse("accounts:account-kpis", args=[cast.account.pk]))
    assert page.status_code == 200
    assert runnable(page.content.decode()) == []


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        (["Pumpen", "", "=1+2"], "Umsatz", "not_a_number"),
        (["Pumpen", "", '=HYPERLINK("http://evil.example")'], "Umsatz", "not_a_number"),
        ([HUGE, "", "5"], "Produktgruppe", "too_long"),
        (["", PAYLOADS["svg"] * 2, "5"], "Region", "too_long"),
    ],
    ids=["formula", "hyperlink", "huge", "long_payload"],
)
def test_a_hostile_figure_cell_is_a_row_error_and_writes_nothing(cast, cells, column, code):
    erp = cast.account.erp_number
    data = csv_bytes(FIGURES_HEADER, [erp, "2024", "Ventile", "", "7"], [erp, "2024", *cells])

    batch = _figures(cast, data)

    assert [(e["row"], e["column"], e["code"]) for e in batch.report["errors"]] == [
        (3, column, code)
    ]
    with pytest.raises(ValidationError):
        kpi_services.import_batch_apply(batch=batch, user=cast.leadership)
    assert not AnnualFigure.objects.exists()
