"""One thread per household (issue 13): each step opens the next one.

- The coordinator's decision on a fiche saisine names the operator and the référent from lists
  (the operators' writers), and a validated AML orientation creates the measure, linked to the
  referral (``MesureOrigine``); the contract and the bilans then attach to that measure as to any
  other (AML §4). Registered on the lifecycle by the app factory (``register_review``).
- An ASLL Installation bilan that asks for a Maintien opens the Maintien request when it is
  submitted, prefilled from the measure (ASLL §2.1, §9.1); its order is recorded when the Service
  Logement of the DPDS sends it (§8). Registered as a listener of the moves (``register_listener``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, object_session

from schemas import bilan_asll_installation as installation
from schemas import bilan_asll_maintien as maintien
from schemas.base.records import BonCommandeSchema, RenouvellementSchema
from webforms import policy
from webforms.documents.reviews import ReviewRules
from webforms.documents.services import log_event, next_reference
from webforms.errors import INTEGER_MAX, DocumentError, ValidationFailed
from webforms.mesures import services as mesures
from webforms.mesures.rules import DURATION_MONTHS, START_DEADLINE_DAYS, TYPES
from webforms.models import Document, Event, Mesure, MesureOrigine, Organisation, OrganisationTerritoire, Territoire, User
from webforms.territoires.scope import NATURE_OF_MEASURE, territory_of
from webforms.timeutil import paris_date

REFUSED = "La décision ne peut pas être enregistrée : corrigez les erreurs signalées."
REFUSAL = "renouvellement_refuse"  # the DPDS's refusal, logged on the bilan that asked
GRANT = "renouvellement_accorde"  # its grant, logged there too (the renewal itself: "add_renouvellement")


def operators(session: Session, doc: Any) -> Select[tuple[int]]:
    """Return the ids of the organisations working on the referral's platform (AML §1)."""
    # AML §1: "deux plateformes Logement d'abord [...] l'une sur l'Artois, l'autre sur Lens-Hénin":
    # the operators are those attached to the referral's platform; a prescriber (a CCAS, a
    # bailleur) is attached to none. A referral naming no platform offers the operators of every
    # AML platform (docs/decisions.md).
    platform = territory_of(session, doc)
    working = select(OrganisationTerritoire.organisation_id).join(Territoire, Territoire.id == OrganisationTerritoire.territoire_id)
    if platform is not None:
        return working.where(Territoire.id == platform.id)
    return working.where(Territoire.nature == NATURE_OF_MEASURE["aml"])


def referents(session: Session, doc: Any) -> list[User]:
    """Return the accounts a coordinator may name as référent on ``doc``: the active writers of its platform's operators."""
    users = session.scalars(
        select(User).where(User.active.is_(True), User.organisation_id.in_(operators(session, doc))).order_by(User.full_name, User.id)
    ).unique().all()
    return [u for u in users if policy.can_create_mesure(u)]


def origin_of_referral(session: Session, saisine_id: int) -> MesureOrigine | None:
    """The measure a referral opened, if it opened one."""
    return session.scalar(select(MesureOrigine).where(MesureOrigine.saisine_id == saisine_id))


def _named(session: Session, doc: Any, review: Mapping[str, Any]) -> tuple[Organisation | None, User | None]:
    """Read the operator and the référent chosen; refuse an operator off the platform, a référent who is not one of the operator's writers."""
    errors: dict[str, list[str]] = {}
    # A number past what the database holds names no row (issue 15: no overflow in the driver).
    org = session.get(Organisation, review["operateur_id"]) if 0 < (review.get("operateur_id") or 0) <= INTEGER_MAX else None
    person = session.get(User, review["referent_id"]) if 0 < (review.get("referent_id") or 0) <= INTEGER_MAX else None
    if review.get("operateur_id") and org is None:
        errors["operateur_id"] = ["Cet opérateur n'existe pas : choisissez-le dans la liste."]
    elif org is not None and org.id not in session.scalars(operators(session, doc)).all():
        errors["operateur_id"] = [f"{org.name} ne travaille pas sur la plateforme de cette orientation : choisissez l'opérateur dans la liste."]
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
        people = referents(session, doc)
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
        org, person = _named(session, doc, review)
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
    # The referral's platform (issue 13): those who decided the referral follow its measure.
    platform = territory_of(session, doc)
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
        territoire_id=platform.id if platform is not None else None,
    )
    session.add(mesure)
    session.flush()
    session.add(MesureOrigine(mesure_id=mesure.id, saisine_id=doc.id, created_at=now))
    session.add(Event(user=user, action="create_mesure", at=now, detail={"mesure": mesure.id, "saisine": doc.id}))
    return mesure


