"""The Département's identity on every PDF and Word document: configuration, read back (issue 16, point 10)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.shared import Mm
from flask import Flask
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from schemas import DOCX_DIR, get_kind, registry
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier, submit_complete
from tests.test_web import submitted
from tests.workers import run_jobs
from webforms import db
from webforms.candidatures.dossier import COVER
from webforms.models import Document, Rendition
from webforms.rendering import Renderer
from webforms.rendering.checks import example_context
from webforms.rendering.identity import LOGO_MAX_BYTES, IdentityError, identity_from
from webforms.rendering.pages import PAGES, PROCES_VERBAL
from webforms.statistiques.exports import REPORT as STATISTICS_REPORT
from webforms.statistiques.exports import context as statistics_context
from webforms.statistiques.services import Figures, Period

NOM = "Conseil départemental du Pas-de-Calais"
ADRESSE = "Hôtel du Département | rue Ferdinand Buisson | 62018 Arras Cedex 9"


def png(path: Path, pad_to: int | None = None) -> Path:
    """Write a small PNG (padded with a trailing chunk to ``pad_to`` bytes, to test the size limit)."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 0, 145)).save(buf, format="PNG")
    content = buf.getvalue()
    if pad_to is not None:
        content += b"\0" * (pad_to - len(content))
    path.write_bytes(content)
    return path


def header_text(data: bytes) -> str:
    return "\n".join(p.text for section in docx.Document(io.BytesIO(data)).sections for p in section.header.paragraphs)


def test_every_kind_prints_the_identity_on_its_pdf_and_word_document(tmp_path: Path) -> None:
    """Name and address on the PDF (with the logo) and in the Word header, for each kind."""
    renderer = Renderer(identity=identity_from(NOM, ADRESSE, str(png(tmp_path / "logo.png"))))
    for kind in registry().values():
        context = example_context(kind)
        pdf = PdfReader(io.BytesIO(renderer.render(kind.output("pdf"), context)))
        first = pdf.pages[0].extract_text()
        assert NOM in first and "62018 Arras Cedex 9" in first, kind.name
        assert len(pdf.pages[0].images) >= 1, f"{kind.name} : le logo manque"
        word = header_text(renderer.render(kind.output("docx"), context))
        assert f"{NOM} – Hôtel du Département, rue Ferdinand Buisson, 62018 Arras Cedex 9" in word, kind.name


def test_without_configuration_nothing_is_printed(tmp_path: Path) -> None:
    """No identity configured: no line, no empty paragraph left by the Word template's tags."""
    renderer = Renderer()
    kind = registry()["fiche_saisine"]
    context = example_context(kind)
    assert "Conseil départemental" not in PdfReader(io.BytesIO(renderer.render(kind.output("pdf"), context))).pages[0].extract_text()
    paragraphs = [p.text for p in docx.Document(io.BytesIO(renderer.render(kind.output("docx"), context))).sections[0].header.paragraphs]
    assert paragraphs[0] == kind.issuing_body and all("{%" not in p for p in paragraphs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "absent.png", "Logo du Département illisible"),
        (lambda d: (d / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') and d / "logo.svg", "PNG ou JPEG"),
        (lambda d: png(d / "gros.png", pad_to=LOGO_MAX_BYTES + 1), "dépasse 512 Kio"),
    ],
    ids=["absent", "svg", "513 KiB"],
)
def test_a_logo_that_cannot_be_printed_is_refused_in_french(tmp_path: Path, make: Any, message: str) -> None:
    with pytest.raises(IdentityError, match=message):
        identity_from(NOM, "", str(make(tmp_path)))


def test_a_logo_of_exactly_512_kib_is_accepted(tmp_path: Path) -> None:
    assert identity_from(NOM, "", str(png(tmp_path / "juste.png", pad_to=LOGO_MAX_BYTES))).logo_mime == "image/png"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """This module's app prints the identity (the other tests build their renderer themselves)."""
    return {"DEPARTEMENT_NOM": NOM, "DEPARTEMENT_ADRESSE": ADRESSE}


def test_a_submitted_document_s_stored_pdf_carries_the_configured_identity(app: Flask, login_as: Any) -> None:
    """Through the service (this module's app is configured with an identity): it reaches the PDF stored at the submission."""
    web, _ = login_as("redacteur")
    doc_id = submitted(web, "fiche_saisine")
    run_jobs(app)
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "soumis"
    pdf = web.get(f"/documents/{doc_id}/telecharger/pdf").data
    assert NOM in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def _cover_context() -> dict[str, Any]:
    return {**example_context(get_kind("candidature_aml")), "dossier": {"appel": "Appel à projets AML 2026", "date_limite": "1er mars 2026"}, "sommaire": []}


def test_the_dossier_s_cover_prints_the_identity_and_nothing_without_it(tmp_path: Path) -> None:
    """The cover of a complete dossier, like every PDF: name, address and logo; nothing when none is configured."""
    cover = PdfReader(io.BytesIO(Renderer(identity=identity_from(NOM, ADRESSE, str(png(tmp_path / "logo.png")))).render(COVER, _cover_context()))).pages[0]
    assert NOM in cover.extract_text() and "62018 Arras Cedex 9" in cover.extract_text() and len(cover.images) == 1
    bare = PdfReader(io.BytesIO(Renderer().render(COVER, _cover_context()))).pages[0]
    assert "Conseil départemental" not in bare.extract_text() and "Arras" not in bare.extract_text() and len(bare.images) == 0
    assert "Dossier de candidature complet" in bare.extract_text()


