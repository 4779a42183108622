"""The API's own request and response schemas (what is not a kind's): French messages throughout."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, validate
from marshmallow import fields as mf

from webforms.models import STATUTS_DOCUMENT

# Identifiers are PostgreSQL ``integer`` columns: a larger number would fail in the database.
MAX_ID = (1 << 31) - 1
_MESSAGES = {
    "required": "Ce champ est obligatoire.",
    "null": "Ce champ ne peut pas être vide.",
    "invalid": "Valeur invalide.",
    "validator_failed": "Valeur invalide.",
}


def _fr(field_cls: type[mf.Field], description: str, **kwargs: Any) -> Any:
    """Return a field with French messages and a French description."""
    return field_cls(error_messages=_MESSAGES, metadata={"description": description}, **kwargs)


def _date(title: str, description: str, **kwargs: Any) -> Any:
    """Return a date field (AAAA-MM-JJ) titled in French, as the catalogue's dates are."""
    return mf.Date(error_messages=_MESSAGES, metadata={"title": title, "description": description}, **kwargs)


class ErrorsOut(Schema):
    """Une erreur : le même format que la ligne de commande (`webforms validate`)."""

    errors = _fr(
        mf.Dict,
        "Par champ (chemin imbriqué, indices de lignes comme clés), la liste des messages ; « _schema » : ce qui ne tient pas à un champ.",
        keys=mf.String(),
        values=mf.Raw(),
        required=True,
    )


class KindOut(Schema):
    """Un type de document accessible au jeton."""

    name = _fr(mf.String, "Nom du type (identifiant).", required=True)
    title = _fr(mf.String, "Titre du type.", required=True)
    standalone = _fr(mf.Boolean, "Peut être créé seul par l'API (sinon depuis une mesure ou un appel).", required=True)
    schema = _fr(mf.String, "Référence du schéma du type dans cette description OpenAPI.", required=True)


class PageArgs(Schema):
    """Pagination d'une liste (mesures, appels)."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Paramètre inconnu."}

    cursor = _fr(mf.Integer, "Curseur rendu par la page précédente (`next_cursor`).", validate=validate.Range(min=1, max=MAX_ID, error="Curseur invalide."))
    limit = _fr(mf.Integer, "Nombre d'éléments par page (1 à 100).", load_default=20, validate=validate.Range(min=1, max=100, error="Entre 1 et 100 éléments par page."))


class ListArgs(PageArgs):
    """Filtres et pagination de la liste des documents."""

    kind = _fr(mf.String, "Seulement ce type de document.", validate=validate.Length(min=1, max=50, error="De 1 à 50 caractères."))
    statut = _fr(
        mf.String,
        "Seulement cet état.",
        validate=validate.OneOf(list(STATUTS_DOCUMENT), error="État inconnu : brouillon, soumis ou decide."),
    )
    limit = _fr(
        mf.Integer,
        "Nombre de documents par page (1 à 100).",
        load_default=20,
        validate=validate.Range(min=1, max=100, error="Entre 1 et 100 documents par page."),
    )


class _StoredFile(Schema):
    """What every stored file tells (a rendition, a piece): its size, its digest, where to download it."""

    size = _fr(mf.Integer, "Taille en octets.", required=True)
    sha256 = _fr(mf.String, "Empreinte SHA-256 du fichier.", required=True)
    url = _fr(mf.String, "Adresse de téléchargement.", required=True)


class RenditionOut(_StoredFile):
    """Un fichier figé d'une version soumise."""

    id = _fr(mf.Integer, "Identifiant du fichier.", required=True)
    version = _fr(mf.Integer, "Version figée.", required=True)
    output = _fr(mf.String, "Sortie : « document », une annexe, ou le dossier complet.", required=True)
    label = _fr(mf.String, "Libellé de la version.", required=True)
    format = _fr(mf.String, "Format : pdf, docx ou zip.", required=True)


