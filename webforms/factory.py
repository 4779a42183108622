"""The application factory, after Flask's tutorial: configuration, extensions, services, blueprints."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from schemas import registry
from webforms import api, db, jobs, policy, web
from webforms.accounts import kept, sessions
from webforms.accounts import reset_views as reset_views  # its routes join the sign-in blueprint
from webforms.accounts import second_factor as second_factor  # its routes join the sign-in blueprint
from webforms.accounts import views as auth
from webforms.admin import views as admin
from webforms.api import access as api_access
from webforms.api import views as views_api
from webforms.archive import search as archive_search
from webforms.archive import views as archives
from webforms.archive.orphans import DEFAULT_GRACE_HOURS as DEFAULT_ORPHAN_GRACE_HOURS  # also declares its nightly task
from webforms.candidatures import instruction_views as instruction
from webforms.candidatures import jury_views
from webforms.candidatures import views as candidatures
from webforms.candidatures.instruction import register_correction_hook, register_state_hook
from webforms.candidatures.services import CallRules
from webforms.candidatures.synthese import score_text
from webforms.documents import previews
from webforms.documents import views as documents
from webforms.documents.reviews import register_review
from webforms.documents.services import register_listener, register_parent
from webforms.documents.views import register_page_extra, register_submit_step
from webforms.errors import DISK_FULL, NUL_REFUSED, NumberRefused, disk_full, parse_id
from webforms.form_markup import FormFields
from webforms.forms import field_attrs
from webforms.home import views as home
from webforms.jobs import views as travaux
from webforms.menages import views as menages
from webforms.mesures import thread
from webforms.mesures import views as mesures
from webforms.mesures.services import MeasureRules
from webforms.mesures.thread import ReferralDecision
from webforms.modeles import views as modeles
from webforms.models import Document, User
from webforms.notifications import events as notification_events
from webforms.notifications import (
    mail,
    reminders,  # noqa: F401 - declares the daily reminders' periodic task
    sharing,
    threads,
    transmissions,
)
from webforms.notifications import sharing_views as partage
from webforms.notifications import thread_views as messages
from webforms.notifications import views as notifications
from webforms.notifications.services import UNREAD_FACT, unread_exists, unread_for_template
from webforms.pages import views as pages
from webforms.pgcluster import Cluster
from webforms.purge import DEFAULT_DAYS as DEFAULT_PURGE_DAYS  # also declares its nightly task
from webforms.rendering.context import date_fr, datetime_fr, euros
from webforms.statistiques import views as statistiques
from webforms.territoires import views as territoires
from webforms.timeutil import paris_date
from webforms.web import upload_limit_of

csrf = CSRFProtect()
login_manager = LoginManager()


class DatabaseId(IntegerConverter):
    """``<int:…>`` read like every number of a request (``parse_id``): ASCII digits, a database integer."""

    # Werkzeug's ``\d+`` also matches "١" or "１", which ``int()`` reads as 1.
    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()  # not a route: the French 404 page
        return number


def _default_instance() -> str:
    return os.environ.get("WEBFORMS_INSTANCE_PATH") or str(Path.cwd() / "instance")


def _secret_key(instance: Path) -> str:
    """Read the instance's secret key, creating it on first start (never a fixed default)."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


# Files and folders the service creates are its account's only (0600, 0700): they hold
# households' data, and every process (web, commands, workers) is built here or by the CLI.
PRIVATE_UMASK = 0o077


