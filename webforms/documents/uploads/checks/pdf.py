"""The PDF parse (pypdf): refused if encrypted, without pages or with too many, or holding active content.

Active content (JavaScript, launch actions, automatic actions other than "go to", XFA forms,
embedded files) is found by walking the whole object graph; page contents are decoded, so
flate bombs stop on pypdf's ``LimitReachedError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pypdf import PasswordType, PdfReader
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from . import limits
from .refusals import (
    MSG_PDF_ACTIVE,
    MSG_PDF_BOMB,
    MSG_PDF_NO_PAGE,
    MSG_PDF_PASSWORD,
    MSG_PDF_RESTRICTED,
    UploadRefused,
    too_many_pages,
)


def check_pdf(path: Path, max_pages: int) -> int:
    """Parse the PDF at ``path`` whole and return its page count; raise UploadRefused if it is refused."""
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
            raise UploadRefused(too_many_pages(pages, max_pages))
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
            if len(seen) > limits.MAX_PDF_OBJECTS:
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
