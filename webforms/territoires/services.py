"""The territories' configuration, who is attached to them, Département-wide grants, recipients.

Services take a session and plain values and return plain values or rows; they know nothing of
the request. A refusal is a ``TerritoireError`` (or ``ValidationFailed`` naming the fields) in
French, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from schemas import bilan_asll_installation as installation
from schemas.base.common import MESURE_TYPES
from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.errors import DocumentError, NumberRefused, ValidationFailed, name_problem, parse_number
from webforms.models import (
    NATURES_TERRITOIRE,
    NATURES_ZONE,
    Departement,
    Document,
    Event,
    Organisation,
    OrganisationTerritoire,
    PorteeDepartement,
    Territoire,
    TerritoireZone,
    User,
    UserTerritoire,
)
from webforms.territoires.checks import LARGEST_COUNT, file_problems, refusal
from webforms.territoires.scope import COMMUNE_ZONES, plain_place, same_place, territory_of, territory_of_commune

# The roles whose reading is scoped by territory (webforms/policy.py); the others are not attached.
SCOPED_ROLES = ("coordinateur", "instructeur", "archiviste")
# The measure types counted per lot (ASLL §11); the AML platforms have no yearly bounds in the sources.
INDICATIVE_TYPES = {code: label for code, label in MESURE_TYPES if code.startswith("asll")}


class TerritoireError(DocumentError):
    """A change of territories refused; the message is French and meant for the user."""


def territories(session: Session) -> list[Territoire]:
    """Return every territory, by Département then name."""
    return list(session.scalars(select(Territoire).order_by(Territoire.departement, Territoire.nom)))


def departements(session: Session) -> list[Departement]:
    """Return every Département, by name."""
    return list(session.scalars(select(Departement).order_by(Departement.nom)))


def _count(payload: Mapping[str, Any], name: str, what: str, errors: dict[str, list[str]]) -> int | None:
    """Read an optional whole number of the form; a wrong one is put in ``errors``."""
    text = str(payload.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_number(text, what=what, largest=LARGEST_COUNT)
    except NumberRefused as exc:
        errors[name] = [str(exc)]
        return None


def _zones(session: Session, territoire: Territoire, payload: Mapping[str, Any], errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Read the zones typed one per line; a zone already in another territory is refused, named."""
    zones: list[tuple[str, str]] = []
    for nature, label in NATURES_ZONE.items():
        names: list[str] = []
        for line in str(payload.get(f"zones_{nature}") or "").splitlines():
            name = " ".join(line.split())
            if name and not any(same_place(name, n) for n in names):
                names.append(name)
        too_long = [n for n in names if len(n) > 150]
        problem = name_problem(str(payload.get(f"zones_{nature}") or "").replace("\n", "").replace("\r", ""), f"La liste « {label} »")
        if problem:
            errors[f"zones_{nature}"] = [problem]
            continue
        taken = session.execute(
            select(TerritoireZone.nom, Territoire.nom).join(Territoire).where(TerritoireZone.nature == nature, Territoire.id != territoire.id)
        ).all()
        clashes = [f"{name} (déjà dans « {other} »)" for name in names for zone, other in taken if same_place(zone, name)]
        if too_long:
            errors[f"zones_{nature}"] = [f"{label} : 150 caractères au plus par ligne."]
        elif clashes:
            errors[f"zones_{nature}"] = [f"{label} déjà rattaché(e) à un autre territoire : {', '.join(clashes)}."]
        zones.extend((nature, name) for name in names)
    return zones


