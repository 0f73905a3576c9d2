"""The figures import kind: its fields (customer, year, breakdown, an actual and a target column
per measure) with the German and English header synonyms that suggest a mapping, the row
checks of a preview, and the bulk upsert that writes a confirmed import."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from accounts.models import Account
from kam.models import User
from kpis.catalogue import MEASURES, PLAN_MEASURES
from kpis.imports import (
    KEEP_CHANGES,
    Cell,
    Checked,
    ImportField,
    ImportSpec,
    RowError,
    Table,
    UnreadableValue,
    cell_text,
    example_number,
    header_words,
    parse_decimal,
    parse_year,
    resolve_number_format,
    text_at,
)
from kpis.models import (
    AnnualFigure,
    ClosedYear,
    ImportBatch,
    ImportKind,
)

ACCOUNT, YEAR, PRODUCT_GROUP, REGION = "account", "year", "product_group", "region"
ACTUAL, TARGET = "actual", "target"
DIMENSION_LENGTH = 60
CENT = Decimal("0.01")
LARGEST = Decimal(10) ** 14  # AnnualFigure's amounts: 16 digits, 2 of them decimals
LOOKUP_CHUNK = 2000
WHOLE_TABLE_FROM = 5000  # accounts in a file from which one query for all rows is faster


MEASURE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "volume": ("absatz", "absatzmenge", "menge", "stueckzahl", "stueck", "volume", "units",
               "quantity", "qty", "unitssold", "verkauftemenge"),
    "revenue": ("umsatz", "nettoumsatz", "umsatzerloese", "erloes", "erloese", "revenue",
                "netrevenue", "sales", "netsales"),
    "distribution": ("distribution", "distributionsgrad", "numerischedistribution",
                     "gewichtetedistribution", "distributionrate"),
    "market_share": ("marktanteil", "marketshare"),
    "contribution_margin": ("deckungsbeitrag", "db", "dbi", "contributionmargin", "margin"),
    "minimum_price": ("mindestpreis", "preisuntergrenze", "minimumprice", "minprice"),
    "special_price": ("sonderpreis", "aktionspreis", "specialprice", "promotionalprice"),
    "assortment": ("sortiment", "listungen", "gelisteteartikel", "assortment", "listedarticles"),
    "average_customer_revenue": ("durchschnittsumsatz", "umsatzproauftrag",
                                 "durchschnittlicherkundenumsatz", "averagecustomerrevenue",
                                 "averageordervalue", "averagerevenue"),
    "order_structure": ("auftraege", "anzahlauftraege", "bestellungen", "anzahlbestellungen",
                        "auftragsstruktur", "orders", "numberoforders", "orderstructure"),
    "article_structure": ("artikelstruktur", "anzahlartikel", "articlestructure",
                          "articles", "skus"),
    "promotion_articles": ("aktionsartikel", "promotionarticles", "promotionitems"),
    "minimum_order_size": ("mindestbestellmenge", "mindestauftragswert", "mindestbestellwert",
                           "minimumorder", "minimumordersize", "minimumordervalue", "moq"),
    "turnover_rate": ("umschlagshaeufigkeit", "lagerumschlag", "umschlag", "turnoverrate",
                      "stockturn", "inventoryturnover"),
    "returns": ("retouren", "retourenquote", "ruecksendungen", "returns", "returnrate"),
    "promotions": ("aktionen", "anzahlaktionen", "promotions"),
    "service_effort": ("serviceaufwand", "servicestunden", "serviceeffort", "servicehours"),
    "processing_intensity": ("bearbeitungsintensitaet", "bearbeitungsaufwand",
                             "processingintensity"),
    "willingness_to_cooperate": ("kooperationsbereitschaft", "willingnesstocooperate",
                                 "cooperation"),
}  # fmt: skip
TARGET_WORDS = ("soll", "sollwert", "plan", "planwert", "ziel", "zielwert", "budget", "target")
ACTUAL_WORDS = ("ist", "istwert", "actual", "actuals")
# Headers of the year before ("Umsatz Vorjahr") are never suggested for this year's figures.
PRIOR_WORDS = ("vorjahr", "vj", "prior", "previous", "lastyear", "py")
UNIT_WORDS = ("eur", "euro", "usd", "chf", "stk", "prozent", "percent", "pct", "in", "wert")
_MEASURE_BY_SYNONYM = {s: m for m, synonyms in MEASURE_SYNONYMS.items() for s in synonyms}


def _suggest_figure_field(header: str) -> str | None:
    """The figure field a header names ("Umsatz Soll", "Sollumsatz", "DB Ist (EUR)"), if any."""
    words = header_words(header)
    if not words or any(word in PRIOR_WORDS for word in words):
        return None
    qualifier = None
    rest = []
    for word in words:
        if word in TARGET_WORDS:
            qualifier = TARGET
        elif word in ACTUAL_WORDS:
            qualifier = qualifier or ACTUAL
        elif word not in UNIT_WORDS:
            rest.append(word)
    name = "".join(rest)
    measure = _MEASURE_BY_SYNONYM.get(name)
    if measure is None and qualifier is None:
        for words_, found in ((TARGET_WORDS, TARGET), (ACTUAL_WORDS, ACTUAL)):
            for word in words_:
                for candidate in (name.removeprefix(word), name.removesuffix(word)):
                    if candidate != name and candidate in _MEASURE_BY_SYNONYM:
                        measure, qualifier = _MEASURE_BY_SYNONYM[candidate], found
                        break
                if measure:
                    break
            if measure:
                break
    if measure is None:
        return None
    return f"{measure}.{qualifier or ACTUAL}"


DIMENSION_SYNONYMS: dict[str, tuple[str, ...]] = {
    ACCOUNT: ("kundennummer", "kundennr", "kundenno", "kdnr", "kdnummer", "debitor",
              "debitornr", "debitorennr", "debitorennummer", "debitornummer", "customernumber",
              "customerno", "customerid", "accountnumber", "accountno", "erpnumber", "erpnr",
              "erpkundennummer"),
    YEAR: ("jahr", "geschaeftsjahr", "gj", "wirtschaftsjahr", "berichtsjahr", "kalenderjahr",
           "year", "fiscalyear", "fy"),
    PRODUCT_GROUP: ("produktgruppe", "warengruppe", "artikelgruppe", "materialgruppe", "sparte",
                    "produktlinie", "productgroup", "productline"),
    REGION: ("region", "vertriebsgebiet", "verkaufsgebiet", "vertriebsregion", "gebiet",
             "salesregion", "territory", "salesterritory"),
}  # fmt: skip


def _figure_fields() -> tuple[ImportField, ...]:
    fields = [
        ImportField(
            ACCOUNT,
            gettext_lazy("Customer number (ERP)"),
            required=True,
            synonyms=DIMENSION_SYNONYMS[ACCOUNT],
        ),
        ImportField(YEAR, gettext_lazy("Year"), synonyms=DIMENSION_SYNONYMS[YEAR]),
        ImportField(
            PRODUCT_GROUP, gettext_lazy("Product group"), synonyms=DIMENSION_SYNONYMS[PRODUCT_GROUP]
        ),
        ImportField(REGION, gettext_lazy("Region"), synonyms=DIMENSION_SYNONYMS[REGION]),
    ]
    for key, definition in MEASURES.items():
        synonyms = MEASURE_SYNONYMS.get(key, ())
        label = definition.measure.label
        actual = [*synonyms]
        target = []
        for synonym in synonyms:
            actual += [synonym + word for word in ACTUAL_WORDS]
            actual += [word + synonym for word in ACTUAL_WORDS]
            target += [synonym + word for word in TARGET_WORDS]
            target += [word + synonym for word in TARGET_WORDS]
        fields.append(
            ImportField(
                f"{key}.{ACTUAL}",
                format_lazy(gettext_lazy("{measure} (actual)"), measure=label),
                synonyms=tuple(actual),
                group=label,
            )
        )
        fields.append(
            ImportField(
                f"{key}.{TARGET}",
                format_lazy(gettext_lazy("{measure} (target)"), measure=label),
                synonyms=tuple(target),
                group=label,
            )
        )
    return tuple(fields)


def _account_ids(numbers: set[str]) -> dict[str, int]:
    """{ERP number: account id} of the numbers that exist (all accounts read at once for a
    file of many)."""
    accounts = Account.objects.order_by()
    if len(numbers) >= WHOLE_TABLE_FROM:
        return {n: pk for n, pk in accounts.values_list("erp_number", "pk") if n in numbers}
    found: dict[str, int] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        found.update(accounts.filter(erp_number__in=chunk).values_list("erp_number", "pk"))
    return found


def _existing_figures(year: int, account_ids: set[int]) -> dict[tuple, tuple]:
    """{(account id, measure, product group, region): (actual, target)} stored for ``year``."""
    columns = ("account_id", "measure", "product_group", "region", "actual", "target")
    figures = AnnualFigure.objects.filter(year=year).order_by()
    if len(account_ids) >= WHOLE_TABLE_FROM:
        return {
            (a, m, g, r): (actual, target)
            for a, m, g, r, actual, target in figures.values_list(*columns)
            if a in account_ids
        }
    existing: dict[tuple, tuple] = {}
    ordered = sorted(account_ids)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        for a, m, g, r, actual, target in figures.filter(account_id__in=chunk).values_list(
            *columns
        ):
            existing[a, m, g, r] = (actual, target)
    return existing


def _check_amount(
    add_error, number: int, header: str, raw: Cell, amount: Decimal, rule: tuple
) -> bool:
    """Whether ``amount`` fits the measure's limits; records the error when not."""
    key, minimum, maximum = rule[0], rule[3], rule[4]
    if abs(amount) >= LARGEST:
        add_error(RowError(number, header, "too_large", {"value": cell_text(raw)[:80]}))
    elif minimum is not None and amount < minimum:
        code = "negative" if minimum == 0 else "below_minimum"
        params = {"value": cell_text(raw)[:80], "limit": str(minimum), "measure": key}
        add_error(RowError(number, header, code, params))
    elif maximum is not None and amount > maximum:
        params = {"value": cell_text(raw)[:80], "limit": str(maximum), "measure": key}
        add_error(RowError(number, header, "above_maximum", params))
    else:
        return True
    return False


