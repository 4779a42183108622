"""Check an uploaded file before it is stored: true type, size, and a full parse in a sandboxed child.

One entry point, :func:`check_upload`. It never trusts the file name's extension nor the
declared Content-Type:

1. the upload is streamed to a temporary file in ``workdir`` by chunks, counting bytes, and
   refused as soon as it exceeds ``max_bytes`` (it is never held whole in memory);
2. its true type is read from its first bytes (``filetype``) and must be the one its
   extension announces, and one of ``allowed``;
3. the file is then fully parsed in a child process (this very file run as a script with
   ``python -I``, a minimal environment, ``setrlimit`` on address space, CPU time, file size
   and core dumps, and a wall-clock timeout in the parent):

   - PDF (pypdf): refused if encrypted, without pages or with more than ``max_pages``, or
     holding JavaScript, launch actions, automatic actions other than "go to", XFA forms or
     embedded files, found by walking the whole object graph; page contents are decoded, so
     flate bombs stop on pypdf's ``LimitReachedError``;
   - JPEG and PNG (Pillow): pixel count checked from the header before any decoding, then
     the image is decoded and *re-encoded* (orientation applied, EXIF/GPS, comments and any
     appended payload dropped; a PNG's transparency laid on white and its rows no longer
     interlaced, so that the complete dossier copies them into its PDF without decoding
     them); the stored file is the re-encoded one;
   - DOCX (zipfile + expat): the zip directory is checked before anything is read (entry
     count, declared total size, compression ratio), macros and ActiveX are refused, and
     ``[Content_Types].xml`` and ``word/document.xml`` are parsed as XML without DTD.

Every refusal is an :class:`UploadRefused` whose ``message`` is French, for the user, and
leaves nothing in ``workdir``. On success the caller stores ``CheckedFile.data_path`` (for
instance with ``FileStore.put_stream``) and then deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO, Final, Literal, cast

import filetype

log = logging.getLogger(__name__)

Kind = Literal["pdf", "jpeg", "png", "docx"]
KINDS: Final[frozenset[str]] = frozenset({"pdf", "jpeg", "png", "docx"})
IMAGE_KINDS: Final[frozenset[str]] = frozenset({"jpeg", "png"})

DOCX_MIME: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME_TYPES: Final[Mapping[str, str]] = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "docx": DOCX_MIME,
}
EXTENSIONS: Final[Mapping[str, str]] = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".docx": "docx"}
_STORED_EXTENSIONS: Final[Mapping[str, str]] = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", DOCX_MIME: "docx"}


def extension_of(mime: str) -> str:
    """The extension to give a stored file of this MIME type when it is downloaded or exported."""
    return _STORED_EXTENSIONS.get(mime, "bin")

# --- Limits (module constants so that a test or a deployment can change them) --------------
CHUNK_SIZE = 1 << 20  # bytes read from the upload at once, as FileStore.put_stream does
MAX_PIXELS = 89_478_485  # Pillow's own default: a 600 dpi A4 scan is 35 Mpx, a 50 Mpx photo passes
# zlib's best compression ("optimize") took 1.3 s per Mpx on a smooth gradient, the default
# level 0.1 s: above this size PNG is re-encoded at the default level.
PNG_OPTIMIZE_MAX_PIXELS = 4_000_000
MAX_DOCX_ENTRIES = 1000  # Word writes 10 to 50; a few hundred with many images
MAX_DOCX_UNCOMPRESSED = 100 << 20  # declared total size of all the zip members
MAX_COMPRESSION_RATIO = 100  # for a member over 1 MiB: Word's XML compresses 5 to 20 times
MAX_XML_PART = 1 << 20  # declared size of [Content_Types].xml: a few KiB in practice
MAX_PDF_OBJECTS = 500_000  # objects walked in a PDF's graph
# Address space of the child. Measured peak RSS: 0.7 GiB for an 89 Mpx RGBA PNG laid on white
# or RGB JPEG that must be rotated (two copies of the pixels), 0.65 GiB for the JPEG without
# rotation.
CHILD_MEMORY_BYTES = 1 << 30
CHILD_CPU_SECONDS = 15  # an 89 Mpx image is decoded and re-encoded in 1.5 to 3 s
CHILD_OUTPUT_BYTES = 512 << 20  # largest file the child may write (the re-encoded image)
PARSE_TIMEOUT_SECONDS = 20.0  # wall clock, below gunicorn's default 30 s worker timeout

_CHILD_SCRIPT: Final = Path(__file__).resolve()


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check. ``data_path`` is the file to store, then delete.

    ``data_path`` is the original upload for PDF and DOCX, the re-encoded image for JPEG and
    PNG; ``size`` is that file's size; ``pages`` is known for PDF only.
    """

    kind: Kind
    mime: str
    size: int
    pages: int | None
    data_path: Path
    original_name: str


