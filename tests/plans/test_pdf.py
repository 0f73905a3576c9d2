"""A plan's printout, rendered by the real WeasyPrint and read back with poppler's tools."""

import datetime
import logging
import re
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
from django.templatetags.static import static
from django.utils import translation

from accounts.models import Account
from kam import pdf as kam_pdf
from kam.pdf import BASE_URL, RefusedURL, StaticOnlyURLFetcher, static_url
from plans import services
from plans.models import Metric, Plan
from plans.selectors import plan_snapshot

STEM = "Donaudampfschifffahrt"
LONG_WORD = STEM * 240  # 5,040 characters without a break
HOSTILE = (
    "<script>alert('x')</script> <b>bold</b> <img src=\"file:///etc/passwd\">\n\n"
    "![x](http://example.com/x.png) [remote](http://example.com/track) "
    "<https://example.com/remote.css>\n\n"
    f"{LONG_WORD}\n\n"
    "Größere Märkte, Übernahme, Straße 🚀🎉👍🏽"
)


def pdf_text(pdf: bytes, tmp_path: Path, *args: str) -> str:
    """The PDF's text as pdftotext reads it, every run of whitespace made one space (table
    cells wrap their words onto several lines)."""
    return " ".join(pdf_raw_text(pdf, tmp_path, *args).split())


def pdf_raw_text(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=True,
    ).stdout


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE).group(1))


def _render(plan: Plan) -> bytes:
    return services.plan_pdf_render(plan_snapshot(plan))


def test_the_printout_holds_the_account_targets_and_actions(plan, tmp_path) -> None:
    pdf = _render(plan)

    text = pdf_text(pdf, tmp_path)
    assert pdf.startswith(b"%PDF")
    assert "Brandt Maschinenbau GmbH" in text
    assert "1.200.000,00" in text
    assert "1.800.000,00" in text
    assert "Framework contract for spare parts" in text
    assert "Workshop with purchasing" in text
    assert "Petra Brandt" in text
    assert "export" in text
    assert "2027–2029" in text
    assert 3 <= page_count(pdf, tmp_path) <= 10


def test_the_table_of_contents_names_the_pages_of_the_sections(plan, tmp_path) -> None:
    pdf = _render(plan)

    contents = pdf_raw_text(pdf, tmp_path, "-f", "2", "-l", "2", "-layout")
    pages = page_count(pdf, tmp_path)
    rows = re.findall(r"^\s*(\d+) \S.*?\s{3,}(\d+)\s*$", contents, re.MULTILINE)[:12]
    numbers = [int(page) for _section, page in rows]
    assert [int(section) for section, _page in rows] == list(range(1, 13))
    assert numbers == sorted(numbers)
    assert numbers[0] >= 2
    assert numbers[-1] <= pages


def test_a_german_plan_is_printed_in_german(plan, tmp_path) -> None:
    text = pdf_text(_render(plan), tmp_path)

    assert plan.language == "de"
    assert "ERP-Kundennummer" in text
    assert "Organigramm" in text
    assert "Branche" in text
    assert "Organisation chart" not in text
    with translation.override("de"):
        assert str(Metric.REVENUE.label) in text
        assert str(Metric.CONTRIBUTION_MARGIN.label) in text


def test_an_english_plan_is_printed_in_english(cast, plan, tmp_path) -> None:
    plan = services.plan_section_update(
        plan=plan,
        section="settings",
        revision=plan.revision,
        values={"language": "en", "review_interval_months": 3},
        user=cast.kam,
    )

    with translation.override("de"):
        text = pdf_text(_render(plan), tmp_path)

    assert "ERP customer number" in text
    assert "Organisation chart" in text
    assert "Revenue" in text
    assert "1,200,000.00" in text
    assert "Organigramm" not in text
    assert "ERP-Kundennummer" not in text


def _de(message: str) -> str:
    with translation.override("de"):
        return translation.gettext(message)


def test_a_draft_is_printed_as_a_working_copy_not_approved(plan, tmp_path) -> None:
    text = pdf_text(_render(plan), tmp_path)

    assert _de("Working copy, not approved") in text
    assert _de("Approved version %(number)s") % {"number": 1} not in text


def test_a_version_names_its_approval_and_the_approved_working_copy_is_not_called_unapproved(
    cast, approved_version, tmp_path
) -> None:
    version = pdf_text(services.plan_pdf_render(approved_version.snapshot), tmp_path)
    working_copy = pdf_text(_render(approved_version.plan), tmp_path)

    assert _de("Approved version %(number)s") % {"number": 1} in version
    assert str(cast.leadership) in version
    assert _de("Working copy") not in version
    assert _de("Working copy") in working_copy
    assert _de("Working copy, not approved") not in working_copy