def update_territory(session: Session, territoire: Territoire, *, user: User, payload: Mapping[str, Any], now: dt.datetime) -> Territoire:
    """Change a territory's name, yearly bounds, indicative counts and zones; bounds are checked (ASLL §11)."""
    errors: dict[str, list[str]] = {}
    nom = " ".join(str(payload.get("nom") or "").split())
    # Checked before the spaces are folded: "\x0b" would otherwise pass as a space, "\x00" stay.
    if problem := name_problem(str(payload.get("nom") or ""), "Le nom du territoire"):
        errors["nom"] = [problem]
    elif not nom or len(nom) > 120:
        errors["nom"] = ["Le nom est requis (120 caractères au plus)."]
    elif session.scalar(select(Territoire.id).where(Territoire.nom == nom, Territoire.id != territoire.id)) is not None:
        errors["nom"] = [f"Un autre territoire s'appelle déjà « {nom} »."]
    low = _count(payload, "mesures_min", "Le minimum de mesures", errors)
    high = _count(payload, "mesures_max", "Le maximum de mesures", errors)
    if low is not None and high is not None and low > high:
        errors["mesures_max"] = [f"Le maximum ({high}) ne peut être inférieur au minimum ({low})."]
    year = _count(payload, "annee_indicative", "L'année", errors)
    if year is not None and not 2000 <= year <= 2100:
        errors["annee_indicative"] = ["L'année doit être comprise entre 2000 et 2100."]
    counts = {code: _count(payload, f"indicatif_{code}", f"Le nombre indicatif ({label})", errors) for code, label in INDICATIVE_TYPES.items()}
    total = sum(n for n in counts.values() if n is not None)
    # ASLL §11: the counts per type are re-evaluated each year "dans la fourchette d'un mini et d'un maxi".
    if any(n is not None for n in counts.values()) and "mesures_max" not in errors:
        if low is not None and total < low:
            errors["indicatif_total"] = [f"Les nombres indicatifs totalisent {total} mesures, moins que le minimum du lot ({low}) (CCTP ASLL §11)."]
        elif high is not None and total > high:
            errors["indicatif_total"] = [f"Les nombres indicatifs totalisent {total} mesures, plus que le maximum du lot ({high}) (CCTP ASLL §11)."]
    zones = _zones(session, territoire, payload, errors)
    if errors:
        raise ValidationFailed("Le territoire n'est pas enregistré : corrigez les erreurs signalées.", errors)
    territoire.nom, territoire.mesures_min, territoire.mesures_max, territoire.annee_indicative = nom, low, high, year
    territoire.indicatifs = {code: n for code, n in counts.items() if n is not None}
    _replace_zones(session, territoire, zones)
    territoire.updated_at, territoire.updated_by_id = now, user.id
    session.add(Event(user=user, action="territoire_modifie", at=now, detail={"territoire": territoire.code}))
    session.commit()
    return territoire


def _replace_zones(
    session: Session, territoire: Territoire, zones: list[tuple[str, str]], adresses: Mapping[tuple[str, str], str | None] | None = None,
    cams: Mapping[str, str] | None = None,
) -> None:
    """Replace the zones: the old ones go first, since a zone kept is unique (nature, name). A zone
    kept keeps its address (a RAST's) unless ``adresses`` gives one, and its CAMS (a PMS's) unless
    ``cams`` gives one (the file's links, by PMS or commune name); a link to a CAMS gone is dropped."""
    kept = {(z.nature, plain_place(z.nom)): z.adresse for z in territoire.zones}
    links = {plain_place(z.nom): z.cams for z in territoire.zones if z.cams} | {plain_place(k): v for k, v in (cams or {}).items()}
    given = {(nature, plain_place(name)): a for (nature, name), a in (adresses or {}).items()}
    still = {plain_place(name): name for nature, name in zones if nature == "cams"}
    territoire.zones.clear()
    session.flush()
    territoire.zones.extend(
        TerritoireZone(
            nature=nature, nom=name, adresse=given.get((nature, plain_place(name)), kept.get((nature, plain_place(name)))),
            cams=still.get(plain_place(links.get(plain_place(name)) or "")) if nature in COMMUNE_ZONES else None,
        )
        for nature, name in zones
    )
    session.flush()



def attached_organisations(session: Session, territoire: Territoire) -> set[int]:
    """Return the ids of the organisations working on ``territoire``."""
    return set(session.scalars(select(OrganisationTerritoire.organisation_id).where(OrganisationTerritoire.territoire_id == territoire.id)))


def attached_users(session: Session, territoire: Territoire) -> set[int]:
    """Return the ids of the users attached to ``territoire``."""
    return set(session.scalars(select(UserTerritoire.user_id).where(UserTerritoire.territoire_id == territoire.id)))


def scoped_users(session: Session) -> list[User]:
    """Return the active users whose reading is scoped by territory, by name."""
    return list(session.scalars(select(User).where(User.role.in_(SCOPED_ROLES), User.active.is_(True)).order_by(User.full_name, User.id)))


def set_attachments(
    session: Session, territoire: Territoire, *, user: User, organisation_ids: Iterable[int], user_ids: Iterable[int], now: dt.datetime
) -> None:
    """Replace the organisations and the users attached to ``territoire``."""
    orgs, users = set(organisation_ids), set(user_ids)
    known_orgs = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(orgs))))
    known_users = {u.id for u in scoped_users(session) if u.id in users}
    if orgs - known_orgs or users - known_users:
        raise TerritoireError("Rattachement refusé : une organisation inconnue, ou un compte qui n'est ni coordinateur, ni instructeur, ni archiviste.")
    session.execute(delete(OrganisationTerritoire).where(OrganisationTerritoire.territoire_id == territoire.id))
    session.execute(delete(UserTerritoire).where(UserTerritoire.territoire_id == territoire.id))
    session.add_all([OrganisationTerritoire(organisation_id=o, territoire_id=territoire.id) for o in sorted(orgs)])
    session.add_all([UserTerritoire(user_id=u, territoire_id=territoire.id) for u in sorted(users)])
    detail = {"territoire": territoire.code, "organisations": sorted(orgs), "comptes": sorted(users)}
    session.add(Event(user=user, action="territoire_rattachements", at=now, detail=detail))
    session.commit()


