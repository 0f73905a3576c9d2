"""Benchmark sections of the kpis app: ``import`` and ``dashboard`` (see ``kam bench``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.db import connection

from accounts.models import Account
from kam.models import User

IMPORT_BAR_SECONDS = 20.0
# Far ahead of real data, so the benchmark's figures never mix with a real year's.
IMPORT_BENCH_YEAR = 2089
IMPORT_BENCH_SOURCE = "Benchmark ERP extract"
IMPORT_BENCH_HEADER = (
    "Kundennummer;Geschäftsjahr;Umsatz;Deckungsbeitrag;Absatz;Marktanteil;Retouren"
)


def _german(value: float) -> str:
    whole, fraction = f"{value:,.2f}".split(".")
    return f"{whole.replace(',', '.')},{fraction}"


def _import_bench_accounts(rows: int) -> list[str]:
    numbers = list(
        Account.objects.order_by("erp_number").values_list("erp_number", flat=True)[:rows]
    )
    missing = rows - len(numbers)
    if missing > 0:
        start = Account.objects.filter(erp_number__startswith="IB").count()
        Account.objects.bulk_create(
            [
                Account(name=f"Import benchmark {n}", erp_number=f"IB{n:08d}")
                for n in range(start, start + missing)
            ],
            batch_size=5000,
        )
        numbers = list(
            Account.objects.order_by("erp_number").values_list("erp_number", flat=True)[:rows]
        )
    return numbers


def import_bench_file(numbers: list[str]) -> bytes:
    """A German ERP extract (``;``, decimal comma, thousands dots, BOM): one row per account
    with five measures, so ``len(numbers)`` rows make five times as many figures."""
    rng = random.Random(f"import-bench:{len(numbers)}")  # noqa: S311 - test data  # nosec B311
    lines = [IMPORT_BENCH_HEADER]
    for number in numbers:
        revenue = rng.uniform(10_000, 5_000_000)
        values = (
            revenue,
            revenue * rng.uniform(-0.05, 0.4),
            rng.uniform(10, 100_000),
            rng.uniform(0, 60),
            rng.uniform(0, 8),
        )
        lines.append(";".join((number, str(IMPORT_BENCH_YEAR), *map(_german, values))))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def measure_import(*, user: User, rows: int) -> dict[str, object]:
    """Import a German CSV of ``rows`` accounts (five measures each) into a fresh year, then
    the same file again, which must change nothing. Seconds of each step and the bar.

    ``preview_s`` reads, stores and checks the upload; ``apply_s`` reads and checks it again
    and writes the figures in one transaction, up to its commit. The KPI recompute an import
    queues afterwards is not part of it (timed by the ``dashboard`` section's data). Figures
    of the benchmark year are deleted first so every run creates them anew.
    """
    from kpis import services
    from kpis.models import AnnualFigure, ImportBatch

    numbers = _import_bench_accounts(rows)
    AnnualFigure.objects.filter(year=IMPORT_BENCH_YEAR).delete()
    if connection.vendor == "postgresql" and connection.get_autocommit():
        # A real import adds a new year to a table in use; the rows deleted by the last run
        # would otherwise slow this one down.
        with connection.cursor() as cursor:
            cursor.execute(
                f"VACUUM ANALYZE {connection.ops.quote_name(AnnualFigure._meta.db_table)}"
            )
    data = import_bench_file(numbers)

    def upload() -> ImportBatch:
        return services.import_batch_upload(
            user=user,
            source_name=IMPORT_BENCH_SOURCE,
            year=IMPORT_BENCH_YEAR,
            number_format="auto",
            file_name=f"benchmark-{len(numbers)}.csv",
            data=data,
        )

    started = time.perf_counter()
    batch = upload()
    previewed = time.perf_counter()
    services.import_batch_apply(batch=batch, user=user, recompute=False)
    applied = time.perf_counter()
    batch.refresh_from_db()
    if batch.state != "imported" or batch.created != len(numbers) * 5:
        raise AssertionError(f"The benchmark import did not create every figure: {batch.report}")

    again_started = time.perf_counter()
    again = upload()
    services.import_batch_apply(batch=again, user=user, recompute=False)
    again_done = time.perf_counter()
    again.refresh_from_db()
    if (again.created, again.updated, again.unchanged) != (0, 0, batch.created):
        raise AssertionError("Importing the same file again changed figures.")

    preview_s, apply_s = previewed - started, applied - previewed
    total_s = preview_s + apply_s
    return {
        "rows": len(numbers),
        "figures": batch.created,
        "file_bytes": len(data),
        "preview_s": round(preview_s, 2),
        "apply_s": round(apply_s, 2),
        "total_s": round(total_s, 2),
        "reimport_s": round(again_done - again_started, 2),
        "bar_s": IMPORT_BAR_SECONDS,
        "passes": total_s <= IMPORT_BAR_SECONDS,
    }


DASHBOARD_ROWS_TEMPLATE = (
    "<table>{% for row in rows %}<tr><td>{{ row.0 }}</td><td>{{ row.1 }}</td>"
    "<td>{{ row.2 }}</td><td>{{ row.3 }}</td><td>{{ row.4 }}</td></tr>{% endfor %}</table>"
)


def measure_dashboard(
    *, where: str = "", params: tuple = (), source: str = "kpis"
) -> Callable[[dict], str]:
    """Baseline of a dashboard page for ``kam bench``: the rows its main table sums, in one
    raw query, rendered with a bare template.

    ``source`` "kpis": the year's revenue and target per tier and region of the accounts
    ``where`` selects (``a``); "product_group": the same from the figures of the bench
    context's product group; "account": one account's figures. ``params`` may name values
    of the bench context, as page URLs do.
    """
    from django.db import connection
    from django.template import engines

    from accounts.models import AccountTeamMember
    from kpis.models import AccountKpi, AnnualFigure

    template = engines["django"].from_string(DASHBOARD_ROWS_TEMPLATE)
    quote = connection.ops.quote_name
    account_table, kpi_table = quote(Account._meta.db_table), quote(AccountKpi._meta.db_table)
    figure_table = quote(AnnualFigure._meta.db_table)
    team_table = quote(AccountTeamMember._meta.db_table)

    def run(context: dict) -> str:
        values = [param.format(**context) for param in params]
        # Identifiers come from the models' metadata; every value is a query parameter.
        if source == "account":
            sql = (
                "SELECT year, measure, product_group, region, actual "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
                f"FROM {figure_table} WHERE account_id = %s "
                "ORDER BY measure, product_group, region, year"
            )
            values = [context["account_pk"]]
        elif source == "product_group":
            sql = (
                "SELECT a.tier, a.region, COUNT(*), SUM(f.actual), SUM(f.target) "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
                f"FROM {account_table} a JOIN {figure_table} f ON f.account_id = a.id "
                "AND f.year = %s AND f.measure = 'revenue' AND f.product_group = %s "
                f"AND f.region = '' {where} GROUP BY a.tier, a.region"
            )
            values = [context["kpi_year"], context["product_group"], *values]
        else:
            sql = (
                "SELECT a.tier, a.region, COUNT(*), SUM(k.revenue), "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
                f"SUM(k.revenue_target) FROM {account_table} a LEFT JOIN {kpi_table} k "
                f"ON k.account_id = a.id AND k.year = %s {where} GROUP BY a.tier, a.region"
            )
            values = [context["kpi_year"], *values]
        sql = sql.replace("{team}", team_table)
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        return template.render({"rows": rows})

    return run
