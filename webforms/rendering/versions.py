"""Which bytes print a template: the version in force (the database's, issue 18), else a file.

The renderer knows nothing of the database: it is given ``in_force``, a function of a template's
name that returns the ``TemplateVersion`` in force, or None for the file (an instance's
override, else the shipped template). The application's function reads the database at each
call, so every host sharing it prints with the same version, whatever file lies on its disk.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import BaseLoader, Environment, FileSystemLoader, Template


@dataclass(frozen=True)
class TemplateVersion:
    """A version of a template put in force by an administrator: its number, digest and bytes."""

    name: str
    number: int
    sha256: str
    content: bytes = b""


InForce = Callable[[str], "TemplateVersion | None"]


def nothing_in_force(name: str) -> TemplateVersion | None:
    """The files only: no version is in force (the command line, the tests of the renderer alone)."""
    return None


class VersionLoader(BaseLoader):
    """Load an HTML template from the version in force, else from ``dirs``.

    Jinja keeps a compiled template while ``uptodate()`` says so: it asks again which version is
    in force, so a change made on another host is seen at the next render.
    """

    def __init__(self, in_force: InForce, dirs: Sequence[Path]) -> None:
        self.in_force = in_force
        self.files = FileSystemLoader([str(d) for d in dirs])

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        version = self.in_force(template)
        if version is not None:
            return version.content.decode("utf-8"), None, lambda: _same(self.in_force(template), version)
        source, filename, file_uptodate = self.files.get_source(environment, template)
        return source, filename, lambda: self.in_force(template) is None and bool(file_uptodate())

    def list_templates(self) -> list[str]:
        return self.files.list_templates()


def _same(current: TemplateVersion | None, version: TemplateVersion) -> bool:
    return current is not None and current.sha256 == version.sha256


class DryFills:
    """Fill a Word template's text with a context, without building the document (a few ms).

    Used before a document leaves the draft state: a template that cannot be filled with its
    data is said then, while the document is still a draft. The Jinja templates made from each
    part (body, headers, footers, as docxtpl prepares them) are kept by the template's digest.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, list[Template]] = {}
        self._lock = threading.Lock()

    def fill(self, env: Environment, sha256: str, source: bytes, context: Mapping[str, Any]) -> None:
        """Fill every part of the template; raise Jinja's error if one cannot be filled."""
        with self._lock:
            templates = self._compiled.get(sha256)
        if templates is None:
            templates = [env.from_string(part) for part in patched_parts(source)]
            with self._lock:
                self._compiled[sha256] = templates
        for template in templates:
            template.render(dict(context))


def patched_parts(source: bytes) -> list[str]:
    """Return the Jinja source docxtpl makes of each part of a Word template."""
    doc = DocxTemplate(io.BytesIO(source))
    doc.init_docx()
    parts = [doc.patch_xml(doc.get_xml())]
    for uri in (doc.HEADER_URI, doc.FOOTER_URI):
        for _key, part in doc.get_headers_footers(uri):
            parts.append(doc.patch_xml(doc.get_part_xml(part)))
    return parts
