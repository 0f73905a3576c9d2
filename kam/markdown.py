"""Markdown for the long texts people write (plans, notes), rendered safely.

Raw HTML in the source is shown as text, never interpreted; the rendered HTML is then
sanitised with nh3 to a small allow-list. Images are not allowed at all (a remote image
would leak who reads the plan, a ``file://`` one would reach into the server), and links
keep only http(s) and mailto targets.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote",
        "ul", "ol", "li", "h3", "h4", "h5", "h6", "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# Headings in user text start at h3: the page and the printout own h1 and h2.
_HEADING_SHIFT = {f"h{level}": f"h{min(level + 2, 6)}" for level in range(1, 7)}

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_renderer.enable(["table", "strikethrough"])
_renderer.disable("image")


def _shift_headings(tokens) -> None:
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = _HEADING_SHIFT[token.tag]


def render_markdown(text: str | None) -> SafeString:
    """Render ``text`` as sanitised HTML; empty text gives an empty string."""
    if not text:
        return mark_safe("")  # nosec B308 # an empty string
    tokens = _renderer.parse(text)
    _shift_headings(tokens)
    html = _renderer.renderer.render(tokens, _renderer.options, {})
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 above  # nosec B308, B703
