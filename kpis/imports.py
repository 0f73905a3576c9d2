"""Reading uploaded tables (CSV as ERPs write it, XLSX) and their values, for every import.

:func:`read_table` turns a file's bytes into a header and rows of cells, or refuses the whole
file with a ``ValidationError`` that carries a code (file-level problems: size, encoding,
binary, empty, truncated, too many rows or columns). Cells are text, except what an XLSX file
stores typed: numbers arrive as ``Decimal`` and dates as ``date``, so the value parsers take
both. :func:`parse_decimal`, :func:`parse_date` and :func:`parse_year` read one value and
raise :class:`UnreadableValue` for a value they cannot read (the caller turns it into a row error).

An import kind is described by an :class:`ImportSpec`: its fields (with the header synonyms
that suggest a column mapping), a validator of the whole table (returning a :class:`Checked`),
a writer, and the preview rows its report keeps.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol
from babel.numbers import parse_decimal as babel_parse_decimal
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Cell = str | Decimal | datetime.date

DELIMITERS = (";", "\t", ",", "|")
SNIFF_RECORDS = 50
XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and other old Office files
BINARY_SAMPLE = 64 * 1024
MEBIBYTE = 1024 * 1024


class NumberFormat(models.TextChoices):
    AUTO = "auto", _("Detect from the file")
    GERMAN = "de", _("German (1.234,56)")
    ENGLISH = "en", _("English (1,234.56)")


@dataclass
class Table:
    """A file's header and its data rows; ``rows`` holds (row number in the file, cells).

    Row numbers count as a spreadsheet shows the file (blank rows too). Cells are stripped
    text, or ``Decimal``/``date`` where an XLSX file stored a number or a date; a row may be
    shorter or longer than the header.
    """

    headers: list[str]
    rows: list[tuple[int, list[Cell]]]
    file_format: str  # "csv" or "xlsx"
    delimiter: str = ""
    encoding: str = ""

    def column_values(
        self, index: int, limit: int | None = None, *, scan: int | None = None
    ) -> Iterable[Cell]:
        """The non-empty values of one column, in file order: at most ``limit`` of them,
        from the first ``scan`` rows."""
        found = 0
        for _number, cells in self.rows[:scan]:
            if index < len(cells) and cells[index] != "":
                yield cells[index]
                found += 1
                if limit is not None and found >= limit:
                    return


def size_text(size: int) -> str:
    if size % MEBIBYTE == 0:
        return f"{size // MEBIBYTE} MB"
    return str(filesizeformat(size))


def _refuse(message: Promise | str, code: str, **params: Any) -> ValidationError:
    return ValidationError(message, code=code, params=params or None)


def read_table(data: bytes, file_name: str) -> Table:
    """Read a CSV or XLSX file (XLSX recognised by its content, not its name).

    Raises ValidationError (codes ``too_large``, ``empty``, ``old_excel``, ``broken_xlsx``,
    ``binary``, ``encoding``, ``truncated``, ``header_only``, ``too_many_columns``,
    ``too_many_rows``) when the file as a whole cannot be imported.
    """
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise _refuse(
            _("The file is larger than %(limit)s."),
            "too_large",
            limit=size_text(settings.IMPORT_MAX_BYTES),
        )
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _refuse(_("The file is empty."), "empty")
    if data.startswith(XLSX_MAGIC):
        table = _read_xlsx(data)
    elif data.startswith(OLE2_MAGIC):
        raise _refuse(
            _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or CSV."),
            "old_excel",
        )
    else:
        table = _read_csv(data)
    if not table.headers or not any(table.headers):
        raise _refuse(_("The file is empty."), "empty")
    if not table.rows:
        raise _refuse(_("The file has a header row but no data rows."), "header_only")
    return table


def _check_columns(count: int) -> None:
    if count > settings.IMPORT_MAX_COLUMNS:
        raise _refuse(
            _("The file has %(count)s columns; at most %(limit)s are allowed."),
            "too_many_columns",
            count=count,
            limit=settings.IMPORT_MAX_COLUMNS,
        )


def _too_many_rows() -> ValidationError:
    return _refuse(
        _("The file has more than %(limit)s data rows. Split it into smaller files."),
        "too_many_rows",
        limit=settings.IMPORT_MAX_ROWS,
    )


def _headers(raw: Sequence[Any]) -> list[str]:
    """Header texts, stripped; trailing empty columns dropped; blanks and repeats made unique."""
    texts = ["" if value is None else str(value).strip() for value in raw]
    while texts and not texts[-1]:
        texts.pop()
    _check_columns(len(texts))
    seen: dict[str, int] = {}
    headers = []
    for index, text in enumerate(texts, start=1):
        name = text or f"#{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        headers.append(name)
    return headers


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding: UTF-16 or UTF-8 by their byte order mark, else UTF-8, else
    Windows-1252 (what German Excel and many ERPs write)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _refuse(
                _("The file cannot be read as text: its encoding is damaged."), "encoding"
            ) from None
    if b"\x00" in data[:BINARY_SAMPLE]:
        raise _refuse(_("The file is not a CSV or XLSX table (it contains binary data)."), "binary")
    encodings = ("utf-8-sig",) if data.startswith(b"\xef\xbb\xbf") else ("utf-8", "cp1252")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:BINARY_SAMPLE]
        controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\r\n\f")
        if controls > max(8, len(sample) // 100):
            raise _refuse(
                _("The file is not a CSV or XLSX table (it contains binary data)."), "binary"
            )
        return text, encoding
    raise _refuse(
        _(
            "The file cannot be read as text: it is neither UTF-8 nor Windows-1252. "
            "Save it as CSV (UTF-8) and upload it again."
        ),
        "encoding",
    )


def sniff_delimiter(text: str) -> str:
    """The separator among ; TAB , | that splits the first records into the same number of
    columns as the header, the most columns winning; ``;`` when nothing splits."""
    sample = text[: 256 * 1024]
    best, best_score = DELIMITERS[0], (0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        records: list[list[str]] = []
        try:
            for record in reader:
                if record:
                    records.append(record)
                if len(records) > SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        # The sample may end inside the last record; it does not vote.
        body = records[1:-1] if len(records) > 2 else records[1:]
        consistent = sum(1 for record in body if len(record) == width)
        score = (consistent * 100 // max(len(body), 1), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(data: bytes) -> Table:
    text, encoding = _decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    headers: list[str] | None = None
    rows: list[tuple[int, list[Cell]]] = []
    limit = settings.IMPORT_MAX_ROWS
    number = 0
    try:
        for record in reader:
            number += 1
            if headers is None:
                if not record or not any(value.strip() for value in record):
                    continue
                headers = _headers(record)
                continue
            if not record or not any(record):
                continue
            rows.append((number, [value.strip() for value in record]))
            if len(rows) > limit:
                raise _too_many_rows()
    except csv.Error:
        raise _refuse(
            _(
                "Row %(row)s cannot be read: a quoted value is not closed or a quote is "
                "misplaced. The file may be truncated."
            ),
            "truncated",
            row=number + 1 if headers is not None else 1,
        ) from None
    return Table(
        headers=headers or [], rows=rows, file_format="csv", delimiter=delimiter, encoding=encoding
    )


def _xlsx_cell(value: Any) -> Cell:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return str(value).strip()


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    broken = _refuse(
        _(
            "The file looks like an Excel workbook (.xlsx) but cannot be read: it may be "
            "damaged or incomplete."
        ),
        "broken_xlsx",
    )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged workbook fails in zipfile, XML parsing or openpyxl itself
        raise broken from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise _refuse(_("The file is empty."), "empty")
        headers: list[str] | None = None
        rows: list[tuple[int, list[Cell]]] = []
        limit = settings.IMPORT_MAX_ROWS
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if headers is None:
                    if not any(value not in (None, "") for value in values):
                        continue
                    headers = _headers(values)
                    continue
                cells = [_xlsx_cell(value) for value in values]
                if not any(cell != "" for cell in cells):
                    continue
                rows.append((number, cells))
                if len(rows) > limit:
                    raise _too_many_rows()
        except ValidationError:
            raise
        except Exception:
            raise broken from None
    finally:
        workbook.close()
    return Table(headers=headers or [], rows=rows, file_format="xlsx")


class UnreadableValue(ValueError):
    """A cell that does not hold the kind of value asked for (its text is the argument)."""


@dataclass(frozen=True)
class _Locale:
    decimal: str
    group: str
    pattern: re.Pattern[str]
    plain: re.Pattern[str]
    babel: str
    example: str


def _locale(babel_locale: str, example: str) -> _Locale:
    decimal, group = get_decimal_symbol(babel_locale), get_group_symbol(babel_locale)
    d, g = re.escape(decimal), re.escape(group)
    pattern = re.compile(rf"(\d{{1,3}}(?:{g}\d{{3}})+|\d+)(?:{d}(\d+))?|{d}(\d+)")
    plain = re.compile(rf"-?(?:\d{{1,3}}(?:{g}\d{{3}})+|\d+)(?:{d}\d+)?")
    return _Locale(decimal, group, pattern, plain, babel_locale, example)


LOCALES = {
    NumberFormat.GERMAN.value: _locale("de_DE", "1.234,56"),
    NumberFormat.ENGLISH.value: _locale("en_US", "1,234.56"),
}
# Units and currencies an ERP may write beside a number; spaces include the no-break kinds.
_DECORATION = re.compile(r"[\s\u00a0\u202f\u2009']|EUR|€|\$|%|USD|CHF", re.IGNORECASE)
_ANY_SEPARATOR = re.compile(r"[.,]")


def example_number(number_format: str) -> str:
    return LOCALES.get(number_format, LOCALES[NumberFormat.GERMAN]).example


def parse_decimal(value: Cell, number_format: str) -> Decimal:
    """Read a number written in ``number_format`` ("de" 1.234,56 or "en" 1,234.56; "auto"
    guesses from the value itself). Also takes a leading or trailing minus (SAP writes
    ``1.234,56-``), accounting parentheses, and units such as € or %. Raises UnreadableValue."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, datetime.date):
        raise UnreadableValue(value)
    locale = LOCALES.get(number_format)
    if locale is not None and locale.plain.fullmatch(value):
        # The common case, a plain number such as -1.234,56, without the slower steps below.
        return Decimal(value.replace(locale.group, "").replace(locale.decimal, "."))
    text = _DECORATION.sub("", value)
    if not text:
        raise UnreadableValue(value)
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = not negative, text[:-1]
    elif text.startswith(("-", "−")):
        negative, text = not negative, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if locale is None:
        locale = LOCALES[guess_number_format([text]) or NumberFormat.GERMAN]
    match = locale.pattern.fullmatch(text)
    if match:
        whole, fraction, bare_fraction = match.groups()
        if bare_fraction is not None:
            number = Decimal(f"0.{bare_fraction}")
        else:
            whole = whole.replace(locale.group, "")
            number = Decimal(f"{whole}.{fraction}" if fraction else whole)
    else:
        try:
            number = babel_parse_decimal(text, locale=locale.babel, strict=True)
        except (NumberFormatError, InvalidOperation, ValueError):
            raise UnreadableValue(value) from None
        if not number.is_finite():
            raise UnreadableValue(value)
    return -number if negative else number


