"""Every page of the app that axe-core checks, and the GET routes that are not pages (issue 16, point 11).

``PAGES`` is the list ``tests/browser/test_every_page.py`` walks in Debian's Chromium, each page
at desktop width and at 360 px; ``tests/test_axe_coverage.py`` fails on a GET route of the app in
neither ``PAGES`` nor ``NOT_PAGES``: a new page is not added without axe-core looking at it.

A visit is an actor and a state of the permission matrix's world (tests/test_permissions.py):
the same accounts and objects, so the page shown is the one the matrix says the actor may see.
"""

from __future__ import annotations

from tests.test_permissions import (
    APPEL_STATE,
    EXPORT_STATE,
    MODELE_PDF_STATE,
    MODELE_STATE,
    PARTAGE_STATE,
    PREVIEW_WORK_STATE,
    RECORD_STATE,
    TERRITOIRE_STATE,
    TRAVAIL_STATE,
)

Visit = tuple[str, str | None]  # (actor of the matrix's world, state of the matrix or None)

# endpoint -> the visits walked, in this order (the walk signs in once per actor, in the order met).
PAGES: dict[str, tuple[Visit, ...]] = {
    # Without an account.
    "auth.login": (("anonymous", None),),
    "auth.forgot": (("anonymous", None),),  # "Mot de passe oublié ?"
    "auth.reset": (("anonymous", None),),  # the link of the e-mail: the walk prepares it first (PREPARED)
    "pages.accessibility": (("anonymous", None),),
    "partage.page": (("anonymous", PARTAGE_STATE),),  # the no-account link: its code asked first
    "api_doc.documentation": (("anonymous", None),),  # the JSON API's description, for people
    # The association's writer.
    "home.index": (("redacteur_A", None), ("coordinateur", None), ("instructeur", None), ("archiviste", None), ("admin", None), ("jury", None)),
    "documents.new": (("redacteur_A", "fiche_saisine"),),
    "documents.edit": (("redacteur_A", "draft_saisine"),),
    "documents.preview": (("redacteur_A", "draft_saisine"),),
    "documents.view": (("redacteur_A", "draft_saisine"), ("coordinateur", "submitted_saisine")),
    "messages.thread": (("redacteur_A", "submitted_saisine"),),
    "partage.links": (("redacteur_A", "submitted_saisine"),),
    "travaux.progress": (("redacteur_A", TRAVAIL_STATE), ("admin", PREVIEW_WORK_STATE)),
    "candidatures.appels": (("redacteur_A", None),),
    "candidatures.checklist": (("redacteur_A", "dossier_draft"), ("instructeur", "dossier_submitted")),  # the instruction page
    "mesures.index": (("redacteur_A", None),),
    "mesures.new": (("redacteur_A", None),),
    "mesures.view": (("redacteur_A", "mesure_aml"),),
    "mesures.referents": (("redacteur_A", None),),
    "menages.search": (("coordinateur", None),),
    "menages.file": (("redacteur_A", "mesure_maintien"),),
    "auth.change_password": (("redacteur_A", None),),
    "jetons.index": (("redacteur_A", None),),  # the API tokens
    "notifications.index": (("coordinateur", None),),
    "notifications.preferences": (("coordinateur", None),),
    # The coordinateur and the instructeur.
    "documents.review": (("coordinateur", "submitted_saisine"),),
    "statistiques.page": (("instructeur", None),),
    "candidatures.dossiers": (("instructeur", APPEL_STATE),),
    # The jury (the dossier declared recevable by the walk first: a jury reads no other).
    "jury.synthese_page": (("jury", APPEL_STATE),),
    "jury.evaluation": (("jury", "dossier_submitted"),),
    # The archiviste.
    "archives.search": (("archiviste", None),),
    "archives.deposit": (("archiviste", "submitted_saisine"),),
    "archives.record": (("archiviste", RECORD_STATE),),
    "archives.retention": (("archiviste", None),),
    "archives.export_page": (("archiviste", EXPORT_STATE),),
    # The administrator.
    "admin.users": (("admin", None),),
    "admin.organisations": (("admin", None),),
    "admin.appels": (("admin", None),),
    "admin.appel": (("admin", APPEL_STATE),),
    "instruction.grille_page": (("admin", APPEL_STATE),),
    "instruction.jury_page": (("admin", APPEL_STATE),),
    "territoires.index": (("admin", None),),
    "territoires.edit": (("admin", TERRITOIRE_STATE),),
    "territoires.measures": (("admin", None),),
    "modeles.index": (("admin", None),),
    "modeles.template": (("admin", MODELE_STATE),),
    "modeles.pdf_preview": (("admin", MODELE_PDF_STATE),),
    "travaux.queue": (("admin", None),),
    "archives.rules": (("admin", None),),
    "archives.trust": (("admin", None),),
    # Two-factor setup, then the sign-in's second step: walked last (the archiviste enrols).
    "auth.totp": (("archiviste", None),),
    "auth.second_factor": (("archiviste", None),),
}

