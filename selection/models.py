"""Models of the selection app arrive with its issue."""
