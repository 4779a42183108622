"""The selection jury of a call: its date and its members (AML §6d).

"Jury de sélection, composé du Département et des 3 EPCI concernés, le 25 septembre 2019, qui
émettra un avis" (AML §6d). The EPCI are those of the call's territories (AML §1: CALL and CAHC
for Lens-Hénin, CABBALR for Artois). A member is a user of the ``jury`` role; sitting on a
call's jury lets them read the recevable dossiers of that call, and nothing else
(``policy.can_view``). The jury is frozen once a member has scored (a draft is enough): a
member removed or a date moved afterwards would leave scores without their author on the jury.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from webforms.candidatures.appels import deadline_text
from webforms.candidatures.grille_edit import scores_against
from webforms.documents.services import Services
from webforms.errors import DocumentError, parse_id
from webforms.models import Appel, Event, Jury, JuryMember, User
from webforms.timeutil import paris_date

# The bodies that compose the jury (AML §6d), the EPCI named as in DESIGN §2.1 (AML §1).
ORGANISMES = {
    "departement": "Département du Pas-de-Calais",
    "call": "CALL (Communauté d'Agglomération de Lens-Liévin)",
    "cahc": "CAHC (Communauté d'Agglomération d'Hénin-Carvin)",
    "cabbalr": "CABBALR (Communauté d'Agglomération de Béthune-Bruay, Artois-Lys Romane)",
}


def jury_of(session: Session, appel: Appel) -> tuple[Jury | None, list[JuryMember]]:
    """Return a call's jury and its members (None and none before it is configured)."""
    jury = session.get(Jury, appel.id)
    members = list(session.scalars(select(JuryMember).where(JuryMember.appel_id == appel.id).order_by(JuryMember.organisme, JuryMember.user_id)))
    return jury, members


def candidates(session: Session) -> list[User]:
    """The active accounts that may sit on a jury: those of the ``jury`` role."""
    return list(session.scalars(select(User).where(User.role == "jury", User.active.is_(True)).order_by(User.full_name)))


def _date(text: str, appel: Appel) -> dt.date:
    try:
        day = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise DocumentError("Indiquez la date du jury (jj/mm/aaaa).") from None
    if day <= paris_date(appel.deadline):
        # The jury reads the recevable dossiers: recevabilité is declared after the deadline (AML §6b, §6d).
        raise DocumentError(f"Le jury se réunit après la date limite de dépôt ({deadline_text(appel)}) (AML §6d).")
    return day


def frozen_by(session: Session, appel: Appel) -> int:
    """How many evaluations (drafts included) freeze the call's jury: none, it may still change."""
    return scores_against(session, appel)


def _frozen(session: Session, appel: Appel) -> None:
    scored = frozen_by(session, appel)
    if scored:
        session.rollback()
        raise DocumentError(
            f"Le jury de cet appel est figé : ses membres ont déjà noté ({scored} évaluation{'s' if scored > 1 else ''}). "
            "Ni ses membres ni sa date ne changent plus : chaque note reste celle d'un membre du jury qui a siégé (AML §6c, §6d)."
        )


def set_jury(session: Session, svc: Services, appel: Appel, *, user: User, date: str, members: Mapping[int, str]) -> Jury:
    """Configure a call's jury: its date and its members by body (``members``: user id → body); refuse in French otherwise, and once scored."""
    _frozen(session, appel)
    day = _date(date, appel)
    accounts = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(members))))}
    for user_id, organisme in members.items():
        account = accounts.get(user_id)
        if account is None or account.role != "jury" or not account.active:
            raise DocumentError("Seuls les comptes actifs du rôle « membre de jury » siègent au jury.")
        if organisme not in ORGANISMES:
            raise DocumentError(f"Choisissez l'organisme que représente {account.full_name}.")
    missing = [label for code, label in ORGANISMES.items() if code not in set(members.values())]
    if missing:
        raise DocumentError(f"Le jury est « composé du Département et des 3 EPCI concernés » (AML §6d) : il manque {', '.join(missing)}.")
    # The call's row, locked: a member's first score (notation.score) waits for this change, or
    # this change sees the score and is refused.
    session.get_one(Appel, appel.id, with_for_update=True, populate_existing=True)
    _frozen(session, appel)
    now = svc.clock()
    jury = session.get(Jury, appel.id) or Jury(appel_id=appel.id)
    jury.date, jury.updated_at = day, now
    session.add(jury)
    session.flush()
    session.execute(delete(JuryMember).where(JuryMember.appel_id == appel.id))
    session.add_all(JuryMember(appel_id=appel.id, user_id=user_id, organisme=organisme) for user_id, organisme in members.items())
    session.add(Event(user=user, action="set_jury", at=now, detail={"appel": appel.id, "date": day.isoformat(), "membres": sorted(members)}))
    session.commit()
    return jury


def members_of_form(form: Mapping[str, Any]) -> dict[int, str]:
    """Read the members from the form: ``organisme-<user id>`` → body ("" for a user not sitting)."""
    out: dict[int, str] = {}
    for key, value in form.items():
        # The one number parser: "organisme-١" names no account (an Arabic-Indic digit is not 1).
        user_id = parse_id(key.removeprefix("organisme-")) if key.startswith("organisme-") else None
        if user_id is not None and value:
            out[user_id] = str(value)
    return out