class _DocumentHead(Schema):
    """What names a document wherever it appears: a document read, one of a measure, a dossier of a call."""

    id = _fr(mf.Integer, "Identifiant du document.", required=True)
    kind = _fr(mf.String, "Type de document.", required=True)
    reference = _fr(mf.String, "Référence, donnée à la première soumission.", required=True, allow_none=True)
    organisation = _fr(mf.String, "Organisation émettrice.", required=True)
    statut = _fr(mf.String, "État : brouillon, soumis ou decide.", required=True)
    statut_label = _fr(mf.String, "État, en clair.", required=True)
    submitted_at = _fr(mf.AwareDateTime, "Soumis (déposé) le.", required=True, allow_none=True)


class DocumentOut(_DocumentHead):
    """Un document, tel que le lit le compte du jeton."""

    summary = _fr(mf.String, "Résumé.", required=True)
    created_at = _fr(mf.AwareDateTime, "Créé le.", required=True)
    updated_at = _fr(mf.AwareDateTime, "Modifié le.", required=True)
    versions = _fr(mf.Integer, "Nombre de versions figées.", required=True)
    rendering = _fr(mf.Boolean, "Le rendu de la dernière version est encore à faire.", required=True)
    data = _fr(
        mf.Dict,
        "Les données : telles qu'enregistrées pour le rédacteur d'un brouillon, la dernière version figée pour les destinataires.",
        required=True,
    )
    renditions = mf.List(mf.Nested(RenditionOut), required=True, metadata={"description": "Fichiers figés, par version."})


class _Page(Schema):
    """A page of a list, newest first: its items (each subclass's), and where the next page starts."""

    next_cursor = _fr(mf.Integer, "Curseur de la page suivante ; null à la dernière page.", required=True, allow_none=True)


class DocumentPage(_Page):
    """Une page de la liste des documents (du plus récent au plus ancien)."""

    items = mf.List(mf.Nested(DocumentOut), required=True, metadata={"description": "Les documents de la page."})


class ValidationOut(Schema):
    """Ce qui empêcherait la soumission, au format de la ligne de commande."""

    valid = _fr(mf.Boolean, "Vrai si rien n'empêche la soumission.", required=True)
    errors = _fr(mf.Dict, "Par champ, la liste des messages ; « _schema » : ce qui ne tient pas à un champ (pièces, date limite).", required=True)


class DueOut(Schema):
    """Une échéance d'une mesure : le démarrage, ou un bilan."""

    titre = _fr(mf.String, "Ce qui est attendu.", required=True)
    date = _date("Date limite", "Date limite (AAAA-MM-JJ).", required=True)
    source = _fr(mf.String, "Le texte qui fixe cette échéance.", required=True)
    bilan = _fr(mf.String, "Le bilan attendu (« periode-0 », « intermediaire »…) ; null pour le démarrage.", required=True, allow_none=True)
    faite = _fr(mf.Boolean, "Faite (bilan transmis, mesure démarrée).", required=True)
    en_retard = _fr(mf.Boolean, "Non faite et dépassée aujourd'hui.", required=True)


class PeriodOut(Schema):
    """Une période d'accompagnement (l'initiale, puis chaque renouvellement)."""

    libelle = _fr(mf.String, "Libellé de la période.", required=True)
    debut = _date("Début", "Début.", required=True)
    fin = _date("Fin", "Fin.", required=True)
    bilan_du = _date("Date limite de son bilan", "Date limite de son bilan.", required=True)


class MeetingOut(Schema):
    """Une rencontre avec le ménage."""

    date = _date("Date de la rencontre", "Date de la rencontre.", required=True)
    nature = _fr(mf.String, "Nature (identifiant).", required=True)
    nature_label = _fr(mf.String, "Nature, en clair.", required=True)
    note = _fr(mf.String, "Note.", required=True, allow_none=True)


class RenewalOut(Schema):
    """Un renouvellement (ASLL Maintien)."""

    date_decision = _date("Date de la décision", "Date de la décision.", required=True)
    duree_mois = _fr(mf.Integer, "Durée accordée, en mois.", required=True)
    motif = _fr(mf.String, "Motif.", required=True)


class LinkedDocumentOut(_DocumentHead):
    """Un document rattaché (d'une mesure, ou dossier d'un appel), visible par le jeton."""

    url = _fr(mf.String, "Adresse du document dans l'API.", required=True)