def figures_validate(
    table: Table, mapping: dict[str, str], *, year: int, number_format: str
) -> Checked:
    """Check every row of a figures file against the accounts, the catalogue's limits and the
    stored figures of ``year``; returns what the import would write and why rows are wrong.

    ``creates`` rows: (file row, account id, measure, product group, region, actual, target),
    the file's values (None: empty cell); ``updates`` rows add the stored actual and target.
    """
    columns = {key: table.headers.index(h) for key, h in mapping.items() if h in table.headers}
    # (measure, actual column, target column, minimum, maximum, account-level target refused)
    rules = [
        (
            key,
            columns.get(f"{key}.{ACTUAL}"),
            columns.get(f"{key}.{TARGET}"),
            definition.minimum,
            definition.maximum,
            key in PLAN_MEASURES,
        )
        for key, definition in MEASURES.items()
        if f"{key}.{ACTUAL}" in columns or f"{key}.{TARGET}" in columns
    ]
    resolved = resolve_number_format(
        table, number_format, [i for rule in rules for i in rule[1:3] if i is not None]
    )
    checked = Checked(rows=len(table.rows), number_format=resolved)
    if ACCOUNT not in columns:
        checked.add_error(RowError(None, "", "unmapped", {"field": ACCOUNT}))
    if not rules:
        checked.add_error(RowError(None, "", "no_measures"))
    if ClosedYear.objects.filter(year=year).exists():
        checked.add_error(RowError(None, mapping.get(YEAR, ""), "closed_year", {"year": year}))
    if checked.error_count:
        return checked

    headers, width = table.headers, len(table.headers)
    account_column = columns[ACCOUNT]
    year_column = columns.get(YEAR)
    group_column, region_column = columns.get(PRODUCT_GROUP), columns.get(REGION)
    numbers = {text_at(cells, account_column) for _row, cells in table.rows}
    numbers.discard("")
    accounts = _account_ids(numbers)
    existing = _existing_figures(year, set(accounts.values()))
    checked.erp_numbers = {pk: number for number, pk in accounts.items()}
    example = example_number(resolved)
    seen: dict[tuple, int] = {}
    add_error, creates, updates = checked.add_error, checked.creates, checked.updates
    unchanged = 0

    for number, cells in table.rows:
        row_errors = checked.error_count
        length = len(cells)
        if length > width and any(cell != "" for cell in cells[width:]):
            add_error(RowError(number, "", "extra_values"))
            continue
        erp = text_at(cells, account_column)
        account_id = accounts.get(erp)
        if not erp:
            add_error(RowError(number, headers[account_column], "required"))
        elif account_id is None:
            add_error(RowError(number, headers[account_column], "unknown_account", {"value": erp}))
        if year_column is not None:
            _check_year_cell(add_error, number, headers[year_column], cells, year_column, year)
        group = text_at(cells, group_column) if group_column is not None else ""
        region = text_at(cells, region_column) if region_column is not None else ""
        for column, value in ((group_column, group), (region_column, region)):
            if len(value) > DIMENSION_LENGTH:
                params = {"value": value[:80], "limit": DIMENSION_LENGTH}
                add_error(RowError(number, headers[column], "too_long", params))
        values = []
        for rule in rules:
            pair = [None, None]
            for side in (0, 1):
                column = rule[1 + side]
                raw = cells[column] if column is not None and column < length else ""
                if raw == "":
                    continue
                try:
                    amount = parse_decimal(raw, resolved)
                except UnreadableValue:
                    params = {"value": cell_text(raw)[:80], "example": example}
                    add_error(RowError(number, headers[column], "not_a_number", params))
                    continue
                if not _check_amount(add_error, number, headers[column], raw, amount, rule):
                    continue
                if side and rule[5] and not group and not region:
                    params = {"measure": rule[0]}
                    add_error(RowError(number, headers[column], "plan_target", params))
                    continue
                pair[side] = amount.quantize(CENT, ROUND_HALF_UP)
            if pair[0] is not None or pair[1] is not None:
                values.append((rule[0], pair[0], pair[1]))
        if account_id is not None:
            key = (account_id, group, region)
            first = seen.get(key)
            if first is not None:
                params = {"first": first}
                add_error(RowError(number, headers[account_column], "duplicate", params))
            else:
                seen[key] = number
        if checked.error_count > row_errors:
            continue
        for measure, actual, target in values:
            stored = existing.get((account_id, measure, group, region))
            if stored is None:
                creates.append((number, account_id, measure, group, region, actual, target))
                continue
            old_actual, old_target = stored
            if (actual is None or actual == old_actual) and (
                target is None or target == old_target
            ):
                unchanged += 1
            else:
                updates.append(
                    (number, account_id, measure, group, region, actual, target, *stored)
                )
    checked.unchanged = unchanged
    return checked


