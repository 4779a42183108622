"""Upload checks: hostile files refused (or cleaned) with a French message, real files accepted.

Every sample is generated here, small and fast: nothing is read from disk but what the test wrote.
"""

from __future__ import annotations

import functools
import io
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, EncodedStreamObject, NameObject, NumberObject, TextStringObject

from webforms.documents import uploads
from webforms.documents.uploads import KINDS, CheckedFile, UploadRefused, check_upload, clean_name
from webforms.documents.uploads.checks import limits

NNBSP = "\u202f"  # French thousands separator in the messages
MiB = 1 << 20


def _check(tmp_path: Path, data: bytes, name: str, **options: Any) -> CheckedFile:
    options.setdefault("allowed", KINDS)
    options.setdefault("max_bytes", 5 * MiB)
    return check_upload(io.BytesIO(data), name, workdir=tmp_path / "work", **options)


def _refusal(tmp_path: Path, data: bytes, name: str, **options: Any) -> str:
    with pytest.raises(UploadRefused) as refused:
        _check(tmp_path, data, name, **options)
    work = tmp_path / "work"
    assert not work.exists() or list(work.iterdir()) == [], "a refusal leaves nothing behind"
    return refused.value.message


# --- Samples ----------------------------------------------------------------------------------
def _pdf(pages: int = 1, edit: Callable[[PdfWriter], None] | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if edit is not None:
        edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@functools.cache
def _real_pdf() -> bytes:
    import weasyprint

    html = "<h1>Attestation de domiciliation</h1><p>L'association certifie que M. Dupont réside au 3, rue des Lilas.</p>"
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def _encrypted(user_password: str) -> Callable[[PdfWriter], None]:
    return lambda writer: writer.encrypt(user_password=user_password, owner_password="proprietaire", algorithm="RC4-128")


def _open_action_js(writer: PdfWriter) -> None:
    writer.add_open_action(JavaScript("app.launchURL('https://exemple.invalid/', true);"))


def _open_action_uri(writer: PdfWriter) -> None:
    """An indirect /OpenAction that sends the reader to a web site as soon as the file opens."""
    action = DictionaryObject({NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("https://exemple.invalid/")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def _attachment(writer: PdfWriter) -> None:
    writer.add_attachment("facture.exe", b"MZ\x90\x00")


def _link_action(action: dict[str, Any]) -> Callable[[PdfWriter], None]:
    """A link annotation on the page, its action held in a *direct* dictionary, two levels down."""

    def edit(writer: PdfWriter) -> None:
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(100), NumberObject(100)]),
                NameObject("/A"): DictionaryObject({NameObject(k): v for k, v in action.items()}),
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])

    return edit


def _goto_open_action(writer: PdfWriter) -> None:
    """What LibreOffice writes: show page 1 at opening. Harmless, so accepted."""
    page = writer.pages[0].indirect_reference
    writer._root_object[NameObject("/OpenAction")] = ArrayObject([page, NameObject("/Fit")])


def _flate_bomb(writer: PdfWriter) -> None:
    """A page whose content stream inflates to 100 MB of zeros (about 100 KB compressed)."""
    compressor = zlib.compressobj(9)
    zeros = bytes(MiB)
    data = b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush()
    stream = EncodedStreamObject()
    stream._data = data  # already compressed: written as it is
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer.pages[0][NameObject("/Contents")] = writer._add_object(stream)


def _image(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "teal" if mode in ("RGB", "RGBA") else 1).save(out, fmt, **save)
    return out.getvalue()


@functools.cache
def _png_bomb() -> bytes:
    """A 20 000 × 20 000 PNG: 400 million pixels that compress to about 50 KB."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@functools.cache
def _docx_members() -> dict[str, bytes]:
    import docx

    document = docx.Document()
    document.add_heading("Compte rendu d'assemblée générale", level=1)
    document.add_paragraph("L'assemblée générale s'est tenue le 14 octobre 2019.")
    out = io.BytesIO()
    document.save(out)
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _docx(changes: dict[str, bytes] | None = None) -> bytes:
    return _zip({**_docx_members(), **(changes or {})})


def _docm_renamed() -> bytes:
    types = _docx_members()["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
    )
    return _zip({**_docx_members(), "[Content_Types].xml": types})


def _docx_bomb() -> bytes:
    """A DOCX-shaped zip whose document.xml inflates to 64 MiB of zeros (64 KiB compressed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _docx_members()["[Content_Types].xml"])
        archive.writestr("_rels/.rels", _docx_members()["_rels/.rels"])
        with archive.open("word/document.xml", "w") as member:
            for _ in range(64):
                member.write(bytes(MiB))
    return out.getvalue()


