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


class ListArgs(Schema):
    """Filtres et pagination de la liste des documents."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Paramètre inconnu."}

    kind = _fr(mf.String, "Seulement ce type de document.", validate=validate.Length(min=1, max=50, error="De 1 à 50 caractères."))
    statut = _fr(
        mf.String,
        "Seulement cet état.",
        validate=validate.OneOf(list(STATUTS_DOCUMENT), error="État inconnu : brouillon, soumis ou decide."),
    )
    cursor = _fr(
        mf.Integer,
        "Curseur rendu par la page précédente (`next_cursor`).",
        validate=validate.Range(min=1, max=MAX_ID, error="Curseur invalide."),
    )
    limit = _fr(
        mf.Integer,
        "Nombre de documents par page (1 à 100).",
        load_default=20,
        validate=validate.Range(min=1, max=100, error="Entre 1 et 100 documents par page."),
    )


class RenditionOut(Schema):
    """Un fichier figé d'une version soumise."""

    id = _fr(mf.Integer, "Identifiant du fichier.", required=True)
    version = _fr(mf.Integer, "Version figée.", required=True)
    output = _fr(mf.String, "Sortie : « document », une annexe, ou le dossier complet.", required=True)
    label = _fr(mf.String, "Libellé de la version.", required=True)
    format = _fr(mf.String, "Format : pdf, docx ou zip.", required=True)
    size = _fr(mf.Integer, "Taille en octets.", required=True)
    sha256 = _fr(mf.String, "Empreinte SHA-256 du fichier.", required=True)
    url = _fr(mf.String, "Adresse de téléchargement.", required=True)


class DocumentOut(Schema):
    """Un document, tel que le lit le compte du jeton."""

    id = _fr(mf.Integer, "Identifiant.", required=True)
    kind = _fr(mf.String, "Type de document.", required=True)
    statut = _fr(mf.String, "État : brouillon, soumis ou decide.", required=True)
    statut_label = _fr(mf.String, "État, en clair.", required=True)
    reference = _fr(mf.String, "Référence, donnée à la première soumission.", required=True, allow_none=True)
    organisation = _fr(mf.String, "Organisation émettrice.", required=True)
    summary = _fr(mf.String, "Résumé.", required=True)
    created_at = _fr(mf.AwareDateTime, "Créé le.", required=True)
    updated_at = _fr(mf.AwareDateTime, "Modifié le.", required=True)
    submitted_at = _fr(mf.AwareDateTime, "Soumis le.", required=True, allow_none=True)
    versions = _fr(mf.Integer, "Nombre de versions figées.", required=True)
    rendering = _fr(mf.Boolean, "Le rendu de la dernière version est encore à faire.", required=True)
    data = _fr(
        mf.Dict,
        "Les données : telles qu'enregistrées pour le rédacteur d'un brouillon, la dernière version figée pour les destinataires.",
        required=True,
    )
    renditions = mf.List(mf.Nested(RenditionOut), required=True, metadata={"description": "Fichiers figés, par version."})


class DocumentPage(Schema):
    """Une page de la liste des documents (du plus récent au plus ancien)."""

    items = mf.List(mf.Nested(DocumentOut), required=True, metadata={"description": "Les documents de la page."})
    next_cursor = _fr(mf.Integer, "Curseur de la page suivante ; absent (null) à la dernière page.", required=True, allow_none=True)


class ValidationOut(Schema):
    """Ce qui empêcherait la soumission, au format de la ligne de commande."""

    valid = _fr(mf.Boolean, "Vrai si rien n'empêche la soumission.", required=True)
    errors = _fr(mf.Dict, "Par champ, la liste des messages ; « _schema » : ce qui ne tient pas à un champ (pièces, date limite).", required=True)
