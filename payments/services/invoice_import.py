"""The invoices import kind (open items from the ERP): its fields with the German and English
header synonyms that suggest a mapping, the row checks of a preview, and the bulk upsert that
writes a confirmed import and closes the escalations of invoices it marks paid.

Invoices are keyed by account and invoice number. An import never deletes an invoice missing
from its file; importing the same file again changes nothing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import Account
from kam.models import User
from kpis.imports import (
    KEEP_CHANGES,
    Cell,
    Checked,
    ImportField,
    ImportSpec,
    NumberFormat,
    RowError,
    Table,
    UnreadableValue,
    cell_text,
    example_number,
    parse_date,
    parse_decimal,
    resolve_number_format,
    text_at,
)
from kpis.models import ImportBatch, ImportKind
from payments.models import Invoice
from payments.services.daily import escalations_close_paid

ACCOUNT, NUMBER, AMOUNT, CURRENCY = "account", "number", "amount", "currency"
ISSUE_DATE, DUE_DATE, AMOUNT_PAID, PAID_DATE = "issue_date", "due_date", "amount_paid", "paid_date"
NUMBER_LENGTH = Invoice._meta.get_field("number").max_length
CENT = Decimal("0.01")
LARGEST = Decimal(10) ** 12  # Invoice's amounts: 14 digits, 2 of them decimals
# An Excel number cell holds a binary float (0.1 + 0.2 = 0.30000000000000004); such noise is
# rounded to the cent, a typed third decimal place is an error.
FLOAT_NOISE = Decimal("0.000001")
LOOKUP_CHUNK = 2000
CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")
DATE_EXAMPLES = {NumberFormat.GERMAN.value: "31.12.2025", NumberFormat.ENGLISH.value: "2025-12-31"}

INVOICE_SYNONYMS: dict[str, tuple[str, ...]] = {
    ACCOUNT: ("kundennummer", "kundennr", "kundenno", "kdnr", "kdnummer", "debitor", "debitornr",
              "debitorennr", "debitorennummer", "debitornummer", "customernumber", "customerno",
              "customerid", "accountnumber", "accountno", "erpnumber", "erpnr"),
    NUMBER: ("rechnungsnummer", "rechnungsnr", "renr", "rechnung", "belegnr", "belegnummer",
             "beleg", "invoiceno", "invoicenumber", "invoicenr", "invoice", "documentnumber",
             "documentno"),
    AMOUNT: ("betrag", "brutto", "bruttobetrag", "rechnungsbetrag", "betraghw",
             "betraginhauswaehrung", "amount", "invoiceamount", "grossamount", "total"),
    CURRENCY: ("waehrung", "whrg", "waehrungsschluessel", "currency", "curr"),
    ISSUE_DATE: ("rechnungsdatum", "belegdatum", "issuedate", "invoicedate", "documentdate"),
    DUE_DATE: ("faelligkeit", "faelligam", "faellig", "faelligkeitsdatum", "nettofaelligkeit",
               "nettofaelligkeitsdatum", "duedate", "netduedate", "due"),
    AMOUNT_PAID: ("bezahlt", "gezahlt", "bezahlterbetrag", "zahlbetrag", "amountpaid",
                  "paidamount", "paid"),
    PAID_DATE: ("zahldatum", "zahlungsdatum", "bezahltam", "ausgleichsdatum", "ausgleich",
                "paiddate", "paidon", "paymentdate", "clearingdate"),
}  # fmt: skip

INVOICE_FIELDS = (
    ImportField(
        ACCOUNT,
        gettext_lazy("Customer number (ERP)"),
        required=True,
        synonyms=INVOICE_SYNONYMS[ACCOUNT],
    ),
    ImportField(
        NUMBER, gettext_lazy("Invoice number"), required=True, synonyms=INVOICE_SYNONYMS[NUMBER]
    ),
    ImportField(AMOUNT, gettext_lazy("Amount"), required=True, synonyms=INVOICE_SYNONYMS[AMOUNT]),
    ImportField(CURRENCY, gettext_lazy("Currency"), synonyms=INVOICE_SYNONYMS[CURRENCY]),
    ImportField(
        ISSUE_DATE, gettext_lazy("Issue date"), required=True, synonyms=INVOICE_SYNONYMS[ISSUE_DATE]
    ),
    ImportField(
        DUE_DATE, gettext_lazy("Due date"), required=True, synonyms=INVOICE_SYNONYMS[DUE_DATE]
    ),
    ImportField(AMOUNT_PAID, gettext_lazy("Amount paid"), synonyms=INVOICE_SYNONYMS[AMOUNT_PAID]),
    ImportField(PAID_DATE, gettext_lazy("Paid on"), synonyms=INVOICE_SYNONYMS[PAID_DATE]),
)


@dataclass(frozen=True)
class InvoiceValues:
    """What a file's row sets on an invoice (the key, account and number, aside)."""

    amount: Decimal
    currency: str
    issue_date: datetime.date
    due_date: datetime.date
    amount_paid: Decimal
    paid_date: datetime.date | None