def keep_private(app: Flask) -> None:
    """Set the private umask, and close the instance's folders made before it to other accounts.

    Folders only, not a walk of every stored file: an account that cannot enter a folder reads
    nothing in it, whatever the files' own modes (0444 before issue 15).
    """
    os.umask(PRIVATE_UMASK)
    config = app.config
    for name in (app.instance_path, *(config[k] for k in ("STORAGE_DIR", "ARCHIVE_DIR", "ARCHIVE_TRUST_DIR", "DOCX_OVERRIDE_DIR", "HTML_OVERRIDE_DIR"))):
        folder = Path(name)
        if not folder.is_dir() or folder.stat().st_uid != os.geteuid():
            continue
        mode = stat.S_IMODE(folder.stat().st_mode)
        # The instance keeps its x bits (never r): the embedded cluster's account passes through
        # it to its own folder when the service runs as root (pgcluster._traversable).
        private = mode & ~0o066 | 0o700 if name == app.instance_path else 0o700
        if mode != private:
            os.chmod(folder, private)


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config``: defaults, then ``WEBFORMS_*`` environment variables, then tests'."""
    instance = Path(app.instance_path)
    app.config.from_mapping(
        DATABASE_URL=None,  # none named: the private cluster under instance/postgres (pgcluster)
        STORAGE_DIR=str(instance / "files"),
        DOCX_OVERRIDE_DIR=str(instance / "templates_docx"),
        HTML_OVERRIDE_DIR=str(instance / "templates_html"),
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        # The archive (DESIGN §3): its own write-once files, the certificates an electronic
        # signature may chain to, the largest signed copy, and the SEDA agencies' identifiers.
        ARCHIVE_DIR=str(instance / "archive"),
        ARCHIVE_TRUST_DIR=str(instance / "certificats_confiance"),
        # The audit trail's sealing key (webforms/archive/seal.py): drawn at the first start if
        # absent; point it at a disk other than the data's (docs/archive.md).
        ARCHIVE_SEAL_KEY_FILE=str(instance / "cle_scellement_archive"),
        # The journal's head as each clean verification left it (archive/verify.py): a truncated
        # tail is caught against it; like the key, keep it on another disk than the data's.
        ARCHIVE_ANCHOR_FILE=str(instance / "ancre_journal_archive"),
        ARCHIVE_MAX_MB=30,
        # An RFC 3161 timestamping authority for each signed copy (archive/timestamps.py); none by default.
        ARCHIVE_TSA_URL=None,
        ARCHIVE_ARCHIVAL_AGENCY="FRAD062",
        ARCHIVE_TRANSFERRING_AGENCY="DEPARTEMENT-62-DPDS",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a long form may stay open for hours; the token is per session
        # Sessions live in the database (webforms.accounts.sessions) and end after this long
        # unused; a page being typed in keeps its session alive (static/session.js).
        SESSION_IDLE_MINUTES=30,
        # The sessions' and sign-in counters' clock: the real time, not CLOCK, which tests set
        # to a day of 2019 and move by days between two requests of one signed-in user.
        SESSION_CLOCK=lambda: dt.datetime.now(dt.UTC),
        CLOCK=lambda: dt.datetime.now(dt.UTC),
        # The job queue (webforms.jobs): a worker beats every 10 s; one silent for 30 s is taken
        # as dead and its job runs again elsewhere (PITFALLS §10).
        QUEUE_HEARTBEAT_SECONDS=10,
        QUEUE_STALLED_SECONDS=30,
        # A worker yields the processor to the web server on the same host: a render may wait a
        # moment, a page should not (nice value added to the worker's; 0 to keep the same).
        QUEUE_NICE=10,
        # Who publishes the service, and where users write about accessibility (the statement's
        # contact, RGAA 4.1); the date of the last accessibility audit, if any (e.g. "12 mars 2027").
        ORGANISME_NOM="Le Département",
        # The Département's identity on every PDF and Word document (webforms.rendering.identity):
        # its name, its address (lines separated by "|"), its logo (a PNG or JPEG file). Unset: none.
        DEPARTEMENT_NOM="",
        DEPARTEMENT_ADRESSE="",
        DEPARTEMENT_LOGO="",
        ACCESSIBILITE_CONTACT="l'administrateur du service",
        ACCESSIBILITE_AUDIT=None,
        # Behind an HTTPS proxy (nginx…), how many proxies in front set X-Forwarded-Proto/-For/
        # -Host: then a request the proxy received over HTTPS is secure here, and gets HSTS.
        # 0: nothing forwarded is believed (a client could forge these headers).
        TRUSTED_PROXIES=0,
        # Days after the last save past which a draft never submitted is purged (webforms.purge:
        # 2 years after the last contact, CNIL délibération n° 2023-095).
        PURGE_DAYS=DEFAULT_PURGE_DAYS,
        # Hours a file of the working store no row names is left alone before the daily sweep
        # removes it (webforms.archive.orphans): a running job's file is not yet named by a row.
        ORPHAN_GRACE_HOURS=DEFAULT_ORPHAN_GRACE_HOURS,
        HSTS_SECONDS=365 * 24 * 3600,
    )
    app.config.from_prefixed_env("WEBFORMS")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    if not app.config.get("DATABASE_URL"):
        # The embedded default (DESIGN §4): a PostgreSQL cluster of the instance's own, created and
        # started at the first connection (webforms.db), so that commands needing no database
        # start nothing; `make run` stops it with the service.
        app.config["EMBEDDED_DATABASE"] = str(instance / "postgres")
        app.config["DATABASE_URL"] = Cluster(instance / "postgres").url()


