"""A jury member reads the recevable dossiers of its call "and nothing else" (issue 12): not their archive records.

Once a recevable dossier's signed copy is archived, its record (what was archived, the access
and retention history) and the record's files are the archive's: its readers (the archiviste,
the instructeur, ``policy.can_search_archive``) open them; a member of the call's jury, who
reads the dossier itself, finds no record (404), as anyone who may not see it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.conftest import Account, Clock, WebClient, pdf_titled
from tests.test_api_permissions import A, _recevable_dossier
from tests.test_archive_web import deposit, record_id_from
from tests.test_instruction import DEPARTEMENT


def test_a_jury_member_opens_the_dossier_but_not_its_archive_record(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    owner = make_user("redacteur", A)
    dossier, _, member = _recevable_dossier(app, clock, make_user, owner)
    archivist = WebClient(app.test_client())
    archivist.login(make_user("archiviste", DEPARTEMENT))
    record = record_id_from(deposit(archivist, dossier, pdf_titled("Copie signée du dossier")))
    jury = WebClient(app.test_client())
    jury.login(member)
    assert jury.get(f"/documents/{dossier}").status_code == 200  # the dossier it scores
    for url in (f"/archives/{record}", f"/archives/{record}/fichiers/signe", f"/archives/{record}/fichiers/pdfa"):
        assert jury.get(url).status_code == 404, url
        assert archivist.get(url).status_code == 200, url  # the archive's reader, on the other side
    instructeur = WebClient(app.test_client())
    instructeur.login(make_user("instructeur", DEPARTEMENT))
    assert instructeur.get(f"/archives/{record}").status_code == 200