def on_event(session: Session, event: Event) -> None:
    """Open the ASLL Maintien an Installation bilan asks for, as it is submitted (ASLL §2.1, §9.1)."""
    doc = event.document
    if event.action != "submit" or doc is None or doc.kind != installation.KIND.name or doc.mesure is None:
        return
    origin = session.scalar(select(MesureOrigine).where(MesureOrigine.bilan_id == doc.id))
    asked = installation.maintien_requested(doc.submitted_data or {})
    if origin is not None:
        # Already opened: a move logged twice, or the bilan corrected and transmitted again, opens
        # nothing more; a correction that withdraws the request, or asks again, moves the one opened.
        _follow_correction(session, origin, asked, user=event.user, now=event.at)
        return
    if asked:
        open_maintien(session, doc, user=event.user, now=event.at)


WITHDRAWN = "Demande retirée : le bilan d'Installation corrigé ne demande plus de Maintien."


def _follow_correction(session: Session, origin: MesureOrigine, asked: bool, *, user: User | None, now: dt.datetime) -> None:
    """A corrected Installation bilan transmitted again: the Maintien request it opened follows it (docs/decisions.md).

    Withdrawn while it waits for its order: closed that day, the reason logged; asked again: the
    request so closed is reopened. Once ordered, the DPDS's order stands (§8): nothing changes.
    """
    mesure = origin.mesure
    if mesure.date_bon_commande is not None:
        return
    detail = {"mesure": mesure.id, "bilan": origin.bilan_id}
    if not asked and mesure.date_fin_effective is None:
        mesure.date_fin_effective, mesure.motif_fin, mesure.commentaire_fin = paris_date(now), "autre", WITHDRAWN
        mesure.statut, mesure.updated_at = "terminee", now
        session.add(Event(user=user, action="withdraw_maintien", at=now, detail={**detail, "motif": WITHDRAWN}))
    elif asked and mesure.commentaire_fin == WITHDRAWN:
        mesure.date_fin_effective = mesure.motif_fin = mesure.commentaire_fin = None
        mesure.statut, mesure.updated_at = "en_cours", now
        session.add(Event(user=user, action="open_maintien", at=now, detail={**detail, "precedente": origin.mesure_precedente_id}))


def open_maintien(session: Session, bilan: Any, *, user: User | None, now: dt.datetime) -> Mesure:
    """Open the Maintien request of an Installation bilan: the same household, operator and référent.

    It waits for its order: the Service Logement of the DPDS instructs Maintien requests (ASLL §8),
    and the 15 days to start run from the order's receipt (§6.3).
    """
    previous: Mesure = bilan.mesure
    mesure = Mesure(
        reference=next_reference(session, "ME", now.year),
        organisation_id=previous.organisation_id,
        referent_id=previous.referent_id,
        type_mesure="asll_maintien",
        menage_nom=previous.menage_nom,
        menage_prenom=previous.menage_prenom,
        menage_commune=previous.menage_commune,
        travailleur_social=previous.travailleur_social,
        date_bon_commande=None,
        date_premiere_rencontre=None,
        duree_mois=DURATION_MONTHS["asll_maintien"],
        statut="en_cours",
        created_at=now,
        updated_at=now,
        territoire_id=previous.territoire_id,  # the same household, the same lot (ASLL §11)
    )
    session.add(mesure)
    session.flush()
    session.add(MesureOrigine(mesure_id=mesure.id, bilan_id=bilan.id, mesure_precedente_id=previous.id, created_at=now))
    session.add(Event(user=user, action="open_maintien", at=now, detail={"mesure": mesure.id, "bilan": bilan.id, "precedente": previous.id}))
    return mesure


