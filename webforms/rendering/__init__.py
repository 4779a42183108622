"""One render path: ``Renderer.render(output, context)``, docxtpl for a DOCX, Jinja HTML then WeasyPrint for a PDF.

WeasyPrint itself is in ``webforms.rendering.pdf``, loaded at the first PDF (``Renderer.printer``):
a DOCX, the template check and the light commands of the command line do without it.

Both template engines are sandboxed, autoescaped and strict: a template written by an
administrator cannot reach Python internals, user text is never evaluated, and a variable the
context does not provide is an error, not a blank (PITFALLS §1, §2).
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docxtpl import DocxTemplate
from jinja2 import BaseLoader, StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from schemas import DOCX_DIR, HTML_DIR, find_template
from schemas.base.kind import Kind, Output
from schemas.base.layout import resolve
from webforms.rendering.diagnose import TemplateFailure, explain
from webforms.rendering.identity import Identity
from webforms.rendering.marque import Mark, marks_in_text, stamp_docx
from webforms.rendering.versions import DryFills, InForce, TemplateVersion, VersionLoader, nothing_in_force
from webforms.rendering.word.layout import layout_docx

if TYPE_CHECKING:
    from webforms.rendering.pdf import PdfPrinter

# The PDF template of the kinds printed from their layout (Kind.layout) when no file of their own
# name exists; it reads the filled layout from this context name.
LAYOUT_TEMPLATE = "_layout.html"
LAYOUT_VARIABLE = "mise_en_page"


def _finalize(value: Any) -> Any:
    # None would print as "None" in a document.
    return "" if value is None else value


def _oui_non(value: Any) -> str:
    return "Oui" if value else "Non"


class _CompiledOnce(SandboxedEnvironment):
    """A sandboxed environment that compiles each template source once.

    docxtpl hands the environment the whole XML of the Word body as a string at every render
    (``from_string``); compiling it was about half of a fiche saisine's DOCX. The compiled
    template depends only on that source, so it is kept (the last few sources, any thread).
    """

    _KEEP = 32

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: OrderedDict[str, Template] = OrderedDict()
        self._compiled_lock = threading.Lock()

    def from_string(self, source: Any, globals: Mapping[str, Any] | None = None, template_class: type[Template] | None = None) -> Template:
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._compiled_lock:
            found = self._compiled.get(source)
            if found is not None:
                self._compiled.move_to_end(source)
                return found
        found = super().from_string(source)
        with self._compiled_lock:
            self._compiled[source] = found
            while len(self._compiled) > self._KEEP:
                self._compiled.popitem(last=False)
        return found


class _PatchedOnce(DocxTemplate):
    """docxtpl's template, whose XML patch (a dozen regular expressions over the whole body) is
    worked out once per source: it depends only on the template's XML."""

    _patched: OrderedDict[str, str] = OrderedDict()
    _patched_lock = threading.Lock()

    def patch_xml(self, src_xml: str) -> str:
        with self._patched_lock:
            found = self._patched.get(src_xml)
        if found is None:
            found = super().patch_xml(src_xml)
            with self._patched_lock:
                self._patched[src_xml] = found
                while len(self._patched) > _CompiledOnce._KEEP:
                    self._patched.popitem(last=False)
        return found


