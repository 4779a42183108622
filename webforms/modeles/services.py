"""The Département's templates (issue 18): deposit a checked version, preview it, put it in force, roll back.

The list of templates comes from the kinds' declarations (``Kind.outputs``): a kind, an annex
or a letter declared later appears here without code. A version is checked before it is kept
(its content, as an upload, then against every kind that uses it); its bytes go to the file
store, write-once under their SHA-256; the database says which version is in force, for every
host that shares it (``InForceTemplates``, the renderer's ``in_force``). Each move is logged.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas import DOCX_DIR, HTML_DIR, find_template
from webforms.documents.services import Services
from webforms.documents.storage import FileStore
from webforms.documents.uploads import UploadRefused
from webforms.errors import DocumentError
from webforms.jobs import PRIORITY, ask, task
from webforms.modeles.checks import Slot, UnknownTemplate, mark_problems_of, problems_of, read_candidate, slot_of
from webforms.models import ModeleEnVigueur, ModeleMouvement, ModeleVersion, Travail, User
from webforms.rendering import MIME, Renderer
from webforms.rendering.versions import TemplateVersion

FORMATS = {"docx": "Word (DOCX)", "pdf": "HTML (PDF)"}
CHECK_NATURE = "verification_modele"
MSG_CHECKING = "La vérification de cette version est en cours (un exemple est imprimé) : elle pourra être mise en vigueur une fois vérifiée."
CHECK_FAILED = "La vérification de cette version n'a pas pu être faite : l'administrateur peut la relancer depuis la file des travaux."


class TemplateRefused(DocumentError):
    """A version refused: ``problems`` says each, in French, with its place."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class InForceTemplates:
    """The renderer's ``in_force``: the database's version of a template, its bytes kept by digest.

    The renderer asks several times per output (its digest, its bytes, a generated template's
    fallback), so the map of the versions in force is read in one query, with a session of its
    own (the caller's may be in the middle of a transaction), and kept ``ttl`` seconds: a
    version put in force is used at once by its own process (``forget``), and within ``ttl``
    seconds by every other process and host sharing the database (bench/template_bench.py).
    """

    def __init__(self, sessions: Callable[[], Session], store: FileStore, ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.store = store
        self.ttl = ttl
        self._contents: dict[str, bytes] = {}
        self._map: dict[str, tuple[int, str]] = {}
        self._read_at = -math.inf
        self._lock = threading.Lock()

    def __call__(self, name: str) -> TemplateVersion | None:
        found = self.snapshot().get(name)
        if found is None:
            return None
        number, sha256 = found
        return TemplateVersion(name, number, sha256, self.content(sha256))

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Return {template: (number, SHA-256)} of the versions in force, read again after ``ttl`` seconds."""
        with self._lock:
            if time.monotonic() - self._read_at < self.ttl:
                return self._map
        with self.sessions() as session:
            rows = session.execute(
                select(ModeleEnVigueur.template, ModeleVersion.number, ModeleVersion.sha256).join(ModeleVersion, ModeleEnVigueur.version_id == ModeleVersion.id)
            ).all()
        fresh = {row.template: (row.number, row.sha256) for row in rows}
        with self._lock:
            self._map, self._read_at = fresh, time.monotonic()
        return fresh

    def forget(self) -> None:
        """Read the versions in force again at the next render (this process just changed one)."""
        with self._lock:
            self._read_at = -math.inf

    def content(self, sha256: str) -> bytes:
        """Return the stored bytes of a version (write-once: read once per process)."""
        with self._lock:
            found = self._contents.get(sha256)
        if found is None:
            found = self.store.read(sha256, verify=True)
            with self._lock:
                self._contents[sha256] = found
        return found


def in_force_number(session: Session, template: str) -> int:
    """Return the number of the version in force (0: the shipped template)."""
    return session.scalar(
        select(ModeleVersion.number).join(ModeleEnVigueur, ModeleEnVigueur.version_id == ModeleVersion.id).where(ModeleEnVigueur.template == template)
    ) or 0


def versions(session: Session, template: str) -> list[ModeleVersion]:
    """Return the versions of ``template``, newest first."""
    return list(session.scalars(select(ModeleVersion).where(ModeleVersion.template == template).order_by(ModeleVersion.number.desc())))


def moves(session: Session, template: str) -> list[ModeleMouvement]:
    """Return the logged moves on ``template``, newest first."""
    return list(session.scalars(select(ModeleMouvement).where(ModeleMouvement.template == template).order_by(ModeleMouvement.id.desc())))


def host_file(svc: Services, slot: Slot) -> Path | None:
    """Return this host's file that replaces the shipped template (the fallback below the database's versions)."""
    shipped = DOCX_DIR if slot.fmt == "docx" else HTML_DIR
    dirs = svc.renderer.docx_dirs if slot.fmt == "docx" else svc.renderer.html_dirs
    return find_template(slot.template, [d for d in dirs if d != shipped])


def deposit(session: Session, svc: Services, template: str, stream: BinaryIO, filename: str, *, user: User, workdir: Path) -> ModeleVersion:
    """Keep a new version of ``template`` once checked; refuse it with each problem and its place."""
    slot = slot_of(template)
    try:
        content = read_candidate(stream, filename, slot, workdir)
    except UploadRefused as exc:
        raise TemplateRefused(exc.message, []) from None
    # Every check but the mark on each printed page: that one renders a PDF (seconds), and a
    # worker does it (``verify_version``), asked in the same transaction (issue 11, point 4).
    problems = problems_of(svc.renderer, slot, content, mark=False)
    if problems:
        raise TemplateRefused("Le modèle n'a pas été accepté : corrigez-le puis déposez-le à nouveau.", problems)
    now = svc.clock()
    number = (session.scalar(select(func.max(ModeleVersion.number)).where(ModeleVersion.template == template)) or 0) + 1
    version = ModeleVersion(
        template=template, format=slot.fmt, number=number, sha256=svc.store.put(content), size=len(content),
        original_name=filename[:200], deposited_by_id=user.id, deposited_at=now,
    )
    session.add(version)
    _log(session, template, "depot", number, user, now)
    if slot.fmt == "pdf":  # a Word print carries its mark in its footer, stamped at render (webforms.rendering.marque)
        ask(
            session, verify_version, nature=CHECK_NATURE, libelle=f"Vérification de {template}, version {number}", now=now,
            user_id=user.id, parametres={"template": template, "number": number},
        )
    session.commit()
    return version


@task("verifier_modele", priority=PRIORITY["attendu"])
def verify_version(session: Session, travail: Travail) -> dict[str, Any]:
    """Print the kinds' examples with a deposited version and check the mark on each page; the problems, in French."""
    svc: Services = current_app.extensions["webforms.services"]
    template, number = travail.parametres["template"], travail.parametres["number"]
    version = version_of(session, template, number)
    return {"problemes": mark_problems_of(svc.renderer, slot_of(template), svc.store.read(version.sha256, verify=True))}