def test_the_stored_complete_dossier_s_cover_carries_the_configured_identity(app: Flask, login_as: Any, clock: Any) -> None:
    """Through the service: the first page of the complete dossier frozen at the deposit."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    with app.app_context():
        rendition = db.session().scalars(select(Rendition).where(Rendition.document_id == doc_id, Rendition.output == "dossier", Rendition.format == "pdf")).one()
        data = app.extensions["webforms.services"].store.read(rendition.sha256)
    first = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert NOM in first and "Hôtel du Département" in first and "Dossier de candidature complet" in first


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _logos_in_headers(data: bytes) -> list[bytes]:
    """The images the Word document's headers show (each header's relationships, read back from the file)."""
    shown = []
    for section in docx.Document(io.BytesIO(data)).sections:
        for rel in section.header.part.rels.values():
            if rel.reltype.endswith("/image"):
                shown.append(rel.target_part.blob)
    return shown


def test_every_word_document_of_every_kind_carries_the_logo_name_and_address(tmp_path: Path) -> None:
    """Issue 16, point 10, "on every PDF and DOCX": the configured logo is an image of each Word file's header."""
    logo = png(tmp_path / "logo.png")
    renderer = Renderer(identity=identity_from(NOM, ADRESSE, str(logo)))
    bare = Renderer(identity=identity_from(NOM, ADRESSE, None))
    seen = []
    for kind in registry().values():
        context = example_context(kind)
        for output in (o for o in kind.outputs() if o.fmt == "docx"):
            data = renderer.render(output, context)
            assert _logos_in_headers(data) == [logo.read_bytes()], f"{kind.name} {output.template} : le logo manque"
            assert any(name.startswith("word/media/") for name in _parts(data)), output.template
            text = header_text(data)
            assert f"{NOM} – Hôtel du Département, rue Ferdinand Buisson, 62018 Arras Cedex 9" in text, output.template
            assert "asset:" not in text and "{{" not in text, output.template
            # No logo configured: no image, no empty paragraph where it would have been.
            without = bare.render(output, context)
            assert _logos_in_headers(without) == [] and not any(n.startswith("word/media/") for n in _parts(without)), output.template
            assert [p for p in header_text(without).split("\n") if not p.strip()] == [], output.template
            seen.append(output.template)
    assert {"fiche_saisine.docx", "candidature_courrier.docx", "convention_aml.docx"} <= set(seen), seen


def test_a_wide_logo_keeps_its_proportions_within_60_mm(tmp_path: Path) -> None:
    """A tall logo is 15 mm high; a wide one is at most 60 mm wide, both at their own proportions."""
    kind = registry()["fiche_saisine"]
    for size, expected in (((40, 20), (Mm(30), Mm(15))), ((400, 20), (Mm(60), Mm(3)))):
        path = tmp_path / f"{size[0]}.png"
        Image.new("RGB", size, (0, 0, 145)).save(path, format="PNG")
        data = Renderer(identity=identity_from(NOM, "", str(path))).render(kind.output("docx"), example_context(kind))
        header = docx.Document(io.BytesIO(data)).sections[0].header
        (shape,) = header._element.xpath(".//wp:extent")
        assert (int(shape.get("cx")), int(shape.get("cy"))) == pytest.approx(expected, abs=Mm(0.1)), size


def test_a_replaced_word_template_without_the_logo_still_renders(tmp_path: Path) -> None:
    """An administrator's own template that never names ``departement.logo`` renders as before, with no image added;
    one that names it in its body gets the logo there."""
    kind = registry()["fiche_saisine"]
    logo = png(tmp_path / "logo.png")
    renderer = Renderer(docx_dirs=(tmp_path / "remplacement", DOCX_DIR), identity=identity_from(NOM, ADRESSE, str(logo)))
    (tmp_path / "remplacement").mkdir()
    plain = docx.Document()
    plain.add_paragraph("Fiche de {{ document.organisme_emetteur }} pour {{ departement.nom }}")
    plain.save(tmp_path / "remplacement" / "fiche_saisine.docx")
    data = renderer.render(kind.output("docx"), example_context(kind))
    assert f"pour {NOM}" in "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert not any(name.startswith("word/media/") for name in _parts(data))

    with_logo = docx.Document()
    with_logo.add_paragraph("{{ departement.logo }}")
    with_logo.save(tmp_path / "remplacement" / "fiche_saisine.docx")
    data = renderer.render(kind.output("docx"), example_context(kind))
    body_images = [r.target_part.blob for r in docx.Document(io.BytesIO(data)).part.rels.values() if r.reltype.endswith("/image")]
    assert body_images == [logo.read_bytes()]


def _statistics_context() -> dict[str, Any]:
    period = Period(dt.date(2019, 1, 1), dt.date(2019, 6, 30))
    return statistics_context(Figures(period=period, today=dt.date(2019, 7, 1), territoire=None), [], year=2019)


@pytest.mark.parametrize(("output", "example"), [(STATISTICS_REPORT, _statistics_context), (PROCES_VERBAL, lambda: PAGES[PROCES_VERBAL.template].example)])
def test_the_statistics_report_and_the_jury_s_proces_verbal_print_the_identity_and_nothing_without_it(
    tmp_path: Path, output: Any, example: Any
) -> None:
    """Issue 16, point 10, "on every PDF": the two PDFs outside the kinds and the dossier, with logo, name and address."""
    page = PdfReader(io.BytesIO(Renderer(identity=identity_from(NOM, ADRESSE, str(png(tmp_path / "logo.png")))).render(output, dict(example())))).pages[0]
    assert NOM in page.extract_text() and "62018 Arras Cedex 9" in page.extract_text() and len(page.images) == 1, output.template
    bare = PdfReader(io.BytesIO(Renderer().render(output, dict(example())))).pages[0]
    assert "Conseil départemental" not in bare.extract_text() and "Arras" not in bare.extract_text() and len(bare.images) == 0
