"""Models of the plans app arrive with its issue."""