@dataclass(frozen=True)
class Check:
    """Where a version's check by a worker stands: ``etat`` "en_verification", "refusee" or "verifiee"."""

    etat: str
    problems: list[str]
    travail: Travail | None

    @property
    def passed(self) -> bool:
        return self.etat == "verifiee"


def checks(session: Session, template: str) -> dict[int, Check]:
    """Return the worker's check of each version of ``template`` (its last one), by number.

    A version deposited before the check moved to the queue has none: it was checked whole at
    its deposit, and counts as checked.
    """
    found: dict[int, Check] = {}
    works = session.scalars(select(Travail).where(Travail.nature == CHECK_NATURE).order_by(Travail.id))
    for travail in works:
        if travail.parametres.get("template") != template:
            continue
        problems = list((travail.resultat or {}).get("problemes") or [])
        if travail.statut == "termine":
            found[travail.parametres["number"]] = Check("refusee" if problems else "verifiee", problems, travail)
        elif travail.statut == "echec":
            found[travail.parametres["number"]] = Check("refusee", [CHECK_FAILED], travail)
        else:
            found[travail.parametres["number"]] = Check("en_verification", [], travail)
    return found


def check_of(session: Session, template: str, number: int) -> Check:
    return checks(session, template).get(number) or Check("verifiee", [], None)


def version_of(session: Session, template: str, number: int) -> ModeleVersion:
    """Return version ``number`` of ``template``; ``UnknownTemplate`` if there is none."""
    found = session.scalar(select(ModeleVersion).where(ModeleVersion.template == template, ModeleVersion.number == number))
    if found is None:
        raise UnknownTemplate(f"{template} v{number}")
    return found


