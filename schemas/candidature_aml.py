"""Dossier de candidature à un appel AML Logement d'abord (AML §5, §6; DESIGN §2.2).

The dossier belongs to a call (configuration: territories and their measure counts, amount per
measure, deadline). What depends on the call is checked by ``webforms.candidatures.services``;
this schema holds every rule the dossier carries on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from marshmallow import ValidationError, validates_schema

from schemas.base.fields import (
    Bool,
    Choice,
    Date,
    Group,
    Integer,
    LongText,
    Money,
    MultiChoice,
    Quantity,
    Rows,
    Section,
    Text,
    euros,
    to_fill,
)
from schemas.base.formats import Email, Phone, Siret, Time
from schemas.base.kind import Annex, AttachmentRule, CallForm, Kind, Retention
from schemas.base.names import Name

# Rules whose only failure is a choice not made yet: listed as "to fill", not as errors, until tried (issue 16, point 2).
NOT_ELIGIBLE = to_fill("Seuls les organismes exerçant déjà des mesures d'AML au titre du FSL sur ces territoires peuvent candidater (AML §6a).")
NO_MESURE = to_fill("Sollicitez au moins une mesure (AML §5).")

# AML §6a: "A minima, il est demandé de s'interroger sur la couverture des besoins suivants".
BESOINS = [
    ("acces_droits", "Accès aux droits"),
    ("sante", "Accès à la santé"),
    ("vie_quotidienne", "Vie quotidienne"),
    ("insertion", "Insertion sociale et professionnelle"),
    ("parentalite", "Parentalité"),
]

JOURS = [
    ("lundi", "Lundi"),
    ("mardi", "Mardi"),
    ("mercredi", "Mercredi"),
    ("jeudi", "Jeudi"),
    ("vendredi", "Vendredi"),
    ("samedi", "Samedi"),
    ("dimanche", "Dimanche"),
]



class PorteurSchema(Section):
    raison_sociale = Name("Raison sociale", required=True, max_length=200)
    siret = Siret("SIRET", required=True)
    adresse = Text("Adresse du siège", required=True, max_length=300)
    representant_nom = Name("Représentant légal (nom et prénom)", required=True, max_length=150)
    representant_qualite = Text("Qualité du représentant légal", required=True, max_length=150, placeholder="Président")
    contact_nom = Name("Personne à contacter", required=True, max_length=150)
    contact_telephone = Phone("Téléphone", required=True)
    contact_email = Email("Adresse électronique", required=True)
    eligibilite = Bool(
        "L'organisme exerce déjà des mesures d'Aide à la Médiation Locative au titre du FSL sur ces territoires",
        help="Critère d'éligibilité (AML §6a).",
    )

    @validates_schema(skip_on_field_errors=False)
    def _eligible(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if not data.get("eligibilite"):
            # An unticked box: still to tick until the user tries to move on or to deposit (issue 16, point 2).
            raise ValidationError(NOT_ELIGIBLE, "eligibilite")


class MesuresTerritoireSchema(Section):
    territoire = Text("Territoire", required=True, max_length=100)
    nombre = Integer("Mesures sollicitées", required=True, min=0, max=100000)


class ProjetSchema(Section):
    besoins_non_couverts = LongText("Besoins non couverts identifiés sur le territoire", required=True)
    reponse_aml = LongText(
        "En quoi l'AML Logement d'abord y répond",
        required=True,
        help="Au regard des principes du Logement d'abord : nouvelles modalités de travail et de partenariat, changement de paradigme pour les équipes (AML §6a).",
    )


class HoraireSchema(Section):
    jour = Choice("Jour", JOURS, required=True)
    debut = Time("De", required=True, placeholder="08:30")
    fin = Time("À", required=True, placeholder="18:00")

    @validates_schema(skip_on_field_errors=False)
    def _ordre(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("debut") and data.get("fin") and data["fin"] <= data["debut"]:
            raise ValidationError("L'heure de fin doit suivre l'heure de début.", "fin")


class FonctionnementSchema(Section):
    vision = LongText("Vision de l'accompagnement et mise en œuvre opérationnelle", required=True)
    modularite = LongText("Modularité de l'accompagnement", required=True)
    place_usager = LongText("Place de l'usager", required=True)
    horaires = Rows(
        HoraireSchema,
        "Disponibilité des référents (horaires)",
        row_label="Plage horaire",
        add_label="Ajouter une plage horaire",
        min=1,
        min_error="Indiquez au moins une plage horaire des référents (AML §6a).",
        help="Une ligne par plage ; l'amplitude hebdomadaire est calculée. Un fonctionnement très souple est attendu (AML §6a).",
        initial=1,
    )


class PartenaireSchema(Section):
    nom = Name("Partenaire", required=True, max_length=200)
    type = Text("Type de structure", required=True, max_length=100)
    domaines = MultiChoice("Besoins couverts", BESOINS)
    statut = Choice("Partenariat", [("existant", "Existant"), ("identifie", "Identifié")], required=True)
    implication = Text("Implication dans le projet", required=True, max_length=500)


class PartenariatSchema(Section):
    partenaires = Rows(
        PartenaireSchema,
        "Partenaires",
        row_label="Partenaire",
        add_label="Ajouter un partenaire",
        min=1,
        min_error="Indiquez au moins un partenaire (AML §6a).",
        initial=1,
    )
    ancrage = LongText("Ancrage territorial de la structure", required=True)


class MembreEquipeSchema(Section):
    poste = Text("Poste", required=True, max_length=150)
    competences = Text("Compétences et diplôme", required=True, max_length=300)
    etp = Quantity(
        "ETP",
        required=True,
        min_exclusive=Decimal(0),
        max=Decimal(1),
        range_error="L'ETP d'une personne est compris entre 0 (exclu) et 1.",
    )
    statut = Choice("Interne ou externe", [("interne", "Interne"), ("externe", "Externe")], required=True)
    besoins = MultiChoice("Besoins couverts", BESOINS)


class RecrutementSchema(Section):
    poste = Text("Poste à recruter", required=True, max_length=150)
    date_prevue = Date("Échéance du recrutement", required=True)


class MoyensSchema(Section):
    equipe = Rows(
        MembreEquipeSchema,
        "Équipe",
        row_label="Membre de l'équipe",
        add_label="Ajouter un membre de l'équipe",
        min=1,
        min_error="Décrivez au moins un membre de l'équipe (AML §6a).",
        initial=1,
    )
    recrutements = Rows(
        RecrutementSchema,
        "Recrutements prévus",
        row_label="Recrutement",
        add_label="Ajouter un recrutement",
        help="Chaque recrutement appelle sa fiche de poste, à joindre au dossier (AML §6b).",
    )
    formations = LongText("Formations envisagées (à court ou moyen terme)", required=True)
    pair_aidance = LongText("Projet de pair-aidance", help="Son intégration serait appréciée (AML §6a).")


class LigneBudgetSchema(Section):
    libelle = Text("Libellé", required=True, max_length=200)
    montant = Money("Montant", required=True)


class BudgetSchema(Section):
    charges = Rows(LigneBudgetSchema, "Charges", row_label="Charge", add_label="Ajouter une charge", min=1, min_error="Indiquez au moins une charge.", initial=1)
    produits = Rows(LigneBudgetSchema, "Produits", row_label="Produit", add_label="Ajouter un produit", min=1, min_error="Indiquez au moins un produit.", initial=1)
    subvention_ddcs = Money("Subvention sollicitée auprès de la DDCS", required=True, help="Elle figure aussi parmi les produits (AML §6b).")
    montant_par_mesure = Money("Financement par mesure fixé par l'appel", required=True, readonly=True, help="Repris de l'appel (AML §5) ; il ne se modifie pas ici.")

    @validates_schema(skip_on_field_errors=False)
    def _equilibre(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if "charges" not in data or "produits" not in data:
            return
        charges, produits = _total(data["charges"]), _total(data["produits"])
        errors: dict[str, list[str]] = {}
        if charges != produits:
            errors["_schema"] = [f"Le budget n'est pas équilibré : charges {euros(charges)}, produits {euros(produits)} (écart {euros(abs(charges - produits))})."]
        subvention = data.get("subvention_ddcs")
        if subvention is not None and subvention > produits:
            errors["subvention_ddcs"] = ["La subvention sollicitée dépasse le total des produits : ajoutez-la parmi les produits."]
        if errors:
            raise ValidationError(errors)


def _total(rows: Any) -> Decimal:
    return sum((r.get("montant") or Decimal(0) for r in rows or [] if isinstance(r, Mapping)), Decimal("0.00"))


def _number(value: Decimal) -> str:
    return format_decimal(value, "#,##0.##", locale="fr_FR")


class CandidatureSchema(Section):
    porteur = Group(PorteurSchema, "Porteur du projet")
    mesures = Rows(
        MesuresTerritoireSchema,
        "Mesures sollicitées par territoire",
        row_label="Territoire",
        add_label="Ajouter un territoire",
        help="Au plus le nombre de mesures de l'appel pour chaque territoire ; au moins une au total (AML §1, §5).",
    )
    projet = Group(ProjetSchema, "Projet de territoire")
    fonctionnement = Group(FonctionnementSchema, "Fonctionnement envisagé")
    partenariat = Group(PartenariatSchema, "Partenariat")
    moyens = Group(MoyensSchema, "Moyens")
    budget = Group(BudgetSchema, "Budget prévisionnel")

    @validates_schema(skip_on_field_errors=False)
    def _total_mesures(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if "mesures" in data and sum((r.get("nombre") or 0) for r in data["mesures"] or [] if isinstance(r, Mapping)) < 1:
            raise ValidationError({"mesures": {"_schema": [NO_MESURE]}})


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """Totals, the weekly amplitude, the coverage of the five needs and the budget's coherence."""
    out: dict[str, Any] = {}
    mesures = sum((r.get("nombre") or 0) for r in data.get("mesures") or [] if isinstance(r, Mapping))
    out["total_mesures"] = mesures
    # Weekly amplitude: the time the referents can be reached, overlapping slots counted once.
    slots: dict[str, list[tuple[int, int]]] = {}
    for row in (data.get("fonctionnement") or {}).get("horaires") or []:
        if isinstance(row, Mapping) and row.get("jour") and row.get("debut") and row.get("fin") and row["fin"] > row["debut"]:
            slots.setdefault(row["jour"], []).append((_minutes(row["debut"]), _minutes(row["fin"])))
    total = 0
    days = []
    for jour, label in JOURS:
        covered, end = 0, -1
        for start, stop in sorted(slots.get(jour, [])):
            if stop > end:
                covered += stop - max(start, end)
                end = stop
        if covered:
            days.append(f"{label} {covered // 60} h {covered % 60:02d}")
        total += covered
    out["amplitude_hebdomadaire"] = f"{total // 60} h {total % 60:02d}" if total else ""
    out["jours_ouverts"] = len(days)
    # AML §6a: each of the five needs covered by someone of the team or by a partner.
    moyens, partenariat = data.get("moyens") or {}, data.get("partenariat") or {}
    coverage = []
    for code, label in BESOINS:
        team = [m.get("poste") for m in moyens.get("equipe") or [] if isinstance(m, Mapping) and code in (m.get("besoins") or [])]
        partners = [p.get("nom") for p in partenariat.get("partenaires") or [] if isinstance(p, Mapping) and code in (p.get("domaines") or [])]
        who = ", ".join(str(w) for w in [*team, *partners] if w)
        coverage.append({"besoin": label, "par": who or "Non couvert", "couvert": bool(who)})
    out["couverture_besoins"] = coverage
    out["besoins_non_couverts"] = [c["besoin"] for c in coverage if not c["couvert"]]
    etp = sum((m.get("etp") or Decimal(0) for m in moyens.get("equipe") or [] if isinstance(m, Mapping)), Decimal(0))
    # A quantity, not an amount (a Decimal would be printed in euros): "1,5".
    out["etp_total"] = _number(etp)
    budget = data.get("budget") or {}
    out["total_charges"] = _total(budget.get("charges"))
    out["total_produits"] = _total(budget.get("produits"))
    per_measure = budget.get("montant_par_mesure")
    expected = per_measure * mesures if per_measure is not None else None
    out["subvention_attendue"] = expected
    subvention = budget.get("subvention_ddcs")
    out["subvention_coherente"] = (subvention == expected) if expected is not None and subvention is not None else None
    return out