@pytest.fixture
def hostile_plan(cast, plan) -> Plan:
    """The plan with hostile text in every kind of field: Markdown texts, plain item texts
    and the names shown from the accounts app."""
    Account.objects.filter(pk=cast.account.pk).update(
        name="Brandt <b>Übermaß</b> & Söhne GmbH 🚀", customer_goals=HOSTILE
    )
    plan.refresh_from_db()
    for section, fields in (
        ("situation", services.SECTIONS["situation"]),
        ("swot", services.SECTIONS["swot"]),
    ):
        plan = services.plan_section_update(
            plan=plan,
            section=section,
            revision=plan.revision,
            values=dict.fromkeys(fields, HOSTILE),
            user=cast.kam,
        )
    objective = plan.objectives.get()
    services.item_create(
        plan=plan,
        kind="action",
        values={
            "objective": objective,
            "title": '<img src="file:///etc/passwd"> Prüfung ' + "Ü" * 150,
            "owner": cast.kam,
            "due_date": datetime.date(2027, 5, 1),
        },
        user=cast.kam,
    )
    services.item_create(
        plan=plan,
        kind="risk",
        values={
            "description": "<script>document.write('x')</script> Wettbewerber 👀",
            "likelihood": "high",
            "impact": "high",
            "mitigation": HOSTILE,
        },
        user=cast.kam,
    )
    plan.refresh_from_db()
    return plan


def test_a_hostile_plan_renders_safely_without_fetching_anything(
    hostile_plan, tmp_path, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="kam.pdf")
    caplog.set_level(logging.WARNING, logger="weasyprint")

    pdf = _render(hostile_plan)

    text = pdf_text(pdf, tmp_path)
    pages = page_count(pdf, tmp_path)
    assert "root:x:" not in text
    assert "Brandt <b>Übermaß</b> & Söhne GmbH" in text
    assert '<img src="file:///etc/passwd">' in text
    assert "<script>alert('x')</script>" in text
    assert "Größere Märkte, Übernahme, Straße" in text
    # Ten fields hold the long word; all of it is printed (a running header or footer may
    # interrupt it where it crosses a page).
    assert text.replace(" ", "").count(STEM) >= 10 * 240 - 2 * pages
    # Nothing the user typed was even attempted: no refusal, no failed resource.
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "Refused" in m or "Failed to load" in m], messages
    assert 3 <= pages <= 40


def test_long_words_wrap_inside_the_page(hostile_plan, tmp_path) -> None:
    pdf = _render(hostile_plan)

    boxes = pdf_raw_text(pdf, tmp_path, "-bbox")
    page_width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    assert right_edges
    assert max(right_edges) <= page_width


def test_markdown_is_rendered_and_raw_html_is_shown_as_text(cast, plan, tmp_path) -> None:
    plan = services.plan_section_update(
        plan=plan,
        section="strategy",
        revision=plan.revision,
        values={"value_proposition": "- **Service** first\n- <i>spare parts</i> in 24 h"},
        user=cast.kam,
    )

    text = pdf_text(_render(plan), tmp_path)

    assert "Service first" in text
    assert "<i>spare parts</i> in 24 h" in text


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/x.png",
        "https://example.com/static/css/print.css",
        "http://print.kam.invalid/static/css/print.css",
        "ftp://example.com/x",
        f"{BASE_URL}static/../../etc/passwd",
        f"{BASE_URL}static/%2e%2e/%2e%2e/etc/passwd",
        f"{BASE_URL}static/css/%2e%2e/css/print.css",
        f"{BASE_URL}static//etc/passwd",
        f"{BASE_URL}static/css",
        f"{BASE_URL}static/css/missing.css",
        f"{BASE_URL}media/plans/versions/2027/plan.pdf",
        f"{BASE_URL}etc/passwd",
    ],
)
def test_the_fetcher_refuses_everything_but_our_static_files(url) -> None:
    with pytest.raises(RefusedURL):
        StaticOnlyURLFetcher().fetch(url)


def test_the_fetcher_loads_data_urls_and_static_files() -> None:
    fetcher = StaticOnlyURLFetcher()

    data = fetcher.fetch("data:text/plain,hello")
    css = fetcher.fetch(static_url("css/plan-print.css"))
    # What {% static %} writes into a template, resolved against the renderer's base URL.
    linked = fetcher.fetch(urljoin(BASE_URL, static("css/print.css")))

    assert data.read() == b"hello"
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    assert b"@page" in linked.read()


def test_the_plan_stylesheet_is_loaded_through_the_fetcher(plan, caplog) -> None:
    kam_pdf._stylesheet.cache_clear()
    caplog.set_level(logging.DEBUG, logger="kam.pdf")

    _render(plan)

    loaded = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Loaded")]
    assert any(m.endswith("css/plan-print.css for a PDF") for m in loaded), loaded
    assert any(m.endswith("css/print.css for a PDF") for m in loaded), loaded
