"""Why an upload is refused, in French, for the user: :class:`UploadRefused` and its messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final


class UploadRefused(Exception):
    """The upload is refused; ``message`` (French) says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_A_REAL: Final[Mapping[str, str]] = {
    "pdf": "un vrai PDF",
    "jpeg": "une vraie image JPEG",
    "png": "une vraie image PNG",
    "docx": "un vrai document Word",
}
_FORMAT_NAMES: Final[Mapping[str, str]] = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "docx": "Word (.docx)"}

MSG_EMPTY: Final = "Le fichier est vide."
MSG_TIMEOUT: Final = "L'analyse du fichier a pris trop de temps : il est peut-être endommagé ou trop complexe. Enregistrez-le à nouveau et réessayez."
MSG_MEMORY: Final = "L'analyse du fichier demande trop de mémoire : il est peut-être endommagé ou trop complexe. Enregistrez-le à nouveau et réessayez."
MSG_UNREADABLE: Final = "Le fichier n'a pas pu être analysé : il est peut-être endommagé. Enregistrez-le à nouveau et réessayez."
MSG_PDF_DAMAGED: Final = "Ce PDF est endommagé et n'a pas pu être lu : enregistrez-le à nouveau (par exemple avec « Imprimer en PDF ») puis déposez-le."
MSG_PDF_PASSWORD: Final = "Le fichier est protégé par un mot de passe : déposez une version non chiffrée."
MSG_PDF_RESTRICTED: Final = "Le PDF est chiffré (protection contre la copie ou l'impression) : déposez une version non chiffrée, par exemple enregistrée avec « Imprimer en PDF »."
MSG_PDF_NO_PAGE: Final = "Le PDF ne contient aucune page."
MSG_PDF_BOMB: Final = "Le PDF contient des données compressées démesurées : il ne peut pas être accepté."
MSG_IMAGE_DAMAGED: Final = "L'image est endommagée ou incomplète : enregistrez-la à nouveau puis déposez-la."
MSG_DOCX_DAMAGED: Final = "Ce document Word est endommagé et n'a pas pu être lu : enregistrez-le à nouveau au format .docx puis déposez-le."
MSG_DOCX_BOMB: Final = "Le document Word contient des données compressées démesurées : il ne peut pas être accepté."
MSG_DOCX_MACROS: Final = "Le document Word contient des macros : enregistrez-le au format .docx sans macro."
MSG_DOCX_ACTIVEX: Final = "Le document Word contient des contrôles ActiveX : enregistrez-le sans ces contrôles, ou déposez-le en PDF."
MSG_DOCX_PASSWORD: Final = "Le document Word est protégé par un mot de passe : déposez une version non protégée."
MSG_NOT_DOCX: Final = "Ce fichier n'est pas un vrai document Word (.docx) : enregistrez-le au format .docx puis déposez-le."
MSG_DOCX_EXTERNAL_FIELD: Final = "Le document Word contient un champ qui insère un fichier ou une adresse extérieure (INCLUDETEXT, INCLUDEPICTURE, LINK, DDE…) : remplacez-le par son contenu, ou déposez le document en PDF."
MSG_DOCX_ALTCHUNK: Final = "Le document Word contient un bloc importé d'un autre format (HTML, MHT) : enregistrez-le à nouveau sans ce bloc, ou déposez-le en PDF."
_PRINT_TO_PDF: Final = "enregistrez-le avec « Imprimer en PDF » pour obtenir une version sans contenu actif"
MSG_PDF_ACTIVE: Final[Mapping[str, str]] = {
    "javascript": f"Le PDF contient du JavaScript : {_PRINT_TO_PDF}.",
    "launch": f"Le PDF contient une action qui ouvre un autre fichier ou lance un programme : {_PRINT_TO_PDF}.",
    "open_action": f"Le PDF déclenche une action à son ouverture : {_PRINT_TO_PDF}.",
    "form": f"Le PDF contient un formulaire actif (envoi de données ou formulaire XFA) : {_PRINT_TO_PDF}.",
    "attachments": "Le PDF contient des fichiers joints : déposez chaque document séparément.",
}


def _number(value: int) -> str:
    """Write 20000 as '20 000' (narrow no-break space, as French typography and Babel write it)."""
    return f"{value:,}".replace(",", "\u202f")


def _megabytes(size: int) -> str:
    """Write 10 MiB as '10 Mo', 2.5 MiB as '2,5 Mo'."""
    text = f"{size / (1 << 20):.1f}".removesuffix(".0").replace(".", ",")
    return f"{text} Mo"


def _french_list(items: Iterable[str]) -> str:
    names = list(items)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " ou " + names[-1]


def _accepted_formats(allowed: frozenset[str]) -> str:
    return _french_list(_FORMAT_NAMES[kind] for kind in ("pdf", "jpeg", "png", "docx") if kind in allowed)


def no_extension(allowed: frozenset[str]) -> str:
    """Say that the file name has no extension, and which formats are accepted."""
    return f"Le nom du fichier n'a pas d'extension : déposez un fichier {_accepted_formats(allowed)}."


def format_not_accepted(suffix: str, allowed: frozenset[str]) -> str:
    """Say that this extension is not accepted, and which formats are."""
    return f"Format non accepté ({suffix}) : déposez un fichier {_accepted_formats(allowed)}."


def too_big_file(max_bytes: int) -> str:
    """Say that the upload is over the size limit."""
    return f"Le fichier dépasse la taille maximale de {_megabytes(max_bytes)}."


def not_a_real(kind: str, content: str) -> str:
    """Say that the content is not of the kind the extension announces, and what it is."""
    return f"Ce fichier n'est pas {_A_REAL[kind]} (contenu : {content})."


def too_big_image(width: int, height: int, max_pixels: int) -> str:
    """Say that the image has too many pixels."""
    return f"Image trop grande ({_number(width)} × {_number(height)} pixels) : {_number(max_pixels // 1_000_000)} millions de pixels au plus."


def too_many_pages(pages: int, max_pages: int) -> str:
    """Say that the PDF has too many pages."""
    return f"Le PDF compte {_number(pages)} pages : {_number(max_pages)} pages au plus."