_GERMAN_ONLY = re.compile(r"^[+-]?\d{1,3}(\.\d{3}){2,}(,\d*)?$|^[+-]?\d*,\d{1,2}$|\d\.\d{3},")
_ENGLISH_ONLY = re.compile(r"^[+-]?\d{1,3}(,\d{3}){2,}(\.\d*)?$|^[+-]?\d*\.\d{1,2}$|\d,\d{3}\.")
_GERMAN_DECIMAL = re.compile(r"^[+-]?\d*,\d+$")
_ENGLISH_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")


def guess_number_format(values: Iterable[Cell]) -> str | None:
    """ "de" or "en" by the values that only one format reads the same way (1.234,56 or 12,5
    against 1,234.56 or 12.5), or None when every value reads alike in both (1.234, 12)."""
    german = english = 0
    for value in values:
        if not isinstance(value, str) or not _ANY_SEPARATOR.search(value):
            continue
        text = _DECORATION.sub("", value).strip("()-+")
        if _GERMAN_ONLY.search(text):
            german += 1
        elif _ENGLISH_ONLY.search(text):
            english += 1
        elif "," in text and "." not in text and not re.search(r",\d{3}$", text):
            german += _GERMAN_DECIMAL.match(text) is not None
        elif "." in text and "," not in text and not re.search(r"\.\d{3}$", text):
            english += _ENGLISH_DECIMAL.match(text) is not None
    if german > english:
        return NumberFormat.GERMAN.value
    if english > german:
        return NumberFormat.ENGLISH.value
    return None


