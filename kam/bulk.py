"""Bulk inserts for seeding and for jobs that write many rows at once."""

from __future__ import annotations

import json
from collections import Counter

from django.db import connection, models
from django.utils import timezone


class BulkWriter:
    """Inserts rows given as tuples of column values, the fastest way the database offers.

    PostgreSQL: COPY, with the ids drawn from the table's sequence first (or left to the
    table's default with ``ids=False``); elsewhere ``bulk_create`` in batches. Columns left out
    get the model field's default (``auto_now`` fields: now). A JSON column's value given as a
    ``str`` is taken as JSON text already (fast for many rows). Returns the new rows' ids, in
    order, or an empty list with ``ids=False``.
    """

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.use_copy = connection.vendor == "postgresql"
        self.created: Counter[str] = Counter()

    def insert(
        self, model: type[models.Model], columns: tuple[str, ...], rows: list, *, ids: bool = True
    ) -> list:
        self.created[model.__name__] += len(rows)
        if not rows:
            return []
        if not self.use_copy:
            json_columns = {
                i
                for i, name in enumerate(columns)
                if isinstance(model._meta.get_field(name), models.JSONField)
            }
            if json_columns:
                rows = [
                    tuple(
                        json.loads(v) if i in json_columns and isinstance(v, str) else v
                        for i, v in enumerate(row)
                    )
                    for row in rows
                ]
            objs = model.objects.bulk_create(
                [model(**dict(zip(columns, row, strict=True))) for row in rows],
                batch_size=self.batch_size,
            )
            return [obj.pk for obj in objs] if ids else []
        opts, quote = model._meta, connection.ops.quote_name
        with connection.cursor() as cursor:
            new_ids: list = []
            if ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [opts.db_table, opts.pk.column, len(rows)],
                )
                new_ids = [pk for (pk,) in cursor.fetchall()]
            given = {opts.get_field(name).column for name in columns}
            now = timezone.now()
            rest = [f for f in opts.concrete_fields if f.column not in given and not f.primary_key]
            defaults = tuple(
                now
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                else f.get_db_prep_save(f.get_default(), connection)
                for f in rest
            )
            names = (
                *((opts.pk.column,) if ids else ()),
                *(opts.get_field(name).column for name in columns),
                *(f.column for f in rest),
            )
            sql = f"COPY {quote(opts.db_table)} ({', '.join(map(quote, names))}) FROM STDIN"
            json_columns = [
                i
                for i, name in enumerate(columns)
                if isinstance(opts.get_field(name), models.JSONField)
            ]
            with cursor.copy(sql) as copy:
                for index, row in enumerate(rows):
                    if json_columns:
                        row = list(row)
                        for i in json_columns:
                            if not isinstance(row[i], str):
                                row[i] = json.dumps(row[i])
                    if ids:
                        copy.write_row((new_ids[index], *row, *defaults))
                    else:
                        copy.write_row((*row, *defaults))
        return new_ids