def record_order(session: Session, svc: Any, mesure: Mesure, *, user: User, payload: Mapping[str, Any]) -> Mesure:
    """Record the order of a measure opened by the thread; its start deadline runs from it (ASLL §6.3)."""
    if mesure.type_mesure not in START_DEADLINE_DAYS:
        raise ValidationFailed("Une mesure AML n'a pas de bon de commande (AML §4).", {"date_bon_commande": ["L'AML démarre sur l'orientation, sans bon de commande."]})
    if mesure.date_fin_effective is not None:
        raise ValidationFailed(
            "Cette mesure est close : son bon de commande ne s'enregistre plus.",
            {"date_bon_commande": [mesure.commentaire_fin or f"Close le {mesure.date_fin_effective.strftime('%d/%m/%Y')}."]},
        )
    if mesure.date_bon_commande is not None:
        raise ValidationFailed(
            "Le bon de commande de cette mesure est déjà enregistré.",
            {"date_bon_commande": [f"Reçu le {mesure.date_bon_commande.strftime('%d/%m/%Y')}."]},
        )
    values = mesures.load(BonCommandeSchema, payload, "Le bon de commande ne peut pas être enregistré : corrigez les erreurs signalées.")
    # ASLL §4: the order gives the measure to its referent; the request the thread opened copied the
    # previous measure's referent, so it waits until that referent's Diplôme d'État is recorded
    # (docs/decisions.md): refused here, nothing changed, the request kept.
    try:
        mesures.check_referent(session, mesure.type_mesure, mesure.referent)
    except ValidationFailed as exc:
        raise ValidationFailed(str(exc), {"date_bon_commande": exc.errors["type_mesure"]}) from None
    now = svc.clock()
    if values["date_bon_commande"] > paris_date(now):
        raise ValidationFailed("Un bon de commande à venir ne se saisit pas encore.", {"date_bon_commande": ["Cette date est dans le futur."]})
    origin = session.get(MesureOrigine, mesure.id)
    if origin is not None and origin.bilan is not None and origin.bilan.submitted_at and values["date_bon_commande"] < paris_date(origin.bilan.submitted_at):
        raise ValidationFailed(
            "Le bon de commande précède le bilan qui a demandé cette mesure.",
            {"date_bon_commande": [f"Le bilan {origin.bilan.reference} a été transmis le {paris_date(origin.bilan.submitted_at).strftime('%d/%m/%Y')}."]},
        )
    mesure.date_bon_commande = values["date_bon_commande"]
    mesure.updated_at = now
    session.add(Event(user=user, action="record_order", at=now, detail={"mesure": mesure.id}))
    session.commit()
    return mesure


def decide_renewal(session: Session, svc: Any, mesure: Mesure, *, user: User, payload: Mapping[str, Any]) -> Any:
    """Record the DPDS's decision granting the renewal a Maintien bilan asked for (ASLL §8, §9.2)."""
    # ASLL §9: "Si un renouvellement est demandé, il doit être motivé" ; §9.2: "Sur la base de ce
    # bilan un renouvellement [...] peut être accordé". The operator asks in the bilan; the Service
    # Logement of the DPDS, which instructs the Maintien (§8), decides: no request, no decision.
    if not policy.can_decide_renewal(user, mesure):
        raise DocumentError("Seul le Service Logement de la DPDS (l'instructeur de la mesure) décide d'un renouvellement (CCTP ASLL §8).")
    asked = renewal_asked(mesure)
    if asked is None:
        raise ValidationFailed(
            "Aucun renouvellement n'est demandé : le Service Logement de la DPDS décide sur la demande motivée d'un bilan de Maintien transmis (CCTP ASLL §9, §9.2).",
            {"date_decision": ["Aucune demande de renouvellement en attente pour cette mesure."]},
        )
    decided = mesures.load(RenouvellementSchema, payload, "Le renouvellement ne peut pas être enregistré : corrigez les erreurs signalées.")["date_decision"]
    # §9.2: granted "sur la base de ce bilan": not before it was transmitted; and a decision to come is not recorded yet.
    if decided > paris_date(svc.clock()):
        raise ValidationFailed("Une décision à venir ne s'enregistre pas encore.", {"date_decision": ["Cette date est dans le futur."]})
    if decided < asked["transmis"]:
        raise ValidationFailed(
            f"La décision ne peut précéder la demande : le bilan {asked['bilan']} a été transmis le {asked['transmis'].strftime('%d/%m/%Y')} (CCTP ASLL §9.2).",
            {"date_decision": [f"Le bilan {asked['bilan']} a été transmis le {asked['transmis'].strftime('%d/%m/%Y')}."]},
        )
    row = mesures.record_renouvellement(session, svc, mesure, user=user, payload=payload, demande=asked["bilan"])
    # Logged on the bilan that asked, as a refusal is: its writers are told (notifications.events).
    log_event(session, session.get_one(Document, asked["bilan_id"]), user, GRANT, row.created_at, mesure=mesure.id)
    session.commit()
    return row


