"""User Markdown renders to sanitised HTML: no raw HTML, no images, only safe link targets."""

from html.parser import HTMLParser

import pytest

from kam.markdown import ALLOWED_TAGS, render_markdown


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML (text is ignored)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.elements.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def test_markdown_renders_emphasis_lists_tables_and_shifts_headings() -> None:
    html = render_markdown(
        "# Ziele\n\n- **Export** verdoppeln\n\n| Jahr | Umsatz |\n|---|---|\n| 2027 | 1 |"
    )

    assert "<h3>Ziele</h3>" in html
    assert "<strong>Export</strong>" in html
    assert "<td>2027</td>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src="file:///etc/passwd">',
        "![x](http://example.com/x.png)",
        "[click](javascript:alert(1))",
        '<a href="http://evil.example" onclick="x()">a</a>',
        "<b>bold</b> <iframe src=//evil.example></iframe>",
    ],
)
def test_markdown_builds_no_element_or_attribute_outside_the_allow_list(source: str) -> None:
    for tag, attrs in _elements(render_markdown(source)):
        assert tag in ALLOWED_TAGS
        assert not any(name.startswith("on") for name in attrs)
        assert not (attrs.get("href") or "").startswith("javascript")
    assert "<img" not in render_markdown(source)


def test_markdown_keeps_web_links_with_a_safe_rel() -> None:
    html = render_markdown("[Website](https://example.com)")

    assert 'href="https://example.com"' in html
    assert "noopener" in html


def test_empty_markdown_is_empty() -> None:
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
