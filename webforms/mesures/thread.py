"""One thread per household (issue 13): a validated referral opens its AML measure.

The coordinator's decision on a fiche saisine names the operator and the référent from lists
(the operators' writers), and a validated AML orientation creates the measure, linked to the
referral (``MesureOrigine``); the contract and the bilans then attach to that measure as to any
other. Registered on the lifecycle by the app factory (``register_review``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms import policy
from webforms.documents.reviews import ReviewRules
from webforms.documents.services import next_reference
from webforms.errors import ValidationFailed
from webforms.mesures.rules import DURATION_MONTHS
from webforms.models import Event, Mesure, MesureOrigine, Organisation, User

REFUSED = "La décision ne peut pas être enregistrée : corrigez les erreurs signalées."


def referents(session: Session) -> list[User]:
    """The accounts a coordinator may name as référent: the operators' active writers."""
    # The territories' work narrows this to the platform's operators (policy); until then every
    # operator of the service is listed.
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name, User.id)).unique().all()
    return [u for u in users if policy.can_create_mesure(u)]


def origin_of_referral(session: Session, saisine_id: int) -> MesureOrigine | None:
    """The measure a referral opened, if it opened one."""
    return session.scalar(select(MesureOrigine).where(MesureOrigine.saisine_id == saisine_id))


def _named(session: Session, review: Mapping[str, Any]) -> tuple[Organisation | None, User | None]:
    """Read the operator and the référent chosen; refuse a référent who is not one of the operator's writers."""
    errors: dict[str, list[str]] = {}
    org = session.get(Organisation, review["operateur_id"]) if review.get("operateur_id") else None
    person = session.get(User, review["referent_id"]) if review.get("referent_id") else None
    if review.get("operateur_id") and org is None:
        errors["operateur_id"] = ["Cet opérateur n'existe pas : choisissez-le dans la liste."]
    if review.get("referent_id") and (person is None or not person.active or not policy.can_create_mesure(person)):
        errors["referent_id"] = ["Ce référent n'est pas un compte actif d'un opérateur : choisissez-le dans la liste."]
    elif person is not None and org is not None and person.organisation_id != org.id:
        errors["referent_id"] = [f"{person.full_name} n'est pas un référent de {org.name} : choisissez un référent de l'opérateur désigné."]
    elif person is not None and org is None and not errors:
        errors["operateur_id"] = ["Choisissez l'opérateur du référent nommé."]
    if errors:
        raise ValidationFailed(REFUSED, errors)
    return org, person


def _opens_aml(review: Mapping[str, Any]) -> bool:
    return review.get("orientation_validee") == "validee" and review.get("mesure") == "aml"


class ReferralDecision(ReviewRules):
    """The coordinator's decision on a fiche saisine: lists to choose from, the AML measure it opens (AML §4)."""

    def choices(self, session: Session, doc: Any) -> dict[str, list[tuple[str, str]]]:
        people = referents(session)
        orgs = sorted({(u.organisation_id, u.organisation.name) for u in people}, key=lambda pair: pair[1])
        return {
            "operateur_id": [(str(i), name) for i, name in orgs],
            "referent_id": [(str(u.id), f"{u.full_name} ({u.organisation.name})") for u in people],
        }

    def complete(self, session: Session, doc: Any, review: dict[str, Any], *, user: User) -> dict[str, Any]:
        if _opens_aml(review):
            # AML §4: "dans le cadre d'une orientation AML, un référent est nommé": a measure
            # needs a real operator and account, so the lists are required (a name typed by hand
            # before them is only kept readable on old decisions).
            missing = {
                name: [message]
                for name, message in (
                    ("operateur_id", "Choisissez l'opérateur désigné dans la liste."),
                    ("referent_id", "Choisissez le référent nommé dans la liste (AML §4)."),
                )
                if not review.get(name)
            }
            if missing:
                raise ValidationFailed(REFUSED, missing)
        org, person = _named(session, review)
        origin = origin_of_referral(session, doc.id)
        if origin is not None and (not _opens_aml(review) or org is None or org.id != origin.mesure.organisation_id):
            raise ValidationFailed(
                f"La mesure {origin.mesure.reference} a déjà été ouverte sur cette orientation.",
                {"orientation_validee": [
                    f"La mesure {origin.mesure.reference} a été ouverte chez {origin.mesure.organisation.name} : "
                    "la décision peut encore changer de référent dans cet opérateur, mais ni d'opérateur ni d'orientation."
                ]},
            )
        return {**review, "operateur": org.name if org else None, "referent": person.full_name if person else None}

    def on_review(self, session: Session, doc: Any, review: Mapping[str, Any], *, user: User, now: dt.datetime) -> None:
        if not _opens_aml(review):
            return
        origin = origin_of_referral(session, doc.id)
        if origin is not None:
            if origin.mesure.referent_id != review["referent_id"]:
                origin.mesure.referent_id = review["referent_id"]
                origin.mesure.updated_at = now
                session.add(Event(user=user, action="change_referent", at=now, detail={"mesure": origin.mesure_id, "saisine": doc.id}))
            return
        create_from_referral(session, doc, review, user=user, now=now)


def create_from_referral(session: Session, doc: Any, review: Mapping[str, Any], *, user: User, now: dt.datetime) -> Mesure:
    """Create the AML measure of a validated referral, for its operator and référent (AML §4)."""
    data = doc.submitted_data or {}
    demandeur = (data.get("menage") or {}).get("demandeur") or {}
    mesure = Mesure(
        reference=next_reference(session, "ME", now.year),
        organisation_id=review["operateur_id"],
        referent_id=review["referent_id"],
        type_mesure="aml",
        menage_nom=str(demandeur.get("nom") or "")[:150],
        menage_prenom=str(demandeur.get("prenom") or "")[:100],
        menage_commune=(data.get("territoire") or {}).get("commune"),
        # AML has no bon de commande (AML §4); the support starts at the first meeting the
        # référent records, as for every measure (docs/household.md).
        date_bon_commande=None,
        date_premiere_rencontre=None,
        duree_mois=DURATION_MONTHS["aml"],
        statut="en_cours",
        created_at=now,
        updated_at=now,
    )
    session.add(mesure)
    session.flush()
    session.add(MesureOrigine(mesure_id=mesure.id, saisine_id=doc.id, created_at=now))
    session.add(Event(user=user, action="create_mesure", at=now, detail={"mesure": mesure.id, "saisine": doc.id}))
    return mesure
