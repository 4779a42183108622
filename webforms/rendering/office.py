"""A Word file as PDF by LibreOffice: a piece for the complete dossier (AML §6b), a template's preview (issue 18).

LibreOffice converts a *sanitised copy* of an upload that already passed
``webforms.documents.uploads.check_upload`` (no macros, no ActiveX, no field that includes an outside
file, no embedded HTML chunk). Defence in depth around it:

- the copy keeps no relationship to anything outside the file (linked images, OLE links, an
  attached template's path): LibreOffice has nothing to fetch or read besides the document;
- LibreOffice runs headless, with a fresh profile of its own, in a user and network namespace
  without network (``unshare -rn``) where the kernel allows it, with a CPU limit and a wall-clock
  timeout, in its own process group (killed whole on timeout).
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import zipfile
from functools import cache
from pathlib import Path
from typing import Final
from xml.etree import ElementTree

log = logging.getLogger(__name__)

CONVERT_TIMEOUT_SECONDS: Final = 60.0
CONVERT_CPU_SECONDS: Final = 60
_RELS_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
# The one kind of outside target kept: a hyperlink is written in the PDF, never followed.
_HYPERLINK: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"

MSG_CONVERSION: Final = (
    "Le document Word n'a pas pu être converti en PDF pour le dossier complet : "
    "enregistrez-le en PDF (« Fichier > Exporter au format PDF ») puis déposez le PDF."
)


class ConversionFailed(Exception):
    """LibreOffice could not turn the document into a PDF; the message is French."""


def soffice() -> str | None:
    """The LibreOffice program, if installed (``scripts/bootstrap.sh`` installs it)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


@cache
def _network_namespace() -> list[str]:
    """``unshare -rn`` when this kernel lets an unprivileged process drop the network."""
    unshare = shutil.which("unshare")
    if unshare is None:
        log.warning("unshare absent : LibreOffice convertit sans espace réseau isolé.")
        return []
    try:
        subprocess.run([unshare, "-rn", "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        log.warning("unshare -rn refusé par le noyau : LibreOffice convertit sans espace réseau isolé.")
        return []
    return [unshare, "-rn"]


def sanitised_copy(source: Path, target: Path) -> int:
    """Copy a DOCX, dropping every relationship to an outside target but hyperlinks.

    Returns how many were dropped. Parts are copied as they are; only ``.rels`` parts are
    rewritten (they are small, and checked by ``check_upload`` before this runs).
    """
    dropped = 0
    ElementTree.register_namespace("", _RELS_NS)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".rels"):
                root = ElementTree.fromstring(data)
                for rel in list(root):
                    if rel.get("TargetMode") == "External" and rel.get("Type") != _HYPERLINK:
                        root.remove(rel)
                        dropped += 1
                data = ElementTree.tostring(root, xml_declaration=True, encoding="UTF-8")
            dst.writestr(info, data)
    return dropped


def _limits() -> None:  # pragma: no cover - runs in the child, between fork and exec
    resource.setrlimit(resource.RLIMIT_CPU, (CONVERT_CPU_SECONDS, CONVERT_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def docx_to_pdf(source: Path, workdir: Path) -> Path:
    """Convert a checked DOCX into a PDF in ``workdir``; return the PDF's path.

    Raises ``ConversionFailed`` (French message) when LibreOffice is missing, fails, times out
    or writes no PDF; nothing is left in ``workdir`` but what the caller cleans.
    """
    program = soffice()
    if program is None:
        raise ConversionFailed(MSG_CONVERSION)
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "piece.docx"
    try:
        dropped = sanitised_copy(source, copy)
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError, ValueError):
        raise ConversionFailed(MSG_CONVERSION) from None
    if dropped:
        log.info("Conversion Word : %d lien(s) vers l'extérieur retiré(s) de la copie.", dropped)
    profile = workdir / "profil-libreoffice"
    out = workdir / "pdf"
    command = [
        *_network_namespace(),
        program,
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        "pdf:writer_pdf_Export",
        "--outdir",
        str(out),
        str(copy),
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "LANG": "fr_FR.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=workdir,
        preexec_fn=_limits, start_new_session=True,
    )
    try:
        _, err = process.communicate(timeout=CONVERT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ConversionFailed(MSG_CONVERSION) from None
    finally:
        copy.unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)
    pdf = out / "piece.pdf"
    if process.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        log.warning("Conversion Word en échec (code %s) : %s", process.returncode, err.decode(errors="replace")[-500:])
        raise ConversionFailed(MSG_CONVERSION)
    return pdf