VALUE_FIELDS = tuple(InvoiceValues.__dataclass_fields__)


@dataclass(frozen=True)
class InvoiceChange:
    """An invoice a file creates (``pk`` None) or changes (``old``: its stored values)."""

    row: int
    account_id: int
    number: str
    values: InvoiceValues
    pk: int | None = None
    old: InvoiceValues | None = None


def _accounts(numbers: set[str]) -> dict[str, tuple[int, str]]:
    """{customer number: (account id, currency)} of the numbers that exist."""
    found: dict[str, tuple[int, str]] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        for erp, pk, currency in Account.objects.filter(erp_number__in=chunk).values_list(
            "erp_number", "pk", "currency"
        ):
            found[erp] = (pk, currency)
    return found


def _existing(account_ids: set[int]) -> dict[tuple[int, str], tuple[int, InvoiceValues]]:
    """{(account id, invoice number): (invoice id, stored values)} of the accounts' invoices."""
    existing: dict[tuple[int, str], tuple[int, InvoiceValues]] = {}
    ordered = sorted(account_ids)
    columns = ("pk", "account_id", "number", *VALUE_FIELDS)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        rows = Invoice.objects.filter(account_id__in=chunk).order_by().values_list(*columns)
        for pk, account_id, number, *values in rows:
            existing[account_id, number] = (pk, InvoiceValues(*values))
    return existing


class _Row:
    """Reads one file row's cells, recording a row error for each value it cannot take."""

    def __init__(
        self,
        checked: Checked,
        table: Table,
        columns: dict[str, int],
        number: int,
        cells: list[Cell],
        number_format: str,
    ) -> None:
        self.checked, self.headers, self.columns = checked, table.headers, columns
        self.number, self.cells, self.number_format = number, cells, number_format

    def error(self, key: str, code: str, **params: Any) -> None:
        column = self.columns.get(key)
        header = self.headers[column] if column is not None else ""
        self.checked.add_error(RowError(self.number, header, code, params))

    def raw(self, key: str) -> Cell:
        column = self.columns.get(key)
        if column is None or column >= len(self.cells):
            return ""
        return self.cells[column]

    def text(self, key: str) -> str:
        return text_at(self.cells, self.columns.get(key))

    def amount(self, key: str, *, required: bool) -> Decimal | None:
        """The cell's amount in cents (None: empty or wrong)."""
        raw = self.raw(key)
        if raw == "":
            if required:
                self.error(key, "required")
            return None
        shown = cell_text(raw)[:80]
        try:
            amount = parse_decimal(raw, self.number_format)
        except UnreadableValue:
            self.error(key, "not_a_number", value=shown, example=example_number(self.number_format))
            return None
        if abs(amount) >= LARGEST:
            self.error(key, "too_large", value=shown)
            return None
        cents = amount.quantize(CENT)
        noise = FLOAT_NOISE if isinstance(raw, Decimal) else Decimal(0)
        if abs(amount - cents) > noise:
            self.error(key, "too_many_places", value=shown)
            return None
        return cents

    def date(self, key: str, *, required: bool) -> datetime.date | None:
        raw = self.raw(key)
        if raw == "":
            if required:
                self.error(key, "required")
            return None
        try:
            return parse_date(raw, self.number_format)
        except UnreadableValue:
            example = DATE_EXAMPLES.get(self.number_format, DATE_EXAMPLES["de"])
            self.error(key, "not_a_date", value=cell_text(raw)[:80], example=example)
            return None


