"""The recipients' data of a territory, edited by an administrator (issue 13, brief h19 points 4 and 6).

The sources give no address: the RAST of each CAMS (ASLL §9.1) and the Service Logement of the
DPDS (§8, §9.2, §10) receive at the addresses a deployment sets, and each PMS or commune sends to
the CAMS it is linked to (§11: a lot is the "secteur géographique" of its CAMS, listed by their
PMS). They ship in the territories file; here the administrator changes them on the territory's
page. Each address is checked like the file's (``checks.address_problem``); one refusal and
nothing changes; every change is recorded (``territoire_destinataires``: what, before, after) and
used at once by ``services.recipients_for``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from webforms.errors import ValidationFailed
from webforms.models import Departement, Event, Territoire, TerritoireZone, User
from webforms.territoires.checks import address_problem
from webforms.territoires.scope import COMMUNE_ZONES

SERVICE_FIELD = "service_logement_adresse"


def address_field(zone: TerritoireZone) -> str:
    """The form field of a CAMS's RAST address."""
    return f"adresse_{zone.id}"


def cams_field(zone: TerritoireZone) -> str:
    """The form field of a PMS's or commune's CAMS."""
    return f"cams_{zone.id}"


def cams_zones(territoire: Territoire) -> list[TerritoireZone]:
    """The territory's CAMS, by name."""
    return sorted((z for z in territoire.zones if z.nature == "cams"), key=lambda z: z.nom)


def place_zones(territoire: Territoire) -> list[TerritoireZone]:
    """The territory's PMS and communes, by name."""
    return sorted((z for z in territoire.zones if z.nature in COMMUNE_ZONES), key=lambda z: z.nom)


def name_field(zone: TerritoireZone) -> str:
    """The hidden field naming the zone a row of the form was shown for (its id changes when the territory is saved)."""
    return f"nom_{zone.id}"


# A territory's save replaces its zones (``services._replace_zones``: new ids): a recipients' form
# shown before it names zones that are gone. Nothing of it is written (brief g14, point 4).
STALE = (
    "La page a changé depuis son affichage : le territoire a été enregistré entre-temps et ses zones ont été renumérotées. "
    "Rien n'a été enregistré ; rechargez la page, ou vérifiez les valeurs reportées ci-dessous et enregistrez de nouveau."
)
_ZONE_KEY = re.compile(r"(adresse|cams|nom)_(\d+)")


def _posted_zones(payload: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for key in payload if (m := _ZONE_KEY.fullmatch(key))]


def stale(territoire: Territoire, payload: Mapping[str, Any]) -> bool:
    """Does the posted form name a zone the territory no longer has (or not of that nature)? Then it was shown before a save."""
    cams, places = {z.id for z in cams_zones(territoire)}, {z.id for z in place_zones(territoire)}
    return any(i not in (cams if what == "adresse" else places if what == "cams" else cams | places) for what, i in _posted_zones(payload))


def carried_over(territoire: Territoire, payload: Mapping[str, Any]) -> dict[str, str]:
    """The form as it stands now, with what a stale form typed carried to the zones of the same name (nothing typed lost)."""
    by_name = {(z.nature == "cams", z.nom): z for z in territoire.zones}
    out = {address_field(z): z.adresse or "" for z in cams_zones(territoire)} | {cams_field(z): z.cams or "" for z in place_zones(territoire)}
    if SERVICE_FIELD in payload:
        out[SERVICE_FIELD] = str(payload[SERVICE_FIELD])
    for what, old in _posted_zones(payload):
        zone = by_name.get((what == "adresse", str(payload.get(f"nom_{old}", ""))))
        if what != "nom" and zone is not None:
            out[address_field(zone) if what == "adresse" else cams_field(zone)] = str(payload[f"{what}_{old}"])
    return out


def _typed(payload: Mapping[str, Any], name: str) -> str | None:
    """The value typed in ``name``, stripped; None when the field was not posted (left as it is)."""
    value = payload.get(name)
    return None if value is None else str(value).strip()


def update_recipients(session: Session, territoire: Territoire, *, user: User, payload: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """Set the RAST addresses, the PMS → CAMS links and the Département's Service Logement address.

    An empty address clears it (nothing is sent there); an empty CAMS sends to every CAMS of the
    territory. Return the changes recorded (empty: nothing changed).
    """
    if stale(territoire, payload):
        raise ValidationFailed(STALE, {})
    errors: dict[str, list[str]] = {}
    changes: list[dict[str, Any]] = []
    departement = session.get(Departement, territoire.departement)
    service = _typed(payload, SERVICE_FIELD) if departement is not None else None
    if departement is not None and service:
        label = f"Adresse du {departement.service_logement or 'Service Logement de la DPDS'} ({departement.nom})"
        if problem := address_problem(service, label):
            errors[SERVICE_FIELD] = [problem]
    addresses: dict[int, str | None] = {}
    for zone in cams_zones(territoire):
        typed = _typed(payload, address_field(zone))
        if typed is None:
            continue
        if typed and (problem := address_problem(typed, f"Adresse du RAST de la CAMS {zone.nom}")):
            errors[address_field(zone)] = [problem]
        addresses[zone.id] = typed or None
    names = {z.nom for z in cams_zones(territoire)}
    links: dict[int, str | None] = {}
    for zone in place_zones(territoire):
        typed = _typed(payload, cams_field(zone))
        if typed is None:
            continue
        if typed and typed not in names:
            errors[cams_field(zone)] = [f"{zone.nom} : « {typed[:80]} » n'est pas une CAMS de « {territoire.nom} »."]
        links[zone.id] = typed or None
    if errors:
        raise ValidationFailed("Les destinataires ne sont pas enregistrés : corrigez les erreurs signalées.", errors)
    if departement is not None and service is not None and (service or None) != departement.service_logement_adresse:
        changes.append({"champ": f"Service Logement ({departement.nom})", "avant": departement.service_logement_adresse, "apres": service or None})
        departement.service_logement_adresse = service or None
    for zone in territoire.zones:
        if zone.id in addresses and addresses[zone.id] != zone.adresse:
            changes.append({"champ": f"RAST de la CAMS {zone.nom}", "avant": zone.adresse, "apres": addresses[zone.id]})
            zone.adresse = addresses[zone.id]
        if zone.id in links and links[zone.id] != zone.cams:
            changes.append({"champ": f"CAMS de {zone.nom}", "avant": zone.cams, "apres": links[zone.id]})
            zone.cams = links[zone.id]
    if changes:
        territoire.updated_at, territoire.updated_by_id = now, user.id
        session.add(Event(user=user, action="territoire_destinataires", at=now, detail={"territoire": territoire.code, "changements": changes}))
    session.commit()
    return changes
