"""``territories load|list``: the territories of the deployment, loaded from a data file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from webforms import db
from webforms.commands.app import command_app
from webforms.errors import DocumentError
from webforms.models import Mesure
from webforms.territoires import assign
from webforms.territoires import services as territoires

SHIPPED = Path(__file__).resolve().parent.parent / "territoires" / "territoires.json"
MAX_BYTES = 5 << 20  # the shipped file is 3 KB; a Département's, a few dozen
_FRENCH = {"Invalid control character at": "caractère de contrôle dans un texte", "Expecting value": "valeur attendue",
           "Unterminated string starting at": "texte non terminé"}


@click.group("territories")
def territories_group() -> None:
    """Territoires (plateformes AML, lots ASLL) : charger le fichier d'un déploiement, lister."""


@territories_group.command("load")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
def load(fichier: Path | None) -> None:
    """Charger les Départements et territoires d'un fichier JSON (par défaut, ceux livrés : AML et ASLL)."""
    source = fichier or SHIPPED
    try:
        if source.stat().st_size > MAX_BYTES:
            raise click.ClickException(f"Fichier refusé ({source}) : {source.stat().st_size} octets, {MAX_BYTES} au plus. Rien n'a été chargé.")
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        # A raw control character in a text is refused by the JSON reader itself: said with its line.
        raise click.ClickException(f"Fichier illisible ({source}) : JSON invalide ligne {exc.lineno}, colonne {exc.colno} ({_FRENCH.get(exc.msg, exc.msg)}). "
                                   "Rien n'a été chargé.") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise click.ClickException(f"Fichier illisible ({source}) : {exc}") from None
    with command_app().app_context():
        session = db.session()
        try:
            created, updated = territoires.load(session, data, now=dt.datetime.now(dt.UTC))
        except (DocumentError, KeyError, TypeError) as exc:
            session.rollback()
            raise click.ClickException(f"Fichier refusé ({source}) : {exc}") from None
        click.echo(f"Territoires chargés depuis {source} : {created} créé(s), {updated} mis à jour.")


@territories_group.command("list")
def list_cmd() -> None:
    """Lister les territoires, leurs bornes annuelles et leurs zones."""
    with command_app().app_context():
        for t in territoires.territories(db.session()):
            bounds = f" – {t.mesures_min}–{t.mesures_max} mesures par an" if t.mesures_max is not None else ""
            click.echo(f"{t.code} : {t.nom} ({t.nature_label}, {t.departement}){bounds} – {', '.join(z.nom for z in t.zones)}")


@territories_group.command("unassigned")
def unassigned_cmd() -> None:
    """Lister les mesures sans territoire (référence, type, opérateur, commune)."""
    with command_app().app_context():
        for m in assign.unassigned(db.session()):
            click.echo(f"{m.reference} : {m.type_mesure}, {m.organisation.name}, {m.menage_commune or 'commune inconnue'}")


@territories_group.command("assign")
@click.argument("reference")
@click.argument("code")
def assign_cmd(reference: str, code: str) -> None:
    """Rattacher la mesure REFERENCE, sans territoire, au territoire CODE (inscrit au journal d'audit)."""
    with command_app().app_context():
        session = db.session()
        mesure = session.scalar(select(Mesure).where(Mesure.reference == reference))
        if mesure is None:
            raise click.ClickException(f"Mesure inconnue : {reference}.")
        try:
            found = assign.assign(session, current_app.extensions["webforms.archive"], mesure, code, by=None, now=dt.datetime.now(dt.UTC))
        except DocumentError as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"Mesure {reference} rattachée à « {found.nom} ».")