def attach(session: Session, account: User, codes: Iterable[str]) -> list[Territoire]:
    """Attach ``account`` (or, for a writer, their organisation) to the territories of ``codes``, in the caller's transaction."""
    found = list(session.scalars(select(Territoire).where(Territoire.code.in_(list(codes)))))
    missing = sorted(set(codes) - {t.code for t in found})
    if missing:
        raise TerritoireError(f"Territoire inconnu : {', '.join(missing)}.")
    if account.role not in SCOPED_ROLES and account.role != "redacteur":
        raise TerritoireError(f"Un compte {account.role_label} ne se rattache pas à un territoire.")
    for t in found:
        if account.role == "redacteur":
            session.merge(OrganisationTerritoire(organisation_id=account.organisation_id, territoire_id=t.id))
        else:
            session.merge(UserTerritoire(user_id=account.id, territoire_id=t.id))
    return found


def grants(session: Session) -> list[PorteeDepartement]:
    """Return every Département-wide grant, the latest first."""
    return list(session.scalars(select(PorteeDepartement).order_by(PorteeDepartement.accordee_le.desc(), PorteeDepartement.id.desc())))


def grant_departement(session: Session, svc: ArchiveServices, account: User, departement: str, *, by: User | None, now: dt.datetime) -> PorteeDepartement:
    """Grant ``account`` a Département-wide scope; recorded with who and when, logged in the audit trail."""
    if session.get(Departement, departement) is None:
        raise TerritoireError(f"Département inconnu : {departement}.")
    if account.role not in SCOPED_ROLES:
        raise TerritoireError(f"La portée départementale ne s'accorde qu'à un coordinateur, un instructeur ou un archiviste, pas à un compte {account.role_label}.")
    if session.scalar(select(PorteeDepartement.id).where(PorteeDepartement.user_id == account.id, PorteeDepartement.departement == departement)):
        raise TerritoireError(f"{account.email} a déjà la portée départementale ({departement}).")
    portee = PorteeDepartement(user_id=account.id, departement=departement, accordee_par_id=by.id if by else None, accordee_le=now)
    session.add(portee)
    session.flush()
    audit.log(session, now, "portee_accordee", key=svc.seal_key, user=by, compte=account.id, departement=departement, portee=portee.id)
    audit.commit(session, svc)
    return portee


def revoke_departement(session: Session, svc: ArchiveServices, portee: PorteeDepartement, *, by: User | None, now: dt.datetime) -> None:
    """Withdraw a Département-wide grant, logged in the audit trail."""
    audit.log(session, now, "portee_retiree", key=svc.seal_key, user=by, compte=portee.user_id, departement=portee.departement, portee=portee.id)
    session.delete(portee)
    audit.commit(session, svc)


def load(session: Session, data: Mapping[str, Any], *, now: dt.datetime) -> tuple[int, int]:
    """Load Départements and territories from shipped data: each is found by name or code, its zones
    replaced by the file's; attachments and grants are kept. Return (created, updated).

    The whole file is checked first (``checks.file_problems``): one problem, and nothing is loaded.
    """
    if problems := file_problems(data, session.scalars(select(Departement.nom))):
        raise TerritoireError(refusal(problems))
    for d in data.get("departements", []):
        row = session.get(Departement, d["nom"]) or Departement(nom=d["nom"])
        row.service_logement, row.service_logement_adresse = d.get("service_logement"), d.get("service_logement_adresse")
        session.add(row)
    session.flush()
    created = updated = 0
    for t in data.get("territoires", []):
        if t.get("nature") not in NATURES_TERRITOIRE:
            raise TerritoireError(f"Nature de territoire inconnue pour {t.get('code')} : {t.get('nature')}.")
        row = session.scalar(select(Territoire).where(Territoire.code == t["code"]))
        created, updated = (created + 1, updated) if row is None else (created, updated + 1)
        row = row or Territoire(code=t["code"])
        row.nature, row.nom, row.departement = t["nature"], t["nom"], t["departement"]
        row.mesures_min, row.mesures_max, row.annee_indicative = t.get("mesures_min"), t.get("mesures_max"), t.get("annee_indicative")
        row.indicatifs, row.updated_at = dict(t.get("indicatifs", {})), now
        session.add(row)
        # A zone is a name, or {"nom": …, "adresse": …} for a CAMS whose RAST has an address (ASLL §9.1).
        zones = [(n, z["nom"] if isinstance(z, dict) else z) for n, names in t.get("zones", {}).items() for z in names]
        adresses = {(n, z["nom"]): z.get("adresse") for n, names in t.get("zones", {}).items() for z in names if isinstance(z, dict)}
        # ASLL §11: each CAMS with its PMS and communes (``rattachement_cams``, checked above).
        cams = {member: name for name, members in t.get("rattachement_cams", {}).items() for member in members}
        _replace_zones(session, row, zones, adresses, cams)
    session.commit()
    return created, updated


