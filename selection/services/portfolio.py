"""Writes of the portfolio view: the weights of our position with an account."""

from __future__ import annotations

from django.db import transaction

from selection.models import (
    PortfolioSettings,
)


def portfolio_settings_update(
    *, coverage_weight: int, share_of_wallet_weight: int
) -> PortfolioSettings:
    """Save the weights of the position on the one settings row, creating it when missing.

    Raises ValidationError when both weights are 0 or one is outside 0–100.
    """
    with transaction.atomic():
        row = (
            PortfolioSettings.objects.select_for_update().order_by("pk").first()
            or PortfolioSettings()
        )
        row.coverage_weight = coverage_weight
        row.share_of_wallet_weight = share_of_wallet_weight
        row.full_clean()
        row.save()
    return row
