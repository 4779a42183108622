"""Calls for applications: configuration an administrator creates and edits (DESIGN §2.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.base.records import AppelSchema
from webforms.documents.services import Services
from webforms.errors import ValidationFailed, merge_errors, name_problem
from webforms.models import Appel, Document, Event, User
from webforms.timeutil import PARIS


def deadline_of(values: Mapping[str, Any]) -> dt.datetime:
    """The deposit deadline as a UTC instant, from the call's Paris date and time (AML §6d)."""
    hours, minutes = (int(p) for p in str(values["heure_limite"]).split(":"))
    local = dt.datetime.combine(values["date_limite"], dt.time(hours, minutes), tzinfo=PARIS)
    return local.astimezone(dt.UTC)


def _validated(payload: Mapping[str, Any]) -> dict[str, Any]:
    # The schema silently drops control characters from text; in a name they are refused.
    named = _control_in_names(payload)
    try:
        values = AppelSchema().load(payload)
    except ValidationError as err:
        raise ValidationFailed("L'appel ne peut pas être enregistré : corrigez les erreurs signalées.", merge_errors(err.normalized_messages(), named)) from None  # type: ignore[arg-type]
    if named:
        raise ValidationFailed("L'appel ne peut pas être enregistré : corrigez les erreurs signalées.", named)
    return values


def _control_in_names(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return the errors of the call's names (code, title, territories) that hold a control character."""
    errors: dict[str, Any] = {}
    for key, what in (("code", "L'identifiant"), ("titre", "Le titre")):
        if isinstance(payload.get(key), str) and (problem := name_problem(payload[key], what)):
            errors[key] = [problem]
    rows = payload.get("territoires")
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        if isinstance(row, Mapping) and isinstance(row.get("nom"), str) and (problem := name_problem(row["nom"], "Le nom du territoire")):
            errors.setdefault("territoires", {})[index] = {"nom": [problem]}
    return errors


def save_appel(session: Session, svc: Services, appel: Appel | None, *, user: User, payload: Mapping[str, Any]) -> Appel:
    """Create a call, or update ``appel``, from the form's payload."""
    values = _validated(payload)
    other = session.scalar(select(Appel).where(Appel.code == values["code"]))
    if other is not None and other is not appel:
        raise ValidationFailed("Cet identifiant est déjà pris.", {"code": [f"Un appel « {values['code']} » existe déjà."]})
    if appel is not None:
        _keep_territories_in_use(session, appel, {t["nom"] for t in values["territoires"]})
    now = svc.clock()
    if appel is None:
        appel = Appel(created_at=now)
        session.add(appel)
    appel.code = values["code"]
    appel.data = AppelSchema().dump(values)
    appel.deadline = deadline_of(values)
    appel.updated_at = now
    session.flush()
    session.add(Event(user=user, action="save_appel", at=now, detail={"appel": appel.id}))
    session.commit()
    return appel


def _keep_territories_in_use(session: Session, appel: Appel, names: set[str]) -> None:
    """Refuse to rename or remove a territory that dossiers of the call already name.

    Their rows would suddenly read "« Artois » n'est pas un territoire de l'appel", and a
    deposited dossier would no longer match its call.
    """
    former = {t["nom"] for t in appel.data.get("territoires") or []}
    counts: dict[str, int] = {}
    for doc in session.scalars(select(Document).where(Document.appel_id == appel.id)):
        rows = [*((doc.data or {}).get("mesures") or []), *((doc.submitted_data or {}).get("mesures") or [])]
        for name in {r["territoire"] for r in rows if isinstance(r, Mapping) and isinstance(r.get("territoire"), str)} & (former - names):
            counts[name] = counts.get(name, 0) + 1
    if counts:
        lines = [f"Le territoire « {name} » figure dans {n} dossier{'s' if n > 1 else ''} : il ne peut plus être renommé ni retiré." for name, n in sorted(counts.items())]
        raise ValidationFailed("L'appel ne peut pas être enregistré : corrigez les erreurs signalées.", {"territoires": {"_schema": lines}})


def is_open(appel: Appel, now: dt.datetime) -> bool:
    """Deposits are accepted until the deadline, that instant excluded (AML §6b, §6d)."""
    return now < appel.deadline


def appels(session: Session) -> list[Appel]:
    """Every call, the latest deadline first."""
    return list(session.scalars(select(Appel).order_by(Appel.deadline.desc(), Appel.id.desc())))
