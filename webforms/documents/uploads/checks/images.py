"""The image parse (Pillow): JPEG and PNG decoded and re-encoded, and transparency laid on white.

The pixel count is checked from the header before any decoding; the image is then decoded
and *re-encoded* (orientation applied, EXIF/GPS, comments and any appended payload dropped; a
PNG's transparency laid on white and its rows no longer interlaced, so that the complete
dossier copies them into its PDF without decoding them). ``on_white`` and its helpers also
serve the complete dossier (webforms/candidatures/dossier.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from . import limits
from .refusals import UploadRefused, too_big_image


def reencode_image(source: Path, output: Path, kind: str, max_pixels: int) -> None:
    """Decode the image at ``source`` and write it again, cleaned, to ``output``; raise UploadRefused if refused."""
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    fmt = "JPEG" if kind == "jpeg" else "PNG"
    # Pillow's bomb check runs in open() without telling the dimensions: do it here, from the
    # header, before any pixel is decoded, then put Pillow's guard back for what follows.
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(source, formats=[fmt]) as image:
        width, height = image.size
        if width * height > max_pixels:
            raise UploadRefused(too_big_image(width, height, max_pixels))
        Image.MAX_IMAGE_PIXELS = max_pixels
        ImageOps.exif_transpose(image, in_place=True)  # loads the pixels, applies the orientation
        info = image.info
        # Only what is given here goes into the new file: no EXIF (GPS, camera, date), no comment,
        # no XMP, no text chunk, nothing after the end of the image.
        options: dict[str, Any] = {"exif": b""}
        if isinstance(info.get("icc_profile"), bytes):
            options["icc_profile"] = info["icc_profile"]  # colours, not personal data
        if "dpi" in info:
            options["dpi"] = info["dpi"]  # the scan's resolution, to print it at its size
        if kind == "jpeg":
            pixels = image if image.mode in ("L", "RGB", "CMYK") else image.convert("RGB")
            options.update(quality=90, optimize=True)
        else:
            # No alpha, no transparent colour, rows not interlaced (Pillow never writes them):
            # the complete dossier copies such rows into its PDF without decoding them.
            pixels = on_white(image)
            if width * height <= limits.PNG_OPTIMIZE_MAX_PIXELS:
                options["optimize"] = True
        pixels.info = {}  # Pillow's savers copy some of it (comment, ICC, transparency) by themselves
        pixels.save(output, fmt, **options)


def palette_on_white(palette: Sequence[int], transparency: int | bytes | None) -> list[int]:
    """Return an RGB palette (r, g, b, r, g, b…) with each entry blended with white by its alpha.

    ``transparency`` is PNG's: the one transparent index, or the alphas of the first entries
    (the others are opaque).
    """
    blended = []
    for index in range(len(palette) // 3):
        if transparency is None:
            alpha = 255
        elif isinstance(transparency, int):
            alpha = 0 if index == transparency else 255
        else:
            alpha = transparency[index] if index < len(transparency) else 255
        blended += [(c * alpha + 255 * (255 - alpha) + 127) // 255 for c in palette[3 * index : 3 * index + 3]]
    return blended


def grey_8_bits(image: Any) -> Any:
    """Scale a 16-bit grey image (modes I;16, I) to 8 bits (L): Pillow's convert("L") clips it."""
    return image.convert("I").point(lambda v: v * (1 / 257)).convert("L")


_ON_WHITE_ROWS = 256  # rows blended at once: a few MB, beside the image and its copy


def on_white(image: Any) -> Any:
    """Return the image as printed on white paper: its transparency blended with white, no alpha left.

    A palette image keeps its palette, each entry blended with white by its alpha; any other
    image with an alpha channel or a transparent colour (``image.info["transparency"]``)
    becomes RGB or greyscale, blended band by band into the new image (an alpha channel is
    not copied whole). An image without transparency is returned as it is.
    """
    transparency = image.info.get("transparency")
    if image.mode == "P" and transparency is not None and image.palette is not None and image.palette.mode == "RGB":
        flat = image.copy()
        flat.putpalette(palette_on_white(image.getpalette("RGB") or [], transparency), "RGB")
        flat.info.pop("transparency", None)
        return flat
    if transparency is None and image.mode not in ("RGBA", "LA", "PA", "RGBa", "La"):
        return image
    if image.mode.startswith("I") and isinstance(transparency, int):
        # 16-bit grey with a transparent level: Pillow's conversions clip it at 255, so it is
        # scaled to 8 bits first (levels within 1/256 of the transparent one go with it).
        image = grey_8_bits(image)
        image.info["transparency"] = grey_8_bits(Image.new("I", (1, 1), transparency)).getpixel((0, 0))
    grey = image.mode in ("1", "L", "LA", "La")
    if image.mode not in ("RGBA", "LA"):
        image = image.convert("LA" if grey else "RGBA")  # the transparent colour becomes alpha
    flat = Image.new("L" if grey else "RGB", image.size, "white")
    for top in range(0, image.height, _ON_WHITE_ROWS):
        box = (0, top, image.width, min(image.height, top + _ON_WHITE_ROWS))
        band = image.crop(box)
        flat.paste(band.convert(flat.mode), box, band.getchannel("A"))
    return flat
