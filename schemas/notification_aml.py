"""Lettre de notification de la décision sur un dossier de candidature (AML §5, §6d).

"Ces projets seront soumis à la délibération de la Commission Permanente du 4 novembre 2019. Le
porteur de projet sera informé par courrier des suites données à son dossier. Une convention de
financement avec la Direction Départementale de la Cohésion Sociale viendra préciser les
modalités de mise en œuvre et d'évaluation du projet ainsi que de versement de la subvention"
(AML §6d). Never typed: the service fills it from the decision (``candidatures/decision.py``)
and submits it, so that it is numbered, frozen, rendered by a worker and archivable like every
submitted document. Its Word and PDF come from its layout; a replacement template goes through
the templates' administration (issue 18).
"""

from __future__ import annotations

from typing import Any

from schemas.base.association import AssociationSchema, MesureAccordeeSchema, measures_table, written_by_the_service
from schemas.base.fields import Choice, Date, Group, LongText, Rows, Section, Text
from schemas.base.kind import Kind
from schemas.base.layout import Box, Layout, Part, Prose, Signatures, fields

# An irrecevable dossier is informed too, of its reason (AML §6a, §6b, §6d).
DECISIONS = [("retenu", "Projet retenu"), ("non_retenu", "Projet non retenu"), ("irrecevable", "Dossier irrecevable, non présenté au jury")]

# What follows a retained project (AML §6d, §7).
SUITE_RETENU = (
    "Une convention de financement avec la Direction Départementale de la Cohésion Sociale précisera les modalités "
    "de mise en œuvre et d'évaluation du projet et de versement de la subvention (AML §6d, §7)."
)


class DecisionSchema(Section):
    dossier = Text("Dossier de candidature", required=True, max_length=40)
    appel = Text("Appel à candidature", required=True, max_length=300)
    date_jury = Date("Jury de sélection du", required=True)
    date_commission = Date("Délibération de la Commission Permanente du", required=True)
    decision = Choice("Décision", DECISIONS, required=True)


class NotificationSchema(Section):
    destinataire = Group(AssociationSchema, "Destinataire")
    decision = Group(DecisionSchema, "Décision")
    mesures = Rows(MesureAccordeeSchema, "Mesures accordées par territoire (AML §5)", row_label="Territoire", add_label="Ajouter un territoire")
    suite = LongText("Suite donnée", max_length=2000)
    raisons = LongText("Raisons du jury", max_length=2000)
    motif = LongText("Motif de l'irrecevabilité (AML §6a, §6b)", max_length=2100)


EXAMPLE: dict[str, Any] = {
    "destinataire": {"association": "Association Habitat Solidaire", "adresse": "12 rue des Écoles, 62800 Liévin", "representant": "Jean Petit, Président"},
    "decision": {
        "dossier": "CA-2019-000001",
        "appel": "Appel à candidature « Aide à la Médiation Locative » – Logement d'abord (Pas-de-Calais, 2019)",
        "date_jury": "2019-09-25",
        "date_commission": "2019-11-04",
        "decision": "retenu",
    },
    "mesures": [{"territoire": "Artois", "nombre": 4, "montant": "20000.00"}, {"territoire": "Lens-Hénin", "nombre": 6, "montant": "30000.00"}],
    "suite": SUITE_RETENU,
    "raisons": None,
}

KIND = Kind(
    name="notification_aml",
    title="Notification de la décision – Appel à candidature AML Logement d'abord",
    schema=NotificationSchema,
    docx_template="notification_aml.docx",
    html_template="notification_aml.html",
    issuing_body="Département du Pas-de-Calais – Direction du Développement des Solidarités",
    source="Appel à candidature AML Logement d'abord, §5 et §6d",
    reference_prefix="NA",
    example=EXAMPLE,
    **written_by_the_service("destinataire", "L'association candidate", ("Mesures accordées (total)", "Montant accordé (total)")),
    layout=Layout(
        sections=(
            Part((fields("destinataire.association", "destinataire.adresse", "destinataire.representant"),), path="destinataire"),
            Part((fields("decision.dossier", "decision.appel", "decision.date_jury", "decision.date_commission", "decision.decision"),), path="decision"),
            Part(
                (measures_table("Aucune mesure accordée."),),
                path="mesures",
                when="mesures",
            ),
            Part((Prose("suite", bare=True),), path="suite", when="suite"),
            Part((Prose("raisons", bare=True),), path="raisons", when="raisons"),
            Part((Prose("motif", bare=True),), path="motif", when="motif"),
        ),
        signatures=Signatures("Signature", (Box("Pour le Président du Conseil départemental"),), (100,)),
    ),
)
