"""The PDF preview of a Word template (issue 18: "the kind's example rendered with the candidate template, as DOCX and PDF").

A Word template prints DOCX only; its PDF is what LibreOffice makes of the example's DOCX
(``webforms.rendering.office``, the conversion the complete dossier uses for Word pieces). It
takes seconds, so a worker does it (``apercu_modele_pdf``): the administrator follows its
progress, then downloads the PDF, kept in the file store by its SHA-256. Opening that PDF counts
as opening the preview (the version may then be put in force), as the DOCX does.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from webforms.documents.services import Services
from webforms.errors import DocumentError
from webforms.jobs import PRIORITY, ask, task
from webforms.modeles.checks import UnknownTemplate, slot_of
from webforms.modeles.services import example_print, mark_previewed, version_of
from webforms.models import Travail, User
from webforms.rendering.diagnose import TemplateFailure
from webforms.rendering.office import ConversionFailed, docx_to_pdf

NATURE = "apercu_modele"
MSG_PDF_FAILED = "LibreOffice n'a pas pu convertir l'aperçu en PDF : le document Word produit par ce modèle est-il lisible dans Word ?"


def ask_pdf_preview(session: Session, svc: Services, template: str, number: int, *, user: User) -> Travail:
    """Ask a worker for the PDF of version ``number``'s preview (a Word template only); commit."""
    slot = slot_of(template)
    if slot.fmt != "docx":
        raise DocumentError("Un modèle HTML s'imprime déjà en PDF : ouvrez son aperçu.")
    version_of(session, template, number)
    travail = ask(
        session, convert_preview, nature=NATURE, libelle=f"Aperçu PDF de {template}, version {number}", now=svc.clock(),
        user_id=user.id, parametres={"template": template, "number": number},
    )
    assert travail is not None  # asked without a lock: always recorded
    session.commit()
    return travail


@task("apercu_modele_pdf", priority=PRIORITY["attendu"])
def convert_preview(session: Session, travail: Travail) -> dict[str, Any]:
    """Print the example with the version as DOCX, convert it with LibreOffice, keep the PDF by content."""
    svc: Services = current_app.extensions["webforms.services"]
    template, number = travail.parametres["template"], travail.parametres["number"]
    workdir = Path(tempfile.mkdtemp(prefix="webforms-apercu-"))
    try:
        data, _mime, _name = example_print(session, svc, template, number)
        source = workdir / "apercu.docx"
        source.write_bytes(data)
        with docx_to_pdf(source, workdir).open("rb") as pdf:
            return {"pdf": svc.store.put_stream(pdf)[0]}
    except (ConversionFailed, TemplateFailure, UnknownTemplate):
        # The version's own content is at fault, not the moment: running again would fail again.
        return {"erreur": MSG_PDF_FAILED}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def pdf_of(session: Session, svc: Services, travail: Travail, template: str, *, user: User) -> tuple[bytes, str]:
    """Return the finished preview's PDF and its download name; record the preview as opened."""
    pdf = (travail.resultat or {}).get("pdf")
    if pdf is None:
        raise DocumentError((travail.resultat or {}).get("erreur") or "L'aperçu PDF n'est pas encore prêt.")
    number = travail.parametres["number"]
    mark_previewed(session, svc, template, number, user=user)
    return svc.store.read(pdf, verify=True), f"apercu-{template.rsplit('.', 1)[0]}-v{number}.pdf"


def preview_work(session: Session, template: str, travail_id: int) -> Travail | None:
    """Return the PDF preview work ``travail_id`` if it is one of ``template``'s."""
    travail = session.get(Travail, travail_id)
    if travail is None or travail.nature != NATURE or travail.parametres.get("template") != template:
        return None
    return travail

