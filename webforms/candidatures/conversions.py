"""A Word piece converted to PDF by a worker (issue 11, point 4), not while its upload waits.

The piece is stored at once and marked ``en_cours``; the task ``convertir_piece`` asks
LibreOffice (``office.docx_to_pdf``) for its PDF, which the complete dossier shows. A Word file
LibreOffice cannot read marks the piece ``echec``: the checklist says so in French and the
dossier cannot be deposited until the piece is replaced ("tout dossier incomplet sera rejeté",
AML §6b), while the association can still send a PDF.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms.documents.services import Services
from webforms.jobs import PRIORITY, ask, task
from webforms.models import Document, Piece, Travail, User
from webforms.rendering.office import MSG_CONVERSION, ConversionFailed, docx_to_pdf

NATURE = "conversion"
# What the checklist says of a piece while its conversion runs, and once it failed.
MSG_PENDING = "conversion en PDF en cours : la page se met à jour d'elle-même"
MSG_FAILED = MSG_CONVERSION


def ask_conversion(session: Session, piece: Piece, *, user: User, now: dt.datetime) -> Travail:
    """Mark a just-stored Word piece as being converted and ask a worker for it (caller commits)."""
    piece.conversion = "en_cours"
    session.flush()
    travail = ask(
        session,
        convert_piece,
        nature=NATURE,
        libelle=f"Conversion en PDF de « {piece.original_name} »",
        now=now,
        user_id=user.id,
        document_id=piece.document_id,
        parametres={"piece": piece.id},
    )
    assert travail is not None  # asked without a lock: always recorded
    return travail


@task("convertir_piece", priority=PRIORITY["liste"])
def convert_piece(session: Session, travail: Travail) -> dict[str, Any]:
    """Convert the piece's stored Word file; record its PDF, or that LibreOffice could not read it."""
    svc: Services = current_app.extensions["webforms.services"]
    piece = session.get_one(Piece, travail.parametres["piece"])
    if piece.conversion != "en_cours":
        return {"conversion": piece.conversion}
    workdir = Path(tempfile.mkdtemp(prefix="webforms-conversion-"))
    try:
        pdf = docx_to_pdf(svc.store.path(piece.sha256), workdir)
        with pdf.open("rb") as data:
            piece.pdf_sha256 = svc.store.put_stream(data)[0]
        piece.conversion = "faite"
    except ConversionFailed:
        # The file itself is at fault, not the moment: running again would fail again.
        piece.conversion = "echec"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"conversion": piece.conversion}


def converting(session: Session, doc: Document) -> Travail | None:
    """The conversion of one of ``doc``'s pieces still to do, if any (the checklist shows its progress)."""
    return session.scalars(
        select(Travail).where(Travail.document_id == doc.id, Travail.nature == NATURE, Travail.statut.in_(("en_attente", "en_cours"))).order_by(Travail.id)
    ).first()
