"""The complete dossier: one PDF (cover, contents, every piece, page numbers) and one ZIP.

AML §6b lists the pieces of a candidature; the service hands them over as one PDF to read and
one ZIP to archive, whose ``manifest.json`` gives each file's SHA-256, size and role. Neither is
ever held in memory: the PDF is assembled from file to file by qpdf (pikepdf), and files are
copied into the ZIP by chunks, so memory stays flat however large the pieces are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import lzma
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PdfReader

from schemas.base.kind import Output
from webforms.candidatures.page_numbers import write_page_numbers
from webforms.documents.uploads import grey_8_bits, on_white, palette_on_white
from webforms.rendering import Renderer
from webforms.rendering.pages import COVER
from webforms.timeutil import zip_date_time

CHUNK = 1 << 20
MANIFEST = "manifest.json"
A4_POINTS = (595.2756, 841.8898)  # 210 × 297 mm
# An image page's margin, on every side: as far from the edge as the page number's box, which
# so never covers the image.
IMAGE_MARGIN = 12 * 72 / 25.4
# The dossier's own pages, printed like any output (templates_html/): the cover with its
# contents (declared with the pages an administrator may replace, webforms/rendering/pages.py),
# and the page standing for a Word piece with no PDF. The page numbers are drawn directly
# (page_numbers.py).
WORD_PIECE = Output("piece_word", "Pièce Word", "pdf", "dossier_piece_word.html")


@dataclass(frozen=True)
class Part:
    """One piece of the dossier, in the order it is handed over."""

    role: str  # "courrier", "deliberation", "fiche_descriptive", ...
    title: str  # as printed in the contents
    filename: str  # stable name inside the ZIP
    path: Path  # the stored file
    mime: str
    sha256: str
    size: int
    # A Word piece's PDF, converted at upload (webforms/rendering/office.py); the ZIP keeps the original.
    pdf_path: Path | None = None


def _image_page(width: int, height: int) -> tuple[float, float, tuple[float, float, float, float]]:
    """The A4 page of an image and where the image goes on it: ``(page width, page height, (x, y, w, h))``.

    A landscape image gets an A4 landscape page, any other an A4 portrait one; the image is
    fitted within the margins, keeping its proportions, and centred.
    """
    page_w, page_h = (A4_POINTS[1], A4_POINTS[0]) if width > height else A4_POINTS
    scale = min((page_w - 2 * IMAGE_MARGIN) / width, (page_h - 2 * IMAGE_MARGIN) / height)
    w, h = width * scale, height * scale
    return page_w, page_h, ((page_w - w) / 2, (page_h - h) / 2, w, h)


def _write_image_pdf(target: Path, *, width: int, height: int, image: str, data: Path, spans: Sequence[tuple[int, int]]) -> None:
    """Write a one-page PDF whose page is the image, its stream copied by chunks from ``data``.

    ``image`` holds the image dictionary's entries (without ``/Length``); ``spans`` are the
    ``(offset, length)`` ranges of ``data`` that make the image's stream. The page is an A4
    page laid out by :func:`_image_page`.
    """
    page_w, page_h, (x, y, w, h) = _image_page(width, height)
    content = f"q {w:.4f} 0 0 {h:.4f} {x:.4f} {y:.4f} cm /Im0 Do Q".encode()
    length = sum(n for _, n in spans)
    offsets: list[int] = []
    with target.open("wb") as out, data.open("rb") as src:

        def begin(body: str) -> None:
            offsets.append(out.tell())
            out.write(f"{len(offsets)} 0 obj\n{body}".encode())

        out.write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
        begin("<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        begin("<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
        begin(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w:.4f} {page_h:.4f}] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>\nendobj\n")
        begin(f"<< /Length {len(content)} >>\nstream\n")
        out.write(content + b"\nendstream\nendobj\n")
        begin(f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} {image} /Length {length} >>\nstream\n")
        for offset, size in spans:
            src.seek(offset)
            while size > 0 and (chunk := src.read(min(CHUNK, size))):
                out.write(chunk)
                size -= len(chunk)
            if size:
                raise ValueError(f"{data.name} : fichier tronqué.")
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
        out.write("".join(f"{o:010d} 00000 n \n" for o in offsets).encode())
        out.write(f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())


def _png_layout(path: Path) -> tuple[dict[str, Any], list[tuple[int, int]]] | None:
    """Read a PNG's header, palette, transparency and the places of its IDAT chunks, without decoding it.

    Returns None for what a PDF cannot take as it is (alpha channel, interlacing): such an
    image is decoded instead. Uploads are stored without either (webforms/documents/uploads/), but
    pieces stored before may have them.
    """
    with path.open("rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return None
        header: dict[str, Any] = {}
        spans: list[tuple[int, int]] = []
        while head := f.read(8):
            if len(head) < 8:
                return None
            size, name = struct.unpack(">I4s", head)
            if name == b"IHDR":
                width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", f.read(13))
                header = {"width": width, "height": height, "depth": depth, "colour": colour, "interlace": interlace}
                f.seek(4, os.SEEK_CUR)
            elif name in (b"PLTE", b"tRNS") and size <= 3 * 256:
                header["palette" if name == b"PLTE" else "transparency"] = f.read(size)
                f.seek(4, os.SEEK_CUR)
            elif name == b"IDAT":
                spans.append((f.tell(), size))
                f.seek(size + 4, os.SEEK_CUR)
            elif name == b"IEND":
                break
            else:
                f.seek(size + 4, os.SEEK_CUR)
    if not header or not spans or header["interlace"] or header["colour"] not in (0, 2, 3):
        return None
    if header["colour"] == 3 and "palette" not in header:
        return None
    return header, spans


def _image_pdf_file(path: Path, mime: str, target: Path) -> None:
    """Turn an image into one A4 PDF page (the image fitted within the margins), by streaming.

    A JPEG goes into the PDF as it is (DCTDecode) and a PNG's compressed rows as they are
    (FlateDecode with the PNG predictors): nothing is decoded, so memory does not grow with
    the image and the scan loses no quality. Only a PNG with an alpha channel or interlaced
    rows is decoded (Pillow), its size capped by the upload checks (MAX_PIXELS): uploads are
    stored without either since they are laid on white at upload, but a piece stored before
    may have them.
    """
    if mime == "image/jpeg":
        with Image.open(path) as img:  # reads the header only
            width, height, mode = img.width, img.height, img.mode
        if mode in ("L", "RGB", "CMYK"):
            space = {"L": "/DeviceGray", "RGB": "/DeviceRGB", "CMYK": "/DeviceCMYK /Decode [1 0 1 0 1 0 1 0]"}[mode]
            entries = f"/ColorSpace {space} /BitsPerComponent 8 /Filter /DCTDecode"
            _write_image_pdf(target, width=width, height=height, image=entries, data=path, spans=[(0, path.stat().st_size)])
            return
    elif _png_pdf_file(path, target):
        return
    _decoded_image_pdf_file(path, target)


def _decoded_image_pdf_file(path: Path, target: Path) -> None:
    """Write the page of an image that must be decoded, laid on white, band by band.

    Memory holds the decoded image and one band of it, not a second copy: the bands are
    compressed into a stream file as they are blended.
    """
    rows = target.with_suffix(".rows")
    compressor = zlib.compressobj()
    with Image.open(path) as img, rows.open("wb") as out:
        img.load()
        grey = img.mode in ("1", "L", "LA", "La") or img.mode.startswith("I")
        band_rows = CHUNK // 4 // img.width + 1  # about 1 MiB of pixels
        for top in range(0, img.height, band_rows):
            band = on_white(img.crop((0, top, img.width, min(img.height, top + band_rows))))
            band = grey_8_bits(band) if band.mode.startswith("I") else band.convert("L" if grey else "RGB")
            out.write(compressor.compress(band.tobytes()))
        out.write(compressor.flush())
        width, height = img.size
    entries = f"/ColorSpace {'/DeviceGray' if grey else '/DeviceRGB'} /BitsPerComponent 8 /Filter /FlateDecode"
    _write_image_pdf(target, width=width, height=height, image=entries, data=rows, spans=[(0, rows.stat().st_size)])


def _png_pdf_file(path: Path, target: Path) -> bool:
    """Write the PDF page of a PNG from its compressed rows; False if the PNG must be decoded."""
    layout = _png_layout(path)
    if layout is None:
        return False
    header, spans = layout
    colours = 3 if header["colour"] == 2 else 1
    transparency = header.get("transparency")
    mask = ""
    if header["colour"] == 3:
        # Transparent entries of the palette are blended with white, as the upload check does.
        palette = bytes(palette_on_white(header["palette"][: len(header["palette"]) // 3 * 3], transparency))
        space = f"[/Indexed /DeviceRGB {len(palette) // 3 - 1} <{palette.hex()}>]"
    else:
        space = "/DeviceRGB" if colours == 3 else "/DeviceGray"
        if transparency is not None and len(transparency) == 2 * colours:
            # The transparent colour is masked out: the white page shows through.
            key = struct.unpack(f">{colours}H", transparency)
            mask = " /Mask [" + " ".join(f"{k} {k}" for k in key) + "]"
    depth = header["depth"]
    entries = (
        f"/ColorSpace {space} /BitsPerComponent {depth}{mask} /Filter /FlateDecode "
        f"/DecodeParms << /Predictor 15 /Colors {colours} /BitsPerComponent {depth} /Columns {header['width']} >>"
    )
    _write_image_pdf(target, width=header["width"], height=header["height"], image=entries, data=path, spans=spans)
    return True


def _part_pdf_file(renderer: Renderer, part: Part, context: dict[str, Any], workdir: Path, index: int) -> Path:
    """The PDF file that stands for ``part`` in the complete PDF (a stored PDF is used in place)."""
    if part.mime == "application/pdf":
        return part.path
    if part.pdf_path is not None and part.pdf_path.is_file():
        return part.pdf_path
    target = workdir / f"piece-{index:03d}.pdf"
    if part.mime in ("image/jpeg", "image/png"):
        _image_pdf_file(part.path, part.mime, target)
        return target
    # A Word piece stored before conversions existed: a page says where to find it, with its digest.
    target.write_bytes(renderer.render(WORD_PIECE, {**context, "piece": {"titre": part.title, "fichier": part.filename, "sha256": part.sha256}}))
    return target


def _pages(path: Path) -> int:
    """Count a PDF's pages; qpdf reads the cross-reference table and the page tree only."""
    return len(_page_sizes(path))


