"""Checks that each template uses only what its kind's (or page's) context provides, each problem at its place (issue 18)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError
from lxml import etree
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from schemas import get_kind, registry
from schemas.base.kind import Kind, Output
from webforms.rendering import LAYOUT_VARIABLE, Renderer, with_layout
from webforms.rendering.context import DocumentMeta, build_context
from webforms.rendering.diagnose import Place, TemplateFailure, place_of_name, syntax_problems, unknown_variables
from webforms.rendering.marque import Mark, marks_in_text
from webforms.rendering.names import (
    ANY,
    LEAF,
    Fields,
    Rows,
    Shape,
    Unknown,
    docx_sources,
    globals_of,
    referenced,
    shape_of_schema,
    shape_of_value,
    unknown_names,
)
from webforms.rendering.pages import PAGES, Page
from webforms.rendering.versions import TemplateVersion

_RELS = re.compile(r"^word/_rels/[^/]+\.rels$")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# An HTML template's reference to anything outside the project's assets (asset:…).
_HTML_OUTSIDE = re.compile(r"""(?:\b(?:src|href|srcset)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)\s*((?:[a-z][a-z0-9+.-]*:|//)[^"')\s>]*)""", re.IGNORECASE)
_ALLOWED_SCHEMES = ("asset:", "data:", "mailto:", "#")


def example_context(kind: Kind, *, draft: bool = False) -> dict[str, Any]:
    """Return the context of the kind's example, with its review example if it has one."""
    review = kind.review.schema().load(kind.review.example) if kind.review else None
    meta = DocumentMeta(
        reference=f"{kind.reference_prefix}-2019-000001",
        organisation="Organisation exemple",
        author="Auteur exemple",
        issued_at=dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC),
        draft=draft,
        version=1,
    )
    return build_context(kind, kind.load(kind.example), meta, review)


@dataclass(frozen=True)
class Use:
    """One thing a template prints: a kind's output, or a page outside the kinds (``pages.PAGES``)."""

    output: Output
    kind: Kind | None = None
    page: Page | None = None

    @property
    def title(self) -> str:
        """Return what it prints, as administrators read it."""
        if self.kind is None or self.page is not None:
            return self.output.title
        return self.kind.title if self.output.name == "document" else f"{self.kind.title} – {self.output.title}"

    @property
    def owner(self) -> str:
        """Return whose data it prints, as a message names it (« le type … », « la page … »)."""
        if self.page is not None:
            return self.page.owner
        assert self.kind is not None
        return f"le type « {self.kind.name} »"

    def context(self) -> dict[str, Any]:
        """Return the context of its example: the kind's, with what the page adds."""
        ctx = example_context(self.kind) if self.kind is not None else {}
        return {**ctx, **copy.deepcopy(dict(self.page.example))} if self.page is not None else ctx

    def shape(self, ctx: dict[str, Any]) -> Fields:
        """Return what its context declares: the kind's fields, and the names the page's example declares."""
        keys = dict(kind_shape(self.kind, ctx).keys) if self.kind is not None else {}
        if LAYOUT_VARIABLE in keys:
            keys[LAYOUT_VARIABLE] = layout_shape(keys[LAYOUT_VARIABLE])
        if self.page is not None:
            keys.update(shape_of_value(dict(self.page.example)).keys)
        return Fields(keys)


def layout_shape(example: Shape) -> Shape:
    """Return the shape of a filled layout: its example's, with blocks of any type (a table's keys are not a heading's)."""
    if not isinstance(example, Fields) or not isinstance(sections := example.keys.get("sections"), Rows) or not isinstance(sections.row, Fields):
        return example
    return Fields({**example.keys, "sections": Rows(Fields({**sections.row.keys, "blocks": Rows(ANY)}))})


def uses() -> list[Use]:
    """Return every template use: each kind's outputs, then the pages outside the kinds."""
    found = [Use(output, kind) for kind in registry().values() for output in kind.outputs()]
    return found + [Use(page.output, get_kind(page.kind) if page.kind else None, page) for page in PAGES.values()]


def check_templates(renderer: Renderer) -> list[str]:
    """Return one French line per problem of every template (the kinds' and the pages'), each naming its place."""
    return [str(problem) for use in uses() for problem in check_output(renderer, use)]


def kind_shape(kind: Kind, ctx: dict[str, Any]) -> Fields:
    """Return the shape of ``kind``'s context: the names the service adds, then its schema's fields and review."""
    keys = dict(shape_of_value(ctx).keys)
    keys.update(shape_of_schema(kind.schema).keys)
    if kind.review is not None:
        keys["revue"] = Fields({"titre": LEAF, **shape_of_schema(kind.review.schema).keys})
    return Fields(keys)


def check_output(renderer: Renderer, use: Use) -> list[TemplateFailure]:
    """Return the problems of the template of ``use``: syntax, unknown names in every branch, then a fill of the example.

    The names are checked against what the context declares (``Use.shape``: the kind's schema,
    the page's example); the fill of the example still catches what that cannot tell (a
    filter's result). A PDF's HTML is enough: printing it would only add WeasyPrint's time.
    """
    output, ctx = use.output, with_layout(use.output, use.context())
    env = renderer.docx_env if output.fmt == "docx" else renderer.html_env
    source = renderer.template_source(output)
    own = output.fmt == "docx" or renderer.version(output) is not None or output.generated_from is None
    problems = syntax_problems(env, output.template, output.fmt, source) if own else []
    if problems:
        return problems
    try:
        used = renderer.template_variables(output)
    except TemplateError as exc:
        return [renderer.failure(output, exc)]
    problems = unknown_variables(env, output.template, output.fmt, source, used, ctx, use.owner)
    if not problems and own:
        problems = name_problems(renderer, output, source, use.shape(ctx), use.owner)
    if problems:
        return problems
    try:
        if output.fmt == "docx":
            renderer.render(output, ctx)
        else:
            renderer.html(output, ctx)
    except TemplateFailure as failure:
        return [failure]
    return []


def name_problems(renderer: Renderer, output: Output, source: bytes, shape: Fields, owner: str) -> list[TemplateFailure]:
    """Return one failure per name or attribute path the template uses, in any branch, that ``shape`` lacks."""
    env = renderer.docx_env if output.fmt == "docx" else renderer.html_env
    known = globals_of(env)
    found: list[Unknown] = []
    others: dict[str, str] = {}  # the sources of the templates it extends, includes or imports
    if output.fmt == "docx":
        for part in docx_sources(source):
            found += unknown_names(env.parse(part), shape, known)
    else:
        tree = env.parse(source.decode("utf-8"))
        found += unknown_names(tree, shape, known)
        pending = list(referenced(tree))
        while pending:  # the templates it extends, includes or imports use names too
            name = pending.pop()
            if name in others or name == output.template:
                continue
            others[name] = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
            other = env.parse(others[name])
            found += unknown_names(other, shape, known, name)
            pending += referenced(other)
    failures: list[TemplateFailure] = []
    for unknown in found:
        failure = TemplateFailure(output.template, unknown.message(owner), _place(output.fmt, source, unknown, others), unknown.name)
        if str(failure) not in {str(f) for f in failures}:
            failures.append(failure)
    return failures


def _place(fmt: str, source: bytes, unknown: Unknown, others: dict[str, str]) -> Place | None:
    """Return where an unknown name sits: a Word template's paragraph or cell, an HTML template's line (in the template it extends, when there)."""
    if fmt == "docx":
        return place_of_name(fmt, source, unknown.path) or place_of_name(fmt, source, unknown.name)
    text = others[unknown.template] if unknown.template is not None else source.decode("utf-8", "replace")
    lines = text.splitlines()
    where = f"{unknown.template}, ligne {unknown.lineno}" if unknown.template is not None else f"ligne {unknown.lineno}"
    return Place(where, lines[unknown.lineno - 1]) if 0 < unknown.lineno <= len(lines) else None


def candidate_version(output: Output, content: bytes) -> TemplateVersion:
    """Return ``content`` as a version of ``output``'s template, not (yet) in force."""
    return TemplateVersion(output.template, 0, hashlib.sha256(content).hexdigest(), content)


def check_candidate(renderer: Renderer, use: Use, content: bytes, *, mark: bool = True) -> list[TemplateFailure]:
    """Return the problems of ``content`` as the template of ``use``: outside links, then as ``check_output``.

    With ``mark``, then the mark on each page of a printed PDF (``mark_problems``): a PDF render,
    seconds long, that a web request leaves to a worker (issue 11, point 4).
    """
    problems = outside_links(use.output, content)
    trial = renderer.trying(candidate_version(use.output, content))
    return problems or check_output(trial, use) or (mark_problems(trial, use) if mark else [])


# The digest a frozen example prints in its mark (issue 15): any 12 hex digits.
_EXAMPLE_DIGEST = "0123456789ab"


def mark_problems(renderer: Renderer, use: Use) -> list[TemplateFailure]:
    """Return a failure if a kind's PDF, printed from ``use``'s template for a frozen version, lacks its mark on a page.

    Issue 15: each page of a submitted document names its reference, version and digest (text
    and QR code, ``templates_html/_base.html``, class ``marque``), so that the archive can refuse
    the signed copy of another document. A replaced template that does not extend ``_base.html``,
    or hides the mark, would print pages the archive cannot tell apart: it is refused. The text is
    what is read back (the QR code sits with it in the same block).
    """
    if use.output.fmt != "pdf" or use.kind is None or use.page is not None:
        return []
    mark = Mark(f"{use.kind.reference_prefix}-2019-000001", 1, _EXAMPLE_DIGEST)
    meta = DocumentMeta(
        reference=mark.reference, organisation="Organisation exemple", author="Auteur exemple",
        issued_at=dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC), draft=False, version=mark.version, digest=mark.digest,
    )
    review = use.kind.review.schema().load(use.kind.review.example) if use.kind.review else None
    ctx = with_layout(use.output, build_context(use.kind, use.kind.load(use.kind.example), meta, review))
    try:
        pdf = renderer.render(use.output, ctx)
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]
    except TemplateFailure as failure:
        return [failure]
    except PyPdfError:
        pages = []
    missing = [n for n, text in enumerate(pages, 1) if mark not in marks_in_text(text)]
    if pages and not missing:
        return []
    where = f"pages {', '.join(map(str, missing))}" if len(missing) > 1 else f"page {missing[0]}" if missing else "aucune page"
    return [TemplateFailure(
        use.output.template,
        f"la marque du document (référence, version et empreinte, en texte et en QR code) manque ({where} sur {len(pages)}) : "
        "le modèle doit étendre « _base.html » sans masquer le bloc « marque », pour que l'archive reconnaisse la copie signée de ce document",
    )]


