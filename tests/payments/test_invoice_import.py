"""Imports of open items (invoices) through the import machinery: German CSV and XLSX with the
mapping suggested from their headers, every row error (and that a file with one writes nothing),
confirm → job → invoices, re-imports that change nothing, a later file that closes the
escalation of an invoice it marks paid, and who may do what on the pages, per import kind."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Account
from kam.models import Job
from kam.services import job_execute
from kpis import services
from kpis.imports import read_table, suggest_mapping
from kpis.models import AnnualFigure, ImportBatch, ImportKind
from kpis.selectors.imports import import_preview
from payments.models import Escalation, EscalationState, Invoice, Resolution
from payments.services import escalation_run_job, escalation_run_start, escalations_run
from payments.services.invoice_import import INVOICES
from tests.kpis.test_import_parsing import xlsx_bytes
from tests.kpis.test_import_services import csv_bytes
from tests.payments.factories import InvoiceFactory

GERMAN_HEADER = (
    "Kunden-Nr.;Belegnummer;Rechnungsbetrag;Währung;Belegdatum;Nettofälligkeit;Zahlbetrag;"
    "Ausgleichsdatum;Bemerkung"
)
GERMAN_MAPPING = {
    "account": "Kunden-Nr.",
    "number": "Belegnummer",
    "amount": "Rechnungsbetrag",
    "currency": "Währung",
    "issue_date": "Belegdatum",
    "due_date": "Nettofälligkeit",
    "amount_paid": "Zahlbetrag",
    "paid_date": "Ausgleichsdatum",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(user, data: bytes, *, source: str = "SAP OP-Liste", **kwargs) -> ImportBatch:
    return services.import_batch_upload(
        user=user,
        source_name=source,
        year=None,
        number_format=kwargs.pop("number_format", "auto"),
        file_name=kwargs.pop("file_name", "offene_posten.csv"),
        data=data,
        kind=ImportKind.INVOICES,
    )


def apply_through_job(batch: ImportBatch, user) -> Job:
    job = services.import_batch_confirm(batch=batch, user=user)
    job_execute(job_id=job.pk, work=services.import_batch_apply_job)
    job.refresh_from_db()
    return job


def invoices() -> dict[tuple, tuple]:
    return {
        (i.account_id, i.number): (
            i.amount, i.currency, i.issue_date, i.due_date, i.amount_paid, i.paid_date, i.version
        )
        for i in Invoice.objects.all()
    }  # fmt: skip


def errors_of(batch: ImportBatch) -> list[tuple]:
    return [(e["row"], e["column"], e["code"]) for e in batch.report["errors"]]


def german_file(cast, *rows: str) -> bytes:
    erp, other = cast.account.erp_number, cast.other_account.erp_number
    return csv_bytes(
        GERMAN_HEADER,
        *(
            rows
            or (
                f"{erp};RE-1001;1.234,56;EUR;01.10.2026;31.10.2026;;;",
                f"{erp};RE-1002;12.000,00;;15.10.2026;14.11.2026;12.000,00;20.11.2026;bezahlt",
                f"{other};RE-1001;99,90;chf;01.11.2026;01.12.2026;50,00;;",
            )
        ),
    )


# Reading files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Kundennummer", "Rechnungsnummer", "Betrag", "Rechnungsdatum", "Fällig am",
             "Bezahlt", "Zahldatum"],
            ["account", "number", "amount", "issue_date", "due_date", "amount_paid",
             "paid_date"],
        ),
        (
            ["Debitor", "Beleg-Nr", "Brutto", "Fälligkeit", "Belegdatum"],
            ["account", "number", "amount", "due_date", "issue_date"],
        ),
        (
            ["Customer number", "Invoice no", "Amount", "Currency", "Issue date", "Due date",
             "Amount paid", "Paid date"],
            ["account", "number", "amount", "currency", "issue_date", "due_date", "amount_paid",
             "paid_date"],
        ),
    ],
)  # fmt: skip
def test_the_mapping_is_suggested_from_german_and_english_headers(headers, expected) -> None:
    mapping = suggest_mapping(INVOICES, headers)
    assert mapping == dict(zip(expected, headers, strict=True))


def test_a_german_csv_is_previewed_with_its_mapping_and_writes_nothing(cast) -> None:
    Account.objects.filter(pk=cast.account.pk).update(currency="EUR")

    batch = upload(cast.finance, german_file(cast))

    assert batch.state == "previewed"
    assert batch.year is None
    assert batch.report["mapping"] == GERMAN_MAPPING
    assert batch.report["number_format_used"] == "de"
    assert (batch.rows, batch.created, batch.updated, batch.unchanged, batch.errors) == (
        3, 3, 0, 0, 0,
    )  # fmt: skip
    assert batch.report["creates"][1] == {
        "row": 3,
        "account": cast.account.pk,
        "erp_number": cast.account.erp_number,
        "number": "RE-1002",
        "amount": "12000.00",
        "currency": "EUR",  # the account's currency: the cell is empty
        "issue_date": "2026-10-15",
        "due_date": "2026-11-14",
        "amount_paid": "12000.00",
        "paid_date": "2026-11-20",
    }
    assert batch.report["creates"][0]["amount"] == "1234.56"
    assert batch.report["creates"][2]["currency"] == "CHF"
    assert not Invoice.objects.exists()


def test_an_xlsx_file_is_read_with_typed_cells(cast) -> None:
    data = xlsx_bytes(
        [
            ["Customer number", "Invoice no", "Amount", "Currency", "Issue date", "Due date",
             "Amount paid"],
            [cast.account.erp_number, 4711, 1234.56, "EUR", datetime.date(2026, 10, 1),
             datetime.date(2026, 10, 31), 0.1 + 0.2],
        ]
    )  # fmt: skip
    assert read_table(data, "op.xlsx").file_format == "xlsx"

    batch = upload(cast.finance, data, file_name="op.xlsx")

    assert batch.errors == 0, batch.report["errors"]
    assert batch.report["creates"] == [
        {
            "row": 2,
            "account": cast.account.pk,
            "erp_number": cast.account.erp_number,
            "number": "4711",
            "amount": "1234.56",
            "currency": "EUR",
            "issue_date": "2026-10-01",
            "due_date": "2026-10-31",
            "amount_paid": "0.30",  # 0.30000000000000004 in the workbook: float noise
            "paid_date": None,
        }
    ]


# Row errors: all or nothing ----------------------------------------------------------------------


def test_every_row_error_is_listed_and_a_file_with_one_writes_nothing(cast) -> None:
    erp = cast.account.erp_number
    stored = InvoiceFactory(account=cast.account, number="RE-1", amount=Decimal("10.00"))
    before = invoices()
    data = german_file(
        cast,
        f"{erp};RE-1;20,00;;01.10.2026;31.10.2026;;;",  # 2: fine (an update)
        "X-999;RE-2;20,00;;01.10.2026;31.10.2026;;;",  # 3: unknown customer
        f"{erp};RE-3;20,00;;31.02.2026;31.10.2026;;;",  # 4: not a date
        f"{erp};RE-4;20,00;;01.10.2026;31.10.2026;25,00;;",  # 5: paid more than the amount
        f"{erp};RE-1;20,00;;01.10.2026;31.10.2026;;;",  # 6: same number as row 2
        f"{erp};RE-5;20,00;;01.10.2026;30.09.2026;;;",  # 7: due before issued
        f"{erp};RE-6;0;;01.10.2026;31.10.2026;;;",  # 8: no amount above zero
        f"{erp};RE-7;12,345;;01.10.2026;31.10.2026;;;",  # 9: a third decimal place
        f"{erp};RE-8;20,00;EURO;01.10.2026;31.10.2026;;01.11.2026;",  # 10: currency, paid date
        f"{erp};;abc;;;31.10.2026;;;",  # 11: no number, not a number, no issue date
        f"{erp};{'R' * 41};1,00;;01.10.2026;31.10.2026;;;",  # 12: number too long
    )

    batch = upload(cast.finance, data)

    assert errors_of(batch) == [
        (3, "Kunden-Nr.", "unknown_account"),
        (4, "Belegdatum", "not_a_date"),
        (5, "Zahlbetrag", "paid_above_amount"),
        (6, "Belegnummer", "duplicate_invoice"),
        (7, "Nettofälligkeit", "due_before_issue"),
        (8, "Rechnungsbetrag", "not_positive"),
        (9, "Rechnungsbetrag", "too_many_places"),
        (10, "Währung", "not_a_currency"),
        (10, "Ausgleichsdatum", "paid_date_unpaid"),
        (11, "Belegnummer", "required"),
        (11, "Rechnungsbetrag", "not_a_number"),
        (11, "Belegdatum", "required"),
        (12, "Belegnummer", "too_long"),
    ]
    with translation.override("en"):
        messages = [e["message"] for e in import_preview(batch=batch).errors]
    assert messages[:5] == [
        "Unknown customer number “X-999”.",
        "“31.02.2026” is not a date (expected like 31.12.2025).",
        "The amount paid 25.00 is more than the invoice's amount 20.00.",
        "Duplicate row: row 2 has the same customer and invoice number.",
        "The due date 2026-09-30 is before the issue date 2026-10-01.",
    ]
    with pytest.raises(ValidationError) as info:
        services.import_batch_confirm(batch=batch, user=cast.finance)
    assert info.value.code == "has_errors"

    # Applied anyway (as the drop folder's run does), the file writes nothing at all, not even
    # its one good row.
    with pytest.raises(ValidationError) as info:
        services.import_batch_apply(batch=batch, user=cast.finance)
    assert info.value.code == "invalid"
    batch.refresh_from_db()
    assert batch.state == "failed"
    assert invoices() == before
    stored.refresh_from_db()
    assert stored.import_batch_id is None


def test_required_columns_must_be_mapped(cast) -> None:
    batch = upload(cast.finance, csv_bytes("Kundennummer;Betrag", f"{cast.account.erp_number};5"))
    assert [(e["code"], e["params"]["field"]) for e in batch.report["errors"]] == [
        ("unmapped", "number"),
        ("unmapped", "issue_date"),
        ("unmapped", "due_date"),
    ]
    with translation.override("en"):
        messages = [e["message"] for e in import_preview(batch=batch).errors]
    assert messages[0] == "No column is mapped to “Invoice number”, which is required."


# Confirm, job, re-import -------------------------------------------------------------------------


def test_confirm_runs_an_invoice_import_job_that_creates_the_invoices(
    cast, django_capture_on_commit_callbacks
) -> None:
    Account.objects.filter(pk=cast.account.pk).update(currency="EUR")
    batch = upload(cast.finance, german_file(cast))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = apply_through_job(batch, cast.finance)

    batch.refresh_from_db()
    assert job.kind == Job.Kind.INVOICE_IMPORT
    assert job.state == Job.State.SUCCEEDED
    assert job.result == {"batch": batch.pk, "created": 3, "updated": 0, "unchanged": 0}
    assert batch.state == "imported"
    assert batch.confirmed_by == cast.finance
    erp, other = cast.account.pk, cast.other_account.pk
    assert invoices() == {
        (erp, "RE-1001"): (Decimal("1234.56"), "EUR", datetime.date(2026, 10, 1),
                           datetime.date(2026, 10, 31), Decimal("0.00"), None, 1),
        (erp, "RE-1002"): (Decimal("12000.00"), "EUR", datetime.date(2026, 10, 15),
                           datetime.date(2026, 11, 14), Decimal("12000.00"),
                           datetime.date(2026, 11, 20), 1),
        (other, "RE-1001"): (Decimal("99.90"), "CHF", datetime.date(2026, 11, 1),
                             datetime.date(2026, 12, 1), Decimal("50.00"), None, 1),
    }  # fmt: skip
    assert set(Invoice.objects.values_list("import_batch", flat=True)) == {batch.pk}
    assert batch.source.mapping == GERMAN_MAPPING
    assert not AnnualFigure.objects.exists()
    # No KPI recompute is queued for invoices (the figures' import queues one).
    assert not [c for c in callbacks if "_recompute_on_commit" in c.__qualname__]


def test_the_same_file_again_changes_nothing(cast) -> None:
    data = german_file(cast)
    first = upload(cast.finance, data)
    apply_through_job(first, cast.finance)
    written = invoices()

    again = upload(cast.finance, data)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 3, 0)
    assert import_preview(batch=again).same_file == first
    apply_through_job(again, cast.finance)

    again.refresh_from_db()
    assert again.state == "imported"
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert invoices() == written  # versions too
    assert set(Invoice.objects.values_list("import_batch", flat=True)) == {first.pk}


def test_a_later_file_updates_with_old_and_new_and_never_deletes(cast) -> None:
    erp = cast.account.erp_number
    apply_through_job(upload(cast.finance, german_file(cast)), cast.finance)
    manual = InvoiceFactory(account=cast.account, number="RE-0999")

    later = upload(
        cast.finance,
        german_file(cast, f"{erp};RE-1001;1.300,00;EUR;01.10.2026;15.11.2026;;;"),
    )
    assert (later.created, later.updated, later.unchanged) == (0, 1, 0)
    assert later.report["updates"][0]["amount"] == ["1234.56", "1300.00"]
    assert later.report["updates"][0]["due_date"] == ["2026-10-31", "2026-11-15"]
    assert later.report["updates"][0]["currency"] == ["EUR", "EUR"]
    preview = import_preview(batch=later)
    assert preview.updates[0].changed == {"amount", "due_date"}
    assert preview.updates[0].old["amount"] == Decimal("1234.56")

    apply_through_job(later, cast.finance)

    invoice = Invoice.objects.get(account=cast.account, number="RE-1001")
    assert (invoice.amount, invoice.due_date) == (Decimal("1300.00"), datetime.date(2026, 11, 15))
    assert invoice.version == 2
    assert invoice.import_batch_id == later.pk
    assert Invoice.objects.count() == 4  # the other two and the manual one are kept
    manual.refresh_from_db()
    assert manual.version == 1


def test_a_file_marking_an_invoice_paid_closes_its_escalation(cast) -> None:
    Account.objects.filter(pk=cast.account.pk).update(tier="Gold", tier_rank=1)
    today = timezone.localdate()
    issued, due = today - datetime.timedelta(days=60), today - datetime.timedelta(days=30)
    erp, day = cast.account.erp_number, "%d.%m.%Y"
    row = f"{erp};RE-7001;5.000,00;EUR;{issued:{day}};{due:{day}};{{paid}};{{paid_on}};"
    apply_through_job(
        upload(cast.finance, german_file(cast, row.format(paid="", paid_on=""))), cast.finance
    )
    escalations_run(on=today)
    escalation = Escalation.objects.get(invoice__number="RE-7001")
    assert escalation.state == EscalationState.KAM_INFORMED

    paid = upload(
        cast.finance,
        german_file(cast, row.format(paid="5.000,00", paid_on=f"{today:{day}}")),
    )
    assert (paid.updated, paid.errors) == (1, 0)
    apply_through_job(paid, cast.finance)

    escalation.refresh_from_db()
    assert escalation.state == EscalationState.RESOLVED
    assert escalation.resolution == Resolution.PAID
    assert escalation.closed_at is not None
    assert Invoice.objects.get(number="RE-7001").is_paid


def test_the_daily_run_imports_the_drop_folders_file(cast, settings, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "op_2026-11-23.csv").write_bytes(german_file(cast))
    settings.PAYMENT_DROP_FOLDER = str(folder)
    job = escalation_run_start(user=None)

    job_execute(job_id=job.pk, work=escalation_run_job)

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result["import"]["state"] == "imported"
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.year, batch.state) == ("invoices", None, "imported")
    assert Invoice.objects.count() == 3


# Pages and who may use them ----------------------------------------------------------------------


def _invoice_batch(cast) -> ImportBatch:
    return upload(cast.finance, german_file(cast))


def _figure_batch(cast) -> ImportBatch:
    return services.import_batch_upload(
        user=cast.leadership,
        source_name="SAP",
        year=2025,
        number_format="auto",
        file_name="umsatz.csv",
        data=csv_bytes("Kundennummer;Umsatz", f"{cast.account.erp_number};5"),
    )


def _upload_post(kind: str) -> dict:
    return {
        "kind": kind,
        "new_source": "ERP",
        "year": 2025,
        "number_format": "auto",
        "file": SimpleUploadedFile("datei.csv", b"Kundennummer;Umsatz\r\nT1;5\r\n"),
    }


# (role, method, URL name, batch kind or query, expected status)
MATRIX = (
    ("finance", "get", "kpis:import-create", "?kind=invoices", 200),
    ("finance", "get", "kpis:import-create", "", 403),
    ("finance", "post", "kpis:import-create", "figures", 403),
    ("leadership", "get", "kpis:import-create", "?kind=invoices", 403),
    ("leadership", "post", "kpis:import-create", "invoices", 403),
    ("admin", "get", "kpis:import-create", "?kind=invoices", 403),
    ("finance", "get", "kpis:import-create", "?kind=bogus", 404),
    ("finance", "get", "kpis:import-detail", "invoices", 200),
    ("leadership", "get", "kpis:import-detail", "invoices", 200),
    ("admin", "get", "kpis:import-detail", "invoices", 200),
    ("viewer", "get", "kpis:import-detail", "invoices", 404),
    ("viewer", "get", "kpis:import-detail", "figures", 200),
    ("kam", "get", "kpis:import-detail", "invoices", 403),
    ("finance", "get", "kpis:import-mapping", "invoices", 200),
    ("leadership", "get", "kpis:import-mapping", "invoices", 403),
    ("finance", "get", "kpis:import-mapping", "figures", 403),
    ("leadership", "post", "kpis:import-confirm", "invoices", 403),
    ("finance", "post", "kpis:import-confirm", "figures", 403),
    ("leadership", "post", "kpis:import-discard", "invoices", 403),
    ("finance", "post", "kpis:import-discard", "invoices", 302),
)


@pytest.mark.parametrize(
    ("role", "method", "name", "target", "expected"), MATRIX, ids=lambda v: str(v)
)
def test_access_per_kind(client, cast, role, method, name, target, expected) -> None:
    client.force_login(cast.by_name(role))
    batches = {"invoices": _invoice_batch(cast), "figures": _figure_batch(cast)}
    before = ImportBatch.objects.count()
    if name == "kpis:import-create":
        url = reverse(name) + (target if method == "get" else "")
        response = client.get(url) if method == "get" else client.post(url, _upload_post(target))
    else:
        batch = batches[target]
        response = getattr(client, method)(reverse(name, args=[batch.pk]))
    assert response.status_code == expected
    if expected == 403 and method == "post":
        assert ImportBatch.objects.count() == before
        assert not ImportBatch.objects.exclude(state="previewed").exists()


def test_the_list_shows_only_the_kinds_the_user_may_read(client, cast) -> None:
    invoice_batch, figure_batch = _invoice_batch(cast), _figure_batch(cast)
    invoice_url, figure_url = invoice_batch.get_absolute_url(), figure_batch.get_absolute_url()

    client.force_login(cast.viewer)
    page = client.get(reverse("kpis:import-list"), HTTP_ACCEPT_LANGUAGE="en")
    assert list(page.context["batches"]) == [figure_batch]
    assert invoice_url not in page.text
    assert "kind" not in page.context["filterset"].form.fields
    assert "?kind=invoices" not in page.text

    client.force_login(cast.finance)
    listing = reverse("kpis:import-list")
    page = client.get(listing, HTTP_ACCEPT_LANGUAGE="en")
    assert set(page.context["batches"]) == {invoice_batch, figure_batch}
    assert f"{reverse('kpis:import-create')}?kind=invoices" in page.text
    assert f'href="{reverse("kpis:import-create")}"' not in page.text  # no figures upload
    only = client.get(listing, {"kind": "invoices"}, HTTP_ACCEPT_LANGUAGE="en")
    assert list(only.context["batches"]) == [invoice_batch]
    assert figure_url not in only.text


def test_finance_uploads_maps_and_imports_invoices_through_the_pages(
    client, cast, eager_jobs
) -> None:
    erp = cast.account.erp_number
    data = csv_bytes(
        "Kunde;Beleg;Wert;Datum;Ziel",
        f"{erp};RE-1;1.234,56;01.10.2026;31.10.2026",
    )
    client.force_login(cast.finance)
    form_page = client.get(reverse("kpis:import-create") + "?kind=invoices")
    assert "year" not in form_page.context["form"].fields
    assert 'name="kind" value="invoices"' in form_page.text

    response = client.post(
        reverse("kpis:import-create"),
        {
            "kind": "invoices",
            "new_source": "DATEV OP",
            "number_format": "auto",
            "file": SimpleUploadedFile("op.csv", data, content_type="text/csv"),
        },
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert (batch.kind, batch.year, batch.source.kind) == ("invoices", None, "invoices")
    assert batch.report["mapping"] == {"number": "Beleg"}  # the others' headers are unknown
    assert batch.errors == 4

    mapping_url = reverse("kpis:import-mapping", args=[batch.pk])
    page = client.get(mapping_url, HTTP_ACCEPT_LANGUAGE="en")
    assert "Customer and breakdown" not in page.text  # invoices have no groups of fields
    response = client.post(
        mapping_url,
        {"number_format": "de", "column_0": "account", "column_1": "number", "column_2": "amount",
         "column_3": "issue_date", "column_4": "due_date"},
    )  # fmt: skip
    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.errors, batch.created) == (0, 1)

    page = client.get(batch.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert "Invoices to create" in page.text
    assert "Import the invoices" in page.text
    assert "RE-1" in page.text
    assert "€1,234.56" in page.text

    response = client.post(reverse("kpis:import-confirm", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.state == "imported"
    assert batch.job.kind == Job.Kind.INVOICE_IMPORT
    invoice = Invoice.objects.get()
    assert (invoice.account, invoice.number, invoice.amount) == (
        cast.account, "RE-1", Decimal("1234.56"),
    )  # fmt: skip
    page = client.get(batch.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").text
    assert "Invoices created" in page
    assert reverse("payments:invoice-list") in page


def test_the_invoice_preview_shows_old_and_new(client, cast) -> None:
    erp = cast.account.erp_number
    apply_through_job(upload(cast.finance, german_file(cast)), cast.finance)
    later = upload(
        cast.finance, german_file(cast, f"{erp};RE-1001;1.234,56;EUR;01.10.2026;15.11.2026;;;")
    )
    client.force_login(cast.leadership)  # reads invoice imports, changes none

    page = client.get(later.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert "Invoices to change" in page.text
    assert "10/31/2026 → <strong>11/15/2026</strong>" in page.text
    assert "Import the invoices" not in page.text  # leadership may not import invoices


def test_the_invoice_page_query_count_does_not_grow_with_rows(
    client, cast, django_assert_max_num_queries
) -> None:
    accounts = [cast.account, cast.other_account]
    rows = [
        f"{accounts[i % 2].erp_number};RE-{i};{i + 1},00;;01.10.2026;31.10.2026;;;"
        for i in range(60)
    ]
    batch = upload(cast.finance, german_file(cast, *rows))
    assert batch.created == 60
    client.force_login(cast.finance)
    with django_assert_max_num_queries(12):
        assert client.get(batch.get_absolute_url()).status_code == 200
