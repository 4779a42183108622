"""The forms of one's own account: changing the password, a forgotten one, the second factor's code."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField


class PasswordChangeForm(FlaskForm):
    """Change one's password: the current one, then the new one twice."""

    current = PasswordField("Mot de passe actuel", render_kw={"autocomplete": "current-password"})
    new = PasswordField("Nouveau mot de passe", render_kw={"autocomplete": "new-password", "aria-describedby": "regle-mot-de-passe"})
    confirm = PasswordField("Nouveau mot de passe, de nouveau", render_kw={"autocomplete": "new-password"})


class CodeForm(FlaskForm):
    """A code of the authentication application (second factor)."""

    code = StringField("Code à 6 chiffres", render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"})


class ForgotForm(FlaskForm):
    """Ask a reset link for a forgotten password."""

    email = EmailField("Adresse électronique de votre compte", render_kw={"autocomplete": "username"})


class ResetForm(FlaskForm):
    """Choose a new password with a reset link: twice."""

    new = PasswordField("Nouveau mot de passe", render_kw={"autocomplete": "new-password", "aria-describedby": "regle-mot-de-passe"})
    confirm = PasswordField("Nouveau mot de passe, de nouveau", render_kw={"autocomplete": "new-password"})
