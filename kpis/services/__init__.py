"""Writes of the kpis app, one module per area; import the functions from here."""

from kpis.services.figures import FiguresSaved, figures_save
from kpis.services.imports import (
    import_batch_apply,
    import_batch_apply_job,
    import_batch_confirm,
    import_batch_discard,
    import_batch_map,
    import_batch_preview,
    import_batch_upload,
)
from kpis.services.kpis import kpis_recompute
from kpis.services.refresh import (
    REFRESH_STEPS,
    annual_refresh_close,
    annual_refresh_complete,
    annual_refresh_import,
    annual_refresh_job,
    annual_refresh_notify,
    annual_refresh_recompute,
    annual_refresh_roll_forward,
    annual_refresh_selection,
    annual_refresh_start,
    annual_refresh_start_scheduled,
)

__all__ = [
    "REFRESH_STEPS",
    "FiguresSaved",
    "annual_refresh_close",
    "annual_refresh_complete",
    "annual_refresh_import",
    "annual_refresh_job",
    "annual_refresh_notify",
    "annual_refresh_recompute",
    "annual_refresh_roll_forward",
    "annual_refresh_selection",
    "annual_refresh_start",
    "annual_refresh_start_scheduled",
    "figures_save",
    "import_batch_apply",
    "import_batch_apply_job",
    "import_batch_confirm",
    "import_batch_discard",
    "import_batch_map",
    "import_batch_preview",
    "import_batch_upload",
    "kpis_recompute",
]