def _docx_with_body(body: bytes) -> bytes:
    """A real DOCX whose first paragraph is replaced by ``body`` (WordprocessingML)."""
    members = _docx_members()
    document = members["word/document.xml"]
    start = document.index(b"<w:p>") if b"<w:p>" in document else document.index(b"<w:p ")
    return _docx({"word/document.xml": document[:start] + body + document[start:]})


# INCLUDETEXT as a simple field, and INCLUDEPICTURE split over two runs, as Word writes it.
_INCLUDETEXT = b'<w:p><w:fldSimple w:instr=" INCLUDETEXT &quot;/etc/passwd&quot; "><w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>'
_INCLUDEPICTURE = (
    b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> INCLUDEPIC</w:instrText></w:r>'
    b'<w:r><w:instrText>TURE "http://127.0.0.1:9/x.png" \\d </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
_HYPERLINK_FIELD = (
    b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "https://www.pas-de-calais.fr" </w:instrText></w:r>'
    b'<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>Departement</w:t></w:r></w:p>'
)


def _docx_alt_chunk() -> bytes:
    members = _docx_members()
    rels = members["word/_rels/document.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdChunk" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk" Target="chunk.html"/></Relationships>',
    )
    return _docx({"word/_rels/document.xml.rels": rels, "word/chunk.html": b'<html><img src="file:///etc/passwd"></html>'})


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200) + b"This program cannot be run in DOS mode."
HTML = b"<!DOCTYPE html><html><body><script>document.location='https://exemple.invalid/'</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
JS_MESSAGE = "Le PDF contient du JavaScript : enregistrez-le avec « Imprimer en PDF » pour obtenir une version sans contenu actif."
LAUNCH_MESSAGE = "Le PDF contient une action qui ouvre un autre fichier ou lance un programme : enregistrez-le avec « Imprimer en PDF » pour obtenir une version sans contenu actif."

