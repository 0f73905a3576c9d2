"""Deployment hygiene: bandit over the app code and an up-to-date list of third-party
licences (Django's deployment checklist: tests/kam/test_settings.py)."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from kam.management.commands import licences
from tests.production import run_python

APP_PACKAGES = ("accounts", "kam", "kpis", "payments", "plans", "selection")


def test_bandit_finds_nothing_in_the_app_code():
    """Every remaining finding carries a ``# nosec BXXX`` with its reason on the line."""
    result = run_python(
        "-m", "bandit", "-r", *APP_PACKAGES, "-c", "pyproject.toml", "-q", "-f", "custom",
        "--msg-template", "{relpath}:{line}: {test_id} {msg}",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout


def test_the_licence_list_is_up_to_date():
    """CI fails when a dependency or vendored asset changed without ``manage.py licences``."""
    call_command("licences", "--check")


def test_the_licence_check_notices_a_stale_file(tmp_path, monkeypatch):
    (tmp_path / "static" / "vendor").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_bytes((settings.BASE_DIR / "pyproject.toml").read_bytes())
    (tmp_path / licences.VENDOR_README).write_text(
        "| [htmx.org](https://www.npmjs.com/package/htmx.org) | 2.0.11 | 0BSD |\n"
    )
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)
    with pytest.raises(CommandError):
        call_command("licences", "--check")
    call_command("licences")
    text = (tmp_path / licences.OUTPUT).read_text()
    assert "| Django | " in text
    assert "| [htmx.org]" in text
    call_command("licences", "--check")
    # A newer release of a listed package is no failure; a package the file lacks is.
    htmx = "| [htmx.org](https://www.npmjs.com/package/htmx.org) | 2.0.12 | 0BSD |\n"
    (tmp_path / licences.VENDOR_README).write_text(htmx)
    call_command("licences", "--check")
    (tmp_path / licences.VENDOR_README).write_text(
        htmx + "| [axe-core](https://www.npmjs.com/package/axe-core) | 4.10.0 | MPL-2.0 |\n"
    )
    with pytest.raises(CommandError):
        call_command("licences", "--check")
