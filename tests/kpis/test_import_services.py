"""Import services: upload and preview (with every row error), the mapping saved per source,
the all-or-nothing apply, idempotence, discard, and broken files that store nothing."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from kam.concurrency import EditConflict
from kam.models import Job
from kam.services import job_execute
from kpis import services
from kpis.models import AccountKpi, AnnualFigure, ClosedYear, ImportBatch, ImportSource
from kpis.selectors.imports import import_preview
from kpis.services.imports import mapping_seen
from tests.kpis.test_import_parsing import xlsx_bytes

YEAR = 2024


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def csv_bytes(*lines: str, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode()


def upload(user, data: bytes, *, year: int = YEAR, source: str = "SAP", **kwargs) -> ImportBatch:
    return services.import_batch_upload(
        user=user,
        source_name=source,
        year=year,
        number_format=kwargs.pop("number_format", "auto"),
        file_name=kwargs.pop("file_name", "export.csv"),
        data=data,
        **kwargs,
    )


def figures() -> dict[tuple, tuple]:
    return {
        (f.account_id, f.year, f.measure, f.product_group, f.region): (f.actual, f.target)
        for f in AnnualFigure.objects.all()
    }


def errors_of(batch: ImportBatch) -> list[tuple]:
    return [(e["row"], e["column"], e["code"]) for e in batch.report["errors"]]


# Upload and preview ----------------------------------------------------------------------------


def test_upload_stores_the_file_and_previews_without_writing(cast, media) -> None:
    account = cast.account
    data = csv_bytes(
        "Kundennummer;Jahr;Produktgruppe;Umsatz;Deckungsbeitrag;Marktanteil",
        f"{account.erp_number};2024;;1.234.567,89;-1.000,50;12,5",
        f"{account.erp_number};2024;Pumpen;400.000;;",
    )

    batch = upload(cast.leadership, data)

    assert batch.state == "previewed"
    assert batch.source.name == "SAP"
    assert batch.file_size == len(data)
    assert len(batch.file_sha256) == 64
    assert len(stored_files(media)) == 1
    assert (batch.rows, batch.created, batch.updated, batch.errors) == (2, 4, 0, 0)
    assert batch.report["number_format_used"] == "de"
    assert batch.report["creates"][0] == {
        "row": 2,
        "account": account.pk,
        "erp_number": account.erp_number,
        "measure": "revenue",
        "product_group": "",
        "region": "",
        "actual": "1234567.89",
        "target": None,
    }
    assert not AnnualFigure.objects.exists()


def test_preview_lists_every_row_error_with_row_and_column(cast) -> None:
    erp = cast.account.erp_number
    data = csv_bytes(
        "Kundennummer;Jahr;Produktgruppe;Umsatz;Umsatz Soll;Marktanteil;Bearbeitungsintensität",
        f"{erp};2024;;100;;10;3",  # 2: fine
        "X-999;2024;;100;;;",  # 3: unknown customer
        f"{cast.other_account.erp_number};2024;Dichtungen;abc;;;",  # 4: not a number
        f"{cast.other_account.erp_number};2024;Pumpen;-5;;;",  # 5: negative volume of revenue
        f"{cast.other_account.erp_number};2024;Ventile;;;120;",  # 6: above 100 %
        f"{cast.other_account.erp_number};2024;Rohre;;;;0",  # 7: below the minimum 1
        f"{erp};2024;;5;;;",  # 8: duplicate of row 2
        f"{cast.other_account.erp_number};2023;Motoren;5;;;",  # 9: wrong year
        f"{cast.other_account.erp_number};2024;;;900;;",  # 10: account-level plan target
        ";2024;Lager;5;;;",  # 11: no customer number
        f"{cast.other_account.erp_number};20x4;Kabel;5;;;",  # 12: not a year
    )

    batch = upload(cast.leadership, data)

    assert errors_of(batch) == [
        (3, "Kundennummer", "unknown_account"),
        (4, "Umsatz", "not_a_number"),
        (5, "Umsatz", "negative"),
        (6, "Marktanteil", "above_maximum"),
        (7, "Bearbeitungsintensität", "below_minimum"),
        (8, "Kundennummer", "duplicate"),
        (9, "Jahr", "wrong_year"),
        (10, "Umsatz Soll", "plan_target"),
        (11, "Kundennummer", "required"),
        (12, "Jahr", "not_a_year"),
    ]
    assert batch.errors == 10
    with translation.override("en"):
        messages = [e["message"] for e in import_preview(batch=batch).errors]
    assert messages == [
        "Unknown customer number “X-999”.",
        "“abc” is not a number (expected like 1.234,56).",
        "-5 is negative; Revenue cannot be negative.",
        "120 is above the maximum of 100 for Market share.",
        "0 is below the minimum of 1 for Processing intensity.",
        "Duplicate row: row 2 has the same customer, year, product group and region.",
        "The year is 2023, but this import is for 2024.",
        "The account's Revenue target is set in the key account plan; leave this cell empty "
        "here or give a product group or region.",
        "A value is required.",
        "“20x4” is not a year between 2000 and 2100.",
    ]
    with pytest.raises(ValidationError) as info:
        services.import_batch_confirm(batch=batch, user=cast.leadership)
    assert info.value.code == "has_errors"


def test_closed_year_and_missing_mapping_are_errors_of_the_whole_file(cast) -> None:
    ClosedYear.objects.create(year=YEAR)
    batch = upload(
        cast.leadership, csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};5")
    )
    assert errors_of(batch) == [(None, "", "closed_year")]

    batch = upload(cast.leadership, csv_bytes("Name;Irgendwas", "A;5"), year=2025)
    assert [e["code"] for e in batch.report["errors"]] == ["unmapped", "no_measures"]


def test_stored_errors_are_capped_but_counted(cast) -> None:
    lines = [f"X-{i};{i}" for i in range(600)]
    batch = upload(cast.leadership, csv_bytes("Kundennummer;Umsatz", *lines))
    assert batch.errors == 600
    assert len(batch.report["errors"]) == 500


def test_english_csv_and_xlsx_are_read(cast) -> None:
    english = upload(
        cast.leadership,
        csv_bytes("Customer number,Year,Revenue", f'{cast.account.erp_number},2024,"1,234.50"'),
    )
    assert english.report["number_format_used"] == "en"
    assert english.report["creates"][0]["actual"] == "1234.50"

    data = xlsx_bytes([["Debitor", "Umsatz", "Retouren"], [cast.account.erp_number, 1234.5, 2]])
    workbook = upload(cast.leadership, data, file_name="export.xlsx")
    assert workbook.report["file_format"] == "xlsx"
    assert [(c["measure"], c["actual"]) for c in workbook.report["creates"]] == [
        ("revenue", "1234.50"),
        ("returns", "2.00"),
    ]


# Broken files: nothing stored, nothing lost ------------------------------------------------------


BROKEN = {
    "empty": b"",
    "header only": b"Kundennummer;Umsatz\r\n",
    "binary": bytes(range(256)) * 8,
    "wrong encoding": b"Kundennummer;Umsatz\nK\x81\x8d;1\n",
    "truncated": b'Kundennummer;Umsatz\nK-1;"12\n',
    "truncated xlsx": xlsx_bytes([["Kundennummer", "Umsatz"], ["K-1", 1]])[:900],
    "10,000 columns": (
        ";".join(f"c{i}" for i in range(10_000)) + "\n" + "1;" * 9_999 + "1\n"
    ).encode(),
    "over the limit": b"Kundennummer;Umsatz\n" + b"K-1;1\n" * 30_000,
}


@override_settings(IMPORT_MAX_BYTES=100_000)
@pytest.mark.parametrize("name", BROKEN)
def test_broken_files_store_nothing_and_lose_nothing(cast, media, name: str) -> None:
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="revenue", actual=7)
    before = figures()

    with pytest.raises(ValidationError) as info:
        upload(cast.leadership, BROKEN[name])

    assert info.value.code
    assert info.value.messages[0]
    assert not ImportBatch.objects.exists()
    assert not ImportSource.objects.exists()
    assert stored_files(media) == []
    assert figures() == before


# Apply -------------------------------------------------------------------------------------------


def _apply_through_job(batch: ImportBatch, user) -> Job:
    job = services.import_batch_confirm(batch=batch, user=user)
    job_execute(job_id=job.pk, work=services.import_batch_apply_job)
    job.refresh_from_db()
    return job


def test_apply_writes_everything_and_records_the_import(
    cast, eager_jobs, django_capture_on_commit_callbacks
) -> None:
    account, other = cast.account, cast.other_account
    data = csv_bytes(
        "Kundennummer;Jahr;Region;Umsatz;Umsatz Soll;Absatz",
        f"{account.erp_number};2024;;1.000,00;;10",
        f"{account.erp_number};2024;Süd;400;450;",
        f"{other.erp_number};2024;;2.000;;",
    )
    batch = upload(cast.leadership, data)

    with django_capture_on_commit_callbacks(execute=True):
        job = _apply_through_job(batch, cast.leadership)

    batch.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.result == {"batch": batch.pk, "created": 4, "updated": 0, "unchanged": 0}
    assert batch.state == "imported"
    assert (batch.created, batch.updated, batch.unchanged) == (4, 0, 0)
    assert batch.confirmed_by == cast.leadership
    assert batch.confirmed_at
    assert figures() == {
        (account.pk, YEAR, "revenue", "", ""): (Decimal("1000.00"), None),
        (account.pk, YEAR, "volume", "", ""): (Decimal("10.00"), None),
        (account.pk, YEAR, "revenue", "", "Süd"): (Decimal("400.00"), Decimal("450.00")),
        (other.pk, YEAR, "revenue", "", ""): (Decimal("2000.00"), None),
    }
    figure = AnnualFigure.objects.get(account=other)
    assert figure.import_batch == batch
    assert figure.updated_by == cast.leadership
    assert batch.source.mapping["revenue.target"] == "Umsatz Soll"
    # The KPIs of the year were recomputed once the import committed.
    assert AccountKpi.objects.get(account=account, year=YEAR).revenue == Decimal(1000)


def test_update_shows_old_and_new_and_empty_cells_keep_stored_values(cast) -> None:
    account = cast.account
    AnnualFigure.objects.create(
        account=account, year=YEAR, measure="market_share", actual=10, target=20
    )
    AnnualFigure.objects.create(account=account, year=YEAR, measure="returns", actual=3)
    data = csv_bytes(
        "Kundennummer;Marktanteil;Marktanteil Ziel;Retouren",
        f"{account.erp_number};12,5;;3",
    )

    batch = upload(cast.leadership, data)
    assert (batch.created, batch.updated, batch.unchanged) == (0, 1, 1)
    assert batch.report["updates"][0]["actual"] == ["10.00", "12.50"]
    assert batch.report["updates"][0]["target"] == ["20.00", "20.00"]

    services.import_batch_apply(batch=batch, user=cast.leadership)

    figure = AnnualFigure.objects.get(account=account, measure="market_share")
    assert (figure.actual, figure.target) == (Decimal("12.50"), Decimal("20.00"))


def test_apply_is_idempotent_and_the_same_file_again_changes_nothing(cast) -> None:
    data = csv_bytes("Kundennummer;Umsatz;Retouren", f"{cast.account.erp_number};100;1,5")
    first = upload(cast.leadership, data)
    job = _apply_through_job(first, cast.leadership)
    written = figures()

    # The job run again (a worker retried it) and the service called again do nothing.
    assert job_execute(job_id=job.pk, work=services.import_batch_apply_job) is None
    services.import_batch_apply_job(job, lambda percent, message="": None)
    services.import_batch_apply(batch=first, user=cast.leadership)
    first.refresh_from_db()
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)

    again = upload(cast.leadership, data)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 2, 0)
    preview = import_preview(batch=again)
    assert preview.same_file == first
    services.import_batch_apply(batch=again, user=cast.leadership)
    again.refresh_from_db()
    assert again.state == "imported"
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert figures() == written
    assert AnnualFigure.objects.get(measure="revenue").import_batch == first


@pytest.mark.parametrize("change", ["year closed", "account deleted", "file lost"])
def test_a_file_that_became_invalid_after_the_preview_writes_nothing(cast, change: str) -> None:
    AnnualFigure.objects.create(account=cast.account, year=YEAR, measure="returns", actual=9)
    before = figures()
    data = csv_bytes(
        "Kundennummer;Umsatz;Retouren",
        f"{cast.account.erp_number};100;1",
        f"{cast.other_account.erp_number};200;2",
    )
    batch = upload(cast.leadership, data)
    assert batch.errors == 0
    if change == "year closed":
        ClosedYear.objects.create(year=YEAR)
    elif change == "account deleted":
        cast.other_account.delete()
    else:
        batch.file.storage.delete(batch.file.name)
    job = services.import_batch_confirm(batch=batch, user=cast.leadership)

    job_execute(job_id=job.pk, work=services.import_batch_apply_job)

    batch.refresh_from_db()
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert batch.state == "failed"
    assert batch.errors >= 1
    assert figures() == {k: v for k, v in before.items() if k[0] in _account_ids()}
    with pytest.raises(ValidationError):
        services.import_batch_apply(batch=batch, user=cast.leadership)


def _account_ids() -> set[int]:
    from accounts.models import Account

    return set(Account.objects.values_list("pk", flat=True))


# Mapping per source, discard ---------------------------------------------------------------------


def test_mapping_is_saved_on_the_source_and_reused_for_its_next_file(cast) -> None:
    data = csv_bytes("Nr;Wert 1;Wert 2;Bemerkung", f"{cast.account.erp_number};100;5;x")
    batch = upload(cast.leadership, data, source="Navision")
    assert [e["code"] for e in batch.report["errors"]] == ["unmapped", "no_measures"]

    batch = services.import_batch_map(
        batch=batch,
        user=cast.leadership,
        mapping={"account": "Nr", "revenue.actual": "Wert 1", "returns.actual": "Wert 2"},
        number_format="de",
    )
    assert (batch.errors, batch.created) == (0, 2)
    assert batch.source.mapping == {
        "account": "Nr",
        "revenue.actual": "Wert 1",
        "returns.actual": "Wert 2",
    }
    services.import_batch_apply(batch=batch, user=cast.leadership)

    next_year = upload(
        cast.leadership,
        csv_bytes("Nr;Wert 1;Wert 2;Bemerkung", f"{cast.other_account.erp_number};300;7;y"),
        source="Navision",
        year=2025,
    )
    assert next_year.errors == 0
    assert next_year.report["mapping"] == batch.source.mapping
    assert next_year.report["number_format"] == "auto"


def test_a_mapping_saved_since_the_form_opened_is_a_conflict_that_names_the_columns(
    cast,
) -> None:
    batch = upload(cast.leadership, csv_bytes("Nr;Wert", f"{cast.account.erp_number};100"))
    seen = mapping_seen(batch.report)
    services.import_batch_map(
        batch=batch,
        user=cast.admin,
        mapping={"account": "Nr", "revenue.actual": "Wert"},
        number_format="de",
    )

    with translation.override("en"), pytest.raises(EditConflict) as conflict:
        services.import_batch_map(
            batch=batch,
            user=cast.leadership,
            mapping={"account": "Nr", "volume.actual": "Wert"},
            number_format="auto",
            started_from=seen,
        )

    assert [(c.label, c.theirs, c.current) for c in conflict.value.changes] == [
        ("Number format", "Detect from the file", "German (1.234,56)"),
        ("Nr", "— not imported —", "Customer number (ERP)"),
        ("Wert", "— not imported —", "Revenue (actual)"),
    ]
    batch.refresh_from_db()
    assert batch.report["mapping"] == {"account": "Nr", "revenue.actual": "Wert"}


def test_mapping_refuses_unknown_columns_and_a_column_twice(cast) -> None:
    batch = upload(
        cast.leadership, csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};1")
    )
    for mapping in ({"account": "Nope"}, {"bogus": "Umsatz"}):
        with pytest.raises(ValidationError):
            services.import_batch_map(
                batch=batch, user=cast.leadership, mapping=mapping, number_format="auto"
            )


def test_discard_deletes_the_file_and_keeps_the_record(
    cast, media, django_capture_on_commit_callbacks
) -> None:
    batch = upload(
        cast.leadership, csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};1")
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.import_batch_discard(batch=batch, user=cast.leadership)

    batch.refresh_from_db()
    assert batch.state == "discarded"
    assert stored_files(media) == []
    with pytest.raises(ValidationError):
        services.import_batch_confirm(batch=batch, user=cast.leadership)
    with pytest.raises(ValidationError):
        services.import_batch_apply(batch=batch, user=cast.leadership)
    assert not AnnualFigure.objects.exists()
