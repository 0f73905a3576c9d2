"""Writes of the portfolio view: the weights of our position with an account."""

from __future__ import annotations

from django.db import transaction

from kam.concurrency import EditConflict, FieldChange, run_alone
from selection.models import (
    PortfolioSettings,
)

WEIGHTS = ("coverage_weight", "share_of_wallet_weight")


def portfolio_settings_update(
    *,
    coverage_weight: int,
    share_of_wallet_weight: int,
    started_from: tuple[int, int] | None = None,
) -> PortfolioSettings:
    """Save the weights of the position on the one settings row, creating it when missing.

    ``started_from`` holds the two weights the user saw (None: not checked). The weights count
    relative to each other, so either one changed by someone else since is an EditConflict
    and nothing is written. Raises ValidationError when both weights are 0 or one is outside
    0–100.
    """
    with transaction.atomic():
        # Before the first save there is no row to lock, and two first saves must not make two.
        run_alone("selection:portfolio-settings")
        row = (
            PortfolioSettings.objects.select_for_update().order_by("pk").first()
            or PortfolioSettings()
        )
        now = (row.coverage_weight, row.share_of_wallet_weight)
        wanted = (coverage_weight, share_of_wallet_weight)
        if started_from is not None and now not in (started_from, wanted):
            raise EditConflict(
                current=row,
                changes=[
                    FieldChange(
                        name=name,
                        label=str(PortfolioSettings._meta.get_field(name).verbose_name),
                        theirs=str(seen),
                        current=str(value),
                    )
                    for name, seen, value in zip(WEIGHTS, started_from, now, strict=True)
                    if seen != value
                ],
            )
        row.coverage_weight = coverage_weight
        row.share_of_wallet_weight = share_of_wallet_weight
        row.full_clean()
        row.save()
    return row