_DATE_FORMATS = {
    NumberFormat.GERMAN.value: ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m/%Y"),
    NumberFormat.ENGLISH.value: ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d.%m.%y"),
}
EXCEL_EPOCH = datetime.date(1899, 12, 30)


def parse_date(value: Cell, number_format: str = NumberFormat.GERMAN) -> datetime.date:
    """Read a date: dd.mm.yyyy (also dd.mm.yy), yyyy-mm-dd, and with slashes day first in
    German files, month first in English ones; an Excel serial number. Raises UnreadableValue."""
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and 1 <= value <= 2958465:
            return EXCEL_EPOCH + datetime.timedelta(days=int(value))
        raise UnreadableValue(value)
    text = value.strip().split(" ")[0].split("T")[0]
    for pattern in _DATE_FORMATS.get(number_format, _DATE_FORMATS[NumberFormat.GERMAN]):
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise UnreadableValue(value)


YEAR_RANGE = (2000, 2100)


def parse_year(value: Cell) -> int:
    """Read a year from 2000 to 2100: a whole number (2024, 2024.0 from Excel) or a date,
    whose year counts. Raises UnreadableValue."""
    if isinstance(value, datetime.date):
        year = value.year
    elif isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise UnreadableValue(value)
        year = int(value)
    else:
        text = value.strip()
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
        elif re.fullmatch(r"\d{4}[.,]0+", text):
            year = int(text[:4])
        else:
            year = parse_date(text).year
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise UnreadableValue(value)
    return year