def _check_year_cell(
    add_error, number: int, header: str, cells: list[Cell], column: int, year: int
) -> None:
    value = cells[column] if column < len(cells) else ""
    if value == "":
        add_error(RowError(number, header, "required"))
        return
    try:
        row_year = parse_year(value)
    except UnreadableValue:
        add_error(RowError(number, header, "not_a_year", {"value": cell_text(value)}))
        return
    if row_year != year:
        add_error(RowError(number, header, "wrong_year", {"value": row_year, "year": year}))


_STAGING = "kpis_import_rows"
ANALYZE_FROM = 10_000  # figures written at once from which the table's statistics are renewed


def figures_write(checked: Checked, *, year: int, batch: ImportBatch, user: User | None) -> None:
    """Upsert the checked figures (the caller holds the transaction). An empty cell keeps the
    stored value. PostgreSQL: COPY into a temporary table and one INSERT … ON CONFLICT."""
    rows = [
        (account_id, measure, group, region, actual, target)
        for _n, account_id, measure, group, region, actual, target, *_old in (
            *checked.creates,
            *checked.updates,
        )
    ]
    if not rows:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        _write_postgresql(rows, year=year, batch=batch, user=user, now=now)
        return
    stored = {update[1:5]: update[7:9] for update in checked.updates}
    objects = []
    for account_id, measure, group, region, actual, target in rows:
        old_actual, old_target = stored.get((account_id, measure, group, region), (None, None))
        objects.append(
            AnnualFigure(
                account_id=account_id,
                year=year,
                measure=measure,
                product_group=group,
                region=region,
                actual=old_actual if actual is None else actual,
                target=old_target if target is None else target,
                import_batch=batch,
                updated_by=user,
            )
        )
    AnnualFigure.objects.bulk_create(
        objects,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["account", "year", "measure", "product_group", "region"],
        update_fields=["actual", "target", "import_batch", "updated_by", "updated_at"],
    )


