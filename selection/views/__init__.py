"""The selection app's pages, one module per area: criteria, runs, portfolio, account tab."""
