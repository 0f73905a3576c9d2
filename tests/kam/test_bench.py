import datetime
import io
import json

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account, AccountTeamMember, Contact, ContactRole, Relationship
from kam.management.commands.bench import SECTIONS
from kam.models import User
from payments.models import Escalation, Invoice
from payments.services.daily import overdue_uncovered

NUMERIC_FIELDS = ("median_ms", "p95_ms", "queries", "baseline_median_ms", "ratio")
# Pages that exist today; a page added to SECTIONS before its view lands may answer "missing".
EXISTING_PAGES = {
    "account list",
    "list: tier + region",
    "list: search",
    "account detail",
    "leadership",
    "key account manager",
    "team",
    "invoice list",
    "tier list",
    "portfolio",
    "plan list",
    "escalation queue",
}


def test_seed_bulk_creates_numbered_accounts_and_skips_them_on_a_second_run(db) -> None:
    # Seed 2 gives one key account an overdue invoice past its grace days.
    call_command("seed_bulk", accounts=20, contacts_per_account=6, seed=2, stdout=io.StringIO())
    counts = (Account.objects.count(), Contact.objects.count(), Relationship.objects.count())
    escalations = Escalation.objects.count()

    call_command("seed_bulk", accounts=20, contacts_per_account=6, seed=2, stdout=io.StringIO())

    assert (
        Account.objects.count(),
        Contact.objects.count(),
        Relationship.objects.count(),
    ) == counts
    assert counts[:2] == (20, 120)
    assert Account.objects.filter(erp_number__startswith="B").count() == 20
    assert ContactRole.objects.count() == 120
    for account in Account.objects.all():
        assert account.team_members.filter(role="key_account_manager").count() == 1
        assert account.contacts.filter(reports_to__isnull=True).count() == 1
    assert Invoice.objects.count() == 4 * 20
    # The daily run opened a case for every overdue invoice of a key account past its grace.
    past_grace = timezone.localdate() - datetime.timedelta(days=settings.PAYMENT_GRACE_DAYS)
    assert not overdue_uncovered(past_grace).exclude(account__tier="").exists()
    assert Escalation.objects.count() == escalations == 1


def test_seed_bulk_draws_teams_from_a_pool_that_grows_with_the_accounts(db) -> None:
    call_command(
        "seed_bulk", accounts=30, contacts_per_account=2, team_pool=6, stdout=io.StringIO()
    )

    on_teams = set(AccountTeamMember.objects.values_list("user__username", flat=True))
    assert on_teams <= {f"bulk.kam{n:02d}" for n in range(1, 7)}
    assert len(on_teams) == 6
    # Without --team-pool: one member per 25 accounts, at least 50.
    call_command("seed_bulk", accounts=40, contacts_per_account=2, stdout=io.StringIO())
    assert User.objects.filter(username__startswith="bulk.kam").count() == 50


def test_bench_times_every_page_against_a_baseline(db, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_bulk", accounts=50, stdout=io.StringIO())
    path = tmp_path / "bench.json"
    out = io.StringIO()

    call_command(
        "bench",
        repeat=2,
        json_path=str(path),
        pdf_plans=2,
        pdf_repeat=1,
        import_rows=40,
        stdout=out,
    )

    report = json.loads(path.read_text())
    assert report["accounts"] == 50
    selection = report["selection"]
    assert (selection["accounts"], selection["criteria"], selection["knockouts"]) == (50, 12, 3)
    assert selection["baseline_s"] > 0
    assert 0 < selection["median_s"] <= selection["max_s"]
    assert "selection  run over 50 accounts" in out.getvalue()
    assert "Accounts used: 50" in out.getvalue()
    pdf = report["pdf"]
    assert pdf["plan"]["pages"] >= 5
    assert 0 < pdf["plan"]["median_s"] <= pdf["plan"]["max_s"]
    assert (pdf["printout"]["plans"], pdf["printout"]["workers"]) == (2, 0)
    assert pdf["printout"]["pages"] > pdf["plan"]["pages"]
    assert 0 <= pdf["printout"]["assemble_s"] <= pdf["printout"]["total_s"]
    assert "annual printout of 2 plans" in out.getvalue()
    imported = report["import"]
    assert (imported["rows"], imported["figures"]) == (40, 200)
    assert 0 < imported["preview_s"] <= imported["total_s"]
    assert "import     40 rows (200 figures" in out.getvalue()
    assert set(report["sections"]) == set(SECTIONS)
    for section, pages in SECTIONS.items():
        assert [row["name"] for row in report["sections"][section]] == [p.name for p in pages]
    rows = {row["name"]: row for rows in report["sections"].values() for row in rows}
    assert {name for name, row in rows.items() if row["status"] == "ok"} >= EXISTING_PAGES
    for name, row in rows.items():
        assert row["status"] in ("ok", "missing"), (name, row["status"])
        if row["status"] == "ok":
            for field in NUMERIC_FIELDS:
                assert isinstance(row[field], int | float), (name, field)
            assert row["queries"] > 0, name
            assert row["median_ms"] <= row["p95_ms"], name


def test_bench_grows_the_database_through_the_sizes_and_prints_one_table(
    db, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    path = tmp_path / "bench.json"
    out = io.StringIO()

    call_command(
        "bench",
        sizes=[30, 12],
        sections=["accounts", "selection", "import"],
        repeat=1,
        selection_repeat=1,
        import_rows=20,
        json_path=str(path),
        stdout=out,
    )

    report = json.loads(path.read_text())
    assert [size["accounts"] for size in report["sizes"]] == [12, 30]
    # The import never has more rows than the database has accounts.
    assert [size["import"]["rows"] for size in report["sizes"]] == [12, 20]
    table = out.getvalue().split("figure (median, ratio to baseline)")[1]
    header, _rule, *lines = table.splitlines()
    assert header.split() == ["12", "30"]
    rows = {line.split("  ")[0]: line for line in lines if line.strip()}
    assert {"accounts: account list", "selection: full run", "import: preview + write"} <= set(
        rows
    ), rows
    # Each page figure carries its ratio to the baseline, per size.
    assert rows["accounts: account list"].count("×)") == 2