def _page_sizes(path: Path) -> list[tuple[float, float]]:
    """Each page's size as a reader shows it, in points: width and height, /Rotate applied.

    The box is the one qpdf lays an overlay on: the trim box, which defaults to the crop box
    (what a reader shows), then to the media box; inherited boxes and /Rotate count, and
    /UserUnit scales the page. qpdf reads the page dictionaries only, not their contents.
    """
    # Deferred: qpdf (pikepdf) is loaded when a dossier is assembled, not by every start.
    import pikepdf

    sizes = []
    with pikepdf.open(path, access_mode=pikepdf.AccessMode.stream) as pdf:
        for page in pdf.pages:
            x0, y0, x1, y1 = (float(v) for v in page.trimbox)
            unit = page.obj.get("/UserUnit", 1)
            unit = float(unit) if isinstance(unit, int | Decimal) and unit > 0 else 1.0  # as qpdf reads it
            width, height = abs(x1 - x0) * unit, abs(y1 - y0) * unit
            # qpdf turns the overlay by a quarter turn (normalised /Rotate of 90 or 270) or not at all.
            sizes.append((height, width) if page.rotation in (90, 270) else (width, height))
    return sizes


def _pdf_bytes_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def _front_pdf(renderer: Renderer, parts: Sequence[Part], counts: Sequence[int], context: dict[str, Any]) -> bytes:
    """Render the cover and the contents, whose start pages count the front pages themselves.

    Laid out once for a cover and one page of contents, which is what a dossier of a few tens
    of pieces takes; laid out again only if that guess was wrong, with the pages counted.
    """
    front_pages = 2
    for _ in range(3):
        rows, page = [], front_pages + 1
        for part, count in zip(parts, counts, strict=True):
            rows.append({"titre": part.title, "page": page, "pages": count, "fichier": part.filename})
            page += count
        data = renderer.render(COVER, {**context, "sommaire": rows})
        if (pages := _pdf_bytes_pages(data)) == front_pages:
            return data
        front_pages = pages
    raise RuntimeError("Sommaire : le nombre de pages de la page de garde et du sommaire ne se stabilise pas.")