class UploadRefused(Exception):
    """The upload is refused; ``message`` (French) says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- French wording -------------------------------------------------------------------------
_A_REAL: Final[Mapping[str, str]] = {
    "pdf": "un vrai PDF",
    "jpeg": "une vraie image JPEG",
    "png": "une vraie image PNG",
    "docx": "un vrai document Word",
}
_FORMAT_NAMES: Final[Mapping[str, str]] = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "docx": "Word (.docx)"}
_CONTENT_NAMES: Final[Mapping[str, str]] = {
    "application/pdf": "PDF",
    "image/jpeg": "image JPEG",
    "image/png": "image PNG",
    "image/apng": "image PNG animée",
    "image/gif": "image GIF",
    "image/webp": "image WebP",
    "image/heic": "image HEIC",
    "image/avif": "image AVIF",
    "image/tiff": "image TIFF",
    "image/bmp": "image BMP",
    "image/vnd.adobe.photoshop": "image Photoshop",
    DOCX_MIME: "document Word",
    "application/msword": "document Word ancien format (.doc)",
    "application/vnd.ms-excel": "classeur Excel ancien format (.xls)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "classeur Excel",
    "application/vnd.ms-powerpoint": "présentation PowerPoint ancien format (.ppt)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "présentation PowerPoint",
    "application/vnd.oasis.opendocument.text": "document OpenDocument (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "classeur OpenDocument (.ods)",
    "application/vnd.oasis.opendocument.presentation": "présentation OpenDocument (.odp)",
    "application/rtf": "document RTF",
    "application/postscript": "PostScript",
    "application/zip": "archive ZIP",
    "application/x-rar-compressed": "archive RAR",
    "application/x-7z-compressed": "archive 7z",
    "application/gzip": "archive gzip",
    "application/x-tar": "archive tar",
    "application/x-msdownload": "programme Windows",
    "application/x-executable": "programme",
}
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

MSG_EMPTY: Final = "Le fichier est vide."
MSG_TIMEOUT: Final = "L'analyse du fichier a pris trop de temps : il est peut-être endommagé ou trop complexe. Enregistrez-le à nouveau et réessayez."
MSG_MEMORY: Final = "L'analyse du fichier demande trop de mémoire : il est peut-être endommagé ou trop complexe. Enregistrez-le à nouveau et réessayez."
MSG_UNREADABLE: Final = "Le fichier n'a pas pu être analysé : il est peut-être endommagé. Enregistrez-le à nouveau et réessayez."
MSG_PDF_DAMAGED: Final = "Ce PDF est endommagé et n'a pas pu être lu : enregistrez-le à nouveau (par exemple avec « Imprimer en PDF ») puis déposez-le."
MSG_PDF_PASSWORD: Final = "Le fichier est protégé par un mot de passe : déposez une version non chiffrée."
MSG_PDF_RESTRICTED: Final = "Le PDF est chiffré (protection contre la copie ou l'impression) : déposez une version non chiffrée, par exemple enregistrée avec « Imprimer en PDF »."
MSG_PDF_NO_PAGE: Final = "Le PDF ne contient aucune page."
MSG_PDF_BOMB: Final = "Le PDF contient des données compressées démesurées : il ne peut pas être accepté."
MSG_IMAGE_DAMAGED: Final = "L'image est endommagée ou incomplète : enregistrez-la à nouveau puis déposez-la."
MSG_DOCX_DAMAGED: Final = "Ce document Word est endommagé et n'a pas pu être lu : enregistrez-le à nouveau au format .docx puis déposez-le."
MSG_DOCX_BOMB: Final = "Le document Word contient des données compressées démesurées : il ne peut pas être accepté."
MSG_DOCX_MACROS: Final = "Le document Word contient des macros : enregistrez-le au format .docx sans macro."
MSG_DOCX_ACTIVEX: Final = "Le document Word contient des contrôles ActiveX : enregistrez-le sans ces contrôles, ou déposez-le en PDF."
MSG_DOCX_PASSWORD: Final = "Le document Word est protégé par un mot de passe : déposez une version non protégée."
MSG_NOT_DOCX: Final = "Ce fichier n'est pas un vrai document Word (.docx) : enregistrez-le au format .docx puis déposez-le."
MSG_DOCX_EXTERNAL_FIELD: Final = "Le document Word contient un champ qui insère un fichier ou une adresse extérieure (INCLUDETEXT, INCLUDEPICTURE, LINK, DDE…) : remplacez-le par son contenu, ou déposez le document en PDF."
MSG_DOCX_ALTCHUNK: Final = "Le document Word contient un bloc importé d'un autre format (HTML, MHT) : enregistrez-le à nouveau sans ce bloc, ou déposez-le en PDF."
_PRINT_TO_PDF: Final = "enregistrez-le avec « Imprimer en PDF » pour obtenir une version sans contenu actif"
MSG_PDF_ACTIVE: Final[Mapping[str, str]] = {
    "javascript": f"Le PDF contient du JavaScript : {_PRINT_TO_PDF}.",
    "launch": f"Le PDF contient une action qui ouvre un autre fichier ou lance un programme : {_PRINT_TO_PDF}.",
    "open_action": f"Le PDF déclenche une action à son ouverture : {_PRINT_TO_PDF}.",
    "form": f"Le PDF contient un formulaire actif (envoi de données ou formulaire XFA) : {_PRINT_TO_PDF}.",
    "attachments": "Le PDF contient des fichiers joints : déposez chaque document séparément.",
}


def _number(value: int) -> str:
    """20000 -> '20 000' (narrow no-break space, as French typography and Babel write it)."""
    return f"{value:,}".replace(",", "\u202f")


def _megabytes(size: int) -> str:
    """10 MiB -> '10 Mo'; 2.5 MiB -> '2,5 Mo'."""
    text = f"{size / (1 << 20):.1f}".removesuffix(".0").replace(".", ",")
    return f"{text} Mo"


def _french_list(items: Iterable[str]) -> str:
    names = list(items)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " ou " + names[-1]


def _accepted_formats(allowed: frozenset[str]) -> str:
    return _french_list(_FORMAT_NAMES[kind] for kind in ("pdf", "jpeg", "png", "docx") if kind in allowed)


def _too_big_image(width: int, height: int, max_pixels: int) -> str:
    return f"Image trop grande ({_number(width)} × {_number(height)} pixels) : {_number(max_pixels // 1_000_000)} millions de pixels au plus."


def _too_many_pages(pages: int, max_pages: int) -> str:
    return f"Le PDF compte {_number(pages)} pages : {_number(max_pages)} pages au plus."


# --- Parent side ----------------------------------------------------------------------------
def check_upload(
    stream: BinaryIO,
    original_name: str,
    *,
    allowed: frozenset[str],
    max_bytes: int,
    max_pages: int = 200,
    workdir: Path,
) -> CheckedFile:
    """Check the upload read from ``stream`` (from its current position) and return what to store.

    ``allowed`` is a subset of ``{"pdf", "jpeg", "png", "docx"}``. Raises :class:`UploadRefused`
    with a French message, leaving nothing in ``workdir``; on success the caller owns
    ``data_path`` (in ``workdir``) and deletes it once stored.
    """
    if not allowed or not allowed <= KINDS:
        raise ValueError(f"allowed must be a non-empty subset of {sorted(KINDS)}, not {sorted(allowed)}")
    if max_bytes <= 0 or max_pages <= 0:
        raise ValueError("max_bytes and max_pages must be positive")
    name = clean_name(original_name)
    claimed = _claimed_kind(name, allowed)
    workdir.mkdir(parents=True, exist_ok=True)
    raw = _spool(stream, workdir, max_bytes)
    output: Path | None = None
    try:
        _check_magic(raw, claimed)
        if claimed in IMAGE_KINDS:
            fd, out_name = tempfile.mkstemp(dir=workdir, prefix="upload-", suffix=".jpg" if claimed == "jpeg" else ".png")
            os.close(fd)
            output = Path(out_name)
        reply = _parse_in_child(claimed, raw, output, max_pages=max_pages, workdir=workdir)
        pages = reply.get("pages")
        if output is not None:
            raw.unlink()
            data_path = output
        else:
            data_path = raw
        return CheckedFile(
            kind=cast(Kind, claimed),
            mime=MIME_TYPES[claimed],
            size=data_path.stat().st_size,
            pages=pages if isinstance(pages, int) else None,
            data_path=data_path,
            original_name=name,
        )
    except BaseException:
        raw.unlink(missing_ok=True)
        if output is not None:
            output.unlink(missing_ok=True)
        raise


def clean_name(original_name: str) -> str:
    """The name to keep in the database: last path component, no control or format characters.

    Browsers of old sent ``C:\\Users\\…\\scan.pdf``; a right-to-left override (U+202E) can make
    ``x‮fdp.exe`` display as ``xexe.pdf``. The result is never used as a path.
    """
    name = unicodedata.normalize("NFC", original_name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip()
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: 200 - len(suffix)] + suffix
    return name


def _claimed_kind(name: str, allowed: frozenset[str]) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    formats = _accepted_formats(allowed)
    if not suffix:
        raise UploadRefused(f"Le nom du fichier n'a pas d'extension : déposez un fichier {formats}.")
    kind = EXTENSIONS.get(suffix)
    if kind is None or kind not in allowed:
        raise UploadRefused(f"Format non accepté ({suffix}) : déposez un fichier {formats}.")
    return kind


def _spool(stream: BinaryIO, workdir: Path, max_bytes: int) -> Path:
    """Copy the upload to a private temporary file, one chunk at a time, at most max_bytes."""
    fd, name = tempfile.mkstemp(dir=workdir, prefix="upload-", suffix=".upload")
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(min(CHUNK_SIZE, max_bytes + 1 - size)):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(f"Le fichier dépasse la taille maximale de {_megabytes(max_bytes)}.")
                out.write(chunk)
        if size == 0:
            raise UploadRefused(MSG_EMPTY)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _check_magic(path: Path, claimed: str) -> None:
    """Compare the type read from the first bytes with the one the extension announces."""
    with path.open("rb") as f:
        head = f.read(8192)
    guess = filetype.guess(head)
    mime = guess.mime if guess is not None else None
    detected = {
        "application/pdf": "pdf",
        "image/jpeg": "jpeg",
        "image/png": "png",
        "image/apng": "png",
        DOCX_MIME: "docx",
        # A zip that filetype could not name (its first members were too big to see
        # word/ in 8 KiB) may still be a DOCX: the child's parse decides.
        "application/zip": "docx",
    }.get(mime or "")
    if detected == claimed:
        return
    if claimed == "docx" and head.startswith(_OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in head:
        raise UploadRefused(MSG_DOCX_PASSWORD)
    raise UploadRefused(f"Ce fichier n'est pas {_A_REAL[claimed]} (contenu : {_describe(head, guess)}).")


def _describe(head: bytes, guess: Any) -> str:
    """Name the content for the user: 'HTML', 'image SVG', 'programme Windows', 'inconnu'…"""
    if guess is not None:
        if guess.mime in _CONTENT_NAMES:
            return _CONTENT_NAMES[guess.mime]
        for prefix, label in (("video/", "vidéo"), ("audio/", "fichier audio"), ("font/", "police de caractères")):
            if guess.mime.startswith(prefix):
                return label
        return f"fichier .{guess.extension}"
    if head.startswith(_OLE_MAGIC):
        return "document Office ancien format ou protégé par un mot de passe"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<"):
        if b"<svg" in text:
            return "image SVG"
        if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<script" in text:
            return "HTML"
        return "XML"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not merely a character cut at the end of the sample
                return "inconnu"
        return "texte"
    return "inconnu"


def _parse_in_child(kind: str, source: Path, output: Path | None, *, max_pages: int, workdir: Path) -> dict[str, Any]:
    """Run this file as a script on ``source``, within resource limits, and return its reply."""
    params = {
        "kind": kind,
        "source": str(source),
        "output": str(output) if output is not None else None,
        "max_pages": max_pages,
        "max_pixels": MAX_PIXELS,
        "memory": CHILD_MEMORY_BYTES,
        "cpu": CHILD_CPU_SECONDS,
        "output_bytes": CHILD_OUTPUT_BYTES,
    }
    command = [sys.executable, "-I", str(_CHILD_SCRIPT), json.dumps(params)]
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PARSE_TIMEOUT_SECONDS,
            check=False,
            cwd=workdir,
            env={"LC_ALL": "C.UTF-8"},  # nothing of the service's environment (secrets) goes in
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        log.warning("Upload parse timed out after %s s (%s)", PARSE_TIMEOUT_SECONDS, kind)
        raise UploadRefused(MSG_TIMEOUT) from None
    if proc.returncode != 0:
        log.warning("Upload parser exited with %s (%s): %s", proc.returncode, kind, proc.stderr[-2000:].decode(errors="replace"))
        if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            raise UploadRefused(MSG_TIMEOUT)
        raise UploadRefused(MSG_UNREADABLE)
    try:
        reply = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (UnicodeDecodeError, IndexError, ValueError):
        log.warning("Upload parser gave no reply (%s): %s", kind, proc.stderr[-2000:].decode(errors="replace"))
        raise UploadRefused(MSG_UNREADABLE) from None
    if not isinstance(reply, dict) or reply.get("ok") is not True:
        message = reply.get("message") if isinstance(reply, dict) else None
        raise UploadRefused(message if isinstance(message, str) else MSG_UNREADABLE)
    return reply


# --- Child side: runs as `python -I webforms/uploads.py '<json>'`, never in the web process ---
def _child_main(argv: list[str]) -> int:
    params = json.loads(argv[0])
    _limit_resources(memory=params["memory"], cpu=params["cpu"], output_bytes=params["output_bytes"])
    logging.disable(logging.WARNING)  # pypdf warns once per broken object: keep stderr short
    kind = params["kind"]
    source = Path(params["source"])
    damaged = {"pdf": MSG_PDF_DAMAGED, "docx": MSG_DOCX_DAMAGED}.get(kind, MSG_IMAGE_DAMAGED)
    try:
        pages: int | None = None
        if kind == "pdf":
            pages = _check_pdf(source, params["max_pages"])
        elif kind == "docx":
            _check_docx(source)
        else:
            _reencode_image(source, Path(params["output"]), kind, params["max_pixels"])
        reply: dict[str, Any] = {"ok": True, "pages": pages}
    except UploadRefused as exc:
        reply = {"ok": False, "message": exc.message}
    except MemoryError:
        reply = {"ok": False, "message": MSG_MEMORY}
    except Exception as exc:  # any parser failure on hostile input is a refusal, not a crash
        print(f"{type(exc).__name__}: {exc}"[:1000], file=sys.stderr)
        reply = {"ok": False, "message": damaged}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


def _limit_resources(*, memory: int, cpu: int, output_bytes: int) -> None:
    def lower(which: int, value: int) -> None:
        _soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    lower(resource.RLIMIT_AS, memory)
    lower(resource.RLIMIT_CPU, cpu + 1)
    # SIGXCPU at the soft limit, SIGKILL one second later should it be caught.
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, hard), hard))
    lower(resource.RLIMIT_FSIZE, output_bytes)
    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_NOFILE, 64)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write then fails with EFBIG


def _check_pdf(path: Path, max_pages: int) -> int:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                opens_without_password = reader.decrypt("") != PasswordType.NOT_DECRYPTED
            except Exception:
                opens_without_password = False
            raise UploadRefused(MSG_PDF_RESTRICTED if opens_without_password else MSG_PDF_PASSWORD)
        pages = len(reader.pages)
        if pages == 0:
            raise UploadRefused(MSG_PDF_NO_PAGE)
        if pages > max_pages:
            raise UploadRefused(_too_many_pages(pages, max_pages))
        problem = _pdf_active_content(reader.trailer)
        if problem is not None:
            raise UploadRefused(MSG_PDF_ACTIVE[problem])
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
    except LimitReachedError:
        raise UploadRefused(MSG_PDF_BOMB) from None
    return pages


_PDF_ACTIONS: Final[Mapping[str, str]] = {
    "/JavaScript": "javascript",
    "/Rendition": "javascript",  # may carry a /JS script
    "/Launch": "launch",
    "/GoToR": "launch",
    "/GoToE": "launch",
    "/ImportData": "form",
    "/SubmitForm": "form",
}


def _pdf_active_content(root: Any) -> str | None:
    """Walk every object reachable from the trailer; name the first active content found.

    Iterative, with a set of visited indirect objects: hostile files have cycles and deep
    nesting. Direct dictionaries are walked too (an /EmbeddedFiles may sit in a direct /Names).
    """
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    def value(dictionary: DictionaryObject, key: str) -> Any:
        """``dictionary.get(key)``, following an indirect reference (pypdf's get does not)."""
        found = dict.get(dictionary, key)
        return found.get_object() if isinstance(found, IndirectObject) else found

    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_PDF_OBJECTS:
                raise UploadRefused(MSG_PDF_BOMB)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):  # streams are dictionaries too: their data is not read
            keys = set(obj.keys())
            if keys & {"/JS", "/JavaScript"}:
                return "javascript"
            if keys & {"/EmbeddedFiles", "/EF"} or value(obj, "/Type") == "/EmbeddedFile" or value(obj, "/Subtype") == "/FileAttachment":
                return "attachments"
            if "/XFA" in keys:
                return "form"
            action = value(obj, "/S")
            if isinstance(action, NameObject) and action in _PDF_ACTIONS:
                return _PDF_ACTIONS[action]
            open_action = value(obj, "/OpenAction")
            if isinstance(open_action, DictionaryObject) and value(open_action, "/S") not in (None, "/GoTo"):
                return "open_action"  # an array is a plain destination, shown at opening
            stack.extend(dict.values(obj))  # raw values: indirect references stay unresolved here
        elif isinstance(obj, ArrayObject):
            stack.extend(list.__iter__(obj))
    return None