def refuse_renewal(session: Session, svc: Any, mesure: Mesure, *, user: User, motif: str | None) -> Event:
    """Record the DPDS's refusal of the renewal a Maintien bilan asked for, with its reasons (ASLL §8, §9.2)."""
    if not policy.can_decide_renewal(user, mesure):
        raise DocumentError("Seul le Service Logement de la DPDS (l'instructeur de la mesure) décide d'un renouvellement (CCTP ASLL §8).")
    asked, reasons = renewal_asked(mesure), " ".join((motif or "").split())
    if asked is None:
        raise DocumentError("Aucun renouvellement n'est demandé : le Service Logement de la DPDS décide sur la demande motivée d'un bilan de Maintien transmis (CCTP ASLL §9, §9.2).")
    if not reasons or len(reasons) > 1000:
        raise DocumentError("Motivez le refus du renouvellement (1 000 caractères au plus) : l'opérateur le lira sur la page de la mesure.")
    # Logged on the bilan that asked: the request it carries is answered (``renewal_asked``).
    event = log_event(session, session.get_one(Document, asked["bilan_id"]), user, REFUSAL, svc.clock(), mesure=mesure.id, motif=reasons)
    session.commit()
    return event


def refusals(session: Session, mesure: Mesure) -> list[Event]:
    """The DPDS's refusals of the measure's renewal requests, oldest first."""
    bilans = [d.id for d in mesure.documents if d.kind == maintien.KIND.name]
    return list(session.scalars(select(Event).where(Event.action == REFUSAL, Event.document_id.in_(bilans)).order_by(Event.at, Event.id)))


def renewal_asked(mesure: Mesure) -> dict[str, Any] | None:
    """The renewal the measure's last Maintien bilan asks for, if none was granted nor refused since (ASLL §8, §9.2)."""
    sent = [d for d in mesure.documents if d.kind == maintien.KIND.name and d.submitted_at is not None]
    if not sent:
        return None
    last = max(sent, key=lambda d: d.submitted_at)
    asked = maintien.renewal_requested(last.submitted_data or {})
    if asked is None or any(r.created_at >= last.submitted_at for r in mesure.renouvellements):
        return None
    session = object_session(mesure)
    if session is not None and session.scalar(select(Event.id).where(Event.document_id == last.id, Event.action == REFUSAL, Event.at >= last.submitted_at).limit(1)):
        return None
    return {**asked, "bilan": last.reference, "bilan_id": last.id, "transmis": paris_date(last.submitted_at)}


def _mesure_link(user: User, mesure: Mesure) -> dict[str, Any]:
    return {"id": mesure.id, "reference": mesure.reference, "type": TYPES[mesure.type_mesure], "visible": policy.can_view_mesure(user, mesure)}


def _doc_link(user: User, doc: Any) -> dict[str, Any] | None:
    return None if doc is None else {"id": doc.id, "reference": doc.reference, "visible": policy.can_view(user, doc)}


def links(session: Session, mesure: Mesure, user: User) -> dict[str, Any]:
    """Where the measure comes from and what it led to, as plain values (a link only where ``user`` may read)."""
    origin = session.get(MesureOrigine, mesure.id)
    following = session.scalars(select(MesureOrigine).where(MesureOrigine.mesure_precedente_id == mesure.id).order_by(MesureOrigine.mesure_id)).all()
    return {
        "saisine": _doc_link(user, origin.saisine) if origin else None,
        "bilan": _doc_link(user, origin.bilan) if origin else None,
        "precedente": _mesure_link(user, origin.precedente) if origin and origin.precedente else None,
        "suivantes": [_mesure_link(user, o.mesure) for o in following],
        "renouvellement_demande": renewal_asked(mesure),
    }
