"""Views of the kpis app, one module per area."""
