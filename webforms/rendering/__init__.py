"""One render path: a plain context -> docxtpl (DOCX) and Jinja HTML -> WeasyPrint (PDF).

Both template engines are sandboxed, autoescaped and strict: a template written by an
administrator cannot reach Python internals, user text is never evaluated, and a variable the
context does not provide is an error, not a blank (PITFALLS §1, §2).
"""

from __future__ import annotations

import gc
import hashlib
import io
import mimetypes
import re
import struct
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import FileSystemLoader, StrictUndefined, meta
from jinja2.sandbox import SandboxedEnvironment

# Imported once per process (it costs about half a second), never per request.
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from schemas import DOCX_DIR, HTML_DIR, find_template
from schemas.base.kind import Kind, Output
from schemas.base.layout import resolve
from webforms.rendering.word.layout import layout_docx

ASSET_SCHEME = "asset"
# The PDF template of the kinds printed from their layout (Kind.layout) when no file of their own
# name exists; it reads the filled layout from this context name.
LAYOUT_TEMPLATE = "_layout.html"
LAYOUT_VARIABLE = "mise_en_page"
# A stylesheet link as the templates write it (_base.html).
_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="asset:([\w./-]+)">')


def _finalize(value: Any) -> Any:
    # None would print as "None" in a document.
    return "" if value is None else value


def _oui_non(value: Any) -> str:
    return "Oui" if value else "Non"