def alerts(data: Mapping[str, Any], derived: Mapping[str, Any]) -> list[str]:
    """An uncovered need (AML §6a) and a subsidy that does not match the measures (AML §5)."""
    out = []
    if derived.get("besoins_non_couverts"):
        out.append(
            f"Besoin{'s' if len(derived['besoins_non_couverts']) > 1 else ''} de l'AML §6a que ni l'équipe ni un partenaire ne couvre : "
            f"{', '.join(derived['besoins_non_couverts'])}."
        )
    if derived.get("subvention_coherente") is False:
        subvention = (data.get("budget") or {}).get("subvention_ddcs")
        out.append(
            f"La subvention sollicitée ({euros(subvention)}) ne correspond pas aux mesures sollicitées × financement par mesure "
            f"({derived['total_mesures']} × {euros((data.get('budget') or {}).get('montant_par_mesure'))} = {euros(derived['subvention_attendue'])}) (AML §5)."
        )
    return out


def summary(data: Mapping[str, Any]) -> str:
    """A short label for lists: the association."""
    return str((data.get("porteur") or {}).get("raison_sociale") or "")


def prefill_from_call(call: Mapping[str, Any], organisation_name: str) -> dict[str, Any]:
    """A new dossier's payload: the organisation, one line per territory of the call, its amount."""
    payload = {
        "porteur": {"raison_sociale": organisation_name},
        "mesures": [{"territoire": t["nom"], "nombre": None} for t in call["territoires"]],
    }
    return with_call_values(call, payload)


