"""Import pages: the access matrix, the whole flow (upload → preview → fix the mapping →
confirm → imported), refused files on the form, progress polling and query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Account
from kam.models import Job
from kpis import services
from kpis.models import AnnualFigure, ImportBatch
from tests.access import ROLES, Row, check_access
from tests.factories import AccountFactory
from tests.kpis.test_import_services import csv_bytes, upload

READ = {"leadership": 200, "finance": 200, "viewer": 200, "admin": 200}
MANAGE = {"leadership": 200, "admin": 200}
MANAGE_REDIRECT = {"leadership": 302, "admin": 302}
# Finance imports invoices, so a missing import (of whatever kind) is not found for them too.
MISSING = {"leadership": 404, "admin": 404, "finance": 404}

MATRIX = (
    Row("list", "get", "kpis:import-list", 403, READ),
    Row("detail", "get", "kpis:import-detail {batch}", 403, READ),
    Row("detail missing", "get", "kpis:import-detail {missing}", 403, dict.fromkeys(READ, 404)),
    Row("upload page", "get", "kpis:import-create", 403, MANAGE),
    Row("upload", "post", "kpis:import-create", 403, MANAGE),
    Row("mapping page", "get", "kpis:import-mapping {batch}", 403, MANAGE),
    Row("mapping", "post", "kpis:import-mapping {batch}", 403, MANAGE),
    Row("mapping missing", "get", "kpis:import-mapping {missing}", 403, MISSING),
    Row("confirm", "post", "kpis:import-confirm {batch}", 403, MANAGE_REDIRECT),
    Row("confirm by GET", "get", "kpis:import-confirm {batch}", 405),
    Row("confirm missing", "post", "kpis:import-confirm {missing}", 403, MISSING),
    Row("discard", "post", "kpis:import-discard {batch}", 403, MANAGE_REDIRECT),
    Row("discard by GET", "get", "kpis:import-discard {batch}", 405),
)  # fmt: skip


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def objects(cast):
    batch = upload(
        cast.leadership, csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};5")
    )
    return {"batch": batch.pk, "missing": 999_999}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


def _detail(batch: ImportBatch) -> str:
    return reverse("kpis:import-detail", args=[batch.pk])


def test_upload_preview_fix_mapping_confirm_and_imported(client, cast, eager_jobs) -> None:
    erp = cast.account.erp_number
    data = csv_bytes(
        "Nr;Wert;Retouren",
        f"{erp};1.234,50;2",
        f"{cast.other_account.erp_number};99;",
    )
    client.force_login(cast.leadership)

    response = client.post(
        reverse("kpis:import-create"),
        {
            "new_source": "SAP Jahresextrakt",
            "year": 2024,
            "number_format": "auto",
            "file": SimpleUploadedFile("Umsatz 2024.csv", data, content_type="text/csv"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(batch)
    page = client.get(_detail(batch), HTTP_ACCEPT_LANGUAGE="en").text
    assert "No column is mapped to “Customer number (ERP)”, which is required." in page
    assert 'disabled aria-describedby="confirm-blocked"' in page
    assert "Empty cells mean “no value in the file”" in page

    mapping_url = reverse("kpis:import-mapping", args=[batch.pk])
    page = client.get(mapping_url, HTTP_ACCEPT_LANGUAGE="en").text
    assert "1.234,50" in page  # the first values of each column
    response = client.post(
        mapping_url,
        {"number_format": "de", "column_0": "account", "column_1": "revenue.actual",
         "column_2": "returns.actual"},
    )  # fmt: skip
    assert response.status_code == 302

    page = client.get(_detail(batch), HTTP_ACCEPT_LANGUAGE="en")
    assert page.context["preview"].counts == {
        "rows": 2, "create": 3, "update": 0, "unchanged": 0, "errors": 0,
    }  # fmt: skip
    assert "Figures to create" in page.text
    assert cast.account.name in page.text

    response = client.post(reverse("kpis:import-confirm", args=[batch.pk]))
    assert response.status_code == 302

    batch.refresh_from_db()
    assert batch.state == "imported"
    assert batch.job.state == Job.State.SUCCEEDED
    assert AnnualFigure.objects.count() == 3
    page = client.get(_detail(batch), HTTP_ACCEPT_LANGUAGE="en").text
    assert "What the import wrote" in page
    assert "Figures created" in page
    listing = client.get(reverse("kpis:import-list"), HTTP_ACCEPT_LANGUAGE="en").text
    assert "Umsatz 2024.csv" in listing
    assert batch.file_sha256[:12] in listing


def test_a_broken_file_comes_back_on_the_form_and_stores_nothing(client, cast) -> None:
    client.force_login(cast.leadership)
    response = client.post(
        reverse("kpis:import-create"),
        {
            "new_source": "SAP",
            "year": 2024,
            "number_format": "auto",
            "file": SimpleUploadedFile("leer.csv", b"Kundennummer;Umsatz\r\n"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "The file has a header row but no data rows." in response.text
    assert response.context["form"]["new_source"].value() == "SAP"
    assert not ImportBatch.objects.exists()


def test_a_file_over_the_limit_is_refused_by_the_form(client, cast, settings) -> None:
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    client.force_login(cast.leadership)
    response = client.post(
        reverse("kpis:import-create"),
        {
            "new_source": "SAP",
            "year": 2024,
            "number_format": "auto",
            "file": SimpleUploadedFile("big.csv", b"a;b\n" + b"1;2\n" * 300_000),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "The file is larger than 1 MB." in response.text
    assert not ImportBatch.objects.exists()


def test_an_existing_source_is_offered_and_its_mapping_used(client, cast) -> None:
    first = upload(cast.leadership, csv_bytes("Nr;Wert", f"{cast.account.erp_number};1"))
    services.import_batch_map(
        batch=first,
        user=cast.leadership,
        mapping={"account": "Nr", "revenue.actual": "Wert"},
        number_format="auto",
    )
    client.force_login(cast.leadership)
    form = client.get(reverse("kpis:import-create")).context["form"]
    assert list(form.fields["source"].queryset) == [first.source]

    client.post(
        reverse("kpis:import-create"),
        {
            "source": first.source.pk,
            "year": 2025,
            "number_format": "auto",
            "file": SimpleUploadedFile(
                "b.csv", csv_bytes("Nr;Wert", f"{cast.account.erp_number};2")
            ),
        },
    )
    second = ImportBatch.objects.latest("pk")
    assert second.source == first.source
    assert (second.errors, second.created) == (0, 1)


def test_the_mapping_form_refuses_a_field_twice_and_a_missing_account(client, cast) -> None:
    batch = upload(cast.leadership, csv_bytes("Nr;Wert;Wert2", f"{cast.account.erp_number};1;2"))
    client.force_login(cast.leadership)
    url = reverse("kpis:import-mapping", args=[batch.pk])

    twice = client.post(
        url,
        {"number_format": "auto", "column_0": "account", "column_1": "revenue.actual",
         "column_2": "revenue.actual"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert twice.status_code == 200
    assert "“Revenue (actual)” is already the column “Wert”." in twice.text

    missing = client.post(
        url, {"number_format": "auto", "column_1": "revenue.actual"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Pick the column of “Customer number (ERP)”: it is required." in missing.text
    batch.refresh_from_db()
    assert batch.report["mapping"] == {}  # unchanged: nothing was saved


def test_discard_from_the_page(client, cast) -> None:
    batch = upload(
        cast.leadership, csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};5")
    )
    client.force_login(cast.leadership)
    client.post(reverse("kpis:import-discard", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.state == "discarded"
    page = client.get(_detail(batch), HTTP_ACCEPT_LANGUAGE="en").text
    assert "This import was discarded" in page
    assert f"kpis/imports/{batch.pk}/confirm/" not in page


def test_progress_is_polled_while_importing_then_the_page_reloads(client, cast) -> None:
    batch = upload(
        cast.leadership, csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};5")
    )
    services.import_batch_confirm(batch=batch, user=cast.leadership)  # no worker in this test
    client.force_login(cast.viewer)

    partial = client.get(_detail(batch), HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert partial.status_code == 200
    assert 'id="import-progress"' in partial.text
    assert "<html" not in partial.text
    full = client.get(_detail(batch), HTTP_ACCEPT_LANGUAGE="en").text
    assert 'data-hx-trigger="every 1s"' in full

    services.import_batch_apply(batch=batch, user=cast.leadership)
    done = client.get(_detail(batch), HTTP_HX_REQUEST="true")
    assert done.status_code == 204
    assert done["HX-Refresh"] == "true"


def test_pages_query_counts_do_not_grow_with_rows(
    client, cast, django_assert_max_num_queries
) -> None:
    accounts = AccountFactory.create_batch(30)
    for account in accounts[:10]:
        AnnualFigure.objects.create(account=account, year=2024, measure="revenue", actual=1)
    lines = [f"{a.erp_number};{i + 5}" for i, a in enumerate(accounts)] + ["X-1;1"]
    for _ in range(3):
        batch = upload(cast.leadership, csv_bytes("Kundennummer;Umsatz", *lines))
    assert (batch.created, batch.updated, batch.errors) == (20, 10, 1)
    client.force_login(cast.leadership)

    with django_assert_max_num_queries(12):
        page = client.get(_detail(batch))
    assert page.status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("kpis:import-list")).status_code == 200
    assert Account.objects.count() == 32
