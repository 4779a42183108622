"""The password rule (ANSSI guidance): long enough, and not common, repeated, a sequence, nor the user's name.

« aaaaaaaaaaaa » was accepted, only the length being checked (issue 15). ANSSI, « Recommandations
relatives à l'authentification multifacteur et aux mots de passe » (2021): with no other factor, a
long password (12 characters at least here) that is not in a list of common passwords nor derived
from the user's own data. The rule is shown on every form that sets a password (``RULE``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib.resources import files

MIN_LENGTH = 12
MAX_LENGTH = 200  # longer is no safer, and costs the hash
MIN_DISTINCT = 5
RULE = (
    f"Au moins {MIN_LENGTH} caractères, dont {MIN_DISTINCT} différents ; ni un mot de passe courant (« azerty », « motdepasse2024 »…), "
    "ni une répétition ou une suite (« aaaaaaaaaaaa », « 123456789012 », « azertyuiopqs »), ni votre nom ou votre adresse électronique. "
    "Une phrase de quelques mots, facile à retenir pour vous seul, convient bien."
)
# Rows of letters and digits people follow on a keyboard or in the alphabet (either direction).
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "azertyuiopqsdfghjklmwxcvbn", "qwertyuiopasdfghjklzxcvbnm", "azertyuiop^$", "&é\"'(-è_çà)=")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def _folded(text: str) -> str:
    """Return ``text`` in lower case without accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords."""
    text = files("webforms.accounts").joinpath("mots_de_passe_courants.txt").read_text(encoding="utf-8")
    return frozenset(_folded(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _is_sequence(folded: str) -> bool:
    for row in _SEQUENCES:
        cycle = row * (len(folded) // len(row) + 2)
        if folded in cycle or folded in cycle[::-1]:
            return True
    return False


def _personal_parts(email: str, full_name: str) -> set[str]:
    local = _folded((email or "").partition("@")[0])
    parts = set(re.split(r"[\W_]+", local)) | set(re.split(r"[\W_]+", _folded(full_name or ""))) | {local.replace(".", "")}
    return {p for p in parts if len(p) >= 3}


def password_problem(password: str, *, email: str = "", full_name: str = "") -> str | None:
    """Return why ``password`` is refused (in French), or None if it follows the rule."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères."
    if len(password) > MAX_LENGTH:
        return f"Le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères."
    folded = _folded(password)
    if len(set(folded)) < MIN_DISTINCT or re.fullmatch(r"(.+?)\1+", folded):
        return f"Ce mot de passe est une répétition : il doit compter au moins {MIN_DISTINCT} caractères différents et ne pas répéter un même motif."
    if _is_sequence(folded):
        return "Ce mot de passe est une suite de caractères (alphabet, chiffres ou clavier) : il se devine en quelques essais."
    core = _EDGES.sub("", folded)
    if folded in common_passwords() or core in common_passwords() or core.replace(" ", "") in common_passwords():
        return "Ce mot de passe fait partie des mots de passe les plus courants : choisissez-en un autre."
    inside = [p for p in _personal_parts(email, full_name) if p in folded.replace(" ", "")]
    if inside:
        return "Le mot de passe ne doit contenir ni votre nom ni votre adresse électronique."
    return None