def _write_postgresql(
    rows: list[tuple], *, year: int, batch: ImportBatch, user: User | None, now
) -> None:
    opts, quote = AnnualFigure._meta, connection.ops.quote_name
    column = {name: quote(opts.get_field(name).column) for name in (
        "account", "year", "measure", "product_group", "region", "actual", "target",
        "import_batch", "updated_by", "updated_at",
    )}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_STAGING}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_STAGING} (account_id bigint NOT NULL, "
            "measure varchar(32) NOT NULL, product_group varchar(60) NOT NULL, "
            "region varchar(60) NOT NULL, actual numeric(16, 2), target numeric(16, 2)) "
            "ON COMMIT DROP"
        )
        with cursor.copy(
            f"COPY {_STAGING} (account_id, measure, product_group, region, actual, target) "
            "FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        c = column
        cursor.execute(
            f"INSERT INTO {quote(opts.db_table)} AS f ({c['account']}, {c['year']}, "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
            f"{c['measure']}, {c['product_group']}, {c['region']}, {c['actual']}, {c['target']}, "
            f"{c['import_batch']}, {c['updated_by']}, {c['updated_at']}) "
            f"SELECT account_id, %s, measure, product_group, region, actual, target, %s, %s, %s "
            f"FROM {_STAGING} "
            f"ON CONFLICT ({c['account']}, {c['year']}, {c['measure']}, {c['product_group']}, "
            f"{c['region']}) DO UPDATE SET "
            f"{c['actual']} = COALESCE(EXCLUDED.{c['actual']}, f.{c['actual']}), "
            f"{c['target']} = COALESCE(EXCLUDED.{c['target']}, f.{c['target']}), "
            f"{c['import_batch']} = EXCLUDED.{c['import_batch']}, "
            f"{c['updated_by']} = EXCLUDED.{c['updated_by']}, "
            f"{c['updated_at']} = EXCLUDED.{c['updated_at']}",
            [year, batch.pk, user.pk if user else None, now],
        )
        cursor.execute(f"DROP TABLE {_STAGING}")
        if len(rows) >= ANALYZE_FROM:
            # The KPI recompute runs right after this commit; without fresh statistics the
            # planner takes a new year's many rows for none and picks nested loops.
            cursor.execute(f"ANALYZE {quote(opts.db_table)}")


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def figures_report(checked: Checked) -> dict[str, list[dict[str, Any]]]:
    """The first figures to create and to change as the stored preview keeps them; an update's
    actual and target are [stored, after the import]."""
    numbers = checked.erp_numbers
    creates = [
        {
            "row": row,
            "account": account_id,
            "erp_number": numbers.get(account_id, ""),
            "measure": measure,
            "product_group": group,
            "region": region,
            "actual": _amount(actual),
            "target": _amount(target),
        }
        for row, account_id, measure, group, region, actual, target in checked.creates[
            :KEEP_CHANGES
        ]
    ]
    updates = [
        {
            "row": row,
            "account": account_id,
            "erp_number": numbers.get(account_id, ""),
            "measure": measure,
            "product_group": group,
            "region": region,
            "actual": [_amount(old_a), _amount(old_a if actual is None else actual)],
            "target": [_amount(old_t), _amount(old_t if target is None else target)],
        }
        for row, account_id, measure, group, region, actual, target, old_a, old_t in (
            checked.updates[:KEEP_CHANGES]
        )
    ]
    return {"creates": creates, "updates": updates}


FIGURES = ImportSpec(
    kind=ImportKind.FIGURES.value,
    fields=_figure_fields(),
    validate=figures_validate,
    write=figures_write,
    suggest=_suggest_figure_field,
    report=figures_report,
    yearly=True,
)
