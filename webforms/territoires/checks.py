"""The checks of a territories file before anything of it is loaded (issue 15, hostile inputs).

A name with a control character (``"\\u0000"``, ``"\\u000b"``) or of an absurd length was loaded as
typed, while the same name typed on the page is refused (``errors.name_problem``). Every value of
the file is checked here first, with the limits of its column; a file with a problem loads
nothing, and the French message names the Département or territory (number and code), the field
and the problem, for each of the first problems found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import ValidationError, validate

from webforms.errors import name_problem
from webforms.models import NATURES_TERRITOIRE, NATURES_ZONE

# Far above any deployment (a Département has a few platforms and lots; a lot a few dozen
# communes), far below what would slow a load down or fill the pages.
MAX_DEPARTEMENTS = 200
MAX_TERRITOIRES = 1000
MAX_ZONES = 2000  # per territory
LARGEST_COUNT = 100_000  # as on the page (ASLL §11: at most 230 measures a year per lot)
SHOWN = 10  # problems named in the message; the rest counted


def _text(value: Any, where: str, field: str, longest: int, *, required: bool = True) -> str | None:
    """Return why ``value`` cannot be the text of ``field`` (None: it can)."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        return f"{where}, champ « {field} » : un texte est attendu."
    if problem := name_problem(value, f"{where}, champ « {field} »,"):
        return problem.split(" : retirez-le")[0] + "."
    if required and not value.strip():
        return f"{where}, champ « {field} » : vide."
    if len(value) > longest:
        return f"{where}, champ « {field} » : {len(value)} caractères, {longest} au plus."
    return None


_EMAIL = validate.Email()


def _address(value: Any, where: str, field: str) -> str | None:
    """Return why ``value`` cannot be the e-mail address of ``field`` (None: it can, or it is absent)."""
    if value is None:
        return None
    if problem := _text(value, where, field, 254):
        return problem
    try:
        _EMAIL(value)
    except ValidationError:
        return f"{where}, champ « {field} » : adresse électronique invalide."
    return None


def address_problem(value: str, label: str) -> str | None:
    """Return why ``value``, typed on the territory page, cannot be the e-mail address ``label`` (None: it can)."""
    if problem := name_problem(value, label):
        return problem
    if len(value) > 254:
        return f"{label} : {len(value)} caractères, 254 au plus."
    try:
        _EMAIL(value)
    except ValidationError:
        return f"{label} : « {value[:80]} » n'est pas une adresse électronique valide (exemple : rast.faucigny@exemple.fr)."
    return None