@dataclass(frozen=True)
class Recipient:
    """Who receives a document: a service named by the territory, and the accounts known for it."""

    role: str
    nom: str
    comptes: tuple[str, ...] = ()
    adresse: str | None = None  # a service without an account: where the document is sent
    ids: tuple[int, ...] = ()  # the accounts of ``comptes``, told by a notification


def recipients_for(session: Session, doc: Document) -> list[Recipient]:
    """Return who receives ``doc``, resolved from its territory: the RAST and CAMS of the household's
    commune for an ASLL Installation (ASLL §8), the Service Logement DPDS for a Maintien (ASLL §8),
    the platform's coordinator for AML (AML §4, §7)."""
    mesure = doc.mesure
    family = mesure.type_mesure if mesure is not None else ("aml" if doc.kind in ("fiche_saisine", "bilan_aml", "contrat_tripartite") else None)
    territoire = territory_of(session, doc)
    # ASLL §10: the operator's annual bilan "est à adresser au Service Logement de la DPDS".
    if family == "asll_maintien" or doc.kind == "bilan_annuel_operateur":
        return _service_logement(session, territoire)
    if family == "asll_installation":
        rast = _cams_of(session, territoire, mesure.menage_commune if mesure is not None else None)
        # §9.1: the bilan may solicit an ASLL Maintien, whose "instruction et la gestion des demandes
        # sont réalisées par le Service Logement de la DPDS" (§8): the request reaches it too.
        if doc.kind == installation.KIND.name and installation.maintien_requested(doc.submitted_data or {}):
            return rast + _service_logement(session, territoire)
        return rast
    if territoire is None:
        return []
    if family == "aml":
        coordinators = session.scalars(
            select(User).join(UserTerritoire, UserTerritoire.user_id == User.id)
            .where(UserTerritoire.territoire_id == territoire.id, User.role == "coordinateur", User.active.is_(True))
            .order_by(User.full_name, User.id)
        ).all()
        names, ids = tuple(u.full_name for u in coordinators), tuple(u.id for u in coordinators)
        return [Recipient("Coordinateur Logement d'abord", f"Plateforme {territoire.nom}", names, ids=ids)]
    return []


def _service_logement(session: Session, territoire: Territoire | None) -> list[Recipient]:
    """The Service Logement of the DPDS of the territory's Département (ASLL §8, §9.2, §10), if it is named."""
    departement = session.get(Departement, territoire.departement) if territoire else _single_departement(session, "lot_asll")
    if departement is None or not departement.service_logement:
        return []
    return [Recipient("Service Logement", departement.service_logement, adresse=departement.service_logement_adresse)]


def _cams_of(session: Session, territoire: Territoire | None, commune: str | None) -> list[Recipient]:
    """The RAST of the CAMS of the household's commune (ASLL §9.1, §11), else of the measure's lot."""
    # ASLL §11 draws each lot as the "secteur géographique" of its Circonscriptions d'Action
    # Médico-Sociale, listed by their PMS (communes): the commune tells the CAMS, not the lot the
    # measure was filed under (an operator's only lot when the commune was not recognised).
    found = territory_of_commune(session, "lot_asll", commune)
    lot = session.get(Territoire, found) if found is not None else territoire
    if lot is None:
        return []
    places = [z for z in lot.zones if z.nature in COMMUNE_ZONES and commune and same_place(z.nom, commune)]
    where = f" – {', '.join(z.nom for z in places)}" if places else ""
    # The PMS's own CAMS when the territory's data names it (configurable, brief h19 point 4); else every CAMS of the lot.
    linked = {z.cams for z in places if z.cams}
    cams = [z for z in sorted(lot.zones, key=lambda z: z.nom) if z.nature == "cams"]
    own = [z for z in cams if z.nom in linked]
    return [Recipient("RAST de la CAMS", f"{z.nom}{where}", adresse=z.adresse) for z in own or cams]


def _single_departement(session: Session, nature: str) -> Departement | None:
    """The Département of the territories of ``nature`` when they are all in one (the Maintien's service)."""
    names = set(session.scalars(select(Territoire.departement).where(Territoire.nature == nature)))
    return session.get(Departement, names.pop()) if len(names) == 1 else None