def example_print(session: Session, svc: Services, template: str, number: int) -> tuple[bytes, str, str]:
    """Print the first kind's (or the page's) example with version ``number``; return (bytes, MIME type, file name)."""
    slot = slot_of(template)
    version = version_of(session, template, number)
    use = slot.uses[0]
    output = use.output
    candidate = TemplateVersion(template, number, version.sha256, svc.store.read(version.sha256))
    data = svc.renderer.trying(candidate).render(output, use.context())
    stem = template.rsplit(".", 1)[0]
    return data, MIME[output.fmt], f"apercu-{stem}-v{number}.{output.fmt}"


def mark_previewed(session: Session, svc: Services, template: str, number: int, *, user: User) -> None:
    """Record that version ``number``'s preview was opened, once: it may then go into force (logged)."""
    version = version_of(session, template, number)
    if version.previewed_at is None:
        version.previewed_at = svc.clock()
        _log(session, template, "apercu", number, user, version.previewed_at)
        session.commit()


def preview(session: Session, svc: Services, template: str, number: int, *, user: User) -> tuple[bytes, str, str]:
    """Print the first kind's example with version ``number``; return (bytes, MIME type, file name).

    The first preview is what allows the version into force: it is recorded and logged.
    """
    printed = example_print(session, svc, template, number)
    mark_previewed(session, svc, template, number, user=user)
    return printed


def put_in_force(session: Session, svc: Services, template: str, number: int, *, user: User) -> None:
    """Put version ``number`` of ``template`` in force (0: the shipped one); a lower number is a rollback.

    A version is checked again against the kinds as they are now (a schema may have changed
    since its deposit): a template that fails never goes into force.
    """
    slot = slot_of(template)
    current = in_force_number(session, template)
    if number == current:
        raise DocumentError(f"La version {number} est déjà en vigueur." if number else "Le modèle d'origine est déjà en vigueur.")
    version = version_of(session, template, number) if number else None
    if version is not None:
        check = check_of(session, template, number)
        if check.etat == "en_verification":
            raise DocumentError(MSG_CHECKING)
        if not check.passed:
            raise TemplateRefused("Cette version n'a pas passé sa vérification : elle ne peut pas être mise en vigueur.", check.problems)
        if version.previewed_at is None:
            raise DocumentError("Ouvrez l'aperçu de cette version avant de la mettre en vigueur.")
        # The mark was checked by the worker after the deposit: no PDF is printed in this request.
        problems = problems_of(svc.renderer, slot, svc.store.read(version.sha256), mark=False)
        if problems:
            raise TemplateRefused("Cette version ne convient plus aux données du type : elle ne peut pas être mise en vigueur.", problems)
    now = svc.clock()
    row = session.get(ModeleEnVigueur, template)
    if row is None:
        row = ModeleEnVigueur(template=template)
        session.add(row)
    row.version_id, row.since, row.by_id = (version.id if version else None), now, user.id
    _log(session, template, "retour" if number < current else "mise_en_vigueur", number, user, now)
    session.commit()
    if isinstance(svc.renderer.in_force, InForceTemplates):
        svc.renderer.in_force.forget()


def shipped(template: str) -> tuple[bytes, str]:
    """Return the shipped template's bytes and file name (a plain kind's Word template, made from its layout)."""
    slot = slot_of(template)
    output = slot.uses[0].output
    data = Renderer().template_source(output)
    if output.fmt != "docx" and output.generated_from is not None and find_template(template, [HTML_DIR]) is None:
        return data, "_layout.html"
    return data, template


def version_file(session: Session, svc: Services, template: str, number: int) -> tuple[bytes, str]:
    """Return the bytes and download name of version ``number`` (0: the shipped template)."""
    if number == 0:
        return shipped(template)
    version = version_of(session, template, number)
    stem, _, ext = template.rpartition(".")
    return svc.store.read(version.sha256), f"{stem}-v{number}.{ext}"


def _log(session: Session, template: str, action: str, number: int, user: User, at: Any) -> None:
    session.add(ModeleMouvement(template=template, action=action, number=number, user_id=user.id, at=at))