def with_call_values(call: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with what the call fixes: the amount per measure (AML §5).

    Applied at every save: the form shows it read-only, and an administrator's correction of
    the call reaches the drafts instead of leaving them with a value nobody can change.
    """
    out = dict(payload)
    budget = out.get("budget")
    # Shown in the form as a French amount ("5000,00"), as the user would type it.
    out["budget"] = {**(budget if isinstance(budget, Mapping) else {}), "montant_par_mesure": str(call["montant_par_mesure"]).replace(".", ",")}
    return out


def call_errors(call: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """What the call itself forbids, in marshmallow's layout (merged with the schema's errors)."""
    errors: dict[str, Any] = {}
    limits = {t["nom"]: int(t["mesures"]) for t in call["territoires"]}
    rows = data.get("mesures") if isinstance(data.get("mesures"), list) else []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            continue
        name = row.get("territoire")
        if not isinstance(name, str):
            continue  # the schema says what is wrong with it
        if name and name in seen:
            # One line per territory: two lines would each pass the territory's cap (AML §1, §5).
            errors.setdefault("mesures", {})[index] = {
                "territoire": [f"Le territoire {name} figure déjà à la ligne {seen[name] + 1} : une seule ligne par territoire."]
            }
            continue
        if name:
            seen[name] = index
        if name and name not in limits:
            errors.setdefault("mesures", {})[index] = {
                "territoire": [f"« {name} » n'est pas un territoire de l'appel ({', '.join(limits)})."]
            }
            continue
        number = _int(row.get("nombre"))
        if name and number is not None and number > limits[name]:
            errors.setdefault("mesures", {})[index] = {
                "nombre": [f"Au plus {limits[name]} mesures sur le territoire {name} (AML §1, §5)."]
            }
    amount = ((data.get("budget") or {}) if isinstance(data.get("budget"), Mapping) else {}).get("montant_par_mesure")
    if amount not in (None, "") and _decimal_text(amount) != _decimal_text(call["montant_par_mesure"]):
        errors.setdefault("budget", {})["montant_par_mesure"] = [
            f"L'appel fixe le financement à {euros(call['montant_par_mesure'])} par mesure (AML §5)."
        ]
    return errors


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _decimal_text(value: Any) -> str:
    try:
        return str(Decimal(str(value).replace(",", ".").replace(" ", "")).quantize(Decimal("0.01")))
    except InvalidOperation:
        return str(value)


EXAMPLE: dict[str, Any] = {
    "porteur": {
        "raison_sociale": "Association Habitat Solidaire",
        "siret": "73282932000074",
        "adresse": "12 rue des Écoles, 62800 Liévin",
        "representant_nom": "Jean Petit",
        "representant_qualite": "Président",
        "contact_nom": "Sophie Bernard",
        "contact_telephone": "03 21 44 00 00",
        "contact_email": "s.bernard@habitat-solidaire.example.fr",
        "eligibilite": True,
    },
    "mesures": [{"territoire": "Artois", "nombre": 4}, {"territoire": "Lens-Hénin", "nombre": 6}],
    "projet": {
        "besoins_non_couverts": "Familles monoparentales hébergées sans solution d'accès direct au logement ; jeunes sortant de l'ASE.",
        "reponse_aml": "Accès direct au logement en bail glissant avec un accompagnement global et modulable.",
    },
    "fonctionnement": {
        "vision": "Un référent unique, des visites à domicile, une coordination des intervenants.",
        "modularite": "Intensité adaptée : deux rencontres par semaine au début, puis selon les besoins.",
        "place_usager": "Le ménage fixe ses objectifs et participe à chaque bilan.",
        "horaires": [
            {"jour": "lundi", "debut": "08:30", "fin": "18:30"},
            {"jour": "mardi", "debut": "08:30", "fin": "18:30"},
            {"jour": "mercredi", "debut": "08:30", "fin": "18:30"},
            {"jour": "jeudi", "debut": "08:30", "fin": "20:00"},
            {"jour": "vendredi", "debut": "08:30", "fin": "17:00"},
            {"jour": "samedi", "debut": "09:00", "fin": "12:00"},
        ],
    },
    "partenariat": {
        "partenaires": [
            {"nom": "CCAS de Liévin", "type": "CCAS", "domaines": ["acces_droits"], "statut": "existant", "implication": "Ouverture des droits, aides facultatives."},
            {"nom": "Centre médico-psychologique de Lens", "type": "Santé", "domaines": ["sante"], "statut": "identifie", "implication": "Orientation et suivi en santé mentale."},
        ],
        "ancrage": "Présente sur le bassin minier depuis 1995, AML au titre du FSL depuis 2012.",
    },
    "moyens": {
        "equipe": [
            {"poste": "Conseillère en économie sociale et familiale", "competences": "DE CESF", "etp": "1", "statut": "interne", "besoins": ["vie_quotidienne", "acces_droits"]},
            {"poste": "Éducateur spécialisé", "competences": "DEES", "etp": "0,5", "statut": "interne", "besoins": ["insertion", "parentalite"]},
        ],
        "recrutements": [{"poste": "Travailleur pair", "date_prevue": "2019-11-01"}],
        "formations": "Formation au Logement d'abord et à la prévention des expulsions en 2020.",
        "pair_aidance": "Recrutement d'un travailleur pair à mi-temps.",
    },
    "budget": {
        "charges": [{"libelle": "Salaires et charges", "montant": "43000.00"}, {"libelle": "Frais de déplacement", "montant": "7000.00"}],
        "produits": [{"libelle": "Subvention DDCS (AML Logement d'abord)", "montant": "50000.00"}],
        "subvention_ddcs": "50000.00",
        "montant_par_mesure": "5000.00",
    },
}

KIND = Kind(
    name="candidature_aml",
    title="Dossier de candidature – AML Logement d'abord",
    schema=CandidatureSchema,
    docx_template="candidature_aml.docx",
    html_template="candidature_aml.html",
    issuing_body="Appel à candidature « Aide à la Médiation Locative » – Logement d'abord",
    source="Appel à candidature AML Logement d'abord, §5 et §6",
    reference_prefix="CA",
    example=EXAMPLE,
    recipients=("M. le Président du Conseil départemental du Pas-de-Calais – Direction du Développement des Solidarités",),
    recipient_roles=frozenset({"instructeur", "archiviste"}),
    derive=derive,
    derived_labels={
        "total_mesures": "Mesures sollicitées (total)",
        "amplitude_hebdomadaire": "Amplitude hebdomadaire de disponibilité des référents",
        "etp_total": "ETP total de l'équipe",
        "besoins_non_couverts": "Besoins de l'AML §6a non couverts",
        "total_charges": "Total des charges",
        "total_produits": "Total des produits",
        "subvention_attendue": "Mesures × financement par mesure",
        "subvention_coherente": "Subvention cohérente avec les mesures sollicitées",
    },
    summary=summary,
    summary_label="Porteur du projet",
    alerts=alerts,
    per_appel=True,
    call=CallForm(prefill=prefill_from_call, fixed=with_call_values, errors=call_errors),
    steps=True,
    # AML §6b: the letter the legal representative signs, and the organisation chart and budget
    # produced from the form (the fiche descriptive is the kind's own document).
    annexes=(
        Annex("courrier", "Courrier d'acte de candidature (à signer)", docx="candidature_courrier.docx", to_sign=True),
        Annex("organigramme", "Organigramme du service", html="candidature_organigramme.html"),
        Annex("budget", "Budget prévisionnel", html="candidature_budget.html"),
    ),
    standalone=False,  # a dossier answers a call: it is opened from the call's page
    # A subsidy file: kept ten years after the funded period, then offered to the Archives.
    retention=Retention(10, "transfert"),
    # AML §6b, in its order, which is also the order and numbering of the files of the complete
    # dossier: "Tout dossier incomplet sera rejeté."
    attachments=(
        AttachmentRule(
            "courrier",
            "Courrier d'acte de candidature signé par le représentant légal",
            formats=("pdf", "jpeg", "png"),
            help="Il indique le nombre de mesures sollicitées et porte engagement du porteur de projet (AML §6b).",
            filename="01-courrier-acte-de-candidature-signe",
        ),
        AttachmentRule(
            "deliberation",
            "Délibération du conseil d'administration autorisant la participation au projet",
            formats=("pdf", "jpeg", "png", "docx"),
            filename="02-deliberation-conseil-administration",
        ),
        AttachmentRule(
            "fiche_descriptive",
            "Fiche descriptive du projet",
            generated=True,
            help="Produite par le service depuis le formulaire.",
            filename="03-fiche-descriptive",
            produced_from="document",  # the dossier's own document, from the whole form
        ),
        AttachmentRule(
            "organigramme",
            "Organigramme du service (compétences et ETP)",
            generated=True,
            formats=("pdf", "jpeg", "png"),
            help="Produit depuis le tableau de l'équipe, ou déposé s'il existe déjà.",
            filename="04-organigramme",
            section="moyens",
        ),
        AttachmentRule(
            "budget",
            "Budget prévisionnel et montant de la subvention sollicitée",
            generated=True,
            help="Produit depuis le budget du formulaire.",
            filename="05-budget-previsionnel",
            section="budget",
        ),
        AttachmentRule(
            "fiches_poste",
            "Fiche de poste",
            formats=("pdf", "docx"),
            rows=lambda data: [str(r.get("poste") or "") for r in ((data.get("moyens") or {}).get("recrutements")) or []],
            help="Une par recrutement prévu (AML §6a, §6b).",
            filename="06-fiche-de-poste",
        ),
    ),
)
