"""Reading import files: German and English CSV, XLSX, and every kind of broken file, each
refused with a clear error; the value parsers and the suggested column mapping."""

import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from kpis.imports import (
    UnreadableValue,
    guess_number_format,
    parse_date,
    parse_decimal,
    parse_year,
    read_table,
    sniff_delimiter,
    suggest_mapping,
)
from kpis.services.figure_import import FIGURES


def _refused(data: bytes, name: str = "file.csv") -> ValidationError:
    with pytest.raises(ValidationError) as info:
        read_table(data, name)
    return info.value


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Formats ---------------------------------------------------------------------------------------


def test_german_csv_with_bom_semicolons_and_quoted_separators() -> None:
    text = (
        "Kundennummer;Jahr;Produktgruppe;Umsatz\r\n"
        'K-1;2024;"Pumpen; Ventile";"1.234.567,89"\r\n'
        "K-2;2024;;12,5\r\n"
    )
    table = read_table(b"\xef\xbb\xbf" + text.encode(), "export.csv")

    assert table.headers == ["Kundennummer", "Jahr", "Produktgruppe", "Umsatz"]
    assert table.delimiter == ";"
    assert table.encoding == "utf-8-sig"
    assert table.rows == [
        (2, ["K-1", "2024", "Pumpen; Ventile", "1.234.567,89"]),
        (3, ["K-2", "2024", "", "12,5"]),
    ]
    assert parse_decimal(table.rows[0][1][3], "de") == Decimal("1234567.89")


def test_windows_1252_umlauts() -> None:
    data = "Kunde;Region;Umsatz\nK-1;Süd-Österreich;1.000\n".encode("cp1252")
    table = read_table(data, "export.csv")
    assert table.encoding == "cp1252"
    assert table.rows[0][1][1] == "Süd-Österreich"


def test_utf8_without_bom() -> None:
    table = read_table("Kunde;Gebiet\nK-1;Nürnberg\n".encode(), "x.csv")
    assert table.encoding == "utf-8"
    assert table.rows[0][1] == ["K-1", "Nürnberg"]


def test_quoted_field_across_lines_counts_as_one_row() -> None:
    table = read_table(b'Kunde;Notiz;Umsatz\nK-1;"zwei\nZeilen";1\nK-2;x;2\n', "x.csv")
    assert [number for number, _cells in table.rows] == [2, 3]
    assert table.rows[0][1][1] == "zwei\nZeilen"


def test_english_csv_with_commas_and_quoted_thousands() -> None:
    data = b'Customer number,Year,Revenue\nK-1,2024,"1,234.56"\nK-2,2024,99.5\n'
    table = read_table(data, "export.csv")
    assert table.delimiter == ","
    assert table.rows[0][1] == ["K-1", "2024", "1,234.56"]
    assert guess_number_format(v for _n, c in table.rows for v in c[2:]) == "en"
    assert parse_decimal("1,234.56", "en") == Decimal("1234.56")


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a\tb\tc\n1,5\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ("a;b;c\n1,5;2,5;3\n", ";"),
        ("a,b,c\n1;x,2,3\n", ","),
        ("only\n1\n", ";"),
    ],
)
def test_delimiter_is_sniffed(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_utf16_with_bom_as_excel_writes_unicode_text() -> None:
    table = read_table("Kunde\tUmsatz\nK-1\t5\n".encode("utf-16"), "unicode.txt")
    assert table.rows == [(2, ["K-1", "5"])]


def test_xlsx_typed_cells_and_blank_rows() -> None:
    data = xlsx_bytes(
        [
            ["Kundennummer", "Jahr", "Umsatz", "Stichtag", None],
            [10023, 2024, 1234.5, datetime.datetime(2024, 12, 31), None],
            [None, None, None, None, None],
            ["K-2", "2024", "1.000,00", None, None],
        ]
    )
    table = read_table(data, "upload.bin")  # recognised by content, not by name

    assert table.file_format == "xlsx"
    assert table.headers == ["Kundennummer", "Jahr", "Umsatz", "Stichtag"]
    number, cells = table.rows[0]
    assert number == 2
    assert cells[:4] == [
        Decimal(10023),
        Decimal(2024),
        Decimal("1234.5"),
        datetime.date(2024, 12, 31),
    ]
    assert table.rows[1][0] == 4
    assert parse_year(cells[1]) == 2024
    assert parse_decimal(cells[2], "de") == Decimal("1234.5")


def test_blank_and_repeated_headers_become_unique() -> None:
    table = read_table(b"Umsatz;;Umsatz;\n1;2;3;\n", "x.csv")
    assert table.headers == ["Umsatz", "#2", "Umsatz (2)"]


# Broken files ----------------------------------------------------------------------------------


def test_empty_file() -> None:
    assert _refused(b"").code == "empty"
    assert _refused(b"\xef\xbb\xbf\r\n\r\n").code == "empty"


def test_header_only() -> None:
    error = _refused(b"Kundennummer;Umsatz\r\n")
    assert error.code == "header_only"
    with translation.override("en"):
        assert error.messages == ["The file has a header row but no data rows."]


def test_binary_file() -> None:
    error = _refused(bytes(range(256)) * 10, "image.csv")
    assert error.code == "binary"


def test_old_excel_file() -> None:
    assert (
        _refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "x.xls").code == "old_excel"
    )


def test_wrong_encoding() -> None:
    # 0x81 and 0x8d are neither UTF-8 nor defined in Windows-1252.
    error = _refused(b"Kunde;Umsatz\nK\x81\x8d;1\n")
    assert error.code == "encoding"
    with translation.override("en"):
        assert "neither UTF-8 nor Windows-1252" in error.messages[0]


