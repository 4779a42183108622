"""Word pieces converted to PDF by LibreOffice: their text, and nothing fetched from outside."""

from __future__ import annotations

import io
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.test_dossier import word_bytes
from webforms.rendering import office

IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
HYPERLINK_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it receives."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def with_linked_image(data: bytes, url: str) -> bytes:
    """Add an image *linked* (not embedded) from ``url``, and a hyperlink, to a DOCX."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        members = {name: src.read(name) for name in src.namelist()}
    rels = members["word/_rels/document.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdLinked" Type="{IMAGE_REL}" Target="{url}/image.png" TargetMode="External"/>'
        f'<Relationship Id="rIdLink" Type="{HYPERLINK_REL}" Target="https://www.pas-de-calais.fr/" TargetMode="External"/></Relationships>',
    )
    members["word/_rels/document.xml.rels"] = rels.encode()
    drawing = (
        '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="952500" cy="952500"/><wp:docPr id="9" name="lien"/>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="9" name="lien"/><pic:cNvPicPr/></pic:nvPicPr>'
        '<pic:blipFill><a:blip r:link="rIdLinked"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
        '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"/></pic:spPr></pic:pic>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )
    document = members["word/document.xml"].decode()
    members["word/document.xml"] = document.replace("<w:body>", f"<w:body>{drawing}", 1).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, content in members.items():
            dst.writestr(name, content)
    return out.getvalue()


def test_a_word_document_becomes_a_pdf_with_its_text(tmp_path: Path) -> None:
    source = tmp_path / "deliberation.docx"
    source.write_bytes(word_bytes("Adoptée à l'unanimité le 2 septembre 2019."))
    pdf = office.docx_to_pdf(source, tmp_path / "travail")
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Délibération du conseil d'administration" in text and "Adoptée à l'unanimité le 2 septembre 2019." in text
    assert not (tmp_path / "travail" / "profil-libreoffice").exists() and not (tmp_path / "travail" / "piece.docx").exists()


def test_outside_links_are_dropped_and_nothing_is_fetched(tmp_path: Path, listener: tuple[str, list[str]]) -> None:
    url, seen = listener
    source = tmp_path / "deliberation.docx"
    source.write_bytes(with_linked_image(word_bytes("Texte du document."), url))
    copy = tmp_path / "copie.docx"
    assert office.sanitised_copy(source, copy) == 1  # the linked image, not the hyperlink
    with zipfile.ZipFile(copy) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    assert url not in rels and "https://www.pas-de-calais.fr/" in rels
    pdf = office.docx_to_pdf(source, tmp_path / "travail")
    assert "Texte du document." in PdfReader(pdf).pages[0].extract_text()
    assert seen == []
    # The listener has teeth: LibreOffice left alone on the original file does fetch the image.
    program = office.soffice()
    assert program is not None
    subprocess.run(
        [program, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'profil').as_uri()}", "--convert-to", "pdf", "--outdir", str(tmp_path / "brut"), str(source)],
        capture_output=True, timeout=120, check=False,
    )
    assert "/image.png" in seen


def test_without_libreoffice_the_conversion_is_refused_in_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office, "soffice", lambda: None)
    source = tmp_path / "deliberation.docx"
    source.write_bytes(word_bytes("x"))
    with pytest.raises(office.ConversionFailed, match="enregistrez-le en PDF"):
        office.docx_to_pdf(source, tmp_path / "travail")


def test_a_file_libreoffice_cannot_read_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "deliberation.docx"
    source.write_bytes(b"PK\x03\x04 ce n'est pas un zip")
    with pytest.raises(office.ConversionFailed):
        office.docx_to_pdf(source, tmp_path / "travail")