def _reencode_image(source: Path, output: Path, kind: str, max_pixels: int) -> None:
    import warnings

    from PIL import Image, ImageOps

    warnings.simplefilter("error", Image.DecompressionBombWarning)
    fmt = "JPEG" if kind == "jpeg" else "PNG"
    # Pillow's bomb check runs in open() without telling the dimensions: do it here, from the
    # header, before any pixel is decoded, then put Pillow's guard back for what follows.
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(source, formats=[fmt]) as image:
        width, height = image.size
        if width * height > max_pixels:
            raise UploadRefused(_too_big_image(width, height, max_pixels))
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
            if width * height <= PNG_OPTIMIZE_MAX_PIXELS:
                options["optimize"] = True
        pixels.info = {}  # Pillow's savers copy some of it (comment, ICC, transparency) by themselves
        pixels.save(output, fmt, **options)


def palette_on_white(palette: Sequence[int], transparency: int | bytes | None) -> list[int]:
    """An RGB palette (r, g, b, r, g, b…) with each entry blended with white by its alpha.

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
    """A 16-bit grey image (modes I;16, I) scaled to 8 bits (L): Pillow's convert("L") clips it."""
    return image.convert("I").point(lambda v: v * (1 / 257)).convert("L")


_ON_WHITE_ROWS = 256  # rows blended at once: a few MB, beside the image and its copy