MSG_EXTERNAL_FIELD = "Le document Word contient un champ qui insère un fichier ou une adresse extérieure (INCLUDETEXT, INCLUDEPICTURE, LINK, DDE…) : remplacez-le par son contenu, ou déposez le document en PDF."
HOSTILE: list[tuple[str, Callable[[], bytes], str, dict[str, Any], str]] = [
    ("exe-named-pdf", lambda: EXE, "facture.pdf", {}, "Ce fichier n'est pas un vrai PDF (contenu : programme Windows)."),
    ("html-named-pdf", lambda: HTML, "attestation.pdf", {}, "Ce fichier n'est pas un vrai PDF (contenu : HTML)."),
    ("svg-named-png", lambda: SVG, "logo.png", {}, "Ce fichier n'est pas une vraie image PNG (contenu : image SVG)."),
    ("png-named-jpg", lambda: _image("PNG"), "photo.jpg", {}, "Ce fichier n'est pas une vraie image JPEG (contenu : image PNG)."),
    ("pdf-named-docx", lambda: _pdf(), "statuts.docx", {}, "Ce fichier n'est pas un vrai document Word (contenu : PDF)."),
    ("exe-extension", lambda: EXE, "setup.exe", {}, "Format non accepté (.exe) : déposez un fichier PDF, JPEG, PNG ou Word (.docx)."),
    ("extension-not-allowed", lambda: _docx(), "statuts.docx", {"allowed": frozenset({"pdf", "jpeg"})}, "Format non accepté (.docx) : déposez un fichier PDF ou JPEG."),
    ("no-extension", lambda: _pdf(), "scan", {}, "Le nom du fichier n'a pas d'extension : déposez un fichier PDF, JPEG, PNG ou Word (.docx)."),
    ("control-char-extension", lambda: EXE, "x.pdf\x00.exe", {}, "Format non accepté (.exe) : déposez un fichier PDF, JPEG, PNG ou Word (.docx)."),
    ("empty", lambda: b"", "vide.pdf", {}, "Le fichier est vide."),
    ("over-limit", lambda: b"%PDF-1.7\n" + bytes(MiB), "gros.pdf", {"max_bytes": MiB}, "Le fichier dépasse la taille maximale de 1 Mo."),
    ("encrypted-pdf", lambda: _pdf(edit=_encrypted("secret")), "releve.pdf", {}, "Le fichier est protégé par un mot de passe : déposez une version non chiffrée."),
    ("restricted-pdf", lambda: _pdf(edit=_encrypted("")), "releve.pdf", {}, "Le PDF est chiffré (protection contre la copie ou l'impression) : déposez une version non chiffrée, par exemple enregistrée avec « Imprimer en PDF »."),
    ("pdf-open-action-js", lambda: _pdf(edit=_open_action_js), "avis.pdf", {}, JS_MESSAGE),
    ("pdf-open-action-uri", lambda: _pdf(edit=_open_action_uri), "avis.pdf", {}, "Le PDF déclenche une action à son ouverture : enregistrez-le avec « Imprimer en PDF » pour obtenir une version sans contenu actif."),
    ("pdf-link-js", lambda: _pdf(edit=_link_action({"/S": NameObject("/JavaScript"), "/JS": TextStringObject("app.alert(1)")})), "avis.pdf", {}, JS_MESSAGE),
    ("pdf-launch", lambda: _pdf(edit=_link_action({"/S": NameObject("/Launch"), "/F": TextStringObject("cmd.exe")})), "avis.pdf", {}, LAUNCH_MESSAGE),
    ("pdf-embedded-file", lambda: _pdf(edit=_attachment), "avis.pdf", {}, "Le PDF contient des fichiers joints : déposez chaque document séparément."),
    ("pdf-too-many-pages", lambda: _pdf(pages=4), "dossier.pdf", {"max_pages": 3}, "Le PDF compte 4 pages : 3 pages au plus."),
    ("pdf-flate-bomb", lambda: _pdf(edit=_flate_bomb), "avis.pdf", {}, "Le PDF contient des données compressées démesurées : il ne peut pas être accepté."),
    ("pdf-damaged", lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "avis.pdf", {}, "Ce PDF est endommagé et n'a pas pu être lu : enregistrez-le à nouveau (par exemple avec « Imprimer en PDF ») puis déposez-le."),
    ("png-bomb", _png_bomb, "plan.png", {}, f"Image trop grande (20{NNBSP}000 × 20{NNBSP}000 pixels) : 89 millions de pixels au plus."),
    ("jpeg-truncated", lambda: _image("JPEG", (256, 256))[:400], "photo.jpg", {}, "L'image est endommagée ou incomplète : enregistrez-la à nouveau puis déposez-la."),
    ("docx-zip-bomb", _docx_bomb, "rapport.docx", {}, "Le document Word contient des données compressées démesurées : il ne peut pas être accepté."),
    ("docx-vba-project", lambda: _docx({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(60)}), "rapport.docx", {}, "Le document Word contient des macros : enregistrez-le au format .docx sans macro."),
    ("docm-renamed", _docm_renamed, "rapport.docx", {}, "Le document Word contient des macros : enregistrez-le au format .docx sans macro."),
    ("docx-without-document", lambda: _zip({"[Content_Types].xml": _docx_members()["[Content_Types].xml"], "word/other.xml": b"<a/>"}), "rapport.docx", {}, "Ce fichier n'est pas un vrai document Word (.docx) : enregistrez-le au format .docx puis déposez-le."),
    ("docx-includetext-field", lambda: _docx_with_body(_INCLUDETEXT), "deliberation.docx", {}, MSG_EXTERNAL_FIELD),
    ("docx-includepicture-split-field", lambda: _docx_with_body(_INCLUDEPICTURE), "deliberation.docx", {}, MSG_EXTERNAL_FIELD),
    ("docx-alt-chunk", _docx_alt_chunk, "deliberation.docx", {}, "Le document Word contient un bloc importé d'un autre format (HTML, MHT) : enregistrez-le à nouveau sans ce bloc, ou déposez-le en PDF."),
    ("docx-with-dtd", lambda: _docx({"word/document.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>'}), "rapport.docx", {}, "Ce document Word est endommagé et n'a pas pu être lu : enregistrez-le à nouveau au format .docx puis déposez-le."),
]


@pytest.mark.parametrize(("build", "name", "options", "message"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_upload_is_refused(tmp_path: Path, build: Callable[[], bytes], name: str, options: dict[str, Any], message: str) -> None:
    assert _refusal(tmp_path, build(), name, **options) == message


# --- Cleaned images -----------------------------------------------------------------------------
def test_jpeg_with_appended_zip_is_stored_without_it(tmp_path: Path) -> None:
    original = _image("JPEG", (120, 80)) + _zip({"payload.exe": EXE})
    assert zipfile.is_zipfile(io.BytesIO(original))

    checked = _check(tmp_path, original, "photo.jpg")

    stored = checked.data_path.read_bytes()
    assert (checked.kind, checked.mime, checked.size, checked.pages) == ("jpeg", "image/jpeg", len(stored), None)
    assert b"PK\x03\x04" not in stored and not zipfile.is_zipfile(checked.data_path)
    with Image.open(checked.data_path) as image:
        assert (image.format, image.size) == ("JPEG", (120, 80))
    assert list((tmp_path / "work").iterdir()) == [checked.data_path]  # the original upload is gone


def test_jpeg_gps_exif_is_dropped_and_orientation_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shot with the phone held upright: rotate 90° clockwise
    exif[ExifTags.Base.Make] = "Téléphone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 7.0)
    original = _image("JPEG", (40, 20), exif=exif, comment=b"Chez M. Dupont")
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the sample does carry a position

    checked = _check(tmp_path, original, "photo.JPEG")

    stored = checked.data_path.read_bytes()
    with Image.open(checked.data_path) as image:
        assert image.size == (20, 40)
        assert not image.getexif()
        assert "exif" not in image.info and "comment" not in image.info
    assert b"Exif" not in stored and b"Dupont" not in stored


def test_png_is_reencoded_on_white_and_dropping_text(tmp_path: Path) -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "M. Dupont, 3 rue des Lilas")
    original = _image("PNG", (30, 20), mode="P", transparency=0, pnginfo=text)

    checked = _check(tmp_path, original, "signature.png")

    assert (checked.kind, checked.mime) == ("png", "image/png")
    with Image.open(checked.data_path) as image:
        assert isinstance(image, PngImagePlugin.PngImageFile)
        assert image.size == (30, 20) and image.mode == "P"  # still a palette: as small a file
        assert "transparency" not in image.info
        assert (image.getpalette() or [])[:3] == [255, 255, 255]  # the transparent entry, on white
        assert not image.text
    assert b"Dupont" not in checked.data_path.read_bytes()


def png_chunks(path: Path) -> tuple[dict[str, int], list[bytes]]:
    """A stored PNG's header fields and the names of its chunks, read as the dossier reads them."""
    data = path.read_bytes()
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    names, at = [], 8
    while at < len(data):
        size, name = struct.unpack(">I4s", data[at : at + 8])
        names.append(name)
        at += 12 + size
    return {"width": width, "height": height, "depth": depth, "colour": colour, "interlace": interlace}, names


def raw_png(size: tuple[int, int], colour: int, depth: int, pixels: Callable[[int, int], bytes], *, trns: bytes | None = None, plte: bytes | None = None, interlace: bool = False) -> bytes:
    """A PNG written by hand, for what Pillow does not write: 16 bits with a transparent level,
    Adam7 interlacing. ``pixels(x, y)`` gives a pixel's bytes."""

    def chunk(name: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + name + data + struct.pack(">I", zlib.crc32(name + data))

    width, height = size
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)]
    rows = b""
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = b"".join(pixels(x, y) for x in range(x0, width, dx))
            rows += b"\0" + row if row else b""
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlace)))
    data += (chunk(b"PLTE", plte) if plte else b"") + (chunk(b"tRNS", trns) if trns else b"")
    return data + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _half_transparent(mode: str) -> bytes:
    """Left half teal (or grey 100) and opaque, right half fully transparent (its colour: black)."""
    image = Image.new(mode, (40, 20), 0)
    opaque = {"RGBA": (0, 128, 128, 255), "LA": (100, 255), "PA": (1, 255)}[mode]
    image.paste(opaque, (0, 0, 20, 20))
    if mode == "PA":
        image.putpalette([0, 0, 0, 0, 128, 128])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


