"""Indexes for the account list's search, on PostgreSQL only.

``name__icontains`` compiles to ``UPPER("name"::text) LIKE UPPER(%s)`` with a leading
wildcard, which only a trigram index on that exact expression can serve; the ERP number is
looked up with ``iexact``, i.e. ``UPPER("erp_number"::text) = UPPER(%s)``, which the unique
index on the plain column cannot serve. Both branches of the search's OR need an index, or
PostgreSQL falls back to a sequential scan. SQLite keeps no such indexes.

``pg_trgm`` is a trusted extension (PostgreSQL 13+): the database owner may create it. The
reverse leaves the extension in place, since other indexes may use it.
"""

from django.db import migrations

TRIGRAM_INDEX = "accounts_account_name_upper_trgm"
ERP_NUMBER_INDEX = "accounts_account_erp_number_upper"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    table = quote(apps.get_model("accounts", "Account")._meta.db_table)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(TRIGRAM_INDEX)} ON {table} "
        f'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(ERP_NUMBER_INDEX)} ON {table} "
        f'((UPPER("erp_number"::text)))'
    )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(TRIGRAM_INDEX)}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(ERP_NUMBER_INDEX)}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
