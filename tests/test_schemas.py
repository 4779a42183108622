"""Business rules of the two kinds, each with the section of the source document it comes from."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from schemas import get_kind
from schemas.base.fields import Date, Money, Section, Text, ValidationError
from schemas.base.formats import Time


def saisine(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(dict(get_kind("fiche_saisine").example))
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return data


def incident(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(dict(get_kind("fiche_incident").example))
    for path, value in changes.items():
        group, name = path.split("__")
        data[group][name] = value
    return data


def errors_of(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return get_kind(kind).validate(payload)


def derived(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    k = get_kind(kind)
    return k.derive(k.load_partial(payload)[0])


# --- fiche saisine (AML §1, §4; ASLL §1, §6) -------------------------------------------------


@pytest.mark.parametrize(
    ("epci", "platform"),
    [("CALL", "Lens-Hénin"), ("CAHC", "Lens-Hénin"), ("CABBALR", "Artois")],
)
def test_platform_follows_the_epci_aml_1(epci: str, platform: str) -> None:
    assert derived("fiche_saisine", saisine(territoire__epci=epci))["plateforme"] == platform


def test_epci_outside_the_bassin_minier_is_out_of_scope_aml_1() -> None:
    errors = errors_of("fiche_saisine", saisine(territoire__epci="CUA"))
    message = errors["territoire"]["epci"][0]
    assert "hors périmètre" in message and "CALL, CAHC et CABBALR" in message


@pytest.mark.parametrize(
    ("birth", "on", "age", "young"),
    [
        ("1994-10-14", "2019-10-14", 25, False),  # 25th birthday on the referral day: no longer under 25
        ("1994-10-15", "2019-10-14", 24, True),  # the day before the 25th birthday
        ("2000-02-29", "2019-10-14", 19, True),
    ],
)
def test_under_25_is_computed_on_the_referral_date_aml_1(birth: str, on: str, age: int, young: bool) -> None:
    data = saisine(menage__demandeur__date_naissance=birth, date_saisine=on)
    values = derived("fiche_saisine", data)
    assert values["age_demandeur"] == age
    assert values["moins_de_25_ans"] is young


def test_under_25_alone_makes_a_priority_public_aml_1() -> None:
    data = saisine(
        menage__demandeur__date_naissance="2001-01-01",
        public_prioritaire={"famille_monoparentale": False, "expulsion": False},
    )
    assert errors_of("fiche_saisine", data) == {}


def test_a_household_outside_every_priority_public_is_refused_aml_1() -> None:
    data = saisine(
        menage__demandeur__date_naissance="1970-01-01",
        public_prioritaire={"famille_monoparentale": False, "expulsion": False},
    )
    message = errors_of("fiche_saisine", data)["public_prioritaire"]["_schema"][0]
    assert "au moins un public prioritaire" in message


def test_institutional_path_needs_a_young_applicant() -> None:
    data = saisine(menage__demandeur__date_naissance="1980-01-01")
    message = errors_of("fiche_saisine", data)["public_prioritaire"]["parcours_institutionnel"][0]
    assert "39 ans" in message


def test_eviction_needs_its_stage_design_2_1() -> None:
    data = saisine(public_prioritaire={"expulsion": True, "famille_monoparentale": True})
    assert "stade" in errors_of("fiche_saisine", data)["public_prioritaire"]["stade_procedure"][0]
    data["public_prioritaire"]["stade_procedure"] = "assignation"
    assert errors_of("fiche_saisine", data) == {}


def test_household_consent_is_required_asll_1_6() -> None:
    errors = errors_of("fiche_saisine", saisine(adhesion={"adhesion": False, "date_adhesion": None}))
    assert "adhésion du ménage est requise" in errors["adhesion"]["adhesion"][0]
    assert "date" in errors["adhesion"]["date_adhesion"][0]


def test_consent_after_the_referral_is_refused() -> None:
    errors = errors_of("fiche_saisine", saisine(adhesion__date_adhesion="2019-10-20"))
    assert "au plus tard le jour de la saisine" in errors["adhesion"]["date_adhesion"][0]


def test_at_least_one_need_aml_6a() -> None:
    errors = errors_of("fiche_saisine", saisine(situation__besoins=[]))
    assert "au moins un besoin" in errors["situation"]["besoins"][0]


def test_resources_total_in_euros() -> None:
    values = derived("fiche_saisine", saisine())
    assert values["total_ressources"] == Decimal("2272.62")
    assert values["nombre_personnes"] == 3


def test_every_missing_field_is_reported_at_once_in_french() -> None:
    errors = errors_of("fiche_saisine", {})
    assert errors["prescripteur"]["organisme"] == ["Ce champ est obligatoire."]
    assert errors["menage"]["demandeur"]["nom"] == ["Ce champ est obligatoire."]
    assert errors["territoire"]["epci"] == ["Ce champ est obligatoire."]
    assert errors["orientation"]["orientation"] == ["Ce champ est obligatoire."]


def test_row_errors_use_integer_indices() -> None:
    data = saisine()
    data["menage"]["enfants"].append({"prenom": "Zoé", "date_naissance": "31/02/2020"})
    errors = errors_of("fiche_saisine", data)
    assert errors["menage"]["enfants"][2]["date_naissance"] == ["Date invalide : utilisez le format JJ/MM/AAAA."]


def test_unknown_fields_are_refused() -> None:
    assert errors_of("fiche_saisine", saisine(pirate="x"))["pirate"] == ["Champ inconnu."]


def test_decision_with_validated_orientation_names_a_referent_aml_4() -> None:
    schema = get_kind("fiche_saisine").review.schema  # type: ignore[union-attr]
    errors = schema().validate({"orientation_validee": "validee", "date_decision": "2019-10-28"})
    assert "référent" in errors["referent_id"][0]  # chosen from the list (issue 13)
    # A decision recorded before the lists named them as text: it still loads (docs/decisions.md).
    assert schema().validate({"orientation_validee": "validee", "mesure": "aml", "operateur": "A", "referent": "B", "date_decision": "2019-10-28"}) == {}
    errors = schema().validate({"orientation_validee": "non_validee", "date_decision": "2019-10-28"})
    assert "Motivez" in errors["motif"][0]


# --- fiche d'incident (ASLL §6.3, §7.1, §7.2, §8) ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "instance"),
    [
        ("asll_installation", "Circonscription d'Action Médico-Sociale"),
        ("asll_maintien", "Service Logement de la DPDS"),
        ("aml", "Coordinateur Logement d'abord"),
    ],
)
def test_incident_goes_to_the_deciding_body_asll_8(kind: str, instance: str) -> None:
    assert instance in derived("fiche_incident", incident(mesure__type_mesure=kind))["instance_destinataire"]


@pytest.mark.parametrize(
    ("kind", "first", "deadline", "on_time"),
    [
        ("asll_installation", "2024-03-11", "2024-03-11", True),
        ("asll_installation", "2024-03-12", "2024-03-11", False),
        ("asll_maintien", "2024-03-16", "2024-03-16", True),
    ],
)
def test_start_deadline_from_the_bon_de_commande_asll_6_3(kind: str, first: str, deadline: str, on_time: bool) -> None:
    values = derived("fiche_incident", incident(mesure__type_mesure=kind, mesure__date_premiere_rencontre=first))
    assert values["date_limite_demarrage"].isoformat() == deadline
    assert values["demarrage_dans_les_delais"] is on_time


def test_information_preoccupante_needs_its_date_asll_7_2() -> None:
    errors = errors_of("fiche_incident", incident(protection_enfance__information_preoccupante=True))
    assert "Information Préoccupante" in errors["protection_enfance"]["date_ip"][0]


def test_orientation_names_the_other_measure_asll_9() -> None:
    errors = errors_of("fiche_incident", incident(proposition__proposition="orientation"))
    assert errors["proposition"]["mesure_orientation"]
    ok = incident(proposition__proposition="orientation", proposition__mesure_orientation="MASP")
    assert errors_of("fiche_incident", ok) == {}


def test_informed_social_worker_is_named_asll_7_1() -> None:
    errors = errors_of("fiche_incident", incident(travailleur_social__nom=None))
    assert errors["travailleur_social"]["nom"]


def test_asll_measure_needs_its_bon_de_commande_and_chronology() -> None:
    errors = errors_of("fiche_incident", incident(mesure__date_bon_commande=None))
    assert "bon de commande" in errors["mesure"]["date_bon_commande"][0]
    errors = errors_of("fiche_incident", incident(incident__date_incident="2024-02-01"))
    assert "précéder" in errors["incident"]["date_incident"][0]


# --- field types --------------------------------------------------------------------------


class _Probe(Section):
    montant = Money("Montant")
    jour = Date("Jour")
    texte = Text("Texte", multiline=True)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1 234,50", "1234.50"), ("1234.5", "1234.50"), ("5\u202f000,00\xa0€", "5000.00"), ("1.234,56", "1234.56")],
)
def test_money_reads_french_amounts(typed: str, amount: str) -> None:
    assert _Probe().load({"montant": typed})["montant"] == Decimal(amount)


@pytest.mark.parametrize("typed", ["abc", "-3", "NaN", "1e400"])
def test_money_refuses_nonsense_in_french(typed: str) -> None:
    message = _Probe().validate({"montant": typed})["montant"][0]
    assert message.startswith(("Montant", "Le montant"))


@pytest.mark.parametrize("typed", ["2019-09-06", "06/09/2019"])
def test_dates_in_iso_or_french_format(typed: str) -> None:
    assert _Probe().load({"jour": typed})["jour"].isoformat() == "2019-09-06"


def test_control_characters_are_removed_and_long_text_kept() -> None:
    text = "Ligne 1\r\nLigne\x07 2\x0c\x00" + "é" * 20_000
    loaded = _Probe().load({"texte": text})["texte"]
    assert loaded.startswith("Ligne 1\nLigne 2")
    assert len(loaded) == len("Ligne 1\nLigne 2") + 20_000


# --- robustness: no input makes validation or the derived values crash -----------------------

_JUNK = [None, "", "x", "31/02/2020", "-5", "1e999", "NaN", True, 0, [], {}, [1], {"a": 1}, "2019-10-14", "9" * 50, "\x00", 12.5, "  "]


def _mutate(value: Any, rng: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            roll = rng.random()
            if roll < 0.3:
                out[key] = rng.choice(_JUNK)
            elif roll >= 0.35:
                out[key] = _mutate(item, rng)
        return out
    if isinstance(value, list):
        return [_mutate(item, rng) for item in value] + ([rng.choice(_JUNK)] if rng.random() < 0.3 else [])
    return value


@pytest.mark.parametrize("name", ["fiche_saisine", "fiche_incident", "candidature_aml"])
def test_garbage_gives_messages_never_exceptions(name: str) -> None:
    import random

    from webforms.rendering.context import format_plain

    kind = get_kind(name)
    rng = random.Random(20191014)
    for _ in range(400):
        payload = _mutate(copy.deepcopy(dict(kind.example)), rng)
        valid, errors = kind.load_partial(payload)
        assert isinstance(errors, dict)
        {k: format_plain(v) for k, v in kind.derive(valid).items()}
        kind.summary(valid)


class _Hours(Section):
    debut = Time("De", required=True)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("9h", "09:00"), ("9h30", "09:30"), ("9 h 30", "09:30"), ("09H05", "09:05"), ("9:30", "09:30"), ("09.30", "09:30"), ("0h00", "00:00"), ("23:59", "23:59"), (" 16:00 ", "16:00")],
)
def test_a_time_is_accepted_as_people_write_it(typed: str, kept: str) -> None:
    """Issue 16, point 6: "9h" and "9h30" are times; the service keeps HH:MM."""
    assert _Hours().load({"debut": typed}) == {"debut": kept}


@pytest.mark.parametrize("typed", ["24h", "9h60", "930", "9", "h30", "9h3", "9:5", "neuf heures", "9h30 du matin"])
def test_what_is_not_a_time_is_refused_in_french(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _Hours().load({"debut": typed})
    assert refused.value.messages == {"debut": ["Heure invalide : écrivez par exemple 9h, 9h30 ou 09:30."]}