TEAL, GREY = (0, 128, 128), (100, 100, 100)
TRANSPARENT_PNGS: list[tuple[str, Callable[[], bytes], tuple[int, ...], int]] = [
    # (case, sample, colour of its opaque left half once stored, PNG colour type stored)
    ("rgba", lambda: _half_transparent("RGBA"), TEAL, 2),
    ("grey-alpha", lambda: _half_transparent("LA"), GREY, 0),
    ("grey-alpha-16-bit", lambda: raw_png((40, 20), 4, 16, lambda x, y: struct.pack(">HH", 100 * 257, 65535 if x < 20 else 0)), GREY, 2),  # Pillow reads it as RGBA
    ("rgba-16-bit", lambda: raw_png((40, 20), 6, 16, lambda x, y: struct.pack(">4H", 0, 128 * 257, 128 * 257, 65535 if x < 20 else 0)), TEAL, 2),
    ("palette-trns", lambda: raw_png((40, 20), 3, 8, lambda x, y: bytes([1 if x < 20 else 0]), plte=bytes([0, 0, 0, *TEAL]), trns=b"\0"), TEAL, 3),
    ("grey-trns", lambda: raw_png((40, 20), 0, 8, lambda x, y: bytes([100 if x < 20 else 0]), trns=b"\0\0"), GREY, 0),
    ("grey-16-bit-trns", lambda: raw_png((40, 20), 0, 16, lambda x, y: struct.pack(">H", 100 * 257 if x < 20 else 0), trns=b"\0\0"), GREY, 0),
    ("rgb-trns", lambda: raw_png((40, 20), 2, 8, lambda x, y: bytes(TEAL if x < 20 else (0, 0, 0)), trns=bytes(6)), TEAL, 2),
    ("interlaced-rgba", lambda: raw_png((40, 20), 6, 8, lambda x, y: bytes([*TEAL, 255] if x < 20 else [0, 0, 0, 0]), interlace=True), TEAL, 2),
]


