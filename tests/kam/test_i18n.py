"""Every UI string is translated: German complete, English present, nothing fuzzy."""

import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import timezone, translation

SOURCE_PARTS = (
    "manage.py",
    "kam",
    "accounts",
    "selection",
    "plans",
    "kpis",
    "payments",
    "templates",
    "locale",
)


@pytest.fixture(scope="module")
def fresh_catalogue(tmp_path_factory) -> polib.POFile:
    """The German catalogue as makemessages would write it from today's source."""
    root: Path = tmp_path_factory.mktemp("i18n")
    for part in SOURCE_PARTS:
        source = settings.BASE_DIR / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / part)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-obsolete"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "KAM_TESTING": "true", "DATABASE_URL": "sqlite:///:memory:"},
    )
    return polib.pofile(str(root / "locale/de/LC_MESSAGES/django.po"))


def test_every_string_in_the_source_has_a_german_translation(fresh_catalogue) -> None:
    missing = [entry.msgid for entry in fresh_catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in fresh_catalogue.fuzzy_entries()]

    assert not missing, f"Run makemessages and translate: {missing}"
    assert not fuzzy, f"Fuzzy German translations: {fuzzy}"


@pytest.mark.parametrize("language", ["de", "en"])
def test_committed_catalogues_are_complete(language) -> None:
    catalogue = polib.pofile(str(settings.BASE_DIR / f"locale/{language}/LC_MESSAGES/django.po"))

    assert not catalogue.fuzzy_entries()
    if language == "de":
        assert not catalogue.untranslated_entries()


def _render(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load kam l10n %}" + source).render(Context(context))


@pytest.mark.parametrize(("language", "expected"), [("de", "1.234,56\xa0€"), ("en", "€1,234.56")])
def test_money_follows_the_locale(language, expected) -> None:
    assert _render("{{ amount|money }}", language, amount=Decimal("1234.56")) == expected


@pytest.mark.parametrize(
    ("language", "number", "date"),
    [("de", "1.234.567", "24.12.2026"), ("en", "1,234,567", "12/24/2026")],
)
def test_numbers_and_dates_follow_the_locale(language, number, date) -> None:
    moment = timezone.make_aware(datetime(2026, 12, 24, 18, 30))

    rendered = _render(
        '{{ n|localize }} {{ d|date:"SHORT_DATE_FORMAT" }}', language, n=1234567, d=moment
    )

    assert rendered == f"{number} {date}"