def cell_text(value: Cell) -> str:
    """A cell as the file shows it (for error messages)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ImportField:
    """One value an import reads from a column: ``synonyms`` are normalised headers
    (see :func:`normalise_header`) that suggest the column."""

    key: str
    label: str | Promise
    required: bool = False
    synonyms: tuple[str, ...] = ()
    group: str | Promise = ""


@dataclass(frozen=True)
class ImportSpec:
    """What an import kind reads and how: its fields, a validator of the whole table
    (``validate(table, mapping, *, year, number_format)`` returns a :class:`Checked`), a writer
    (``write(checked, *, year, batch, user)``, inside the caller's transaction) and ``report``
    (``report(checked)``: the first ``KEEP_CHANGES`` creates and updates as JSON-safe rows for
    the stored preview). ``yearly``: each file holds one year, named at the upload."""

    kind: str
    fields: tuple[ImportField, ...]
    validate: Callable[..., Checked]
    write: Callable[..., Any]
    suggest: Callable[[str], str | None] | None = None
    report: Callable[[Checked], dict[str, list[dict[str, Any]]]] | None = None
    yearly: bool = False

    @property
    def field_keys(self) -> list[str]:
        return [f.key for f in self.fields]

    def field(self, key: str) -> ImportField:
        return next(f for f in self.fields if f.key == key)


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalise_header(text: str) -> str:
    """Lower case, umlauts folded (ä → ae), accents, digits and everything but letters
    dropped: "Kunden-Nr." → "kundennr", "Umsatz Soll 2024" → "umsatzsoll"."""
    text = text.lower().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return "".join(char for char in text if "a" <= char <= "z")


def header_words(text: str) -> list[str]:
    """The header's words, normalised one by one."""
    return [w for w in (normalise_header(part) for part in re.split(r"[^\w]+", text)) if w]


def suggest_mapping(
    spec: ImportSpec, headers: Sequence[str], saved: dict[str, str] | None = None
) -> dict[str, str]:
    """A mapping {field key: header}: the saved mapping where its headers are in the file,
    then, left to right, each remaining header's field by its synonyms; every field and every
    header at most once."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for key, header in (saved or {}).items():
        if key in spec.field_keys and header in headers and header not in taken:
            mapping[key] = header
            taken.add(header)
    synonyms = {synonym: f.key for f in spec.fields for synonym in f.synonyms}
    for header in headers:
        if header in taken:
            continue
        key = synonyms.get(normalise_header(header))
        if key is None and spec.suggest is not None:
            key = spec.suggest(header)
        if key is not None and key not in mapping:
            mapping[key] = header
            taken.add(header)
    return mapping


# What a preview keeps of its changes and of its errors; the counts stay true.
KEEP_CHANGES = 200
KEEP_ERRORS = 500


@dataclass
class RowError:
    """A reason one row (``row`` None: the whole file) cannot be imported, by code; the
    message is rendered in the reader's language from the code and params."""

    row: int | None
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "params": self.params}