BLUEPRINTS = (auth.bp, home.bp, documents.bp, mesures.bp, menages.bp, candidatures.bp, instruction.bp, jury_views.bp, admin.bp, archives.bp, travaux.bp, notifications.bp, messages.bp, partage.bp, pages.bp, modeles.bp, territoires.bp, statistiques.bp)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application: configuration, extensions, services, blueprints."""
    app = Flask(
        "webforms",
        instance_path=(test_config or {}).get("INSTANCE_PATH") or _default_instance(),
        instance_relative_config=True,
    )
    load_config(app, test_config)
    keep_private(app)
    # A wrong kind declaration (duplicate name, missing template, invalid example) stops the
    # start-up here with a clear message rather than failing on a user's first click.
    registry()
    db.init_app(app)
    jobs.init_app(app)
    web.init_upload_limits(app)  # before CSRFProtect, whose own hook parses the form
    csrf.init_app(app)
    sessions.init_sessions(app)
    sessions.register_fact(kept.KEPT_FACT, kept.kept_exists)
    sessions.register_fact(UNREAD_FACT, unread_exists)
    _init_login(app)
    _refuse_nul_characters(app)  # after CSRFProtect's hook: a post without its token is refused for that first
    web.init_services(app)
    _register_parents()
    _register_page_extras()
    register_listener("apercus", previews.on_event)
    register_listener("notifications", notification_events.on_event)
    register_state_hook(notification_events.on_state_change)
    register_correction_hook(threads.on_dossier_correction)
    register_listener("parcours", thread.on_event)
    register_listener("transmissions", transmissions.on_event)  # after "notifications": it reads whom the deposit told
    mail.init_app(app)
    # <int:…> in a URL: a number past what the database stores is a page not found, not an
    # overflow in the driver (set before the blueprints add their rules).
    app.url_map.converters["int"] = DatabaseId
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    api.init_app(app, csrf)
    _register_errors(app)
    _register_headers(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    _register_template_helpers(app)
    return app


def _register_parents() -> None:
    """Give the generic lifecycle the rules of a document's parent: its call, or its measure."""
    register_parent("appel", CallRules())
    register_parent("mesure", MeasureRules())
    register_review("fiche_saisine", ReferralDecision())


def _register_page_extras() -> None:
    """Give the generic document page what the features show on it (the archived signed copy, the thread, the links) and read at submission (the links)."""
    register_page_extra("archived", _archived_copy)
    register_page_extra("messages", threads.page_extra)
    register_page_extra("partage", sharing.page_extra)
    register_page_extra("dossier", jury_views.page_extra)
    register_page_extra("transmissions", transmissions.page_extra)
    register_submit_step("partage", partage.recipients_from_form, partage.share_after_submit)


def _archived_copy(session: Session, doc: Document) -> dict[str, int] | None:
    """Return the id of a submitted document's archived copy in force, or None if not archived."""
    record = archive_search.current_record(session, doc) if policy.was_submitted(doc) else None
    return {"id": record.id} if record is not None else None