def test_truncated_csv_with_an_open_quote() -> None:
    error = _refused(b'Kunde;Umsatz\nK-1;1\nK-2;"12\n')
    assert error.code == "truncated"
    with translation.override("en"):
        assert error.messages[0].startswith("Row 3 cannot be read")


def test_truncated_xlsx() -> None:
    data = xlsx_bytes([["Kunde", "Umsatz"], ["K-1", 1]])
    assert _refused(data[: len(data) // 2], "x.xlsx").code == "broken_xlsx"


def test_zip_that_is_no_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert _refused(buffer.getvalue(), "x.xlsx").code == "broken_xlsx"


def test_ten_thousand_columns() -> None:
    header = ";".join(f"c{i}" for i in range(10_000))
    error = _refused(f"{header}\n{';'.join('1' * 10_000)}\n".encode())
    assert error.code == "too_many_columns"
    with translation.override("en"):
        assert error.messages == ["The file has 10000 columns; at most 200 are allowed."]


def test_ten_thousand_columns_in_xlsx() -> None:
    data = xlsx_bytes([[f"c{i}" for i in range(10_000)], list(range(10_000))])
    assert _refused(data, "wide.xlsx").code == "too_many_columns"


@override_settings(IMPORT_MAX_BYTES=1024 * 1024)
def test_over_the_size_limit() -> None:
    error = _refused(b"a;b\n" + b"1;2\n" * 300_000)
    assert error.code == "too_large"
    with translation.override("en"):
        assert error.messages == ["The file is larger than 1 MB."]


@override_settings(IMPORT_MAX_ROWS=3)
def test_too_many_rows() -> None:
    read_table(b"a\n1\n2\n3\n", "x.csv")
    assert _refused(b"a\n1\n2\n3\n4\n").code == "too_many_rows"


# Values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number_format", "expected"),
    [
        ("1.234,56", "de", "1234.56"),
        ("1234,5", "de", "1234.5"),
        ("1.234", "de", "1234"),
        ("-12,5", "de", "-12.5"),
        ("1.234,56-", "de", "-1234.56"),  # SAP's trailing minus
        ("(99,00)", "de", "-99"),
        ("12,5 %", "de", "12.5"),
        ("1.000 €", "de", "1000"),
        ("1\u00a0234,5", "de", "1234.5"),
        ("1,234.56", "en", "1234.56"),
        ("1234.5", "en", "1234.5"),
        ("1,234", "en", "1234"),
        ("1.234,56", "auto", "1234.56"),
        ("1,234.56", "auto", "1234.56"),
    ],
)
def test_parse_decimal(text: str, number_format: str, expected: str) -> None:
    assert parse_decimal(text, number_format) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "number_format"), [("1234.56", "de"), ("abc", "de"), ("1,2,3", "en"), ("", "de")]
)
def test_parse_decimal_refuses(text: str, number_format: str) -> None:
    with pytest.raises(UnreadableValue):
        parse_decimal(text, number_format)


def test_guess_number_format() -> None:
    assert guess_number_format(["1.234", "12,50"]) == "de"
    assert guess_number_format(["1,234.00", "7"]) == "en"
    assert guess_number_format(["1.234", "12"]) is None


def test_parse_date_and_year() -> None:
    assert parse_date("31.12.2024") == datetime.date(2024, 12, 31)
    assert parse_date("2024-03-01", "en") == datetime.date(2024, 3, 1)
    assert parse_date("03/01/2024", "en") == datetime.date(2024, 3, 1)
    assert parse_date("03/01/2024", "de") == datetime.date(2024, 1, 3)
    assert parse_date(Decimal(45657)) == datetime.date(2024, 12, 31)
    assert parse_year("2024") == 2024
    assert parse_year(Decimal("2024.0")) == 2024
    assert parse_year("31.12.2024") == 2024
    for bad in ("24", "1999", "20x4", Decimal("2024.5")):
        with pytest.raises(UnreadableValue):
            parse_year(bad)


# Mapping suggestions ---------------------------------------------------------------------------


def test_mapping_is_suggested_from_german_headers() -> None:
    headers = [
        "Kunden-Nr.", "Geschäftsjahr", "Warengruppe", "Vertriebsgebiet", "Umsatz", "Umsatz Soll",
        "Umsatz Vorjahr", "Absatz (Stk)", "DB", "Deckungsbeitrag Plan", "Marktanteil %",
        "Retouren", "Kundenname",
    ]  # fmt: skip
    assert suggest_mapping(FIGURES, headers) == {
        "account": "Kunden-Nr.",
        "year": "Geschäftsjahr",
        "product_group": "Warengruppe",
        "region": "Vertriebsgebiet",
        "revenue.actual": "Umsatz",
        "revenue.target": "Umsatz Soll",
        "volume.actual": "Absatz (Stk)",
        "contribution_margin.actual": "DB",
        "contribution_margin.target": "Deckungsbeitrag Plan",
        "market_share.actual": "Marktanteil %",
        "returns.actual": "Retouren",
    }


def test_mapping_is_suggested_from_english_headers_and_the_saved_mapping_wins() -> None:
    headers = ["Debitor", "Fiscal year", "Revenue", "Revenue target", "Menge", "Qty"]
    saved = {"volume.actual": "Qty", "account": "Old header"}
    assert suggest_mapping(FIGURES, headers, saved) == {
        "volume.actual": "Qty",
        "account": "Debitor",
        "year": "Fiscal year",
        "revenue.actual": "Revenue",
        "revenue.target": "Revenue target",
    }