@dataclass
class Checked:
    """What a file would do: rows to create and update (each kind's own tuples or objects), how
    many stay unchanged, and the errors (the first ``KEEP_ERRORS``; ``error_count`` counts all).
    ``erp_numbers`` maps the account ids found to their customer numbers, for the preview."""

    rows: int
    number_format: str
    creates: list[Any] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    erp_numbers: dict[int, str] = field(default_factory=dict)

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < KEEP_ERRORS:
            self.errors.append(error)


def text_at(cells: list[Cell], index: int | None) -> str:
    """The cell at ``index`` as text ("" when the column is not mapped or the row is short)."""
    if index is None or index >= len(cells):
        return ""
    value = cells[index]
    return value if isinstance(value, str) else cell_text(value)


def resolve_number_format(table: Table, number_format: str, columns: Iterable[int]) -> str:
    """ "de" or "en": the chosen format, else the one the number ``columns`` reveal, else the
    CSV separator's usual one (English for ",", German otherwise)."""
    if number_format in (NumberFormat.GERMAN, NumberFormat.ENGLISH):
        return str(number_format)
    sample = [v for index in columns for v in table.column_values(index, limit=5000)]
    guessed = guess_number_format(sample)
    if guessed:
        return guessed
    return NumberFormat.ENGLISH.value if table.delimiter == "," else NumberFormat.GERMAN.value


DROP_SUFFIXES = (".csv", ".xlsx")


def newest_drop_file(folder: Path) -> Path | None:
    """The newest .csv or .xlsx file of a folder an ERP drops its extracts into (None: none).
    Raises FileNotFoundError when the folder is missing."""
    if not folder.is_dir():
        raise FileNotFoundError(
            _("The drop folder %(folder)s does not exist or is not a folder.") % {"folder": folder}
        )
    files = [
        path for path in folder.iterdir() if path.suffix.lower() in DROP_SUFFIXES and path.is_file()
    ]
    return max(files, key=lambda path: (path.stat().st_mtime, path.name), default=None)