def invoices_validate(
    table: Table, mapping: dict[str, str], *, year: int | None = None, number_format: str
) -> Checked:
    """Check every row of an open-items file against the accounts and the stored invoices;
    returns what the import would write (``creates``/``updates``: :class:`InvoiceChange`) and
    why rows are wrong. ``year`` is not used: invoices are not imported per year."""
    columns = {key: table.headers.index(h) for key, h in mapping.items() if h in table.headers}
    resolved = resolve_number_format(
        table, number_format, [columns[key] for key in (AMOUNT, AMOUNT_PAID) if key in columns]
    )
    checked = Checked(rows=len(table.rows), number_format=resolved)
    for f in INVOICE_FIELDS:
        if f.required and f.key not in columns:
            checked.add_error(RowError(None, "", "unmapped", {"field": f.key}))
    if checked.error_count:
        return checked

    numbers = {text_at(cells, columns[ACCOUNT]) for _row, cells in table.rows}
    numbers.discard("")
    accounts = _accounts(numbers)
    existing = _existing({pk for pk, _currency in accounts.values()})
    checked.erp_numbers = {pk: erp for erp, (pk, _currency) in accounts.items()}
    width = len(table.headers)
    seen: dict[tuple[int, str], int] = {}
    unchanged = 0

    for number, cells in table.rows:
        row_errors = checked.error_count
        if len(cells) > width and any(cell != "" for cell in cells[width:]):
            checked.add_error(RowError(number, "", "extra_values"))
            continue
        row = _Row(checked, table, columns, number, cells, resolved)
        erp = row.text(ACCOUNT)
        account = accounts.get(erp)
        if not erp:
            row.error(ACCOUNT, "required")
        elif account is None:
            row.error(ACCOUNT, "unknown_account", value=erp[:80])
        invoice_number = row.text(NUMBER)
        if not invoice_number:
            row.error(NUMBER, "required")
        elif len(invoice_number) > NUMBER_LENGTH:
            row.error(NUMBER, "too_long", value=invoice_number[:80], limit=NUMBER_LENGTH)
        amount = row.amount(AMOUNT, required=True)
        if amount is not None and amount <= 0:
            row.error(AMOUNT, "not_positive", value=cell_text(row.raw(AMOUNT))[:80])
            amount = None
        currency = row.text(CURRENCY).upper()
        if currency and not CURRENCY_CODE.fullmatch(currency):
            row.error(CURRENCY, "not_a_currency", value=currency[:80])
        issue_date = row.date(ISSUE_DATE, required=True)
        due_date = row.date(DUE_DATE, required=True)
        if issue_date and due_date and due_date < issue_date:
            row.error(DUE_DATE, "due_before_issue", due=str(due_date), issue=str(issue_date))
        paid = row.amount(AMOUNT_PAID, required=False)
        if paid is not None and paid < 0:
            row.error(AMOUNT_PAID, "negative_paid", value=cell_text(row.raw(AMOUNT_PAID))[:80])
        elif paid is not None and amount is not None and paid > amount:
            row.error(AMOUNT_PAID, "paid_above_amount", paid=str(paid), amount=str(amount))
        paid_date = row.date(PAID_DATE, required=False)
        if paid_date and not paid:
            row.error(PAID_DATE, "paid_date_unpaid")
        if account is not None and invoice_number:
            first = seen.setdefault((account[0], invoice_number), number)
            if first != number:
                row.error(NUMBER, "duplicate_invoice", first=first)
        if checked.error_count > row_errors:
            continue
        account_id, account_currency = account
        values = InvoiceValues(
            amount=amount,
            currency=currency or account_currency,
            issue_date=issue_date,
            due_date=due_date,
            amount_paid=paid or Decimal("0.00"),
            paid_date=paid_date,
        )
        stored = existing.get((account_id, invoice_number))
        if stored is None:
            checked.creates.append(InvoiceChange(number, account_id, invoice_number, values))
        elif stored[1] == values:
            unchanged += 1
        else:
            pk, old = stored
            checked.updates.append(
                InvoiceChange(number, account_id, invoice_number, values, pk=pk, old=old)
            )
    checked.unchanged = unchanged
    return checked


def invoices_write(
    checked: Checked, *, year: int | None = None, batch: ImportBatch, user: User | None
) -> None:
    """Create and change the checked invoices (the caller holds the transaction), then close
    the escalations of every invoice the import leaves fully paid."""
    now = timezone.now()
    Invoice.objects.bulk_create(
        (
            Invoice(
                account_id=change.account_id,
                number=change.number,
                import_batch=batch,
                **asdict(change.values),
            )
            for change in checked.creates
        ),
        batch_size=500,
    )
    Invoice.objects.bulk_update(
        [
            Invoice(
                pk=change.pk,
                import_batch=batch,
                version=F("version") + 1,
                updated_at=now,
                **asdict(change.values),
            )
            for change in checked.updates
        ],
        [*VALUE_FIELDS, "import_batch", "version", "updated_at"],
        batch_size=500,
    )
    paid = list(
        Invoice.objects.filter(import_batch=batch, amount_paid__gte=F("amount")).values_list(
            "pk", flat=True
        )
    )
    if paid:
        escalations_close_paid(invoice_ids=paid, on=timezone.localdate())


def _json(values: InvoiceValues) -> dict[str, str | None]:
    return {key: None if value is None else str(value) for key, value in asdict(values).items()}


def invoices_report(checked: Checked) -> dict[str, list[dict[str, Any]]]:
    """The first invoices to create and to change as the stored preview keeps them; an
    update's values are [stored, from the file]."""
    numbers = checked.erp_numbers

    def entry(change: InvoiceChange) -> dict[str, Any]:
        return {
            "row": change.row,
            "account": change.account_id,
            "erp_number": numbers.get(change.account_id, ""),
            "number": change.number,
        }

    creates = [{**entry(c), **_json(c.values)} for c in checked.creates[:KEEP_CHANGES]]
    updates = []
    for change in checked.updates[:KEEP_CHANGES]:
        old, new = _json(change.old), _json(change.values)
        updates.append({**entry(change), **{key: [old[key], new[key]] for key in VALUE_FIELDS}})
    return {"creates": creates, "updates": updates}


INVOICES = ImportSpec(
    kind=ImportKind.INVOICES.value,
    fields=INVOICE_FIELDS,
    validate=invoices_validate,
    write=invoices_write,
    report=invoices_report,
)
