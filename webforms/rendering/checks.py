"""Checks that each template uses only what its kind's context provides, each problem at its place (issue 18)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from typing import Any

from jinja2 import TemplateError
from lxml import etree

from schemas import registry
from schemas.base.kind import Kind, Output
from webforms.rendering import Renderer
from webforms.rendering.context import DocumentMeta, build_context
from webforms.rendering.diagnose import Place, TemplateFailure, syntax_problems, unknown_variables
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


def check_templates(renderer: Renderer) -> list[str]:
    """Return one French line per problem of every kind's templates, each naming its place."""
    return [str(problem) for kind in registry().values() for output in kind.outputs() for problem in check_output(renderer, kind, output)]


def check_output(renderer: Renderer, kind: Kind, output: Output, ctx: dict[str, Any] | None = None) -> list[TemplateFailure]:
    """Return the problems of the template that prints ``output``: syntax, unknown names, then a fill of the example.

    A strict fill of the example also catches a wrong nested name (menage.nomm). A PDF's HTML is
    enough: printing it would only add WeasyPrint's time.
    """
    ctx = example_context(kind) if ctx is None else ctx
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
    problems = unknown_variables(env, output.template, output.fmt, source, used, ctx, kind.name)
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


def candidate_version(output: Output, content: bytes) -> TemplateVersion:
    """Return ``content`` as a version of ``output``'s template, not (yet) in force."""
    return TemplateVersion(output.template, 0, hashlib.sha256(content).hexdigest(), content)


def check_candidate(renderer: Renderer, kind: Kind, output: Output, content: bytes) -> list[TemplateFailure]:
    """Return the problems of ``content`` as the template of ``output``: outside links, then as ``check_output``."""
    problems = outside_links(output, content)
    return problems or check_output(renderer.trying(candidate_version(output, content)), kind, output)


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