def outside_links(output: Output, content: bytes) -> list[TemplateFailure]:
    """Return a failure per link of the template to something outside it (an image on a server, a file).

    A Word hyperlink stays allowed: it is a link the reader clicks, nothing is fetched. An HTML
    template reads the project's assets only (``asset:``); WeasyPrint's fetcher refuses the
    rest anyway, but the template would print without them.
    """
    if output.fmt != "docx":
        text = content.decode("utf-8", "replace")
        return [
            TemplateFailure(output.template, f"lien vers une ressource extérieure « {match.group(1)[:80]} » (seules les ressources asset: du projet)", Place(f"ligne {text.count(chr(10), 0, match.start()) + 1}", text.splitlines()[text.count(chr(10), 0, match.start())]))
            for match in _HTML_OUTSIDE.finditer(text)
            if not match.group(1).lower().startswith(_ALLOWED_SCHEMES)
        ]
    problems: list[TemplateFailure] = []
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in sorted(n for n in archive.namelist() if _RELS.match(n)):
                rels = etree.fromstring(archive.read(name), etree.XMLParser(resolve_entities=False, no_network=True))
                part = "word/" + name.rsplit("/", 1)[-1].removesuffix(".rels")
                for rel in rels:
                    if rel.get("TargetMode") == "External" and not rel.get("Type", "").endswith("/hyperlink"):
                        place = _place_of_relationship(archive, part, rel.get("Id", ""))
                        what = "une image liée" if rel.get("Type", "").endswith("/image") else "un contenu lié"
                        problems.append(TemplateFailure(output.template, f"{what} à l'extérieur du fichier « {rel.get('Target', '')[:80]} » : insérez-la dans le document au lieu de la lier", place))
    except (zipfile.BadZipFile, etree.XMLSyntaxError, KeyError):
        problems.append(TemplateFailure(output.template, "le document Word est endommagé"))
    return problems


def _place_of_relationship(archive: zipfile.ZipFile, part: str, rel_id: str) -> Place | None:
    """Return the paragraph of ``part`` that uses relationship ``rel_id`` (an image's link)."""
    if part not in archive.namelist() or not rel_id:
        return None
    root = etree.fromstring(archive.read(part), etree.XMLParser(resolve_entities=False, no_network=True))
    for number, paragraph in enumerate(root.iter(f"{_W}p"), 1):
        if any(rel_id in (element.get(f"{_R}link"), element.get(f"{_R}embed"), element.get(f"{_R}id")) for element in paragraph.iter()):
            text = "".join(t.text or "" for t in paragraph.iter(f"{_W}t"))
            return Place(f"paragraphe {number}", text or "(image)")
    return None