# Visits the world does not offer as built, prepared by the walk first (the matrix says otherwise).
PREPARED: dict[str, str] = {
    "jury.evaluation": "the instructeur declares the dossier recevable (AML §6b) before the jury opens it",
    "auth.second_factor": "the archiviste enrols (auth.totp), signs out and signs in again: the code is asked",
    "auth.reset": "a reset link of redacteur_A's is recorded for the token the matrix's URL names, so that the form is shown",
}

# The error pages, each reached as a user reaches it (test_every_page.py): name -> its HTTP status.
ERROR_PAGES = {"403": 403, "404": 404, "409": 409, "500": 500, "formulaire expiré (CSRF)": 400}

# GET routes that answer no HTML page, and why: nothing for axe-core to look at.
NOT_PAGES: dict[str, str] = {
    "static": "feuilles de style, scripts, images",
    # Downloads: the browser saves a file (PDF, DOCX, XLSX, CSV, ZIP), it shows no page.
    "documents.download": "téléchargement (PDF ou DOCX d'un document)",
    "candidatures.download_piece": "téléchargement (pièce d'un dossier)",
    "messages.attachment": "téléchargement (pièce jointe d'un message)",
    "archives.download": "téléchargement (copie archivée)",
    "archives.export_file": "téléchargement (paquet SEDA ou BagIt)",
    "modeles.download": "téléchargement (version d'un modèle Word)",
    "modeles.preview": "téléchargement (exemple imprimé avec une version de modèle)",
    "modeles.pdf_preview_file": "téléchargement (aperçu PDF d'un modèle)",
    "jury.grid_xlsx": "téléchargement (tableur du jury)",
    "jury.proces_verbal": "téléchargement (procès-verbal PDF)",
    "jury.draft_convention": "téléchargement (projet de convention)",
    "mesures.export": "téléchargement (CSV des mesures)",
    "statistiques.spreadsheet": "téléchargement (XLSX des statistiques)",
    "statistiques.report": "téléchargement (rapport PDF des statistiques)",
    # Redirects: they lead to a page of PAGES.
    "partage.download": "redirection vers la page du lien (partage.page) tant que le code n'est pas saisi, puis téléchargement",
    # JSON for the page's own scripts.
    "travaux.state": "JSON (avancement d'un travail, lu par static/progress.js)",
    "auth.keep_alive": "JSON (session ouverte ou non, lu par static/session.js)",
    "api_doc.openapi_json": "JSON (description OpenAPI de l'API)",
}

# Blueprints whose every route answers JSON (read by programs, with a token): the JSON API.
NOT_PAGE_BLUEPRINTS: dict[str, str] = {"api": "l'API JSON /api/v1 (docs/api.md) : réponses JSON, jamais une page"}
