"""Rules of the bilans and the tripartite contract, each with its section."""

from __future__ import annotations

import copy
from typing import Any

from schemas import get_kind


def example(kind: str, **groups: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(dict(get_kind(kind).example))
    for group, values in groups.items():
        data[group] = {**data[group], **values} if isinstance(data.get(group), dict) else values
    return data


def errors(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return get_kind(kind).validate(payload)


def test_installation_asking_for_maintien_gives_its_reasons_asll_9_1() -> None:
    data = example("bilan_asll_installation", proposition={"proposition": "demande_maintien", "motifs": None})
    assert "Motivez la demande d'ASLL Maintien" in errors("bilan_asll_installation", data)["proposition"]["motifs"][0]


def test_installation_objectives_come_from_the_installation_column_asll_5() -> None:
    data = example("bilan_asll_installation")
    data["objectifs"][0]["objectif"] = "projet_comprehension"  # a Maintien-only objective
    assert errors("bilan_asll_installation", data)["objectifs"][0]["objectif"]


def test_a_bilan_needs_at_least_one_objective_and_the_household_view_asll_9() -> None:
    data = example("bilan_asll_installation", objectifs=[])
    data["avis_menage"] = None
    found = errors("bilan_asll_installation", data)
    assert "au moins un objectif" in found["objectifs"][0]
    assert found["avis_menage"] == ["Ce champ est obligatoire."]


def test_maintien_renewal_never_beyond_twelve_months_asll_2_2_9_2() -> None:
    data = example("bilan_asll_maintien", proposition={"duree_demandee_mois": 6, "duree_deja_accordee_mois": 9})
    message = errors("bilan_asll_maintien", data)["proposition"]["duree_demandee_mois"][0]
    assert "ne peut pas dépasser 3 mois" in message and "12 mois" in message
    ok = example("bilan_asll_maintien", proposition={"duree_demandee_mois": 3, "duree_deja_accordee_mois": 9})
    assert errors("bilan_asll_maintien", ok) == {}
    kind = get_kind("bilan_asll_maintien")
    assert kind.derive(kind.load(ok))["duree_totale_mois"] == 12


def test_maintien_renewal_is_motivated_asll_9() -> None:
    data = example("bilan_asll_maintien", proposition={"motifs": None})
    assert "motivé" in errors("bilan_asll_maintien", data)["proposition"]["motifs"][0]


def test_repayment_plan_is_described() -> None:
    data = example("bilan_asll_maintien", situation={"plan_apurement_detail": None})
    assert errors("bilan_asll_maintien", data)["situation"]["plan_apurement_detail"]


def test_aml_renewal_is_proposed_at_term_only_aml_4() -> None:
    data = example("bilan_aml", proposition={"proposition": "renouvellement", "motifs": "x"})
    assert "bilan à échéance" in errors("bilan_aml", data)["proposition"]["proposition"][0]
    data["type_bilan"] = "echeance"
    assert errors("bilan_aml", data) == {}


def test_bail_glissant_dates_aml_4() -> None:
    data = example("bilan_aml", bail={"sous_location": True, "date_signature": None, "glissement": None})
    found = errors("bilan_aml", data)["bail"]
    assert "signature" in found["date_signature"][0] and "glissement" in found["glissement"][0]
    data = example("bilan_aml", bail={"date_glissement": "2019-01-01"})
    assert "précéder la signature" in errors("bilan_aml", data)["bail"]["date_glissement"][0]


def test_aml_bilan_counts_the_services_delivered_aml_4() -> None:
    kind = get_kind("bilan_aml")
    assert kind.derive(kind.load(kind.example))["prestations_delivrees"] == "4 sur 7"
    assert "au moins une prestation" in errors("bilan_aml", example("bilan_aml", prestations=[]))["prestations"][0]


def test_contract_is_signed_before_the_support_starts_and_totals_the_rent() -> None:
    data = example("contrat_tripartite", modalites={"date_signature": "2019-11-05"})
    assert "au plus tard le jour" in errors("contrat_tripartite", data)["modalites"]["date_signature"][0]
    kind = get_kind("contrat_tripartite")
    assert str(kind.derive(kind.load(kind.example))["total_mensuel"]) == "497.30"


def test_yearly_bilan_derived_figures_asll_10() -> None:
    kind = get_kind("bilan_annuel_operateur")
    values = kind.derive(kind.load(kind.example))
    assert (values["total_suivies"], values["total_renouvelees"]) == (45, 9)
    assert values["part_objectifs_atteints"] == "63 %"  # 84 of 133 objectives worked on
    assert values["barres_objectifs"] == [60, 26, 9, 100]
    zero = copy.deepcopy(dict(kind.example))
    zero["chiffres"].update(objectifs_atteint=0, objectifs_partiel=0, objectifs_non_atteint=0, objectifs_non_travaille=0)
    values = kind.derive(kind.load(zero))
    assert values["part_objectifs_atteints"] == "" and values["barres_objectifs"] == [0, 0, 0, 0]
