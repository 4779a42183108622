"""Calls for applications: configuration an administrator creates and edits (DESIGN §2.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.base.records import AppelSchema
from webforms.documents.services import Services
from webforms.errors import ValidationFailed, merge_errors, name_problem
from webforms.models import Appel, Document, Event, User
from webforms.rendering.context import date_fr, datetime_fr
from webforms.timeutil import paris_date, paris_instant

# Below this much time before the deadline, the call's pages and the dossier's form say it is near.
NEAR = dt.timedelta(days=2)


def deadline_of(values: Mapping[str, Any]) -> dt.datetime:
    """The deposit deadline as a UTC instant, from the call's Paris date and time (AML §6d)."""
    return paris_instant(values["date_limite"], values["heure_limite"])


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
    # The evaluation grid (AML §6c) is configuration of the call too, not edited by this form
    # yet: an edit of the call keeps it.
    kept = {"grille": appel.data["grille"]} if appel.data and "grille" in appel.data else {}
    appel.data = {**AppelSchema().dump(values), **kept}
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


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def time_left_text(left: dt.timedelta) -> str:
    """Say a time left as people do: "3 jours et 4 heures", "2 heures et 5 minutes", "moins d'une minute"."""
    minutes = int(left.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _count(days, "jour") + (f" et {_count(hours, 'heure')}" if hours else "")
    if hours:
        return _count(hours, "heure") + (f" et {_count(minutes, 'minute')}" if minutes else "")
    return _count(minutes, "minute") if minutes else "moins d'une minute"


@dataclass(frozen=True)
class CallTime:
    """Where a call stands in time, as its pages say it (issue 16: a closed call says since when)."""

    open: bool
    deadline: str  # "6 septembre 2019 à 16:00" (Paris)
    left: str  # "3 jours et 4 heures" while open, "" once closed
    near: bool  # open, with less than ``NEAR`` left


def deadline_text(appel: Appel) -> str:
    """The deadline as people read it: "6 septembre 2019 à 16:00" (Paris)."""
    return datetime_fr(appel.deadline)


def call_time(appel: Appel, now: dt.datetime) -> CallTime:
    """Return whether ``appel`` is open at ``now``, its deadline, the time left and whether it is near."""
    left = appel.deadline - now
    opened = is_open(appel, now)
    return CallTime(opened, deadline_text(appel), time_left_text(left) if opened else "", opened and left <= NEAR)


def deadline_warnings(appel: Appel) -> list[str]:
    """Warn an administrator whose deadline falls outside the call's funding period (saved all the same)."""
    deadline = paris_date(appel.deadline)
    start, end = (dt.date.fromisoformat(str(appel.data[k])) for k in ("periode_debut", "periode_fin"))
    if start <= deadline <= end:
        return []
    period = f"du {date_fr(start)} au {date_fr(end)}"
    side = "avant le début" if deadline < start else "après la fin"
    return [f"Attention : la date limite de dépôt ({date_fr(deadline)}) tombe {side} de la période de financement ({period}). Vérifiez les deux dates."]


def appels(session: Session) -> list[Appel]:
    """Every call, the latest deadline first."""
    return list(session.scalars(select(Appel).order_by(Appel.deadline.desc(), Appel.id.desc())))
