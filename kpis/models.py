"""Models of the kpis app arrive with its issue."""