def make_env(loader: BaseLoader | None = None) -> SandboxedEnvironment:
    """Return the Jinja environment of document templates: sandboxed, autoescaped, strict."""
    env = _CompiledOnce(
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        loader=loader,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["oui_non"] = _oui_non
    return env


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
    """Print a kind's outputs: ``render(output, context)`` is the one way a DOCX or a PDF is made.

    An ``Output`` names a template and a format: a kind's main document, one of its annexes, or
    a page of its own (the complete dossier's cover). ``docx_dirs`` and ``html_dirs`` are
    searched in order, so an administrator's override directory placed first replaces a
    template without touching code; a plain kind with no file of its own is printed from its
    layout (``Kind.layout``). Before them all comes the version an administrator put in force
    from the admin page (``in_force``, issue 18: ``webforms.rendering.versions``).

    A template that cannot be filled raises ``TemplateFailure``, a French message naming the
    template, the place and the variable (``webforms.rendering.diagnose``).
    """

    def __init__(
        self,
        docx_dirs: Sequence[Path] = (DOCX_DIR,),
        html_dirs: Sequence[Path] = (HTML_DIR,),
        in_force: InForce = nothing_in_force,
        identity: Identity = Identity(),
    ) -> None:
        self.docx_dirs = [Path(d) for d in docx_dirs]
        self.html_dirs = [Path(d) for d in html_dirs]
        self.in_force = in_force
        self.identity = identity
        # The versions looked up inside ``pinned()``, per renderer and per thread or task.
        self._pins: ContextVar[dict[str, TemplateVersion | None] | None] = ContextVar(f"pins-{id(self)}", default=None)
        self.html_env = make_env(VersionLoader(self.looked_up, self.html_dirs))
        self.docx_env = make_env()
        # The Département's identity, printed by every template (issue 16, point 10).
        for env in (self.html_env, self.docx_env):
            env.globals["departement"] = identity.for_templates()
        self.dry_fills = DryFills()
        self._printer: PdfPrinter | None = None
        self._printer_lock = threading.Lock()
        self._generated: dict[tuple[str, str], bytes] = {}  # Word templates made from layouts

    def render(self, output: Output, context: Mapping[str, Any]) -> bytes:
        """Return ``output`` filled with ``context``, in its format (DOCX, or PDF/A-3b from its HTML)."""
        if output.fmt == "docx":
            try:
                doc = self._docx_template(output)
                # The logo is an image of this document (docxtpl's InlineImage); a template that does
                # not print it (an administrator's own) simply leaves it unused.
                filled = {**context, "departement": self.identity.for_docx(doc)}
                doc.render(filled, jinja_env=self.docx_env, autoescape=True)
                mark = _frozen_mark(context)
                if mark is not None:
                    stamp_docx(doc.docx, mark)  # issue 15: the Word print names its version too
            except TemplateError as exc:
                raise self.failure(output, exc) from None
            except UNREADABLE as exc:
                raise self.unreadable(output, exc) from None
            buf = io.BytesIO()
            doc.save(buf)
            return normalise_docx(buf.getvalue())
        return self.printer().pdf(self.html(output, context))

    def html(self, output: Output, context: Mapping[str, Any]) -> str:
        """Return the HTML a PDF output is printed from, without printing it (the template check reads it)."""
        if output.fmt != "pdf":
            raise ValueError(f"Format inconnu pour une page HTML : {output.fmt}")
        source = self._generated_from(output)
        try:
            filled = with_layout(output, context)
            if source is not None and source.layout is not None:
                return self.html_env.get_template(LAYOUT_TEMPLATE).render(filled)
            return self.html_env.get_template(output.template).render(filled)
        except TemplateError as exc:
            raise self.failure(output, exc) from None
        except UNREADABLE as exc:
            raise self.unreadable(output, exc) from None

    def failure(self, output: Output, exc: TemplateError) -> TemplateFailure:
        """Return Jinja's error on ``output``'s template as a French failure naming its place."""
        env = self.docx_env if output.fmt == "docx" else self.html_env
        return explain(output.template, output.fmt, self.template_source(output), exc, env)

    def dry_fill(self, output: Output, context: Mapping[str, Any]) -> None:
        """Fill ``output``'s template without printing it; raise ``TemplateFailure`` if it cannot be.

        A few milliseconds: what is checked before a document leaves the draft state.
        """
        if output.fmt != "docx":
            self.html(output, context)
            return
        try:
            self.dry_fills.fill(self.docx_env, self.template_digest(output), self.template_source(output), context)
        except TemplateError as exc:
            raise self.failure(output, exc) from None
        except UNREADABLE as exc:
            raise self.unreadable(output, exc) from None

    def unreadable(self, output: Output, exc: Exception) -> TemplateFailure:
        """Return the French failure of a template file that cannot be read at all (placed by hand, damaged)."""
        what = "un document Word (.docx) lisible" if output.fmt == "docx" else "un texte HTML en UTF-8 lisible"
        return TemplateFailure(output.template, f"le fichier n'est pas {what} ({type(exc).__name__}) : remplacez-le, ou retirez-le pour revenir au modèle d'origine")

    def version(self, output: Output) -> TemplateVersion | None:
        """Return the version in force of ``output``'s template, None when a file prints it."""
        return self.looked_up(output.template)

    def looked_up(self, name: str) -> TemplateVersion | None:
        """Return the version in force of template ``name``: inside ``pinned()``, the one first found there."""
        pins = self._pins.get()
        if pins is None:
            return self.in_force(name)
        if name not in pins:
            pins[name] = self.in_force(name)
        return pins[name]

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Look each template's version in force up once within the block, and print with it.

        One print asks for its template several times (its bytes, its digest, the number
        recorded beside it, the HTML loader's freshness): a version put in force in between,
        here or on another host, must not give a file printed with one version and recorded
        with another.
        """
        current = self._pins.get()
        token = self._pins.set({} if current is None else current)
        try:
            yield
        finally:
            self._pins.reset(token)

    def template_source(self, output: Output) -> bytes:
        """Return the bytes of the template that prints ``output`` (for a layout's PDF, the generic HTML)."""
        version = self.version(output)
        if version is not None:
            return version.content
        source = self._generated_from(output)
        if source is None:
            return self.template_path(output).read_bytes()
        return self._layout_docx(source) if output.fmt == "docx" else self._find(LAYOUT_TEMPLATE, output.fmt).read_bytes()

    def trying(self, candidate: TemplateVersion) -> Renderer:
        """Return a renderer that prints with ``candidate`` in place of its template (a preview)."""
        in_force = self.looked_up
        return Renderer(self.docx_dirs, self.html_dirs, lambda name: candidate if name == candidate.name else in_force(name), self.identity)

    def template_digest(self, output: Output) -> str:
        """Return the SHA-256 of the template that prints ``output``, recorded beside each stored output.

        A template made from the layout is hashed as made: the generated Word file, or the
        generic HTML template with the layout's digest.
        """
        version = self.version(output)
        if version is not None:
            return version.sha256
        source = self._generated_from(output)
        if source is None:
            data = self.template_path(output).read_bytes()
        elif output.fmt == "docx":
            data = self._layout_docx(source)
        else:
            assert source.layout is not None
            data = self._find(LAYOUT_TEMPLATE, output.fmt).read_bytes() + source.layout.digest().encode()
        return hashlib.sha256(data).hexdigest()

    def template_path(self, output: Output) -> Path:
        """Return the template file of ``output`` (the first of the searched directories that has it)."""
        return self._find(output.template, output.fmt)

    def template_variables(self, output: Output) -> set[str]:
        """Return the top-level variables the template of ``output`` uses."""
        if output.fmt == "docx":
            return set(self._docx_template(output).get_undeclared_template_variables(jinja_env=self.docx_env))
        from_layout = self._generated_from(output) is not None
        name = LAYOUT_TEMPLATE if from_layout else output.template
        source = self.html_env.loader.get_source(self.html_env, name)[0]  # type: ignore[union-attr]
        names = set(meta.find_undeclared_variables(self.html_env.parse(source)))
        # Templates the HTML extends or includes use variables too.
        for ref in meta.find_referenced_templates(self.html_env.parse(source)):
            if ref:
                src = self.html_env.loader.get_source(self.html_env, ref)[0]  # type: ignore[union-attr]
                names |= set(meta.find_undeclared_variables(self.html_env.parse(src)))
        # The renderer gives the generic template the filled layout itself.
        return names - {LAYOUT_VARIABLE} if from_layout else names

    def printer(self) -> PdfPrinter:
        """Return the PDF printer of these templates' assets, made (and WeasyPrint loaded) at the first call.

        The web application calls it at start-up (``web.init_services``): no request pays for the import.
        """
        with self._printer_lock:
            if self._printer is None:
                # Deferred: WeasyPrint takes about half a second to import, which a DOCX, the template
                # check and the command line's light commands do without.
                from webforms.rendering.pdf import PdfPrinter

                self._printer = PdfPrinter(self.html_dirs, self.identity.assets())
            return self._printer

    def _dirs(self, fmt: str) -> list[Path]:
        return self.docx_dirs if fmt == "docx" else self.html_dirs

    def _find(self, template: str, fmt: str) -> Path:
        path = find_template(template, self._dirs(fmt))
        if path is None:
            raise FileNotFoundError(f"Modèle « {template} » introuvable.")
        return path

    def _generated_from(self, output: Output) -> Kind | None:
        """Return the kind whose layout makes the template of ``output``, when no file of that name exists."""
        kind = output.generated_from
        if kind is None or not kind.generates(output.template) or self.version(output) is not None:
            return None
        return kind if find_template(output.template, self._dirs(output.fmt)) is None else None

    def _layout_docx(self, kind: Kind) -> bytes:
        """Return the Word template generated from ``kind``'s layout, made once per layout."""
        assert kind.layout is not None
        key = (kind.name, kind.layout.digest())
        if key not in self._generated:
            self._generated[key] = normalise_docx(layout_docx(kind))
        return self._generated[key]

    def _docx_template(self, output: Output) -> DocxTemplate:
        version = self.version(output)
        if version is not None:
            return _PatchedOnce(io.BytesIO(version.content))
        source = self._generated_from(output)
        return _PatchedOnce(io.BytesIO(self._layout_docx(source)) if source else self.template_path(output))


def with_layout(output: Output, context: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``context`` with the filled layout when a layout makes ``output``'s PDF.

    A replacement of that PDF's template gets it too: the shipped default an administrator
    downloads is the generic ``_layout.html``, which must work deposited back unchanged.
    """
    kind = output.generated_from
    if output.fmt != "pdf" or kind is None or kind.layout is None or not kind.generates(output.template):
        return dict(context)
    return {**context, LAYOUT_VARIABLE: resolve(kind.layout, context)}


def _frozen_mark(context: Mapping[str, Any]) -> Mark | None:
    """The mark of a frozen version the context prints (none for a draft)."""
    document = context.get("document")
    found = marks_in_text(str(document.get("marque") or "")) if isinstance(document, Mapping) else []
    return found[0] if found else None


# What reading a damaged template file raises: not a zip, a missing part, bytes that are not
# UTF-8, XML that does not parse (lxml's errors are SyntaxErrors).
UNREADABLE: tuple[type[Exception], ...] = (zipfile.BadZipFile, KeyError, UnicodeDecodeError, SyntaxError)


MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
