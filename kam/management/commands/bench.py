"""Time pages through the Django test client against a bare raw-SQL baseline.

Meant for a database filled by ``seed_bulk``. Per page: median and p95 over ``--repeat`` runs
(after warm-ups), the number of SQL queries, and the ratio to a baseline that fetches the same
rows with one raw query and renders them with a bare template. Pages are grouped in
``SECTIONS``; a later feature adds its pages there (and any value its URLs need to
``bench_context``). The ``selection``, ``pdf`` and ``import`` sections time background work
instead (``selection/benchmark.py``, ``plans/benchmark.py``, ``kpis/benchmark.py``).
"""

import functools
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.models import Exists, OuterRef
from django.template import engines
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import Account, AccountTeamMember, Contact, TeamRole
from kam.models import User
from kam.roles import Role
from kpis.benchmark import measure_dashboard, measure_import
from kpis.models import AccountKpi, AnnualFigure
from payments.models import Escalation, Invoice
from plans.benchmark import measure_pdf
from plans.models import Plan
from selection.benchmark import measure_selection

WARMUPS = 2
PAGE_SIZE = 100
BENCH_USERNAME = "bench.leitung"
SLOWEST_QUERIES = 3
SQL_EXCERPT = 300

Baseline = Callable[[dict], str]


@dataclass(frozen=True)
class Page:
    """One page to time: ``url`` may name values of the bench context, e.g. ``{account_pk}``."""

    name: str
    url: str
    baseline: Baseline | None = None
    # Seen by the key account manager of the bench context rather than by leadership.
    as_manager: bool = False


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _template(source: str):
    return engines["django"].from_string(source)


def _render(source: str, context: dict) -> str:
    # Compiled once, as the cached template loader does for the real pages.
    return _template(source).render(context)


ACCOUNT_ROWS_TEMPLATE = (
    "<table>{% for row in rows %}<tr><td><a href='/accounts/{{ row.0 }}/'>{{ row.1 }}</a></td>"
    "<td>{{ row.2 }}</td><td>{{ row.3 }}</td><td>{{ row.4 }}</td><td>{{ row.5 }}</td>"
    "<td>{{ row.6 }}</td><td>{{ row.7 }} {{ row.8 }}</td></tr>{% endfor %}</table>"
)
ACCOUNT_CONTACTS_TEMPLATE = (
    "{% with account=rows.0 %}<h1>{{ account.1 }}</h1><dl><dd>{{ account.2 }}</dd>"
    "<dd>{{ account.3 }}</dd><dd>{{ account.4 }}</dd><dd>{{ account.5 }}</dd>"
    "<dd>{{ account.6 }}</dd></dl>{% endwith %}<ul>{% for row in rows %}{% if row.7 %}"
    "<li>{{ row.8 }} {{ row.9 }}, {{ row.10 }} ({{ row.11 }}): {{ row.12 }} {{ row.13 }}</li>"
    "{% endif %}{% endfor %}</ul>"
)


def account_rows(
    *, where: str = "", params: tuple = (), order: str = "a.name, a.id", page: str = "1"
) -> Baseline:
    """Baseline of an account list: one page of rows with the list's columns, in one query.

    ``params`` and ``page`` may name values of the bench context, as page URLs do.
    """

    def run(context: dict) -> str:
        page_number = int(page.format(**context))
        # Identifiers come from the models' metadata; every value is a query parameter.
        sql = (
            "SELECT a.id, a.name, a.erp_number, a.industry, a.region, a.country, a.tier, "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
            "u.first_name, u.last_name "
            f"FROM {_q(Account._meta.db_table)} a "
            f"LEFT JOIN {_q(AccountTeamMember._meta.db_table)} t "
            "ON t.account_id = a.id AND t.role = %s "
            f"LEFT JOIN {_q(User._meta.db_table)} u ON u.id = t.user_id "
            f"{where} ORDER BY {order} LIMIT %s OFFSET %s"
        )
        values = [param.format(**context) for param in params]
        offset = (page_number - 1) * PAGE_SIZE
        with connection.cursor() as cursor:
            cursor.execute(sql, [TeamRole.KEY_ACCOUNT_MANAGER.value, *values, PAGE_SIZE, offset])
            rows = cursor.fetchall()
        return _render(ACCOUNT_ROWS_TEMPLATE, {"rows": rows})

    return run