def _count(value: Any, where: str, field: str) -> str | None:
    """Return why ``value`` cannot be a whole number of the file (None: it can, or it is absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LARGEST_COUNT:
        return f"{where}, champ « {field} » : un nombre entier de 0 à {LARGEST_COUNT} est attendu."
    return None


def _departement(d: Any, n: int) -> Iterable[str | None]:
    where = f"Département n° {n}"
    if not isinstance(d, Mapping):
        yield f"{where} : un objet est attendu."
        return
    yield _text(d.get("nom"), where, "nom", 80)
    yield _text(d.get("service_logement"), where, "service_logement", 200, required=False)
    yield _address(d.get("service_logement_adresse"), where, "service_logement_adresse")


def _territoire(t: Any, n: int, departements: set[str]) -> Iterable[str | None]:
    if not isinstance(t, Mapping):
        yield f"Territoire n° {n} : un objet est attendu."
        return
    code = t.get("code")
    where = f"Territoire n° {n}" + (f" (code « {code[:40]} »)" if isinstance(code, str) and name_problem(code, "") is None else "")
    yield _text(code, where, "code", 40)
    yield _text(t.get("nom"), where, "nom", 120)
    if t.get("nature") not in NATURES_TERRITOIRE:
        yield f"{where}, champ « nature » : {', '.join(NATURES_TERRITOIRE)} attendu."
    departement = t.get("departement")
    yield _text(departement, where, "departement", 80) or (
        None if departement in departements else f"{where}, champ « departement » : Département inconnu (absent du fichier et de la base)."
    )
    for field in ("mesures_min", "mesures_max", "annee_indicative"):
        yield _count(t.get(field), where, field)
    indicatifs = t.get("indicatifs", {})
    if not isinstance(indicatifs, Mapping) or len(indicatifs) > 20:
        yield f"{where}, champ « indicatifs » : un objet d'au plus 20 types de mesure est attendu."
    else:
        for key, value in indicatifs.items():
            yield _text(key, where, "indicatifs", 40) or _count(value, where, f"indicatifs.{key}")
    yield from _zones(t.get("zones", {}), where)
    yield from _cams_links(t.get("rattachement_cams", {}), t.get("zones", {}), where)


def _zones(zones: Any, where: str) -> Iterable[str | None]:
    if not isinstance(zones, Mapping) or any(nature not in NATURES_ZONE for nature in zones):
        yield f"{where}, champ « zones » : un objet dont les clés sont {', '.join(NATURES_ZONE)} est attendu."
        return
    if sum(len(names) if isinstance(names, list) else 0 for names in zones.values()) > MAX_ZONES:
        yield f"{where}, champ « zones » : plus de {MAX_ZONES} zones."
        return
    for nature, names in zones.items():
        if not isinstance(names, list):
            yield f"{where}, champ « zones.{nature} » : une liste de noms est attendue."
            continue
        for i, zone in enumerate(names, 1):
            # A zone is a name, or {"nom": …, "adresse": …} for a CAMS whose RAST has an address (ASLL §9.1).
            if isinstance(zone, Mapping):
                yield _text(zone.get("nom"), where, f"zones.{nature} n° {i}, nom", 150)
                yield _address(zone.get("adresse"), where, f"zones.{nature} n° {i}, adresse")
                if unknown := set(zone) - {"nom", "adresse"}:
                    yield f"{where}, champ « zones.{nature} n° {i} » : clés inconnues ({', '.join(sorted(map(str, unknown)))[:80]})."
            else:
                yield _text(zone, where, f"zones.{nature} n° {i}", 150)


def _zone_names(zones: Any, natures: tuple[str, ...]) -> set[str]:
    if not isinstance(zones, Mapping):
        return set()
    names = [z for n in natures if isinstance(zones.get(n), list) for z in zones[n]]
    return {str(z.get("nom")) if isinstance(z, Mapping) else str(z) for z in names}


def _cams_links(links: Any, zones: Any, where: str) -> Iterable[str | None]:
    """``rattachement_cams``: each CAMS of the territory with its PMS and communes (ASLL §11), each in one CAMS."""
    field = "rattachement_cams"
    if not isinstance(links, Mapping) or not all(isinstance(v, list) for v in links.values()):
        yield f"{where}, champ « {field} » : un objet est attendu, chaque CAMS avec la liste de ses PMS ou communes."
        return
    cams, places, seen = _zone_names(zones, ("cams",)), _zone_names(zones, ("pms", "commune")), set()
    for name, members in links.items():
        if name not in cams:
            yield f"{where}, champ « {field} » : « {str(name)[:80]} » n'est pas une CAMS de ce territoire."
        for member in members:
            if not isinstance(member, str) or member not in places:
                yield f"{where}, champ « {field}.{str(name)[:80]} » : « {str(member)[:80]} » n'est ni un PMS ni une commune de ce territoire."
            elif member in seen:
                yield f"{where}, champ « {field} » : « {member[:80]} » est rattaché à deux CAMS."
            else:
                seen.add(member)


def file_problems(data: Any, known_departements: Iterable[str] = ()) -> list[str]:
    """Return every problem of a territories file, in French (empty: it may be loaded)."""
    if not isinstance(data, Mapping):
        return ["Le fichier doit contenir un objet JSON avec « departements » et « territoires »."]
    departements, territoires = data.get("departements", []), data.get("territoires", [])
    if not isinstance(departements, list) or len(departements) > MAX_DEPARTEMENTS:
        return [f"« departements » doit être une liste d'au plus {MAX_DEPARTEMENTS} Départements."]
    if not isinstance(territoires, list) or len(territoires) > MAX_TERRITOIRES:
        return [f"« territoires » doit être une liste d'au plus {MAX_TERRITOIRES} territoires."]
    problems = [p for n, d in enumerate(departements, 1) for p in _departement(d, n)]
    names = set(known_departements) | {d.get("nom") for d in departements if isinstance(d, Mapping) and isinstance(d.get("nom"), str)}
    problems += [p for n, t in enumerate(territoires, 1) for p in _territoire(t, n, names)]
    return [p for p in problems if p]


def refusal(problems: list[str]) -> str:
    """Return the French message of a refused file: its first problems, the others counted."""
    more = len(problems) - SHOWN
    listed = "\n".join(f"- {p}" for p in problems[:SHOWN])
    tail = f"\n… et {more} autre{'s' if more > 1 else ''} problème{'s' if more > 1 else ''}." if more > 0 else ""
    return f"Rien n'a été chargé : {len(problems)} problème{'s' if len(problems) > 1 else ''} dans le fichier.\n{listed}{tail}"
