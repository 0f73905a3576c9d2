"""Reads of the kpis app, one module per area (figures, imports, refresh, programme,
account, home); ``common`` holds what several of them use."""
