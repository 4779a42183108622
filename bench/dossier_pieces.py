"""The pieces the dossier bench uploads: real PDFs of large raw images, a JPEG scan, a transparent PNG.

The PDFs are written by chunks, so that generating 400 MiB of pieces does not raise the
writing process's memory; the two images are drawn by Pillow in a process of their own
(``dossier_bench.py --image``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from benchkit import MIB
from PIL import Image, ImageDraw, ImageFilter

PIECES = 20  # courrier + délibération + organigramme + 17 fiches de poste
RECRUTEMENTS = PIECES - 3


def write_piece_pdf(path: Path, size: int, pages: int, label: str) -> int:
    """Write a valid PDF of about ``size`` bytes: ``pages`` A4 pages, each a large raw greyscale
    image (noise, as incompressible as a scan's JPEG) under a line of text.

    Written by chunks: generating 400 MiB of pieces does not raise this process's memory.
    """
    width = 2480  # an A4 page at 300 dpi
    height = max((size - 2000 * pages) // pages // width, 1)
    offsets: dict[int, int] = {}
    with path.open("wb") as out:

        def obj(num: int, head: str, stream: Callable[[], None] | None = None) -> None:
            offsets[num] = out.tell()
            out.write(f"{num} 0 obj\n{head}".encode())
            if stream is not None:
                out.write(b"\nstream\n")
                stream()
                out.write(b"\nendstream")
            out.write(b"\nendobj\n")

        def noise(n: int = width * height) -> None:
            while n > 0:
                out.write(os.urandom(min(n, MIB)))
                n -= MIB

        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        kids = " ".join(f"{4 + 3 * i} 0 R" for i in range(pages))
        obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
        obj(2, f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
        obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        for i in range(pages):
            page, contents, image = 4 + 3 * i, 5 + 3 * i, 6 + 3 * i
            obj(
                page,
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {contents} 0 R "
                f"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 {image} 0 R >> >> >>",
            )
            text = f"q 535 0 0 {535 * height / width:.2f} 30 120 cm /Im1 Do Q BT /F1 14 Tf 30 80 Td ({label}, page {i + 1} / {pages}) Tj ET".encode()
            obj(contents, f"<< /Length {len(text)} >>", lambda text=text: out.write(text))
            obj(
                image,
                f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray "
                f"/BitsPerComponent 8 /Length {width * height} >>",
                noise,
            )
        xref, count = out.tell(), 4 + 3 * pages
        out.write(f"xref\n0 {count}\n0000000000 65535 f \n".encode())
        out.write("".join(f"{offsets[n]:010d} 00000 n \n" for n in range(1, count)).encode())
        out.write(f"trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return path.stat().st_size


def write_scan_jpeg(path: Path) -> int:
    """Write a colour scan of an A4 page at 300 dpi as a JPEG (grainy, as scans are): about 4 MiB."""
    size = (2480, 3508)
    grain = [Image.effect_noise(size, 60).filter(ImageFilter.BoxBlur(1)) for _ in range(3)]
    Image.merge("RGB", grain).save(path, "JPEG", quality=90)
    return path.stat().st_size


def write_transparent_png(path: Path) -> int:
    """Write a 6000 × 8000 drawing on a transparent background (RGBA), as drawing tools export
    it: 0.2 MiB as a file, 183 MiB once decoded. Stored laid on white by the upload check."""
    image = Image.new("RGBA", (6000, 8000), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for x in range(0, 6000, 400):
        draw.rectangle((x, 100, x + 200, 7900), fill=(0, 128, 128, 255))
    image.save(path, "PNG")
    return path.stat().st_size


# Pieces given as images (the others are PDFs): file name and how to write it.
IMAGES: dict[str, tuple[str, Callable[[Path], int]]] = {
    "courrier": ("courrier-signe.jpg", write_scan_jpeg),
    "organigramme": ("organigramme.png", write_transparent_png),
}


def piece_plan(total_mib: int, image_bytes: int) -> list[tuple[str, int, str, int, int]]:
    """``(code, rang, file name, size, pages)`` of the 20 pieces: the images (one page each,
    ``image_bytes`` in all) and PDFs of sizes from 1× to 4× one another, adding up to
    ``total_mib`` with the images; 2 to 10 pages each (the upload limit is 200)."""
    slots = [
        ("courrier", 0, "courrier-signe.pdf"),
        ("deliberation", 0, "deliberation-ca.pdf"),
        ("organigramme", 0, "organigramme.pdf"),
    ]
    slots += [("fiches_poste", r, f"fiche-de-poste-{r + 1:02d}.pdf") for r in range(RECRUTEMENTS)]
    weights = [0 if code in IMAGES else 1 + i % 4 for i, (code, _, _) in enumerate(slots)]
    total = total_mib * MIB - image_bytes
    sizes = [total * w // sum(weights) for w in weights]
    return [
        (code, rang, IMAGES[code][0], 0, 1) if code in IMAGES else (code, rang, name, size, 2 + (i * 5) % 9)
        for i, ((code, rang, name), size) in enumerate(zip(slots, sizes, strict=True))
    ]

