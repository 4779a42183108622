"""The catalogue of document kinds: each module ``schemas/<kind>.py`` declares one ``KIND``.

This package does not import Flask: the catalogue can be loaded and tested on its own.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from schemas.base.kind import Annex, AttachmentRule, Kind, KindDeclarationError, Output, Review

ROOT = Path(__file__).resolve().parent.parent
DOCX_DIR = ROOT / "templates_docx"
HTML_DIR = ROOT / "templates_html"

# Top-level context names the renderer adds beside the kind's own fields.
RESERVED_NAMES = {"document", "calcul", "revue", "libelles"}


def discover() -> list[Kind]:
    """Import every kind module of the package and return the ``KIND`` each declares.

    Every module is a kind; the mechanism and shared declarations live in subpackages
    (``schemas.base``), which are not kinds.
    """
    kinds = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, Kind):
            raise KindDeclarationError(
                f"schemas/{info.name}.py doit déclarer KIND = Kind(...) (trouvé : {type(kind).__name__})."
            )
        kinds.append(kind)
    return kinds


def find_template(name: str, dirs: Sequence[Path]) -> Path | None:
    """Return the first ``dirs/name`` that exists (an override directory comes first)."""
    for directory in dirs:
        path = directory / name
        if path.is_file():
            return path
    return None


def build_registry(
    kinds: Iterable[Kind],
    *,
    docx_dirs: Sequence[Path] = (DOCX_DIR,),
    html_dirs: Sequence[Path] = (HTML_DIR,),
) -> dict[str, Kind]:
    """Check each declaration and index kinds by name; raise ``KindDeclarationError`` if wrong."""
    registry: dict[str, Kind] = {}
    for kind in kinds:
        where = f"type de document « {kind.name} »"
        if kind.name in registry:
            raise KindDeclarationError(f"Le {where} est déclaré deux fois.")
        if not kind.name.isidentifier():
            raise KindDeclarationError(f"Le {where} a un nom invalide (lettres, chiffres, _).")
        clash = RESERVED_NAMES & set(kind.schema().fields)
        if clash:
            raise KindDeclarationError(f"Le {where} utilise un nom réservé : {', '.join(sorted(clash))}.")
        if not 1 <= kind.retention.years <= 100 or kind.retention.fate not in ("destruction", "transfert"):
            raise KindDeclarationError(f"Le {where} a une conservation invalide : de 1 à 100 ans, puis « destruction » ou « transfert ».")
        for output in kind.outputs():
            template, dirs = output.template, (docx_dirs if output.fmt == "docx" else html_dirs)
            if find_template(template, dirs) is None and output.generated_from is None:
                searched = ", ".join(str(d) for d in dirs)
                raise KindDeclarationError(f"Le {where} : modèle « {template} » introuvable (cherché dans {searched}).")
        if kind.per_appel and kind.call is None:
            raise KindDeclarationError(f"Le {where} répond à un appel : il doit déclarer call=CallForm(...) (préremplissage, valeurs fixées, règles de l'appel).")
        errors = kind.validate(kind.example)
        if errors:
            raise KindDeclarationError(f"Le {where} : son exemple n'est pas valide : {errors}")
        if kind.review is not None:
            review_errors = kind.review.schema().validate(kind.review.example)
            if review_errors:
                raise KindDeclarationError(f"Le {where} : l'exemple de sa décision n'est pas valide : {review_errors}")
        registry[kind.name] = kind
    return registry


@lru_cache(maxsize=1)
def registry() -> dict[str, Kind]:
    """The catalogue with the project's own templates, loaded once."""
    return build_registry(discover())


class UnknownKind(KeyError):
    """No kind of that name is declared."""

    def __str__(self) -> str:
        return f"Type de document inconnu : « {self.args[0]} »."


def get_kind(name: str) -> Kind:
    """Return the declared kind called ``name``; raise ``UnknownKind`` otherwise."""
    try:
        return registry()[name]
    except KeyError:
        raise UnknownKind(name) from None


__all__ = [
    "Annex",
    "AttachmentRule",
    "Kind",
    "KindDeclarationError",
    "Output",
    "Review",
    "UnknownKind",
    "build_registry",
    "discover",
    "get_kind",
    "registry",
]