def complete_pdf_file(renderer: Renderer, parts: Sequence[Part], context: dict[str, Any], target: Path) -> int:
    """Write the cover, the contents and every part into ``target``, one PDF with page numbers.

    Returns its page count. Memory does not grow with the number or the total size of the
    pieces: the stored PDFs are read where they lie, images are wrapped without being decoded,
    and qpdf (through pikepdf) copies every page's streams from the source files to ``target``
    as it writes, then lays each page number over its page as a form XObject, without decoding
    the page. qpdf holds one stream at a time while writing it (about twice its size): the
    largest image of a piece, at most the piece's upload limit. The numbers' overlay has one
    page per page, of that page's shown size read from the page dictionaries only, drawn
    directly (:func:`write_page_numbers`).
    """
    # Deferred: qpdf (pikepdf) is loaded when a dossier is assembled, not by every start.
    import pikepdf

    with tempfile.TemporaryDirectory(prefix="webforms-dossier-") as tmp:
        workdir = Path(tmp)
        sources = [_part_pdf_file(renderer, part, context, workdir, index) for index, part in enumerate(parts)]
        sizes = [_page_sizes(source) for source in sources]
        counts = [len(pages) for pages in sizes]
        front = workdir / "front.pdf"
        front.write_bytes(_front_pdf(renderer, parts, counts, context))
        every_size = [*_page_sizes(front), *(size for pages in sizes for size in pages)]
        total = len(every_size)
        numbers = workdir / "numbers.pdf"
        write_page_numbers(numbers, every_size, str(context.get("document", {}).get("reference") or ""))
        job = {
            "empty": "",
            "pages": [{"file": str(source), "range": "1-z"} for source in (front, *sources)],
            "overlay": [{"file": str(numbers), "to": "1-z", "from": "1-z"}],
            "streamData": "preserve",  # streams are copied as they are: none is decoded
            "warningExit0": "",
            "outputFile": str(target),
        }
        pikepdf.Job(job).run()
    written = _pages(target)
    if written != total:
        raise RuntimeError(f"Le PDF complet compte {written} pages au lieu de {total}.")
    return total


