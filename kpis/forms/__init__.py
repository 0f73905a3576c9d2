"""Forms of the kpis app, one module per area (figures, imports)."""