def make_env(loader: FileSystemLoader | None = None) -> SandboxedEnvironment:
    """Return the Jinja environment of document templates: sandboxed, autoescaped, strict."""
    env = SandboxedEnvironment(
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        loader=loader,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["oui_non"] = _oui_non
    return env


class AssetFetcher(URLFetcher):
    """Let WeasyPrint read the project's own assets (``asset:name``) and nothing else.

    ``file:``, ``http:``, ``data:`` and every other scheme are refused, as are names that
    escape the asset directories. It is given to ``HTML(...)``, where WeasyPrint uses it
    (passed to ``write_pdf`` it would be ignored, PITFALLS §2).
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__(allowed_protocols={ASSET_SCHEME}, allow_redirects=False, timeout=5)
        self.roots = [Path(r).resolve() for r in roots]

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


_DOS_DATE_1980 = (1 << 5) | 1  # 1 January 1980, the zip format's earliest date
_FILE_MODE = 0o644 << 16


def normalise_docx_slow(data: bytes) -> bytes:
    """Rewrite every zip entry with a fixed date (the reference the fast path must match)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = _FILE_MODE
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()


def normalise_docx(data: bytes) -> bytes:
    """Give a DOCX fixed zip timestamps so that equal content gives equal bytes.

    The dates are patched in place in the zip headers (no recompression, about 0.01 ms);
    anything unexpected falls back to rewriting the archive.
    """
    buf = bytearray(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            start = archive.start_dir  # type: ignore[attr-defined]
        for info in infos:
            offset = info.header_offset
            if buf[offset : offset + 4] != b"PK\x03\x04" or info.compress_type != zipfile.ZIP_DEFLATED:
                return normalise_docx_slow(data)
            struct.pack_into("<HH", buf, offset + 10, 0, _DOS_DATE_1980)
        offset = start
        for _ in infos:
            if buf[offset : offset + 4] != b"PK\x01\x02":
                return normalise_docx_slow(data)
            struct.pack_into("<HH", buf, offset + 12, 0, _DOS_DATE_1980)
            struct.pack_into("<I", buf, offset + 38, _FILE_MODE)
            name_len, extra_len, comment_len = struct.unpack_from("<HHH", buf, offset + 28)
            offset += 46 + name_len + extra_len + comment_len
    except (zipfile.BadZipFile, struct.error):
        return normalise_docx_slow(data)
    return bytes(buf)


class Renderer:
    """Render a kind's context to DOCX and PDF with its declared templates.

    ``docx_dirs`` and ``html_dirs`` are searched in order, so an administrator's override
    directory placed first replaces a template without touching code.
    """

    def __init__(
        self,
        docx_dirs: Sequence[Path] = (DOCX_DIR,),
        html_dirs: Sequence[Path] = (HTML_DIR,),
    ) -> None:
        self.docx_dirs = [Path(d) for d in docx_dirs]
        self.html_dirs = [Path(d) for d in html_dirs]
        self.html_env = make_env(FileSystemLoader([str(d) for d in self.html_dirs]))
        self.docx_env = make_env()
        self.fetcher = AssetFetcher(self.html_dirs)
        self._local = threading.local()
        self._stylesheets: dict[str, tuple[tuple[int, int], CSS]] = {}
        self._stylesheets_lock = threading.Lock()
        self._generated: dict[tuple[str, str], bytes] = {}  # Word templates made from layouts

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

    def _stylesheet(self, name: str) -> CSS | None:
        """The parsed stylesheet ``asset:name``, kept while its file is unchanged."""
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

    def _parsed_stylesheets(self, html: str) -> tuple[str, list[CSS]]:
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

    def find(self, template: str, fmt: str) -> Path:
        """Return the file of a template ("docx" for Word, "pdf" for the HTML of a PDF)."""
        path = find_template(template, self.docx_dirs if fmt == "docx" else self.html_dirs)
        if path is None:
            raise FileNotFoundError(f"Modèle « {template} » introuvable.")
        return path

    def template_path(self, kind: Kind, fmt: str) -> Path:
        """Return the file that renders ``kind``'s main document in ``fmt`` ("docx" or "pdf")."""
        return self.find(kind.docx_template if fmt == "docx" else kind.html_template, fmt)

    def _from_layout(self, template: str, fmt: str, kind: Kind | None) -> Kind | None:
        """The kind whose layout makes ``template``, when no file of that name exists."""
        if kind is None or not kind.generates(template):
            return None
        return kind if find_template(template, self.docx_dirs if fmt == "docx" else self.html_dirs) is None else None

    def _layout_docx(self, kind: Kind) -> bytes:
        """The Word template generated from ``kind``'s layout, made once per layout."""
        assert kind.layout is not None
        key = (kind.name, kind.layout.digest())
        if key not in self._generated:
            self._generated[key] = normalise_docx(layout_docx(kind))
        return self._generated[key]

    def _docx_template(self, template: str, kind: Kind | None) -> DocxTemplate:
        source = self._from_layout(template, "docx", kind)
        return DocxTemplate(io.BytesIO(self._layout_docx(source)) if source else self.find(template, "docx"))

    def template_digest(self, kind: Kind, fmt: str, template: str | None = None) -> str:
        """Return the SHA-256 of the template used, recorded beside each stored output.

        A template made from the layout is hashed as made: the generated Word file, or the
        generic HTML template with the layout's digest.
        """
        template = template or (kind.docx_template if fmt == "docx" else kind.html_template)
        source = self._from_layout(template, fmt, kind)
        if source is None:
            data = self.find(template, fmt).read_bytes()
        elif fmt == "docx":
            data = self._layout_docx(source)
        else:
            assert source.layout is not None
            data = self.find(LAYOUT_TEMPLATE, fmt).read_bytes() + source.layout.digest().encode()
        return hashlib.sha256(data).hexdigest()

    def docx_from(self, template: str, context: Mapping[str, Any], kind: Kind | None = None) -> bytes:
        """Fill a Word template (made from ``kind``'s layout when it has no file)."""
        doc = self._docx_template(template, kind)
        doc.render(dict(context), jinja_env=self.docx_env, autoescape=True)
        buf = io.BytesIO()
        doc.save(buf)
        return normalise_docx(buf.getvalue())

    def html_from(self, template: str, context: Mapping[str, Any], kind: Kind | None = None) -> str:
        """Render an HTML template (the source of a PDF); made from ``kind``'s layout when it has no file."""
        source = self._from_layout(template, "pdf", kind)
        if source is not None and source.layout is not None:
            filled = {**context, LAYOUT_VARIABLE: resolve(source.layout, context)}
            return self.html_env.get_template(LAYOUT_TEMPLATE).render(filled)
        return self.html_env.get_template(template).render(context)

    def pdf_from_html(self, html: str, attachments: Sequence[Attachment] = ()) -> bytes:
        """Turn HTML into a PDF/A-3b, fetching nothing but the project's assets.

        ``attachments`` are embedded as PDF/A-3 associated files (the archive embeds the
        document's data as JSON this way).
        """
        options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "font_config": self.font_config}
        html, stylesheets = self._parsed_stylesheets(html)
        if stylesheets:
            options["stylesheets"] = stylesheets
        if attachments:
            options["attachments"] = list(attachments)
        with young_garbage_only():
            return HTML(string=html, url_fetcher=self.fetcher, base_url=None).write_pdf(**options)

    def docx(self, kind: Kind, context: Mapping[str, Any]) -> bytes:
        """Return the DOCX of a document."""
        return self.docx_from(kind.docx_template, context, kind)

    def html(self, kind: Kind, context: Mapping[str, Any]) -> str:
        """Return the HTML from which the PDF is made."""
        return self.html_from(kind.html_template, context, kind)

    def pdf(self, kind: Kind, context: Mapping[str, Any]) -> bytes:
        """Return the PDF of a document."""
        return self.pdf_from_html(self.html(kind, context))

    def render(self, kind: Kind, context: Mapping[str, Any], fmt: str) -> bytes:
        """Return the document in ``fmt`` ("docx" or "pdf")."""
        if fmt == "docx":
            return self.docx(kind, context)
        if fmt == "pdf":
            return self.pdf(kind, context)
        raise ValueError(f"Format inconnu : {fmt}")

    def render_output(self, output: Output, context: Mapping[str, Any]) -> bytes:
        """Return one of a kind's outputs (its main document or an annex) in its format."""
        if output.fmt == "docx":
            return self.docx_from(output.template, context, output.generated_from)
        return self.pdf_from_html(self.html_from(output.template, context, output.generated_from))

    def template_variables(self, kind: Kind) -> dict[str, set[str]]:
        """Return the top-level variables each template of ``kind`` uses, by template name."""
        used: dict[str, set[str]] = {}
        for output in kind.outputs():
            if output.fmt == "docx":
                doc = self._docx_template(output.template, output.generated_from)
                used[output.template] = set(doc.get_undeclared_template_variables(jinja_env=self.docx_env))
                continue
            from_layout = self._from_layout(output.template, "pdf", output.generated_from) is not None
            name = LAYOUT_TEMPLATE if from_layout else output.template
            source = self.html_env.loader.get_source(self.html_env, name)[0]  # type: ignore[union-attr]
            names = set(meta.find_undeclared_variables(self.html_env.parse(source)))
            # Templates the HTML extends or includes use variables too.
            for ref in meta.find_referenced_templates(self.html_env.parse(source)):
                if ref:
                    src = self.html_env.loader.get_source(self.html_env, ref)[0]  # type: ignore[union-attr]
                    names |= set(meta.find_undeclared_variables(self.html_env.parse(src)))
            # The renderer gives the generic template the filled layout itself.
            used[output.template] = names - {LAYOUT_VARIABLE} if from_layout else names
        return used


MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