class MesureOut(Schema):
    """Une mesure d'accompagnement, son calendrier calculé et ses rencontres."""

    id = _fr(mf.Integer, "Identifiant.", required=True)
    reference = _fr(mf.String, "Référence de la mesure.", required=True)
    type_mesure = _fr(mf.String, "Type (aml, asll_installation, asll_maintien).", required=True)
    type_label = _fr(mf.String, "Type, en clair.", required=True)
    organisation = _fr(mf.String, "Opérateur.", required=True)
    referent = _fr(mf.String, "Référent de la mesure.", required=True)
    menage_nom = _fr(mf.String, "Nom du ménage.", required=True)
    menage_prenom = _fr(mf.String, "Prénom.", required=True)
    menage_commune = _fr(mf.String, "Commune.", required=True, allow_none=True)
    travailleur_social = _fr(mf.String, "Travailleur social.", required=True, allow_none=True)
    date_bon_commande = _date("Date du bon de commande", "Date du bon de commande.", required=True, allow_none=True)
    date_premiere_rencontre = _date("Date de la première rencontre", "Date de la première rencontre (le démarrage).", required=True, allow_none=True)
    duree_mois = _fr(mf.Integer, "Durée initiale, en mois.", required=True)
    duree_accordee_mois = _fr(mf.Integer, "Durée accordée, renouvellements compris.", required=True)
    statut_label = _fr(mf.String, "Où en est la mesure aujourd'hui, en clair.", required=True)
    date_fin_effective = _date("Date de clôture, si elle est close", "Date de clôture, si elle est close.", required=True, allow_none=True)
    date_limite_demarrage = _date("Date limite de démarrage", "Date limite de démarrage.", required=True, allow_none=True)
    demarrage_dans_les_delais = _fr(mf.Boolean, "Démarrée dans les délais (null : pas encore démarrée).", required=True, allow_none=True)
    fin = _date("Fin prévue de l'accompagnement", "Fin prévue de l'accompagnement.", required=True, allow_none=True)
    echeances = mf.List(mf.Nested(DueOut), required=True, metadata={"description": "Échéances : démarrage et bilans, dans l'ordre."})
    periodes = mf.List(mf.Nested(PeriodOut), required=True, metadata={"description": "Périodes d'accompagnement."})
    rencontres = mf.List(mf.Nested(MeetingOut), required=True, metadata={"description": "Rencontres, de la plus ancienne à la plus récente."})
    renouvellements = mf.List(mf.Nested(RenewalOut), required=True, metadata={"description": "Renouvellements."})
    documents = mf.List(mf.Nested(LinkedDocumentOut), required=True, metadata={"description": "Documents de la mesure que le jeton peut lire."})


class MesurePage(_Page):
    """Une page de la liste des mesures (de la plus récente à la plus ancienne)."""

    items = mf.List(mf.Nested(MesureOut), required=True, metadata={"description": "Les mesures de la page."})


class TerritoryOut(Schema):
    """Un territoire d'un appel et son nombre de mesures."""

    code = _fr(mf.String, "Code du territoire.", required=True)
    nom = _fr(mf.String, "Nom.", required=True)
    mesures = _fr(mf.Integer, "Nombre de mesures appelées.", required=True)


class AppelOut(Schema):
    """Un appel à candidatures."""

    id = _fr(mf.Integer, "Identifiant.", required=True)
    code = _fr(mf.String, "Identifiant de l'appel.", required=True)
    titre = _fr(mf.String, "Intitulé.", required=True)
    date_limite = _fr(mf.AwareDateTime, "Date et heure limites de dépôt.", required=True)
    ouvert = _fr(mf.Boolean, "Les dépôts sont encore acceptés.", required=True)
    periode_debut = _fr(mf.String, "Début de la période de financement (AAAA-MM-JJ).", required=True)
    periode_fin = _fr(mf.String, "Fin de la période de financement (AAAA-MM-JJ).", required=True)
    territoires = mf.List(mf.Nested(TerritoryOut), required=True, metadata={"description": "Territoires et nombre de mesures."})
    dossiers_url = _fr(mf.String, "Adresse des dossiers de l'appel que le jeton peut lire.", required=True)


