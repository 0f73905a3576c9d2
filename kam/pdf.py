"""Render server-side HTML templates to PDF with WeasyPrint, never touching the network.

Printouts carry what people typed. Their text is escaped by the templates (or rendered by
the sanitising ``markdown`` filter), and whatever URL still ends up in the HTML or CSS goes
through :class:`StaticOnlyURLFetcher`: ``data:`` URLs and the app's own static files load,
everything else (``file://``, the network, paths out of the static folders) is refused.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from django.utils.translation import get_language
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

PRINT_STYLESHEET = "css/print.css"

# Relative URLs in print templates resolve against this fixed base. The ``.invalid`` top-level
# domain never resolves (RFC 2606), and the fetcher maps the base's static URLs to files.
BASE_URL = "https://print.kam.invalid/"


class RefusedURL(ValueError):
    """A URL the renderer must not load."""


def static_url(name: str) -> str:
    """The absolute URL under :data:`BASE_URL` by which a template names static file ``name``."""
    return urljoin(_static_prefix(), name)


def _static_prefix() -> str:
    return urljoin(BASE_URL, settings.STATIC_URL)


def _static_file(url: str) -> Path | None:
    """The file behind a static URL, or None for any URL that is not one of ours."""
    prefix = urlsplit(_static_prefix())
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (prefix.scheme, prefix.netloc):
        return None
    if not parts.path.startswith(prefix.path):
        return None
    name = unquote(parts.path[len(prefix.path) :])
    # Checked after unquoting, so %2e%2e and encoded slashes cannot climb out either.
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or posixpath.normpath(name) != name
        or any(segment in {"", ".", ".."} for segment in name.split("/"))
    ):
        return None
    found = finders.find(name)
    if found and Path(found).is_file():
        return Path(found)
    # Deployed static files carry hashed names (ManifestStaticFilesStorage) that only exist in
    # STATIC_ROOT after collectstatic, not in the source folders the finders search.
    if settings.STATIC_ROOT and staticfiles_storage.exists(name):
        path = Path(staticfiles_storage.path(name)).resolve()
        if path.is_file() and path.is_relative_to(Path(settings.STATIC_ROOT).resolve()):
            return path
    return None


class StaticOnlyURLFetcher(URLFetcher):
    """Loads ``data:`` URLs and the app's own static files; refuses every other URL.

    A static file is named by its URL under :data:`BASE_URL` and ``STATIC_URL`` and read via
    the staticfiles finders. Refusals raise :class:`RefusedURL` (WeasyPrint then leaves the
    resource out) and are logged as warnings.
    """

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = _static_file(url)
        if path is None:
            logger.warning("Refused to load %r while rendering a PDF", url[:200])
            raise RefusedURL(f"Refusing to load {url[:200]!r} while rendering a PDF")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        logger.debug("Loaded static file %s for a PDF", path)
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


@functools.lru_cache(maxsize=16)
def _stylesheet(name: str, modified: float) -> CSS:
    """The parsed stylesheet, kept per process until the file changes (a printout job
    renders hundreds of plans with the same stylesheets)."""
    return CSS(url=static_url(name), url_fetcher=StaticOnlyURLFetcher())


def _modified(name: str) -> float:
    path = _static_file(static_url(name))
    if path is None:
        raise FileNotFoundError(f"No static file {name!r} for a PDF")
    return path.stat().st_mtime


def render_pdf(
    template_name: str,
    context: Mapping[str, Any],
    *,
    stylesheets: Sequence[str] = (),
    base_context: Mapping[str, Any] | None = None,
) -> bytes:
    """Render ``template_name`` to PDF bytes with the print stylesheet and ``stylesheets``.

    ``stylesheets`` are static file names (``"css/plan-print.css"``), applied after the print
    stylesheet. The template sees ``LANGUAGE_CODE``, then ``base_context``, then ``context``;
    relative URLs in it resolve against :data:`BASE_URL`, so ``{% static %}`` works.
    """
    html = render_to_string(
        template_name,
        {
            "LANGUAGE_CODE": get_language() or settings.LANGUAGE_CODE,
            **(base_context or {}),
            **context,
        },
    )
    sheets = [_stylesheet(name, _modified(name)) for name in (PRINT_STYLESHEET, *stylesheets)]
    document = HTML(string=html, url_fetcher=StaticOnlyURLFetcher(), base_url=BASE_URL)
    return document.write_pdf(stylesheets=sheets)
