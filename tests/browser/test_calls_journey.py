"""A call's deadline as an association and an administrator see it, in Debian's Chromium (issue 16, point 3).

"The only call shipped is closed and nothing says why: a new association sees "clos" and no
button. A closed call says since when and what can still be done; an open call shows the time
left; the form warns when the deadline is near. An administrator moving a deadline outside the
call's funding period is warned." The shipped call closes on 6 September 2019 at 16 h (Paris);
its funding runs from 1 September 2019 to 31 December 2020.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import Account, Clock

pytestmark = pytest.mark.browser

CLOSED = dt.datetime(2019, 10, 14, 8, 0, tzinfo=dt.UTC)  # five weeks after the deadline
NEAR = dt.datetime(2019, 9, 5, 10, 0, tzinfo=dt.UTC)  # 1 day and 4 hours left: under the 2 days of the warning
FAR = dt.datetime(2019, 9, 2, 9, 0, tzinfo=dt.UTC)  # 4 days and 5 hours left: no warning yet
NEAR_TEXT = "La date limite de dépôt approche"


def test_a_new_association_is_told_why_a_call_is_closed_and_how_long_an_open_one_has(
    live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock
) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    clock.now = CLOSED
    sign_in(page, base, make_user("redacteur", org="Association Nouvelle"))
    calls = page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à candidatures")
    calls.click()
    call = page.get_by_role("region", name=re.compile("Aide à la Médiation Locative"))
    # Closed: since when, and what can still be done; no button to start a dossier.
    expect(call).to_contain_text("6 septembre 2019")
    expect(call).to_contain_text("clos depuis cette date")
    expect(call).to_contain_text(re.compile(r"Cet appel est clos depuis le 6 septembre 2019 .*il n'accepte plus de nouveau dossier"))
    expect(call).to_contain_text("Un nouvel appel apparaîtra sur cette page dès sa publication.")
    expect(call.get_by_role("button")).to_have_count(0)
    check_accessibility(page, "un appel clos")

    # Open, four days left: the time left, no warning yet.
    clock.now = FAR
    calls.click()
    expect(call).to_contain_text("il reste 4 jours et 5 heures")
    expect(page.get_by_text(NEAR_TEXT)).to_have_count(0)
    expect(call.get_by_role("button", name="Préparer un dossier de candidature")).to_be_visible()

    # Open, a day left: the warning, on the calls' page and on the dossier's checklist.
    clock.now = NEAR
    calls.click()
    expect(call).to_contain_text("il reste 1 jour et 4 heures")
    expect(call.get_by_role("status")).to_contain_text(NEAR_TEXT)
    check_accessibility(page, "un appel ouvert dont la date limite approche")
    call.get_by_role("button", name="Préparer un dossier de candidature").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dossier de candidature")
    warning = page.get_by_role("status").filter(has_text=NEAR_TEXT)
    expect(warning).to_contain_text("il reste 1 jour et 4 heures pour déposer un dossier complet")
    check_accessibility(page, "la liste de contrôle d'un dossier dont la date limite approche")
    # The form itself: its first step, from the checklist's list of sections.
    page.get_by_role("region", name="Formulaire").get_by_role("link").first.click()
    expect(page.get_by_text("Étape 1 sur 7", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=NEAR_TEXT)).to_contain_text("il reste 1 jour et 4 heures")
    check_accessibility(page, "une étape du formulaire dont la date limite approche")
    # Four days before, the same step warns of nothing.
    clock.now = FAR
    page.reload()
    expect(page.get_by_text("Étape 1 sur 7", exact=True)).to_be_visible()
    expect(page.get_by_text(NEAR_TEXT)).to_have_count(0)


def test_an_administrator_moving_a_deadline_outside_the_funding_period_is_warned(
    live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    sign_in(page, base, make_user("admin", org="Administration"))
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels", exact=True).click()
    page.get_by_role("link", name=re.compile("Aide à la Médiation Locative")).click()
    deadline = page.get_by_label(re.compile("^Date limite de dépôt"))
    for typed, side in (("2021-03-01", "après la fin"), ("2019-08-15", "avant le début"), ("2020-12-31", None)):
        deadline.fill(typed)
        page.get_by_role("button", name="Enregistrer l'appel").click()
        expect(page.get_by_text("L'appel est enregistré")).to_be_visible()
        warned = page.get_by_text(re.compile("^Attention : la date limite de dépôt"))
        if side is None:  # the last day of the period: inside it, nothing to warn of
            expect(warned).to_have_count(0)
        else:
            expect(warned).to_contain_text(f"tombe {side} de la période de financement (du 1er septembre 2019 au 31 décembre 2020)")
            check_accessibility(page, f"une date limite {side} de la période de financement")
        expect(deadline).to_have_value(typed)  # saved all the same: a warning, not a refusal