class DossierOut(LinkedDocumentOut):
    """Un dossier de candidature et l'état de son instruction."""

    etat = _fr(mf.String, "État de l'instruction (depose, en_instruction, recevable…) ; null tant qu'il n'a pas été déposé.", required=True, allow_none=True)
    etat_label = _fr(mf.String, "État de l'instruction, en clair ; null tant qu'il n'a pas été déposé.", required=True, allow_none=True)


class PieceOut(_StoredFile):
    """Une pièce jointe d'un dossier, telle que le compte du jeton la lit."""

    id = _fr(mf.Integer, "Identifiant de la pièce.", required=True)
    code = _fr(mf.String, "Pièce exigée (identifiant : courrier, deliberation…).", required=True)
    rang = _fr(mf.Integer, "Rang, pour une pièce par ligne (une fiche de poste par recrutement).", required=True)
    libelle = _fr(mf.String, "La ligne pour laquelle elle a été déposée.", required=True, allow_none=True)
    original_name = _fr(mf.String, "Nom du fichier déposé.", required=True)
    mime = _fr(mf.String, "Type du fichier.", required=True)
    nonconforme_motif = _fr(mf.String, "Motif, si l'instructeur l'a marquée non conforme.", required=True, allow_none=True)


class ArchiveRecordOut(Schema):
    """Un enregistrement de l'archive : la copie signée d'un document soumis, déposée une fois."""

    id = _fr(mf.Integer, "Identifiant de l'enregistrement.", required=True)
    document_id = _fr(mf.Integer, "Le document archivé.", required=True)
    version = _fr(mf.Integer, "La version figée qui a été signée.", required=True)
    kind = _fr(mf.String, "Type de document.", required=True)
    reference = _fr(mf.String, "Référence du document.", required=True)
    organisation = _fr(mf.String, "Organisation émettrice.", required=True)
    deposited_at = _fr(mf.AwareDateTime, "Déposé le.", required=True)
    signature_kind = _fr(mf.String, "Signature : scan (manuscrite numérisée) ou electronique (PDF signé).", required=True)
    signature_label = _fr(mf.String, "Signature, en clair.", required=True)
    signature_check = _fr(mf.Dict, "Ce que la vérification de la signature électronique a trouvé au dépôt (null pour un scan).", required=True, allow_none=True)
    signed_sha512 = _fr(mf.String, "Empreinte SHA-512 de la copie signée conservée.", required=True)
    signed_size = _fr(mf.Integer, "Taille de la copie signée, en octets.", required=True)
    retention_years = _fr(mf.Integer, "Durée de conservation, en années.", required=True)
    retention_fate = _fr(mf.String, "Sort final : destruction ou transfert.", required=True)
    supersedes_id = _fr(mf.Integer, "L'enregistrement que celui-ci corrige, s'il en corrige un.", required=True, allow_none=True)
    superseded_by_id = _fr(mf.Integer, "L'enregistrement qui corrige celui-ci, s'il y en a un.", required=True, allow_none=True)
    destroyed_at = _fr(mf.AwareDateTime, "Détruit le (après visa), sinon null.", required=True, allow_none=True)


class ArchivePage(_Page):
    """Une page des enregistrements de l'archive (du plus récent au plus ancien)."""

    items = mf.List(mf.Nested(ArchiveRecordOut), required=True, metadata={"description": "Les enregistrements de la page."})


class VerificationOut(Schema):
    """La dernière vérification d'intégrité de l'archive (`webforms archive verify`)."""

    verified = _fr(mf.Boolean, "Une vérification a déjà eu lieu.", required=True)
    at = _fr(mf.AwareDateTime, "Quand ; null si aucune.", required=True, allow_none=True)
    ok = _fr(mf.Boolean, "Tout tenait (fichiers, empreintes, chaîne du journal) ; null si aucune.", required=True, allow_none=True)
    problems = _fr(mf.Integer, "Nombre de problèmes trouvés.", required=True, allow_none=True)
    records = _fr(mf.Integer, "Enregistrements vérifiés.", required=True, allow_none=True)
    files_hashed = _fr(mf.Integer, "Fichiers dont l'empreinte a été recalculée.", required=True, allow_none=True)