def on_white(image: Any) -> Any:
    """The image as printed on white paper: its transparency blended with white, no alpha left.

    A palette image keeps its palette, each entry blended with white by its alpha; any other
    image with an alpha channel or a transparent colour (``image.info["transparency"]``)
    becomes RGB or greyscale, blended band by band into the new image (an alpha channel is
    not copied whole). An image without transparency is returned as it is.
    """
    from PIL import Image

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


def _check_docx(path: Path) -> None:
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError):
        raise UploadRefused(MSG_DOCX_DAMAGED) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_DOCX_ENTRIES:
            raise UploadRefused(MSG_DOCX_BOMB)
        names: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            lower = name.lower()
            total += info.file_size
            if info.file_size > 1 << 20 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise UploadRefused(MSG_DOCX_BOMB)
            if info.flag_bits & 0x1:
                raise UploadRefused(MSG_DOCX_PASSWORD)
            if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                raise UploadRefused(MSG_DOCX_DAMAGED)
            if lower.rsplit("/", 1)[-1] in ("vbaproject.bin", "vbadata.xml"):
                raise UploadRefused(MSG_DOCX_MACROS)
            if "/activex/" in f"/{lower}":
                raise UploadRefused(MSG_DOCX_ACTIVEX)
            names.add(name)
        if total > MAX_DOCX_UNCOMPRESSED:
            raise UploadRefused(MSG_DOCX_BOMB)
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise UploadRefused(MSG_NOT_DOCX)
        if archive.getinfo("[Content_Types].xml").file_size > MAX_XML_PART:
            raise UploadRefused(MSG_DOCX_DAMAGED)

        content_types: list[str] = []
        main_type: list[str] = []

        def on_content_type(tag: str, attrs: dict[str, str]) -> None:
            content_types.append(attrs.get("ContentType", ""))
            if tag.endswith("Override") and attrs.get("PartName", "").lower() == "/word/document.xml":
                main_type.append(attrs.get("ContentType", ""))

        with archive.open("[Content_Types].xml") as part:
            _parse_xml(part, on_content_type)
        if any("macroenabled" in ct.lower() for ct in content_types):
            raise UploadRefused(MSG_DOCX_MACROS)
        if main_type != ["application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"]:
            raise UploadRefused(MSG_NOT_DOCX)

        roots: list[str] = []

        def on_element(tag: str, attrs: dict[str, str]) -> None:
            if not roots:
                roots.append(tag)

        with archive.open("word/document.xml") as part:  # reading stops at the declared size
            _parse_xml(part, on_element)
        if roots not in (
            ["http://schemas.openxmlformats.org/wordprocessingml/2006/main document"],
            ["http://purl.oclc.org/ooxml/wordprocessingml/main document"],  # Strict Open XML
        ):
            raise UploadRefused(MSG_NOT_DOCX)
        _check_docx_fields_and_chunks(archive, sorted(names))