def write_zip(target: Path, files: Iterable[tuple[str, str, Path]], digests: Mapping[Path, str] | None = None, *, moment: dt.datetime) -> dict[str, Any]:
    """Write a ZIP of ``(name, role, path)`` files plus ``manifest.json``; return the manifest.

    Every entry is dated ``moment`` (the version's submission): what an unzipped folder shows,
    and the same bytes for the same version.

    Each file is copied, and hashed unless ``digests`` gives its SHA-256 (a file of the
    content-addressed store, named by it), by chunks: memory stays flat however large the
    files are. A given digest is what was deposited: were the stored file altered since,
    ``verify_zip`` would say so instead of the manifest vouching for the altered bytes.
    """
    manifest: dict[str, Any] = {"fichiers": []}
    known = digests or {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, role, path in files:
            hasher, size = None if path in known else hashlib.sha256(), 0
            info = zipfile.ZipInfo(name, date_time=zip_date_time(moment))
            # Scans, PDFs and DOCX are already compressed: storing them is ten times faster
            # than deflating them again, for the same archive size.
            info.compress_type = zipfile.ZIP_STORED
            with path.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
                while chunk := src.read(CHUNK):
                    if hasher is not None:
                        hasher.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
            digest = known[path] if hasher is None else hasher.hexdigest()
            manifest["fichiers"].append({"nom": name, "role": role, "sha256": digest, "taille": size})
        info = zipfile.ZipInfo(MANIFEST, date_time=zip_date_time(moment))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


MANIFEST_MAX = 16 << 20  # a manifest lists tens of files in a few kB; beyond this it is not one of ours
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class _Entry:
    """One file as the manifest lists it; None where the manifest's value is unusable."""

    name: str
    size: int | None
    sha256: str | None


class _Damaged(Exception):
    """A member the ZIP cannot give back as stored; the message is the French reason."""


def _shown(name: str) -> str:
    """Return ``name`` with its invisible characters escaped, so that a finding stays one readable line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)


def _name_danger(name: str) -> str | None:
    """Say why ``name`` is unsafe to extract: it leaves the target folder or hides what it is (None: safe)."""
    if not name:
        return "nom vide"
    if not name.isprintable():
        return "caractère invisible ou de contrôle"
    if name.startswith(("/", "\\")):
        return "chemin absolu"
    if DRIVE.match(name):
        return "lettre de lecteur"
    if "\\" in name:
        return "barre oblique inverse"
    if ".." in name.split("/"):
        return "remontée « .. » hors du dossier"
    return None


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield a member's content by chunks; raise _Damaged if the ZIP cannot give it back intact.

    Reading to the end is what makes zipfile check the member's CRC-32.
    """
    if info.flag_bits & 0x1:
        raise _Damaged("fichier chiffré, impossible à vérifier")
    try:
        data = archive.open(info)
    except (zipfile.BadZipFile, OSError, ValueError):  # OSError: an offset pointing outside the file
        raise _Damaged("en-tête endommagé dans l'archive") from None
    except (NotImplementedError, RuntimeError):
        raise _Damaged("méthode de compression non prise en charge") from None
    with data:
        try:
            while chunk := data.read(CHUNK):
                yield chunk
        except zipfile.BadZipFile:
            raise _Damaged("contenu altéré (somme de contrôle du ZIP incorrecte)") from None
        except (zlib.error, lzma.LZMAError, EOFError, OSError, ValueError):
            raise _Damaged("contenu altéré (données compressées illisibles)") from None


def _entry(number: int, item: Any) -> tuple[_Entry | None, list[str]]:
    """Read one entry of the manifest's ``fichiers`` list; say what is wrong with it."""
    where = f"{MANIFEST}, entrée n° {number}"
    if not isinstance(item, dict):
        return None, [f"{where} : un objet est attendu (nom, role, sha256, taille)."]
    name = item.get("nom")
    if not isinstance(name, str) or not name:
        return None, [f"{where} : « nom » manquant ou qui n'est pas un texte."]
    problems = []
    size = item.get("taille")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        problems.append(f"{_shown(name)} : « taille » manquante ou invalide dans le manifeste (un nombre entier d'octets est attendu).")
        size = None
    digest = item.get("sha256")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        problems.append(f"{_shown(name)} : « sha256 » manquante ou invalide dans le manifeste (64 chiffres hexadécimaux attendus).")
        digest = None
    if not isinstance(item.get("role"), str):
        problems.append(f"{_shown(name)} : « role » manquant ou qui n'est pas un texte dans le manifeste.")
    return _Entry(name, size, digest.lower() if digest else None), problems


def _manifest(archive: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo]) -> tuple[list[_Entry] | None, list[str]]:
    """Read the manifest's entries (None: no usable manifest) and what is wrong with it."""
    if not infos:
        return None, [f"L'archive ne contient pas de {MANIFEST}."]
    info = infos[-1]  # the copy zipfile and most tools take when a name is repeated
    if info.file_size > MANIFEST_MAX:
        return None, [f"{MANIFEST} : {info.file_size} octets, bien trop pour un manifeste."]
    try:
        raw = b"".join(_chunks(archive, info))
    except _Damaged as exc:
        return None, [f"{MANIFEST} : {exc}."]
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError):
        return None, [f"{MANIFEST} : illisible (ce n'est pas du JSON valide)."]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("fichiers"), list):
        return None, [f"{MANIFEST} : un objet JSON avec la liste « fichiers » est attendu."]
    entries, problems = [], []
    for number, item in enumerate(manifest["fichiers"], start=1):
        entry, errors = _entry(number, item)
        problems += errors
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _check(archive: zipfile.ZipFile, info: zipfile.ZipInfo, entry: _Entry | None) -> list[str]:
    """Read one member by chunks and compare it with its manifest entry (None: integrity only)."""
    name = _shown(info.orig_filename)
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in _chunks(archive, info):
            digest.update(chunk)
            size += len(chunk)
    except _Damaged as exc:
        return [f"{name} : {exc}."]
    problems = []
    if entry is not None and entry.size is not None and size != entry.size:
        problems.append(f"{name} : taille {size} au lieu de {entry.size}.")
    if entry is not None and entry.sha256 is not None and digest.hexdigest() != entry.sha256:
        problems.append(f"{name} : empreinte SHA-256 différente du manifeste (fichier modifié).")
    return problems