def _init_login(app: Flask) -> None:
    """Sign users in with Flask-Login; a deactivated account is signed out at its next request."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)


def _load_user(user_id: str) -> User | None:
    number = parse_id(user_id)
    if number is None:
        return None
    user = db.session().get(User, number)
    return user if user is not None and user.active else None


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["field_attrs"] = field_attrs
    app.jinja_env.globals["form_fields"] = FormFields(app.jinja_env)
    app.jinja_env.globals["unread_notifications"] = unread_for_template
    app.jinja_env.filters["datetime_fr"] = datetime_fr
    app.jinja_env.filters["date_fr"] = date_fr
    app.jinja_env.filters["euros"] = euros
    app.jinja_env.filters["paris_day"] = paris_date
    app.jinja_env.filters["score"] = score_text


_ERRORS = {
    400: ("Requête invalide", "La requête n'a pas pu être comprise. Rechargez la page et réessayez."),
    403: ("Accès refusé", "Votre rôle ne permet pas cette action."),
    404: ("Page introuvable", "Cette page n'existe pas, ou vous n'avez pas accès à ce document."),
    405: ("Méthode non autorisée", "Cette action n'est pas possible de cette façon."),
    413: ("Envoi trop volumineux", "Le contenu envoyé dépasse la taille autorisée. Raccourcissez le texte ou réduisez le fichier."),
    503: ("Service momentanément occupé", "Trop d'opérations simultanées sur l'archive : rien n'a été modifié, réessayez dans un instant."),
    500: ("Erreur du service", "Une erreur inattendue est survenue. Rien de ce qui était enregistré n'a été perdu ; réessayez."),
}


# A post refused for its token and not kept (no user's session gave it: a page left open across a
# restart, another site's form): nothing was saved.
CSRF_REFUSED = (
    "Ce formulaire n'est plus valable : la page a été ouverte dans une session qui a pris fin, ou il a été envoyé depuis un autre site. "
    "Rien n'a été enregistré. Rechargez la page et recommencez ; ce qui était déjà enregistré est conservé."
)


def _register_errors(app: Flask) -> None:
    def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
        title, message = _ERRORS.get(code, _ERRORS[500])
        return render_template("error.html", code=code, title=title, message=detail or message), code

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        # A user's post after their session ended is kept and offered back (issue 16, point 1).
        keeping = kept.keep_refused_post(db.session(), request, sessions.current_clock())
        if keeping is not None:
            flash(kept.message(keeping), "info")
            target = keeping.page if keeping.signed_in else url_for("auth.login", next=keeping.page)
            if request.form.get("action") == "autosave":
                # The page's automatic save (static/autosave.js) must not follow a redirect: the
                # sign-in page would read the message meant for the user. Said in JSON; the
                # message stays for the real page (issue 16, point 1).
                return jsonify(enregistre=False, message=kept.message(keeping), connexion=target), (409 if keeping.signed_in else 401)
            return redirect(keeping.page if keeping.signed_in else url_for("auth.login", next=keeping.page))
        # Plain words, not "jeton CSRF" (issue 16, point 8): what happened and what to do.
        page = render_template("error.html", code=400, title="Formulaire expiré", message=CSRF_REFUSED)
        return page, 400

    @app.errorhandler(413)
    def _too_large(exc: HTTPException) -> tuple[str, int]:
        limit = upload_limit_of(app.view_functions.get(request.endpoint or ""))
        if limit is None:
            return render_error(413)
        return render_error(413, f"Le fichier envoyé dépasse la taille maximale de {limit} Mo : il n'a pas été enregistré, et rien n'a changé. Réduisez-le (numérisation en 150 ou 200 ppp, en noir et blanc) et déposez-le de nouveau.")

    @app.errorhandler(NumberRefused)
    def _number(exc: NumberRefused) -> tuple[str, int]:
        # A number in the address or the query string that no record can have: say which.
        return render_error(400, str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if request.path.startswith(f"{views_api.bp.url_prefix}/"):
            # A URL no API route matched (an id past what the database holds): the API's own
            # errors are JSON, and so is this one, as its description says.
            return api_access.handle_http(exc)
        if exc.code in _ERRORS:
            return render_error(exc.code or 500)
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        if disk_full(exc):
            return _no_space(app)
        app.logger.exception("Erreur inattendue sur %s", request.path)
        # Nothing of a failed request is kept, and the error page's own reads (the header's
        # counts, a kept form) need a transaction that is not failed.
        db.session().rollback()
        return render_error(500)


def _refuse_nul_characters(app: Flask) -> None:
    """Refuse a web post carrying a NUL character in a field or a file name (issue 15: no 500 on any input).

    PostgreSQL stores no NUL in a text: every route would fail on it in the driver. Refused here,
    once for every route, before any view reads the form; the page gives back what was typed,
    without the NUL, to be sent again (as a full disk's page does).
    """

    @app.before_request
    def _nul() -> Any:
        if request.method != "POST" or request.path.startswith(f"{views_api.bp.url_prefix}/"):
            return None  # the API answers in JSON, with its own checks
        names = [f.filename or "" for f in request.files.values()]
        values = [value for _, value in request.form.items(multi=True)]
        if not any("\x00" in text for text in (*names, *values)):
            return None
        kept = [(name, value.replace("\x00", "")) for name, value in request.form.items(multi=True)]
        page = render_template("error.html", code=400, title="Caractère refusé", message=NUL_REFUSED, kept=kept, retry=request.path)
        return page, 400


def _no_space(app: Flask) -> tuple[str, int]:
    """Say that a disk is full; a posted form comes back in the page, to be sent again as it was typed."""
    app.logger.error("Disque plein sur %s", request.path)  # the administrator must free space
    # Every text field as posted (files cannot be put back: they are chosen again).
    kept = [(name, value) for name, values in request.form.lists() for value in values] if request.method == "POST" else []
    page = render_template("error.html", code=507, title="Espace disque insuffisant", message=DISK_FULL, kept=kept, retry=request.path)
    return page, 507


def _register_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        if request.endpoint != "static":
            # Pages and downloads carry household data: no copy in the browser's or a proxy's
            # cache (send_file's "no-cache" still stores the file on disk), whoever is signed in.
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            # Only over HTTPS (RFC 6797 §7.2: ignored over HTTP, and a plain-HTTP test server
            # must stay reachable); behind a proxy, with TRUSTED_PROXIES set (docs/running.md).
            response.headers.setdefault("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}")
        return response
