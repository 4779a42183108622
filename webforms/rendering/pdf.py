"""The PDF half of the renderer: WeasyPrint, behind a fetcher that reads the project's assets only.

A module of its own so that what prints no PDF (a DOCX, the template check, the command line's
``kinds``, ``validate`` and ``render --format docx``) never imports WeasyPrint, which costs about
half a second per process (PITFALLS §2). ``Renderer.printer()`` loads it at the first PDF; the
web application calls it at start-up, so that no request pays for the import.
"""

from __future__ import annotations

import gc
import mimetypes
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_SCHEME = "asset"
# A stylesheet link as the templates write it (_base.html).
_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="asset:([\w./-]+)">')


class AssetFetcher(URLFetcher):
    """Let WeasyPrint read the project's own assets (``asset:name``) and nothing else.

    ``file:``, ``http:``, ``data:`` and every other scheme are refused, as are names that
    escape the asset directories. It is given to ``HTML(...)``, where WeasyPrint uses it
    (passed to ``write_pdf`` it would be ignored, PITFALLS §2).
    """

    def __init__(self, roots: Sequence[Path], extra: Mapping[str, tuple[bytes, str]] | None = None) -> None:
        super().__init__(allowed_protocols={ASSET_SCHEME}, allow_redirects=False, timeout=5)
        self.roots = [Path(r).resolve() for r in roots]
        # Assets held in memory, by name (the Département's logo, read from the configuration).
        self.extra = dict(extra or {})

    def path(self, name: str) -> Path | None:
        """The file of asset ``name``, or None when no asset directory has it."""
        for root in self.roots:
            path = (root / name.lstrip("/")).resolve()
            if path.is_relative_to(root) and path.is_file():
                return path
        return None

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith(f"{ASSET_SCHEME}:"):
            raise ValueError(f"Ressource externe refusée : {url[:80]}")
        name = url[len(ASSET_SCHEME) + 1 :]
        if name in self.extra:
            content, mime = self.extra[name]
            return URLFetcherResponse(url, content, {"Content-Type": mime})
        path = self.path(name)
        if path is None:
            raise ValueError(f"Ressource introuvable : {name.lstrip('/')[:80]}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})


@contextmanager
def young_garbage_only() -> Iterator[None]:
    """Run a render without automatic garbage collection, then collect what it left.

    A render allocates tens of thousands of boxes; left to the automatic collector, they
    trigger a full collection in the middle of it, which walks every object of the process
    (the application, its modules, WeasyPrint's own) and took ≈ 50 ms of a 0.45 s fiche
    (PITFALLS §7). Here the render's objects all stay in the youngest generation, and one
    collection of that generation at the end frees the render's reference cycles without
    walking the long-lived heap: the render's garbage is still collected, and paid for, within
    the render. Collection is left as it was found when the caller had disabled it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


class PdfPrinter:
    """Turn the HTML of a document into a PDF/A-3b, fetching nothing but the assets of ``html_dirs``."""

    def __init__(self, html_dirs: Sequence[Path], extra: Mapping[str, tuple[bytes, str]] | None = None) -> None:
        self.fetcher = AssetFetcher(html_dirs, extra)
        self._local = threading.local()
        self._stylesheets: dict[str, tuple[tuple[int, int], CSS]] = {}
        self._stylesheets_lock = threading.Lock()

    @property
    def font_config(self) -> FontConfiguration:
        """This thread's font configuration, kept from one render to the next.

        A new one per render (WeasyPrint's default) reloads Fontconfig and starts Pango with
        cold font caches. Our stylesheets use installed fonts only, never ``@font-face``
        (PITFALLS §2), so nothing of a document stays in it for the next. One per thread:
        Pango's font map is not shared between threads.
        """
        config = getattr(self._local, "font_config", None)
        if config is None:
            config = self._local.font_config = FontConfiguration()
        return config

    def pdf(self, html: str) -> bytes:
        """Turn HTML into a PDF/A-3b, fetching nothing but the project's assets."""
        options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "font_config": self.font_config}
        html, stylesheets = self.parsed_stylesheets(html)
        if stylesheets:
            options["stylesheets"] = stylesheets
        with young_garbage_only():
            # The fetcher goes to HTML(...): given to write_pdf it would be ignored (PITFALLS §2).
            return HTML(string=html, url_fetcher=self.fetcher, base_url=None).write_pdf(**options)

    def _stylesheet(self, name: str) -> CSS | None:
        """Return the parsed stylesheet ``asset:name``, kept while its file is unchanged."""
        path = self.fetcher.path(name)
        if path is None:
            return None
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        with self._stylesheets_lock:
            cached = self._stylesheets.get(str(path))
            if cached is None or cached[0] != key:
                css = CSS(url=f"{ASSET_SCHEME}:{name}", url_fetcher=self.fetcher, font_config=self.font_config)
                cached = self._stylesheets[str(path)] = (key, css)
        return cached[1]

    def parsed_stylesheets(self, html: str) -> tuple[str, list[CSS]]:
        """Take the document's ``asset:`` stylesheet links out of ``html``; return their parsed
        stylesheets, to be given to WeasyPrint instead.

        WeasyPrint parses a linked stylesheet again for every document (≈ 12 ms for
        document.css); parsed once here, it is reused while its file is unchanged. Given as
        ``stylesheets``, it has the "user" origin instead of "author": the cascade is the same
        as long as it is the document's only author style (the style="" attributes of the
        templates still win, as they did). A document that has a ``<style>`` element, or a
        stylesheet outside the assets, keeps its links as they are. User text cannot add a
        link: it is escaped.
        """
        links = _STYLESHEET_LINK.findall(html)
        if not links or "<style" in html or html.count("<link") != len(links):
            return html, []
        sheets = [self._stylesheet(name) for name in links]
        if any(sheet is None for sheet in sheets):
            return html, []
        return _STYLESHEET_LINK.sub("", html), [sheet for sheet in sheets if sheet is not None]
