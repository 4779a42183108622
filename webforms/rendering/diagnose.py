"""A template's errors said in French, with the place a staff member can find in Word (issue 18).

Jinja reports an error by its line in the XML docxtpl builds, which nobody can find in Word (an
unclosed ``{% if %}`` is reported at the last line). Here a Word template is read as Word shows
it, paragraph by paragraph (body, table cells, headers and footers), and its tags are checked
one by one: a tag Jinja cannot read, a block never closed or closed by the wrong tag, a name the
kind's context does not provide. An HTML template's place is its line.

``TemplateFailure`` is what every path shows: the command line (exit 1), the web pages, the
background renders. Its message names the template, the place and the variable.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SecurityError
from lxml import etree

from webforms.errors import DocumentError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARTS = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")
_PART_NAMES = {"document": "", "header": "en-tête, ", "footer": "pied de page, "}
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
# docxtpl's own prefixes: {%p …%} (paragraph), {%tr …%} (table row), {%tc …%}, {%r …%}, {{r …}}.
_DOCXTPL_PREFIX = re.compile(r"^(\{[{%])-?(?:p|tr|tc|r)\s")
_BLOCKS = {"if", "for", "with", "macro", "call", "filter", "block", "autoescape", "raw"}
_MIDDLES = {"elif": {"if"}, "else": {"if", "for"}}
_UNDEFINED = re.compile(r"'([A-Za-z_]\w*)' is undefined|has no attribute '([A-Za-z_]\w*)'|attribute '([A-Za-z_]\w*)'")
_NO_ELEMENT = re.compile(r"has no element (-?\d+)")
_NO_CALLABLE = re.compile(r"No (filter|test) named '([^']+)'")
_CALLABLE_NAMES = {"filter": "filtre", "test": "test"}
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_MAX_TEXT = 120


@dataclass(frozen=True)
class Place:
    """Where a tag sits: in a Word template a paragraph or a table cell, in an HTML template a line."""

    where: str
    text: str

    def __str__(self) -> str:
        text = self.text if len(self.text) <= _MAX_TEXT else self.text[: _MAX_TEXT - 1] + "…"
        return f"{self.where} : « {text.strip()} »"


class TemplateFailure(DocumentError):
    """A template cannot be used: ``problem`` (French), at ``place``, about ``variable``."""

    def __init__(self, template: str, problem: str, place: Place | None = None, variable: str | None = None) -> None:
        self.template, self.problem, self.place, self.variable = template, problem, place, variable
        where = f" ({place})" if place else " (emplacement introuvable dans le modèle)"
        super().__init__(f"Modèle « {template} » : {problem}{where}.")


def places(fmt: str, source: bytes) -> list[Place]:
    """Return every place of a template that holds text: its paragraphs and cells (Word), its lines (HTML)."""
    if fmt != "docx":
        return [Place(f"ligne {n}", line) for n, line in enumerate(source.decode("utf-8", "replace").splitlines(), 1)]
    found: list[Place] = []
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        names = sorted((n for n in archive.namelist() if _PARTS.match(n)), key=lambda n: (not n.endswith("document.xml"), n))
        for name in names:
            kind = re.sub(r"\d+$", "", _PARTS.match(name).group(1))  # type: ignore[union-attr]
            root = etree.fromstring(archive.read(name), etree.XMLParser(resolve_entities=False, no_network=True))
            found.extend(_paragraphs(root, _PART_NAMES[kind]))
    return found


def _paragraphs(root: Any, prefix: str) -> list[Place]:
    out: list[Place] = []
    # Kept in a list: lxml gives the same proxy for a node while one is referenced.
    tables = list(root.iter(f"{_W}tbl"))
    for number, paragraph in enumerate(root.iter(f"{_W}p"), 1):
        text = "".join(t.text or "" for t in paragraph.iter(f"{_W}t"))
        if not text.strip():
            continue
        cell = next(paragraph.iterancestors(f"{_W}tc"), None)
        if cell is None:
            out.append(Place(f"{prefix}paragraphe {number}", text))
            continue
        row = cell.getparent()
        table = row.getparent()
        rows = [r for r in table if r.tag == f"{_W}tr"]
        cells = [c for c in row if c.tag == f"{_W}tc"]
        where = f"{prefix}tableau {tables.index(table) + 1}, ligne {rows.index(row) + 1}, colonne {cells.index(cell) + 1}"
        out.append(Place(f"cellule de tableau ({where})", text))
    return out


def _tags(place: Place) -> list[str]:
    return [_DOCXTPL_PREFIX.sub(r"\1 ", tag) for tag in _TAG.findall(place.text)]


def _keyword(tag: str) -> str:
    words = tag[2:-2].strip(" -+").split()
    return words[0] if words else ""


def syntax_problems(env: Environment, template: str, fmt: str, source: bytes) -> list[TemplateFailure]:
    """Return the syntax errors of a template, each at its place; none if Jinja reads it."""
    try:
        text = source.decode("utf-8") if fmt != "docx" else None
    except UnicodeDecodeError:
        return [TemplateFailure(template, "le fichier n'est pas un texte UTF-8")]
    if text is not None:
        lines = text.splitlines()
        try:
            tree = env.parse(text)
        except TemplateSyntaxError as exc:
            line = lines[exc.lineno - 1] if exc.lineno and 0 < exc.lineno <= len(lines) else ""
            return _scan(env, template, fmt, source) or [TemplateFailure(template, _syntax_message(exc), Place(f"ligne {exc.lineno}", line))]
        return [
            TemplateFailure(template, problem, Place(f"ligne {lineno}", lines[lineno - 1] if 0 < lineno <= len(lines) else ""))
            for problem, lineno in unknown_callables(env, tree)
        ]
    return _scan(env, template, fmt, source)


def _scan(env: Environment, template: str, fmt: str, source: bytes) -> list[TemplateFailure]:
    """Check the tags place by place: each readable alone, each block closed by its own end."""
    problems: list[TemplateFailure] = []
    opened: list[tuple[str, str, Place]] = []
    for place in places(fmt, source):
        if sum(1 for tag in _TAG.findall(place.text) if tag.startswith("{%p")) > 1:
            problems.append(TemplateFailure(template, "deux balises {%p … %} dans le même paragraphe (une seule par paragraphe)", place))
        unclosed = _unclosed(place.text)
        if unclosed:
            problems.append(TemplateFailure(template, unclosed, place))
        for tag in _tags(place):
            problem = _tag_problem(env, tag)
            if problem:
                problems.append(TemplateFailure(template, problem, place))
                continue
            word = _keyword(tag)
            if not tag.startswith("{%"):
                continue
            if word in _BLOCKS or (word == "set" and "=" not in tag):
                opened.append((word, tag, place))
            elif word.startswith("end"):
                if word[3:] not in [w for w, _t, _p in opened]:
                    problems.append(TemplateFailure(template, f"« {tag} » ne ferme aucun bloc ouvert", place))
                    continue
                while opened[-1][0] != word[3:]:  # the blocks opened inside and never closed
                    inner, inner_tag, inner_place = opened.pop()
                    problems.append(TemplateFailure(template, f"« {inner_tag} » n'est jamais fermé : il manque {{% end{inner} %}} avant « {tag} »", inner_place))
                opened.pop()
            elif word in _MIDDLES and (not opened or opened[-1][0] not in _MIDDLES[word]):
                problems.append(TemplateFailure(template, f"« {tag} » hors d'un bloc {' ou '.join(sorted(_MIDDLES[word]))}", place))
    for word, tag, place in opened:
        problems.append(TemplateFailure(template, f"« {tag} » n'est jamais fermé : il manque {{% end{word} %}}", place))
    return problems


def _tag_problem(env: Environment, tag: str) -> str | None:
    """Return why Jinja cannot read this one tag alone, or None."""
    word = _keyword(tag)
    if tag.startswith("{{"):
        probe = tag
    elif word.startswith("end") or word in ("else", "colspan", "cellbg"):
        return None
    elif word == "elif":
        probe = "{% if true %}" + tag + "{% endif %}"
    elif word in _BLOCKS or (word == "set" and "=" not in tag):
        probe = tag + "{% end" + word + " %}"
    else:
        probe = tag
    try:
        tree = env.parse(probe)
    except TemplateSyntaxError as exc:
        return f"balise illisible « {tag} » : {_syntax_message(exc)}"
    unknown = unknown_callables(env, tree)
    return f"balise « {tag} » : {unknown[0][0]}" if unknown else None


def _unclosed(text: str) -> str | None:
    """Return why a paragraph's text holds half a tag (``{{ document.titre }``), or None.

    Jinja would read on into the next paragraphs and report the error nowhere a staff member can find.
    """
    rest = _TAG.sub("", _COMMENT.sub("", text))
    for opening, closing in (("{{", "}}"), ("{%", "%}")):
        start = rest.find(opening)
        if start >= 0:
            return f"balise jamais fermée « {rest[start:start + 60].strip()} » : il manque « {closing} » dans le même paragraphe"
        end = rest.find(closing)
        if end >= 0:
            return f"« {closing} » sans « {opening} » qui l'ouvre (« {rest[max(0, end - 60):end + 2].strip()} »)"
    return None


def unknown_callables(env: Environment, tree: nodes.Template) -> list[tuple[str, int]]:
    """Return each filter or test the template names that ``env`` lacks, in French, with its line.

    Jinja checks a test of an ``if`` only when it runs, and a filter only when it compiles:
    both are said here before any document is filled.
    """
    found: list[tuple[str, int]] = []
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = env.filters if isinstance(node, nodes.Filter) else env.tests
        if node.name not in known:
            what = "filtre" if isinstance(node, nodes.Filter) else "test"
            found.append((f"{what} inconnu « {node.name} »", node.lineno))
    return found


def _syntax_message(exc: TemplateSyntaxError) -> str:
    message = exc.message or ""
    callable_ = _NO_CALLABLE.search(message)
    if callable_:
        return f"{_CALLABLE_NAMES[callable_.group(1)]} inconnu « {callable_.group(2)} »"
    unknown = re.match(r"Encountered unknown tag '(\w+)'", message)
    if unknown:
        return f"balise inconnue « {unknown.group(1)} »"
    if "Unexpected end of template" in message:
        return "bloc jamais fermé (un {% if %} ou un {% for %} sans sa fin)"
    return f"erreur de syntaxe ({message})"


def place_of_name(fmt: str, source: bytes, name: str) -> Place | None:
    """Return the first place whose tags use ``name`` (a variable or an attribute)."""
    pattern = re.compile(rf"(?<![\w'\"]){re.escape(name)}(?![\w'\"])")
    for place in places(fmt, source):
        if any(pattern.search(tag[2:-2]) for tag in _TAG.findall(place.text)):
            return place
    return None


def _place_of_text(fmt: str, source: bytes, text: str) -> Place | None:
    """Return the first place whose tags hold ``text``."""
    for place in places(fmt, source):
        if any(text in tag for tag in _TAG.findall(place.text)):
            return place
    return None


def unknown_variables(env: Environment, template: str, fmt: str, source: bytes, used: set[str], context: Mapping[str, Any], owner: str) -> list[TemplateFailure]:
    """Return one failure per top-level name the template uses and the context of ``owner`` (« le type … », « la page … ») lacks."""
    return [
        TemplateFailure(template, f"la variable « {name} » n'existe pas pour {owner}", place_of_name(fmt, source, name), name)
        for name in sorted(used - set(context))
    ]


def html_variables(env: Environment, source: str) -> set[str]:
    """Return the top-level names an HTML template uses."""
    return set(meta.find_undeclared_variables(env.parse(source)))


def explain(template: str, fmt: str, source: bytes, exc: TemplateError, env: Environment) -> TemplateFailure:
    """Turn a Jinja error met while filling a template into a French failure naming its place."""
    if isinstance(exc, TemplateSyntaxError):
        found = syntax_problems(env, template, fmt, source)
        if found:
            return found[0]
        return TemplateFailure(template, _syntax_message(exc), _jinja_place(fmt, source, exc))
    match = _UNDEFINED.search(str(exc))
    name = next((g for g in match.groups() if g), None) if match else None
    element = _NO_ELEMENT.search(str(exc))
    if isinstance(exc, UndefinedError) and element:
        # A row the template reads by its number (liste[3]) that these data do not have.
        problem = f"l'élément [{element.group(1)}] d'une liste manque dans les données de ce document"
        return TemplateFailure(template, problem, _place_of_text(fmt, source, f"[{element.group(1)}]") or _jinja_place(fmt, source, exc))
    callable_ = _NO_CALLABLE.search(str(exc))
    if callable_:
        # A test Jinja checks only when the branch runs: placed by its tag.
        found = syntax_problems(env, template, fmt, source)
        if found:
            return found[0]
        problem = f"{_CALLABLE_NAMES[callable_.group(1)]} inconnu « {callable_.group(2)} »"
    elif isinstance(exc, SecurityError):
        problem = f"accès interdit à « {name or exc} » (le modèle ne peut pas atteindre Python)"
    elif isinstance(exc, UndefinedError) and name:
        problem = f"la variable « {name} » n'existe pas dans les données de ce document"
    else:
        problem = f"le modèle n'a pas pu être rempli ({exc})"
    place = place_of_name(fmt, source, name) if name else None
    return TemplateFailure(template, problem, place or _jinja_place(fmt, source, exc), name)


def _jinja_place(fmt: str, source: bytes, exc: TemplateError) -> Place | None:
    """The place Jinja gives: an HTML template's line; docxtpl's paragraph text, when it has one."""
    lineno = getattr(exc, "lineno", None)
    if fmt != "docx" and lineno:
        lines = source.decode("utf-8", "replace").splitlines()
        return Place(f"ligne {lineno}", lines[lineno - 1]) if 0 < lineno <= len(lines) else None
    around = [line.strip() for line in getattr(exc, "docx_context", ()) if line.strip()]
    return Place("paragraphe", " ".join(around)) if around else None