# Fields that pull content from outside the file when a program updates them (a Word piece is
# converted to PDF by LibreOffice for the complete dossier: webforms/office.py).
_EXTERNAL_FIELDS: Final = re.compile(r"(?<![A-Z])(INCLUDETEXT|INCLUDEPICTURE|INCLUDE|LINK|DDEAUTO|DDE|IMPORT)(?![A-Z])", re.IGNORECASE)
_WORD_NS: Final = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _check_docx_fields_and_chunks(archive: Any, names: list[str]) -> None:
    """Refuse fields that include an outside file or address, and embedded HTML/MHT chunks."""
    for name in names:
        lower = name.lower()
        if lower.endswith(".rels"):
            if archive.getinfo(name).file_size > MAX_XML_PART:
                raise UploadRefused(MSG_DOCX_DAMAGED)
            if any(kind.lower().endswith("/afchunk") for kind in _relationship_types(archive, name)):
                raise UploadRefused(MSG_DOCX_ALTCHUNK)
        elif lower.startswith("word/") and lower.endswith(".xml") and _EXTERNAL_FIELDS.search(_field_instructions(archive, name)):
            raise UploadRefused(MSG_DOCX_EXTERNAL_FIELD)


def _relationship_types(archive: Any, name: str) -> list[str]:
    kinds: list[str] = []
    with archive.open(name) as part:
        _parse_xml(part, lambda _tag, attrs: kinds.append(attrs.get("Type", "")))
    return kinds