def verify_zip(path: str | os.PathLike[str]) -> list[str]:
    """Check a dossier ZIP against its manifest; return one French line per problem (none: intact).

    Nothing is extracted or written. Every member is read by chunks, so memory stays flat:
    its SHA-256 and size are compared with the manifest, and zipfile checks its CRC-32. A
    damaged archive, a malformed manifest or a dangerous name is a finding, never an exception.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (FileNotFoundError, NotADirectoryError):
        return [f"Fichier introuvable : {os.fspath(path)}"]
    except IsADirectoryError:
        return [f"{os.fspath(path)} est un dossier, pas une archive ZIP."]
    except PermissionError:
        return [f"Lecture impossible de {os.fspath(path)} : accès refusé."]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return [f"{os.fspath(path)} n'est pas une archive ZIP (ou elle est tronquée ou endommagée)."]
    with archive:
        members: dict[str, list[zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            members.setdefault(info.orig_filename, []).append(info)
        entries, manifest_problems = _manifest(archive, members.get(MANIFEST, []))
        listed = Counter(entry.name for entry in entries or [])
        problems = [f"{_shown(name)} : nom de fichier dangereux ({reason})." for name in sorted(members.keys() | listed.keys()) if (reason := _name_danger(name))]
        problems += [f"{_shown(name)} : présent {len(infos)} fois dans l'archive." for name, infos in members.items() if len(infos) > 1]
        problems += [f"{_shown(name)} : listé {count} fois dans le manifeste." for name, count in listed.items() if count > 1]
        problems += manifest_problems
        checked = set()
        for entry in entries or []:
            if entry.name in checked:
                continue
            checked.add(entry.name)
            if entry.name not in members:
                problems.append(f"{_shown(entry.name)} : absent de l'archive.")
            for info in members.get(entry.name, []):
                problems += _check(archive, info, entry)
        for name, infos in members.items():
            if name == MANIFEST or name in checked:
                continue
            if entries is not None:
                problems.append(f"{_shown(name)} : présent dans l'archive mais absent du manifeste.")
            for info in infos:
                problems += _check(archive, info, None)
    return problems


def temporary_path(suffix: str) -> Path:
    """A temporary file path for a ZIP being built (the caller stores it, then deletes it)."""
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="webforms-dossier-")
    os.close(fd)
    return Path(name)