def account_with_contacts(context: dict) -> str:
    """Baseline of an account page: the account row joined to its contacts, in one query."""
    sql = (
        "SELECT a.id, a.name, a.erp_number, a.industry, a.region, a.country, a.tier, "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
        "c.id, c.first_name, c.last_name, c.position, c.department, c.influence, c.attitude "
        f"FROM {_q(Account._meta.db_table)} a "
        f"LEFT JOIN {_q(Contact._meta.db_table)} c ON c.account_id = a.id "
        "WHERE a.id = %s ORDER BY c.last_name, c.first_name, c.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [context["account_pk"]])
        rows = cursor.fetchall()
    return _render(ACCOUNT_CONTACTS_TEMPLATE, {"rows": rows})


def _first_page(sql: str) -> str:
    """Run a baseline's query for one page of rows and render them with the bare template."""
    with connection.cursor() as cursor:
        cursor.execute(sql, [PAGE_SIZE])
        rows = cursor.fetchall()
    return _render(ACCOUNT_ROWS_TEMPLATE, {"rows": rows})


def plan_rows(context: dict) -> str:
    """Baseline of the plan list: one page of plans with their account, in one query."""
    return _first_page(
        "SELECT p.id, a.name, p.start_year, p.status, a.tier, a.id "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
        f"FROM {_q(Plan._meta.db_table)} p "
        f"JOIN {_q(Account._meta.db_table)} a ON a.id = p.account_id "
        "ORDER BY a.name, p.start_year DESC LIMIT %s"
    )


def invoice_rows(context: dict) -> str:
    """Baseline of the invoice list: one page of invoices with their account, the longest
    overdue first."""
    return _first_page(
        "SELECT i.id, i.number, a.name, i.amount, i.amount_paid, i.due_date, a.id "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
        f"FROM {_q(Invoice._meta.db_table)} i "
        f"JOIN {_q(Account._meta.db_table)} a ON a.id = i.account_id "
        "ORDER BY i.due_date, i.id LIMIT %s"
    )


def escalation_rows(context: dict) -> str:
    """Baseline of the escalation queue: one page of open cases with their account."""
    return _first_page(
        "SELECT e.id, a.name, e.state, e.deadline, a.tier, a.id "  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
        f"FROM {_q(Escalation._meta.db_table)} e "
        f"JOIN {_q(Account._meta.db_table)} a ON a.id = e.account_id "
        "ORDER BY e.deadline, e.id LIMIT %s"
    )


SECTIONS: dict[str, list[Page]] = {
    "home": [
        # The start page of leadership: the programme's summary figures and red flags.
        Page("leadership", "/", account_rows(where="WHERE a.tier <> ''")),
        # A key account manager's: their actions, reviews, contacts and accounts due.
        Page(
            "key account manager",
            "/",
            account_rows(
                # Identifiers from the models' metadata; the manager is a query parameter.
                where=f"WHERE EXISTS (SELECT 1 FROM {_q(AccountTeamMember._meta.db_table)} t "  # noqa: S608  # nosec B608
                "WHERE t.account_id = a.id AND t.user_id = %s)",
                params=("{kam_pk}",),
            ),
            as_manager=True,
        ),
    ],
    "accounts": [
        Page("account list", "/accounts/", account_rows()),
        Page(
            "list: tier + region",
            "/accounts/?tier=Gold&region=south",
            account_rows(where="WHERE a.tier = %s AND a.region = %s", params=("Gold", "south")),
        ),
        Page(
            "list: search",
            "/accounts/?q={fragment_url}",
            # The expressions Django's icontains/iexact use, so the same indexes apply.
            account_rows(
                where="WHERE UPPER(a.name) LIKE UPPER(%s) OR UPPER(a.erp_number) = UPPER(%s)",
                params=("%{fragment}%", "{fragment}"),
            ),
        ),
        Page("list: sort by name", "/accounts/?sort=name", account_rows()),
        Page("list: last page", "/accounts/?page={last_page}", account_rows(page="{last_page}")),
        Page("account detail", "/accounts/{account_pk}/", account_with_contacts),
        Page("buying center", "/accounts/{account_pk}/buying-center/", account_with_contacts),
        # With the form that adds a team member (leadership may edit every account).
        Page("team", "/accounts/{account_pk}/team/", account_with_contacts),
    ],
    "selection": [
        Page("tier list", "/selection/", account_rows(where="WHERE a.tier <> ''")),
        Page("portfolio", "/selection/portfolio/", account_rows(where="WHERE a.tier <> ''")),
    ],
    "plans": [
        Page("plan list", "/plans/", plan_rows),
    ],
    "payments": [
        Page("escalation queue", "/payments/", escalation_rows),
        Page("invoice list", "/payments/invoices/", invoice_rows),
    ],
    "dashboard": [
        Page("programme", "/kpis/", measure_dashboard(where="WHERE a.tier <> ''")),
        Page("programme: all accts", "/kpis/?tier=all", measure_dashboard()),
        Page(
            "programme: Gold+south",
            "/kpis/?tier=Gold&region=south",
            measure_dashboard(
                where="WHERE a.tier = %s AND a.region = %s", params=("Gold", "south")
            ),
        ),
        Page(
            "programme: one KAM",
            "/kpis/?kam={kam_pk}",
            measure_dashboard(
                where="WHERE a.tier <> '' AND EXISTS (SELECT 1 FROM {team} t "
                "WHERE t.account_id = a.id AND t.role = 'key_account_manager' AND t.user_id = %s)",
                params=("{kam_pk}",),
            ),
        ),
        Page(
            "programme: prod. group",
            "/kpis/?product_group={product_group_url}",
            measure_dashboard(where="WHERE a.tier <> ''", source="product_group"),
        ),
        Page("programme: page 50", "/kpis/?page=50", measure_dashboard(where="WHERE a.tier <> ''")),
        Page("account KPIs", "/accounts/{account_pk}/kpis/", measure_dashboard(source="account")),
    ],
}


# Sections that time background work rather than pages.
TIMED_SECTIONS = ("selection", "pdf", "import")


def bench_context() -> dict:
    """Values the page URLs name: the account count, the last list page, a name fragment
    and an account from the middle of the table (with contacts, when seed_bulk made some);
    for the dashboard a key account manager, a product group and the latest year with
    revenue."""
    count = Account.objects.count()
    with_contacts = Account.objects.filter(Exists(Contact.objects.filter(account=OuterRef("pk"))))
    candidates = with_contacts if with_contacts.exists() else Account.objects.all()
    candidates = candidates.order_by("pk")
    account = candidates[candidates.count() // 2] if count else None
    words = account.name.split() if account else ["-"]
    fragment = (words[1] if len(words) > 1 else words[0])[:6]
    manager = (
        AccountTeamMember.objects.filter(role=TeamRole.KEY_ACCOUNT_MANAGER)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .first()
    )
    product_group = (
        AnnualFigure.objects.exclude(product_group="")
        .order_by("product_group")
        .values_list("product_group", flat=True)
        .first()
    ) or "-"
    kpi_year = AccountKpi.objects.filter(revenue__isnull=False).order_by("-year")
    return {
        "accounts": count,
        "last_page": max(1, math.ceil(count / PAGE_SIZE)),
        "fragment": fragment,
        "fragment_url": quote(fragment),
        "account_pk": account.pk if account else 0,
        "kam_pk": manager or 0,
        "product_group": product_group,
        "product_group_url": quote(product_group),
        "kpi_year": kpi_year.values_list("year", flat=True).first() or 0,
    }


def p95(samples: list[float]) -> float:
    """The 95th percentile by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls of ``run`` after the warm-ups."""
    for _ in range(WARMUPS):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class Command(BaseCommand):
    help = (
        "Time pages (median, p95, queries) against a raw-SQL baseline on a database filled by "
        "seed_bulk; -v 2 also prints the slowest queries of each page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=20, help="Timed runs per page.")
        parser.add_argument("--json", dest="json_path", help="Also write the results here.")
        parser.add_argument(
            "--sections",
            nargs="+",
            choices=[*SECTIONS, *TIMED_SECTIONS],
            help="Sections to run (default all).",
        )
        parser.add_argument(
            "--selection-repeat",
            type=int,
            default=3,
            help="Full selection runs to time (each scores and stores every account).",
        )
        parser.add_argument(
            "--import-rows",
            type=int,
            default=100_000,
            help="Rows (accounts) of the timed import file, five measures each.",
        )
        parser.add_argument(
            "--pdf-plans",
            type=int,
            default=200,
            help="Approved plans in the timed annual printout (created on first use).",
        )
        parser.add_argument(
            "--pdf-repeat", type=int, default=5, help="Timed renderings of one typical plan."
        )
        parser.add_argument(
            "--pdf-workers",
            type=int,
            default=0,
            help="Time the printout through this many real Celery workers (needs a broker); "
            "0 runs it in this process and estimates two workers.",
        )
        parser.add_argument(
            "--sizes",
            nargs="+",
            type=int,
            help="Grow the database with seed_bulk to each of these account counts in turn, "
            "measure at each, and print one table of every figure by size.",
        )

    def handle(self, *args, **options) -> None:
        if not options["sizes"]:
            report = self._measure(options)
            self._write(options["json_path"], report)
            self.stdout.write(f"Accounts used: {report['accounts']:,} ({connection.vendor}).")
            return
        reports = []
        for size in sorted(set(options["sizes"])):
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {size:,} accounts"))
            call_command("seed_bulk", accounts=size, stdout=self.stdout)
            reports.append(
                self._measure({**options, "import_rows": min(options["import_rows"], size)})
            )
        self._print_sizes(reports)
        self._write(options["json_path"], {"database": connection.vendor, "sizes": reports})

    def _write(self, path: str | None, report: dict) -> None:
        if path:
            Path(path).write_text(json.dumps(report, indent=2) + "\n")
            self.stdout.write(f"Wrote {path}.")

    def _measure(self, options: dict) -> dict:
        """Every section's figures on the database as it is, printed as they come."""
        repeat = max(1, options["repeat"])
        sections = options["sections"] or [*SECTIONS, *TIMED_SECTIONS]
        context = bench_context()
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(ALLOWED_HOSTS=hosts):
            client = Client(raise_request_exception=False)
            client.force_login(self._leadership_user())
            manager = Client(raise_request_exception=False)
            if context["kam_pk"]:
                manager.force_login(User.objects.get(pk=context["kam_pk"]))
            results = {
                section: [
                    self._bench(manager if page.as_manager else client, page, context, repeat)
                    for page in SECTIONS[section]
                ]
                for section in sections
                if section in SECTIONS
            }
        self._print(results, slowest=options["verbosity"] >= 2)
        selection = None
        if "selection" in sections:
            selection = measure_selection(
                user=self._leadership_user(), repeat=max(1, options["selection_repeat"])
            )
            self._print_selection(selection)
        pdf = None
        if "pdf" in sections:
            pdf = measure_pdf(
                user=self._leadership_user(),
                plans=max(1, options["pdf_plans"]),
                repeat=max(1, options["pdf_repeat"]),
                workers=max(0, options["pdf_workers"]),
            )
            self._print_pdf(pdf)
        imported = None
        if "import" in sections:
            imported = measure_import(
                user=self._leadership_user(), rows=max(1, options["import_rows"])
            )
            self._print_import(imported)
        return {
            "database": connection.vendor,
            "accounts": context["accounts"],
            "repeat": repeat,
            "warmups": WARMUPS,
            "sections": results,
            "selection": selection,
            "pdf": pdf,
            "import": imported,
        }

    def _print_sizes(self, reports: list[dict]) -> None:
        """One table: each figure (and its ratio to its baseline) by number of accounts."""
        figures: dict[str, list[str]] = {}

        def add(name: str, index: int, text: str) -> None:
            figures.setdefault(name, ["–"] * len(reports))[index] = text

        for index, report in enumerate(reports):
            for section, pages in report["sections"].items():
                for page in pages:
                    if page["median_ms"] is None:
                        add(f"{section}: {page['name']}", index, page["status"])
                        continue
                    ratio = f" ({page['ratio']:.1f}×)" if page["ratio"] is not None else ""
                    add(f"{section}: {page['name']}", index, f"{page['median_ms']:.0f} ms{ratio}")
            if report["selection"]:
                run = report["selection"]
                add("selection: full run", index, f"{run['median_s']:.2f} s ({run['ratio']}×)")
            if report["pdf"]:
                plan, printout = report["pdf"]["plan"], report["pdf"]["printout"]
                add("pdf: one plan", index, f"{plan['median_s']:.2f} s")
                add("pdf: annual printout", index, f"{printout['total_s']:.1f} s")
            if report["import"]:
                add("import: preview + write", index, f"{report['import']['total_s']:.2f} s")
        width = max((len(name) for name in figures), default=10)
        header = f"{'figure (median, ratio to baseline)':<{width}}" + "".join(
            f" {report['accounts']:>16,}" for report in reports
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for name, values in figures.items():
            self.stdout.write(f"{name:<{width}}" + "".join(f" {value:>16}" for value in values))

    def _leadership_user(self) -> User:
        user, created = User.objects.get_or_create(
            username=BENCH_USERNAME,
            defaults={
                "first_name": "Bench",
                "last_name": "Leitung",
                "password": make_password(None),
            },
        )
        if created or not user.has_role(Role.SALES_LEADERSHIP):
            group, _created = Group.objects.get_or_create(name=Role.SALES_LEADERSHIP.value)
            user.groups.add(group)
        return user

    def _bench(self, client: Client, page: Page, context: dict, repeat: int) -> dict:
        url = page.url.format(**context)
        result = {
            "name": page.name,
            "url": url,
            "status": "ok",
            "median_ms": None,
            "p95_ms": None,
            "queries": None,
            "baseline_median_ms": None,
            "ratio": None,
            "slowest_queries": [],
        }
        status = client.get(url, secure=True).status_code
        if status != 200:
            result["status"] = "missing" if status == 404 else f"HTTP {status}"
            return result
        samples = timed(lambda: client.get(url, secure=True), repeat)
        with CaptureQueriesContext(connection) as queries:
            client.get(url, secure=True)
        slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
        result.update(
            median_ms=round(statistics.median(samples), 2),
            p95_ms=round(p95(samples), 2),
            queries=len(queries.captured_queries),
            slowest_queries=[
                {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:SQL_EXCERPT]}
                for q in slowest[:SLOWEST_QUERIES]
            ],
        )
        if page.baseline is not None:
            baseline = statistics.median(timed(lambda: page.baseline(context), repeat))
            result["baseline_median_ms"] = round(baseline, 3)
            result["ratio"] = round(result["median_ms"] / baseline, 1) if baseline else None
        return result

    def _print_selection(self, result: dict) -> None:
        verdict = "ok" if result["passes"] else "over the bar"
        self.stdout.write(
            f"selection  run over {result['accounts']:,} accounts × {result['criteria']} criteria "
            f"+ {result['knockouts']} K.O.: median {result['median_s']:.2f} s, "
            f"max {result['max_s']:.2f} s, baseline {result['baseline_s']:.2f} s, "
            f"ratio {result['ratio']} (bar {result['bar_s']:.0f} s: {verdict})"
        )

    def _print_import(self, result: dict) -> None:
        verdict = "ok" if result["passes"] else "over the bar"
        self.stdout.write(
            f"import     {result['rows']:,} rows ({result['figures']:,} figures, "
            f"{result['file_bytes'] / 1_000_000:.1f} MB German CSV): "
            f"preview {result['preview_s']:.2f} s, write {result['apply_s']:.2f} s, "
            f"total {result['total_s']:.2f} s "
            f"(bar {result['bar_s']:.0f} s: {verdict}); the same file again "
            f"{result['reimport_s']:.2f} s, nothing changed"
        )

    def _print_pdf(self, result: dict) -> None:
        plan, printout = result["plan"], result["printout"]

        def verdict(passes: bool | None) -> str:
            return {True: "ok", False: "over the bar", None: "no bar"}[passes]

        self.stdout.write(
            f"pdf        one plan ({plan['pages']} pages): median {plan['median_s']:.2f} s, "
            f"max {plan['max_s']:.2f} s (bar {plan['bar_s']:.1f} s: {verdict(plan['passes'])})"
        )
        if printout["workers"]:
            self.stdout.write(
                f"pdf        annual printout of {printout['plans']} plans with "
                f"{printout['workers']} workers: {printout['total_s']:.1f} s "
                f"(bar {printout['bar_s']:.0f} s with 2 workers: {verdict(printout['passes'])})"
            )
        else:
            self.stdout.write(
                f"pdf        annual printout of {printout['plans']} plans "
                f"({printout['pages']} pages) in this process: {printout['total_s']:.1f} s "
                f"(rendering {printout['render_s']:.1f} s, {printout['per_plan_s']:.2f} s a plan; "
                f"ZIP and combined PDF {printout['assemble_s']:.1f} s); estimated with 2 workers "
                f"{printout['estimate_two_workers_s']:.1f} s "
                f"(bar {printout['bar_s']:.0f} s: {verdict(printout['passes'])})"
            )

    def _print(self, results: dict[str, list[dict]], *, slowest: bool) -> None:
        header = (
            f"{'section':<10} {'page':<22} {'status':<8} {'median ms':>10} {'p95 ms':>9} "
            f"{'queries':>7} {'base ms':>8} {'ratio':>7}  url"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))

        def number(value, digits: int, unit: str = "") -> str:
            return "–" if value is None else f"{value:.{digits}f}{unit}"

        for section, pages in results.items():
            for page in pages:
                self.stdout.write(
                    f"{section:<10} {page['name']:<22} {page['status']:<8} "
                    f"{number(page['median_ms'], 1):>10} {number(page['p95_ms'], 1):>9} "
                    f"{number(page['queries'], 0):>7} {number(page['baseline_median_ms'], 2):>8} "
                    f"{number(page['ratio'], 1, '×'):>7}  {page['url']}"
                )
        if slowest:
            for section, pages in results.items():
                for page in pages:
                    for query in page["slowest_queries"]:
                        self.stdout.write(
                            f"{section} / {page['name']}: {query['ms']:.1f} ms  {query['sql']}"
                        )