def _field_instructions(archive: Any, name: str) -> str:
    """The instructions of every field of a part (simple fields and ``w:instrText`` runs)."""
    instructions: list[str] = []
    inside = [False]

    def start(tag: str, attrs: dict[str, str]) -> None:
        # Word may split one instruction over several runs: they are joined as they are, and
        # a space is put between fields.
        if tag == f"{_WORD_NS} fldSimple":
            instructions.append(f" {attrs.get(f'{_WORD_NS} instr', '')} ")
        elif tag == f"{_WORD_NS} fldChar":
            instructions.append(" ")
        inside[0] = tag == f"{_WORD_NS} instrText"

    def text(data: str) -> None:
        if inside[0]:
            instructions.append(data)

    with archive.open(name) as part:  # reading stops at the declared size, checked above
        _parse_xml(part, start, text)
    return "".join(instructions)


def _parse_xml(stream: IO[bytes], on_start: Callable[[str, dict[str, str]], None], on_text: Callable[[str], None] | None = None) -> None:
    """Parse XML by chunks with expat; a DTD (never written by Word) is refused outright."""
    from xml.parsers import expat

    class _HasDtd(Exception):
        pass

    def refuse_dtd(*_args: object) -> None:
        raise _HasDtd

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = on_start
    if on_text is not None:
        parser.CharacterDataHandler = on_text
    try:
        while chunk := stream.read(1 << 16):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (_HasDtd, expat.ExpatError):
        raise UploadRefused(MSG_DOCX_DAMAGED) from None


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
