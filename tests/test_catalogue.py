"""Every registered kind, without test code of its own: example, templates, DOCX and PDF read back.

Adding a kind to ``schemas/`` adds it here automatically.
"""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from marshmallow import fields as mf
from pypdf import PdfReader

from schemas import DOCX_DIR, HTML_DIR, build_registry, discover, registry
from schemas.base.fields import Text, field_kind, row_schema
from schemas.base.kind import Kind, KindDeclarationError, Output
from schemas.base.names import Name
from webforms.forms import form_class
from webforms.rendering import Renderer
from webforms.rendering.checks import check_templates, example_context

KINDS = sorted(registry())
NASTY = "Dupont & Fils <SARL> \"q\" 'a' {{ 7*7 }} {% raw %} 😀 <img src=\"file:///etc/passwd\"> url(http://127.0.0.1:9/x)"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def strings(value: Any) -> Iterator[str]:
    """Every display string of a formatted context (what a reader must find in the document)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def _squash(text: str) -> str:
    # PDF text extraction breaks lines and hyphenates; compare without whitespace or soft hyphens.
    return "".join(text.replace("\u2010", "").replace("-", "").split())


@pytest.mark.parametrize("name", KINDS)
def test_example_is_valid(name: str) -> None:
    kind = registry()[name]
    assert kind.validate(kind.example) == {}


@pytest.mark.parametrize("name", KINDS)
def test_form_has_exactly_the_schema_fields(name: str, app: Any) -> None:
    """The web form is built from the schema: same names at every level, by construction."""

    def names(schema: Any) -> set[str]:
        out = set()
        for key, f in schema().fields.items() if isinstance(schema, type) else schema.fields.items():
            if field_kind(f) == "recorded":
                continue  # written by the service or kept from an older form, never typed
            out.add(key)
            if field_kind(f) == "group":
                out |= {f"{key}-{n}" for n in names(f.schema)}
            elif field_kind(f) == "rows":
                out |= {f"{key}-0-{n}" for n in names(row_schema(f))}
        return out

    kind = registry()[name]
    with app.test_request_context():
        form = form_class(kind.schema)(formdata=None, data=copy.deepcopy(dict(kind.example)), meta={"csrf": False})

    def form_names(f: Any) -> set[str]:
        out = set()
        for field in f:
            if field.type == "FormField":
                out.add(field.name)
                out |= form_names(field.form)
            elif field.type == "FieldList":
                out.add(field.name)
                if field.entries:
                    out |= form_names(field.entries[0].form)
            else:
                out.add(field.name)
        return out

    expected = names(kind.schema)
    got = form_names(form)
    # Empty tables have no row 0 in the form; compare only tables the example fills.
    assert {n for n in expected if "-0-" not in n} <= got
    assert got <= expected


def test_templates_use_only_what_the_context_provides(renderer: Renderer) -> None:
    assert check_templates(renderer) == []


def test_a_template_asking_for_an_unknown_variable_is_reported(tmp_path: Path) -> None:
    kind = registry()["fiche_incident"]
    (tmp_path / kind.html_template).write_text('{% extends "_base.html" %}{% block content %}{{ menage_inconnu }}{% endblock %}')
    problems = check_templates(Renderer(html_dirs=[tmp_path, HTML_DIR]))
    assert any("fiche_incident.html" in p and "menage_inconnu" in p for p in problems), problems


@pytest.mark.parametrize("name", KINDS)
def test_docx_and_pdf_carry_the_data(name: str, renderer: Renderer) -> None:
    kind = registry()[name]
    ctx = example_context(kind)
    word = docx_text(renderer.render(kind.output("docx"), ctx))
    pdf = pdf_text(renderer.render(kind.output("pdf"), ctx))
    assert kind.title in word and kind.issuing_body in word
    squashed = _squash(pdf)
    for value in strings({k: v for k, v in ctx.items() if k not in ("document", "libelles")}):
        if len(value) > 2:
            assert value in word, f"DOCX lacks {value!r}"
            assert _squash(value) in squashed, f"PDF lacks {value!r}"
    assert ctx["document"]["reference"] in word and ctx["document"]["reference"] in pdf


@pytest.mark.parametrize("name", KINDS)
def test_pdf_is_a4_with_page_numbers_and_french(name: str, renderer: Renderer) -> None:
    kind = registry()[name]
    reader = PdfReader(io.BytesIO(renderer.render(kind.output("pdf"), example_context(kind))))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert "Page 1" in reader.pages[0].extract_text()
    assert reader.trailer["/Root"].get("/Lang") in ("fr", "fr-FR")


@pytest.mark.parametrize("name", KINDS)
def test_the_signatures_never_sit_alone_on_the_last_page(name: str, renderer: Renderer) -> None:
    """The last page carries some of the document above its signatures (issue 16, point 10: the bilan Maintien's did not)."""
    kind = registry()[name]
    last = PdfReader(io.BytesIO(renderer.render(kind.output("pdf"), example_context(kind)))).pages[-1].extract_text()
    # Every kind signs at its end: a "Signature(s)" heading, or the parties' "Signature :" lines.
    lines = [line.strip() for line in last.splitlines() if line.strip()]
    signing = [i for i, line in enumerate(lines) if line in ("Signature", "Signatures") or line.startswith("Signature :")]
    assert signing, f"no signature block on the last page: {last[:200]}"
    assert signing[0] > 0, f"the signatures sit alone on the last page: {last[:200]}"


def _nastify(schema: Any, data: Any, cycles: int) -> Any:
    """Replace every free text by hostile text and repeat each table's example rows ``cycles`` times.

    Repeating the whole example (not one row) keeps rules between tables true, e.g. a budget
    whose charges and products balance.
    """
    from marshmallow.validate import Length

    out = copy.deepcopy(data)
    for key, f in schema().fields.items() if isinstance(schema, type) else schema.fields.items():
        widget = field_kind(f)
        if widget == "group":
            out[key] = _nastify(f.schema, out.get(key) or {}, cycles)
        elif widget == "rows":
            example_rows = out.get(key) or []
            out[key] = [_nastify(row_schema(f), r, cycles) for r in example_rows * max(cycles, 1)]
        elif (
            type(f) in (Text, Name)  # names too: hostile but printable (a control character in a name is refused)
            and widget in ("text", "textarea")
            and isinstance(out.get(key), str)
            and all(isinstance(v, Length) for v in f.validators)
        ):
            # Free text only: a text with a format (an hour, a code) keeps its example value.
            limit = next(v.max for v in f.validators if v.max)
            out[key] = (NASTY + "\a\f")[:limit] if widget == "textarea" else NASTY[:limit]
    return out


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("cycles", [0, 60])
def test_hostile_text_and_long_tables_come_out_literally(name: str, cycles: int, renderer: Renderer) -> None:
    kind = registry()[name]
    payload = _nastify(kind.schema, dict(kind.example), cycles)
    if cycles == 0:
        payload = _emptied(kind, payload)
    assert kind.validate(payload) == {}
    data = kind.load(payload)
    from webforms.rendering.context import DocumentMeta, build_context

    ctx = build_context(kind, data, DocumentMeta(reference="REF-1", draft=False))
    word = docx_text(renderer.render(kind.output("docx"), ctx))
    assert NASTY[:100] in word
    assert "49" not in word.replace("2019", "").split(NASTY[:20])[0][-3:]
    pdf = pdf_text(renderer.render(kind.output("pdf"), ctx))
    assert "{{ 7*7 }}" in pdf and "file:///etc/passwd" in pdf
    # The end of the document survived (autoescape off would have cut the body, PITFALLS §1).
    assert "REF-1" in word


def _emptied(kind: Kind, payload: dict[str, Any]) -> dict[str, Any]:
    """Empty every table the kind's rules allow to be empty (one at a time, keeping what passes)."""

    def tables(schema: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        for key, f in (schema() if isinstance(schema, type) else schema).fields.items():
            if field_kind(f) == "group":
                yield from tables(f.schema, (*prefix, key))
            elif field_kind(f) == "rows":
                yield (*prefix, key)

    out = copy.deepcopy(payload)
    for path in tables(kind.schema, ()):
        trial = copy.deepcopy(out)
        node = trial
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = []
        if kind.validate(trial) == {}:
            out = trial
    return out


def test_fetcher_reaches_nothing_outside_the_assets(tmp_path: Path) -> None:
    from webforms.rendering.pdf import AssetFetcher

    fetcher = AssetFetcher([HTML_DIR])
    assert fetcher.fetch("asset:document.css").read()
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x", "asset:../schemas/__init__.py", "data:text/plain,x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def _page_size(pdf: bytes) -> tuple[int, int]:
    width, height = (float(v) for v in PdfReader(io.BytesIO(pdf)).pages[0].mediabox.upper_right)
    return round(width), round(height)


def test_parsed_stylesheet_is_reused_until_its_file_changes(tmp_path: Path) -> None:
    import os

    css = tmp_path / "maison.css"
    css.write_text("@page { size: A5 }")
    html = '<!DOCTYPE html><html lang="fr"><head><title>t</title><link rel="stylesheet" href="asset:maison.css"></head><body><p>x</p></body></html>'
    (tmp_path / "page.html").write_text(html)
    page = Output("page", "Page", "pdf", "page.html")
    renderer = Renderer(html_dirs=[tmp_path])
    assert _page_size(renderer.render(page, {})) == (420, 595)  # @page of the parsed stylesheet applies
    assert _page_size(renderer.render(page, {})) == (420, 595)
    css.write_text("@page { size: A4 landscape }")
    os.utime(css, ns=(css.stat().st_atime_ns, css.stat().st_mtime_ns + 10**9))
    assert _page_size(renderer.render(page, {})) == (842, 595)  # the changed file is read again
    # A document with a <style> element keeps its link: WeasyPrint reads it as usual.
    styled = html.replace("</head>", "<style>p { color: red }</style></head>")
    (tmp_path / "styled.html").write_text(styled)
    assert _page_size(renderer.render(Output("styled", "Page", "pdf", "styled.html"), {})) == (842, 595)
    (tmp_path.parent / "dehors.css").write_text("@page { size: A3 }")
    assert renderer.printer().fetcher.path("../dehors.css") is None  # still nothing outside the assets
    assert renderer.printer().parsed_stylesheets(html.replace("maison.css", "../dehors.css"))[1] == []


def test_render_leaves_garbage_collection_as_it_found_it(tmp_path: Path) -> None:
    import gc

    (tmp_path / "page.html").write_text('<!DOCTYPE html><html lang="fr"><head><title>t</title></head><body><p>x</p></body></html>')
    page = Output("page", "Page", "pdf", "page.html")
    renderer = Renderer(html_dirs=[tmp_path])
    assert gc.isenabled()
    renderer.render(page, {})
    assert gc.isenabled()
    gc.disable()
    try:
        renderer.render(page, {})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_html_in_data_fetches_nothing(renderer: Renderer) -> None:
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kind = registry()["fiche_incident"]
        payload = copy.deepcopy(dict(kind.example))
        port = server.server_port
        payload["incident"]["faits"] = f'<img src="http://127.0.0.1:{port}/img"><style>@import url(http://127.0.0.1:{port}/css);</style>'
        from webforms.rendering.context import DocumentMeta, build_context

        ctx = build_context(kind, kind.load(payload), DocumentMeta())
        pdf = pdf_text(renderer.render(kind.output("pdf"), ctx))
        assert f"127.0.0.1:{port}/img" in pdf
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_docx_render_is_reproducible(renderer: Renderer) -> None:
    kind = registry()["fiche_saisine"]
    ctx = example_context(kind)
    assert renderer.render(kind.output("docx"), ctx) == renderer.render(kind.output("docx"), ctx)


def test_word_templates_are_built_by_the_committed_script(tmp_path: Path) -> None:
    """The committed .docx files are what templates_docx/build.py produces (no hand edits lost)."""
    script = DOCX_DIR / "build.py"
    if not script.exists():
        pytest.skip("templates edited in Word, no generator")
    before = {p.name: p.read_bytes() for p in DOCX_DIR.glob("*.docx")}
    subprocess.run([sys.executable, str(script)], check=True, cwd=DOCX_DIR.parent, capture_output=True)
    after = {p.name: p.read_bytes() for p in DOCX_DIR.glob("*.docx")}
    assert before == after


# --- the registry refuses wrong declarations at start-up -----------------------------------


def _copy(kind: Kind, **changes: Any) -> Kind:
    from dataclasses import replace

    return replace(kind, **changes)


def test_duplicate_kind_name_is_refused() -> None:
    kind = registry()["fiche_incident"]
    with pytest.raises(KindDeclarationError, match="déclaré deux fois"):
        build_registry([kind, _copy(kind)])


def test_missing_template_is_refused() -> None:
    kind = _copy(registry()["fiche_incident"], docx_template="absent.docx")
    with pytest.raises(KindDeclarationError, match=r"absent\.docx.*introuvable"):
        build_registry([kind])


def test_invalid_example_is_refused() -> None:
    kind = _copy(registry()["fiche_incident"], example={"mesure": {}})
    with pytest.raises(KindDeclarationError, match="exemple n'est pas valide"):
        build_registry([kind])


@pytest.mark.parametrize(("years", "fate"), [(0, "destruction"), (5, "brûler")])
def test_invalid_retention_is_refused(years: int, fate: str) -> None:
    from schemas.base.kind import Retention

    kind = _copy(registry()["fiche_incident"], retention=Retention(years, fate))
    with pytest.raises(KindDeclarationError, match="conservation invalide"):
        build_registry([kind])


def test_every_kind_module_is_discovered() -> None:
    assert {k.name for k in discover()} == set(KINDS) >= {"fiche_saisine", "fiche_incident"}


def test_fields_carry_a_french_label() -> None:
    def walk(schema: Any) -> Iterator[mf.Field]:
        for f in (schema() if isinstance(schema, type) else schema).fields.values():
            yield f
            if field_kind(f) == "group":
                yield from walk(f.schema)
            elif field_kind(f) == "rows":
                yield from walk(row_schema(f))

    for kind in registry().values():
        for f in walk(kind.schema):
            assert f.metadata.get("label"), f


@pytest.mark.parametrize("name", KINDS)
def test_fast_docx_normalisation_equals_the_rewrite(name: str, renderer: Renderer) -> None:
    """Patching zip dates in place gives exactly the bytes of rewriting the archive."""
    import zipfile

    from docxtpl import DocxTemplate

    from webforms.rendering import normalise_docx, normalise_docx_slow

    kind = registry()[name]
    template = DocxTemplate(renderer.template_path(kind.output("docx")))
    template.render(example_context(kind), jinja_env=renderer.docx_env, autoescape=True)
    buf = io.BytesIO()
    template.save(buf)
    raw = buf.getvalue()
    fast = normalise_docx(raw)
    assert fast == normalise_docx_slow(raw)
    with zipfile.ZipFile(io.BytesIO(fast)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.testzip() is None


def test_broken_zip_falls_back_to_the_rewrite() -> None:
    from webforms.rendering import normalise_docx

    with pytest.raises(Exception):  # noqa: B017 - not a zip at all: the rewrite says so
        normalise_docx(b"not a zip")


def test_a_kind_answering_a_call_must_say_how_its_form_follows_the_call() -> None:
    kind = registry()["candidature_aml"]
    assert build_registry([kind])  # declared with its call rules: accepted
    with pytest.raises(KindDeclarationError, match="répond à un appel"):
        build_registry([_copy(kind, call=None)])


def test_a_word_template_is_compiled_once_and_each_render_carries_its_own_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled body of a Word template is kept (half of a DOCX's time), never its output."""
    import jinja2

    compiled: list[int] = []
    original = jinja2.Environment.compile

    def counting(self: Any, source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(1)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    renderer, kind = Renderer(), registry()["fiche_incident"]
    texts = []
    for reference in ("FI-2026-00001", "FI-2026-00002"):
        ctx = example_context(kind)
        ctx["document"]["reference"] = reference
        compiled.clear()
        texts.append(docx_text(renderer.render(kind.output("docx"), ctx)))
    assert compiled == [], "the second render compiled its template again"
    assert "FI-2026-00001" in texts[0] and "FI-2026-00002" not in texts[0]
    assert "FI-2026-00002" in texts[1] and "FI-2026-00001" not in texts[1]