@pytest.mark.parametrize(("build", "opaque", "colour_type"), [case[1:] for case in TRANSPARENT_PNGS], ids=[case[0] for case in TRANSPARENT_PNGS])
def test_transparent_png_is_stored_on_white_without_alpha_nor_interlacing(tmp_path: Path, build: Callable[[], bytes], opaque: tuple[int, ...], colour_type: int) -> None:
    """The complete dossier copies such a PNG's rows into its PDF as they are: no decoding
    in the web process (an RGBA scan of 6000 × 8000 pixels took 252 MB there)."""
    checked = _check(tmp_path, build(), "plan.png")

    header, chunks = png_chunks(checked.data_path)
    assert (header["width"], header["height"], header["colour"], header["interlace"]) == (40, 20, colour_type, 0)
    assert b"tRNS" not in chunks
    with Image.open(checked.data_path) as image:
        rgb = image.convert("RGB")
        assert rgb.getpixel((5, 5)) == opaque
        assert rgb.getpixel((35, 5)) == (255, 255, 255)  # transparent: the white of the page


def test_a_16_bit_grey_png_keeps_its_16_bits(tmp_path: Path) -> None:
    """A PDF takes 16-bit rows as they are: nothing to lose in the re-encoding."""
    checked = _check(tmp_path, raw_png((300, 2), 0, 16, lambda x, y: struct.pack(">H", x * 200)), "radio.png")
    header, _ = png_chunks(checked.data_path)
    assert (header["colour"], header["depth"]) == (0, 16)
    with Image.open(checked.data_path) as image:
        assert image.getpixel((299, 1)) == 299 * 200


# --- Real files accepted ----------------------------------------------------------------------------
def test_real_pdf_is_accepted_as_it_is(tmp_path: Path) -> None:
    original = _real_pdf()
    checked = _check(tmp_path, original, "Relevé d'identité.PDF")
    assert checked == CheckedFile(
        kind="pdf",
        mime="application/pdf",
        size=len(original),
        pages=1,
        data_path=checked.data_path,
        original_name="Relevé d'identité.PDF",
    )
    assert checked.data_path.parent == tmp_path / "work"
    assert checked.data_path.read_bytes() == original


def test_pdf_opening_on_its_first_page_is_accepted(tmp_path: Path) -> None:
    checked = _check(tmp_path, _pdf(pages=3, edit=_goto_open_action), "statuts.pdf", max_pages=3)
    assert checked.pages == 3
    assert "/OpenAction" in PdfReader(checked.data_path).root_object


def test_docx_with_a_hyperlink_field_is_accepted(tmp_path: Path) -> None:
    assert _check(tmp_path, _docx_with_body(_HYPERLINK_FIELD), "deliberation.docx").kind == "docx"


def test_real_docx_is_accepted_as_it_is(tmp_path: Path) -> None:
    original = _docx()
    checked = _check(tmp_path, original, "compte-rendu.docx")
    assert (checked.kind, checked.mime, checked.pages) == ("docx", uploads.DOCX_MIME, None)
    assert checked.data_path.read_bytes() == original


