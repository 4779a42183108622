"""The complete dossier: one PDF (cover, contents, every piece, page numbers) and one ZIP.

AML §6b lists the pieces of a candidature; the service hands them over as one PDF to read and
one ZIP to archive, whose ``manifest.json`` gives each file's SHA-256, size and role. Files are
copied into the ZIP by chunks, so a large dossier is never held in memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from webforms.rendering import Renderer

CHUNK = 1 << 20
MANIFEST = "manifest.json"


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


def _image_pdf(path: Path) -> bytes:
    """Turn an image into one A4-sized PDF page (the image fitted to the page)."""
    from PIL import Image

    with Image.open(path) as img:
        rgb = img.convert("RGB")
        # The resolution that makes the image fit an A4 page (8.27 × 11.69 inches).
        dpi = max(rgb.width / 8.27, rgb.height / 11.69, 1)
        out = io.BytesIO()
        rgb.save(out, "PDF", resolution=dpi)
    return out.getvalue()


def _part_pdf(renderer: Renderer, part: Part, context: dict[str, Any]) -> bytes:
    if part.mime == "application/pdf":
        return part.path.read_bytes()
    if part.mime in ("image/jpeg", "image/png"):
        return _image_pdf(part.path)
    # A Word piece cannot be laid out here: a page says where to find it, with its digest.
    html = renderer.html_from("dossier_piece_word.html", {**context, "piece": {"titre": part.title, "fichier": part.filename, "sha256": part.sha256}})
    return renderer.pdf_from_html(html)


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def complete_pdf(renderer: Renderer, parts: Sequence[Part], context: dict[str, Any]) -> bytes:
    """Assemble the cover, the contents and every part into one PDF with page numbers."""
    bodies = [_part_pdf(renderer, part, context) for part in parts]
    counts = [_pages(b) for b in bodies]
    cover = renderer.pdf_from_html(renderer.html_from("dossier_couverture.html", {**context, "sommaire": []}))

    def contents_for(offset: int) -> list[dict[str, Any]]:
        rows, page = [], offset + 1
        for part, count in zip(parts, counts, strict=True):
            rows.append({"titre": part.title, "page": page, "pages": count, "fichier": part.filename})
            page += count
        return rows

    # The contents' own length moves the start pages: lay it out once to count its pages.
    first = renderer.pdf_from_html(renderer.html_from("dossier_couverture.html", {**context, "sommaire": contents_for(_pages(cover) + 1)}))
    front_pages = _pages(first)
    front = renderer.pdf_from_html(renderer.html_from("dossier_couverture.html", {**context, "sommaire": contents_for(front_pages)}))
    writer = PdfWriter()
    for data in (front, *bodies):
        writer.append(PdfReader(io.BytesIO(data)))
    total = len(writer.pages)
    numbers = PdfReader(io.BytesIO(renderer.pdf_from_html(renderer.html_from("dossier_numeros.html", {**context, "total": total}))))
    for index, page in enumerate(writer.pages):
        page.merge_page(numbers.pages[index])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_zip(target: Path, files: Iterable[tuple[str, str, Path]]) -> dict[str, Any]:
    """Write a ZIP of ``(name, role, path)`` files plus ``manifest.json``; return the manifest.

    Each file is copied and hashed by chunks: memory stays flat however large the files are.
    """
    manifest: dict[str, Any] = {"fichiers": []}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, role, path in files:
            digest, size = hashlib.sha256(), 0
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
            manifest["fichiers"].append({"nom": name, "role": role, "sha256": digest.hexdigest(), "taille": size})
        info = zipfile.ZipInfo(MANIFEST, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def verify_zip(path: str | os.PathLike[str]) -> list[str]:
    """Check a dossier ZIP against its manifest; return one French line per problem (none: intact)."""
    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"Archive illisible : {exc}"]
    with archive:
        names = set(archive.namelist())
        if MANIFEST not in names:
            return ["L'archive ne contient pas de manifest.json."]
        try:
            manifest = json.loads(archive.read(MANIFEST))
            entries = manifest["fichiers"]
        except (ValueError, KeyError, TypeError):
            return ["Le manifest.json est illisible."]
        listed = set()
        for entry in entries:
            name = entry.get("nom")
            listed.add(name)
            if name not in names:
                problems.append(f"{name} : absent de l'archive.")
                continue
            digest, size = hashlib.sha256(), 0
            with archive.open(name) as data:
                while chunk := data.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            if size != entry.get("taille"):
                problems.append(f"{name} : taille {size} au lieu de {entry.get('taille')}.")
            if digest.hexdigest() != entry.get("sha256"):
                problems.append(f"{name} : empreinte SHA-256 différente du manifeste (fichier modifié).")
        for extra in sorted(names - listed - {MANIFEST}):
            problems.append(f"{extra} : présent dans l'archive mais absent du manifeste.")
    return problems


def temporary_path(suffix: str) -> Path:
    """A temporary file path for a ZIP being built (the caller stores it, then deletes it)."""
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="webforms-dossier-")
    os.close(fd)
    return Path(name)
