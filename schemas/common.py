"""Pieces shared by several kinds: declared once here, used by each kind module."""

from __future__ import annotations

import datetime as dt

from schemas.fields import Date, Phone, Section, Text

EPCI_PLATFORMS = {
    # AML §1: the EPCI of the bassin minier co-pilot the two Logement d'abord platforms.
    "CALL": "Lens-Hénin",
    "CAHC": "Lens-Hénin",
    "CABBALR": "Artois",
}

EPCI_CHOICES = [
    ("CALL", "CALL – Communauté d'agglomération de Lens-Liévin"),
    ("CAHC", "CAHC – Communauté d'agglomération d'Hénin-Carvin"),
    ("CABBALR", "CABBALR – Communauté d'agglomération de Béthune-Bruay, Artois-Lys Romane"),
]

MESURE_TYPES = [
    ("aml", "AML Logement d'abord"),
    ("asll_installation", "ASLL Installation"),
    ("asll_maintien", "ASLL Maintien"),
]

# ASLL §1 and §9: the other measures a household can be referred to.
AUTRES_MESURES = [
    ("MASP", "MASP – Mesure d'accompagnement social personnalisé"),
    ("MAJ", "MAJ – Mesure d'accompagnement judiciaire"),
    ("AEB", "AEB – Action éducative budgétaire"),
    ("AESF", "AESF – Accompagnement en économie sociale et familiale"),
]


class PersonneSchema(Section):
    """A named adult of the household."""

    nom = Text("Nom", required=True, max_length=100)
    prenom = Text("Prénom", required=True, max_length=100)
    date_naissance = Date("Date de naissance", required=True)


class ContactSchema(Section):
    """A professional: name, role, telephone."""

    nom = Text("Nom et prénom", required=True, max_length=150)
    fonction = Text("Fonction", max_length=150)
    structure = Text("Structure", max_length=200)
    telephone = Phone("Téléphone")


def age_on(birth: dt.date, on: dt.date) -> int:
    """Return the age in whole years on a given day (a birthday counts from that day)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