@pytest.mark.parametrize(("fmt", "name", "kind"), [("PNG", "scan.png", "png"), ("JPEG", "scan.jpeg", "jpeg")])
def test_real_image_is_accepted(tmp_path: Path, fmt: str, name: str, kind: str) -> None:
    checked = _check(tmp_path, _image(fmt, (200, 100), dpi=(300, 300)), name, allowed=frozenset({kind}))
    assert checked.kind == kind
    with Image.open(checked.data_path) as image:
        assert (image.format, image.size) == (fmt, (200, 100))
        assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)


def test_names_are_cleaned_for_the_database() -> None:
    assert clean_name("C:\\Users\\marie\\Bureau\\Relevé.pdf") == "Relevé.pdf"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("facture\u202egnp.exe") == "facturegnp.exe"  # no right-to-left override
    assert clean_name("签名.pdf") == "签名.pdf"
    long = clean_name("a" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


def test_allowed_must_name_known_kinds(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        _check(tmp_path, _pdf(), "a.pdf", allowed=frozenset({"pdf", "exe"}))


# --- The child process: limits, and the parent never holding the upload ---------------------
def test_timeout_in_the_child_is_a_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "PARSE_TIMEOUT_SECONDS", 0.01)  # less than the interpreter's start
    message = _refusal(tmp_path, _pdf(pages=50), "dossier.pdf")
    assert message == "L'analyse du fichier a pris trop de temps : il est peut-être endommagé ou trop complexe. Enregistrez-le à nouveau et réessayez."


def test_memory_limit_applies_in_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = _image("JPEG", (6000, 6000))  # 36 Mpx: 108 MB once decoded, 0.5 MB as a file
    assert _check(tmp_path, photo, "photo.jpg").kind == "jpeg"
    monkeypatch.setattr(limits, "CHILD_MEMORY_BYTES", 96 * MiB)
    message = _refusal(tmp_path / "small", photo, "photo.jpg")
    assert message == "L'analyse du fichier demande trop de mémoire : il est peut-être endommagé ou trop complexe. Enregistrez-le à nouveau et réessayez."


class LazyPdf:
    """A valid one-page PDF of about ``size`` bytes, produced as it is read; records each read.

    Its single content stream is ``size`` spaces (empty page contents), so the parent can be
    handed 30 MB without the test holding them either.
    """

    def __init__(self, size: int) -> None:
        head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        ]
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(head))
            head += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(len(head))
        head += b"4 0 obj\n<< /Length %d >>\nstream\n" % size
        tail = b"\nendstream\nendobj\n"
        xref_at = len(head) + size + len(tail)
        tail += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        tail += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
        self.parts = [(head, len(head)), (None, size), (tail, len(tail))]
        self.total = len(head) + size + len(tail)
        self.position = 0
        self.reads: list[int] = []

    def read(self, n: int = -1) -> bytes:
        self.reads.append(n)
        assert n > 0, "the upload is read by chunks, never whole"
        chunks, start = [], 0
        for data, length in self.parts:
            if self.position < start + length and n > 0:
                offset = self.position - start
                take = min(n, length - offset)
                chunks.append(b" " * take if data is None else data[offset : offset + take])
                self.position += take
                n -= take
            start += length
        return b"".join(chunks)


def test_a_30_mb_upload_is_streamed_not_held(tmp_path: Path) -> None:
    upload = LazyPdf(30 * MiB)
    tracemalloc.start()
    try:
        checked = check_upload(upload, "dossier.pdf", allowed=KINDS, max_bytes=40 * MiB, workdir=tmp_path / "work")  # type: ignore[arg-type]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (checked.pages, checked.size) == (1, upload.total)
    assert max(upload.reads) <= limits.CHUNK_SIZE and len(upload.reads) >= 30
    assert peak < 4 * MiB, f"the parent held {peak} bytes at once"


def test_an_upload_over_the_limit_is_not_read_to_its_end(tmp_path: Path) -> None:
    upload = LazyPdf(30 * MiB)
    with pytest.raises(UploadRefused, match="taille maximale de 2,5 Mo"):
        check_upload(upload, "dossier.pdf", allowed=KINDS, max_bytes=5 * MiB // 2, workdir=tmp_path / "work")  # type: ignore[arg-type]
    assert upload.position == 5 * MiB // 2 + 1
    assert list((tmp_path / "work").iterdir()) == []
