"""``seed_demo`` adds three years of figures, the plans that set their targets, an import, the
closed years and a finished refresh, so every dashboard reads real inputs; a second run adds
nothing."""

from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from accounts.models import Account
from kpis.models import (
    AccountKpi,
    AnnualFigure,
    AnnualRefresh,
    ClosedYear,
    ImportBatch,
    ImportSource,
    ImportState,
)
from kpis.services.refresh import _off_target
from plans.models import Plan, PlanStatus
from selection.models import RunState


def _snapshot() -> tuple:
    return (
        sorted(
            AnnualFigure.objects.values_list(
                "account__erp_number",
                "year",
                "measure",
                "product_group",
                "region",
                "actual",
                "target",
            )
        ),
        sorted(Plan.objects.values_list("account__erp_number", "start_year", "status")),
        ImportBatch.objects.count(),
        sorted(ClosedYear.objects.values_list("year", flat=True)),
        AnnualRefresh.objects.count(),
    )


def test_seed_demo_adds_three_years_of_figures_for_the_dashboards(db, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _snapshot()
    this_year = timezone.localdate().year
    years = [this_year - 3, this_year - 2, this_year - 1]

    assert (
        list(AnnualFigure.objects.order_by("year").values_list("year", flat=True).distinct())
        == years
    )
    key_accounts = Account.objects.exclude(tier="")
    per_account = (
        AnnualFigure.objects.filter(account__in=key_accounts, product_group="", region="")
        .values("account", "year")
        .annotate(measures=Count("measure"))
    )
    assert max(row["measures"] for row in per_account) == 19
    breakdowns = AnnualFigure.objects.order_by()
    assert breakdowns.exclude(product_group="").values("product_group").distinct().count() == 3
    assert breakdowns.exclude(region="").values("region").distinct().count() == 2
    assert AnnualFigure.objects.exclude(account__in=key_accounts).exists()

    for year in years:
        kpis = AccountKpi.objects.filter(year=year, account__in=key_accounts)
        filled = kpis.filter(revenue__isnull=False, revenue_target__isnull=False)
        assert filled.count() >= 25, year
        assert 0 < _off_target(kpis).count() < filled.count(), year
        assert kpis.filter(contribution_margin__isnull=False, margin_target__isnull=False).exists()
    growth = AccountKpi.objects.filter(year=years[-1], revenue_prior__isnull=False)
    assert growth.count() >= 70
    assert Plan.objects.filter(start_year=years[0], status=PlanStatus.APPROVED).count() == 30

    batch = ImportBatch.objects.get()
    assert (batch.state, batch.year, batch.errors) == (ImportState.IMPORTED, years[-1], 0)
    assert AnnualFigure.objects.filter(import_batch=batch).count() == batch.created
    assert ImportSource.objects.filter(mapping__has_key="account").count() == 2

    assert sorted(ClosedYear.objects.values_list("year", flat=True)) == years
    refresh = AnnualRefresh.objects.get()
    assert refresh.year == years[-1]
    assert refresh.finished_at is not None
    assert refresh.selection_run.state == RunState.READY
    assert refresh.selection_run.approved_at is None

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _snapshot() == first
