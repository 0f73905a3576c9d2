"""Production settings for tests that start the app in a subprocess (settings are read once
per process, so production mode cannot be switched on inside the test process)."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DEBUG": "false",
    "SECRET_KEY": "q8Zr-2vLx_Pw0NcT4yHs9KjB3mFd7GaE1uWo6RiYl5XeQbVn_tCp",
    "ALLOWED_HOSTS": "kam.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
    "DJANGO_SETTINGS_MODULE": "kam.settings",
}


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` in the project folder (``env`` None: ours)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
