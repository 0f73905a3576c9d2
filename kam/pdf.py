"""Render server-side HTML templates to PDF with WeasyPrint, never touching the network."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

PRINT_STYLESHEET = "css/print.css"


class DataOnlyURLFetcher(URLFetcher):
    """Loads inline ``data:`` resources and refuses every other URL.

    User content ends up in printouts; it must not make the renderer read local files or
    reach the network. Stylesheets are handed to WeasyPrint directly, not fetched.
    """

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith("data:"):
            raise ValueError(f"Refusing to load {url!r} while rendering a PDF")
        return super().fetch(url, headers)


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render ``template_name`` with ``context`` and the print stylesheet; return PDF bytes."""
    html = render_to_string(template_name, context)
    stylesheet = CSS(filename=finders.find(PRINT_STYLESHEET))
    document = HTML(string=html, url_fetcher=DataOnlyURLFetcher(), base_url="data:,")
    return document.write_pdf(stylesheets=[stylesheet])
