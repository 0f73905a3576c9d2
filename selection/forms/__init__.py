"""Forms of the selection pages, one module per area: criteria, runs, portfolio."""
