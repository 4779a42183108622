"""The database is created by Alembic migrations, and they match the models."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.databases import Databases
from webforms.db import alembic_config, make_engine, owned_by_models, upgrade
from webforms.models import Base


def test_migrations_create_every_table_and_match_the_models(databases: Databases) -> None:
    url = databases.empty()
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= set(Base.metadata.tables) | {"alembic_version"}
            diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": owned_by_models}), Base.metadata)
        assert diff == [], diff
        upgrade(url)  # idempotent
    finally:
        engine.dispose()


def test_french_state_names_rename_the_stored_states_and_back(databases: Databases) -> None:
    url = databases.empty()
    upgrade(url, "0009")
    engine = make_engine(url)
    english = {"fiche_saisine": "draft", "fiche_incident": "submitted", "bilan_aml": "reviewed"}
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO organisation (id, name, created_at) VALUES (1, 'Association', now())"))
            conn.execute(text(
                "INSERT INTO user_account (id, email, full_name, password_hash, role, organisation_id, active, created_at)"
                " VALUES (1, 'r@example.org', 'R', 'x', 'redacteur', 1, true, now())"
            ))
            for kind, state in english.items():
                conn.execute(text(
                    "INSERT INTO document (kind, organisation_id, author_id, status, data, summary, created_at, updated_at)"
                    " VALUES (:kind, 1, 1, :state, '{}', '', now(), now())"
                ), {"kind": kind, "state": state})
        upgrade(url, "0010")
        with engine.connect() as conn:
            french = dict(conn.execute(text("SELECT kind, statut FROM document")).all())
            indexes = {i["name"] for i in inspect(conn).get_indexes("document")}
        assert french == {"fiche_saisine": "brouillon", "fiche_incident": "soumis", "bilan_aml": "decide"}
        assert "ix_document_statut" in indexes and "ix_document_status" not in indexes
        command.downgrade(alembic_config(url), "0009")
        with engine.connect() as conn:
            assert dict(conn.execute(text("SELECT kind, status FROM document")).all()) == english
            assert "ix_document_status" in {i["name"] for i in inspect(conn).get_indexes("document")}
    finally:
        engine.dispose()


def test_an_engine_other_than_postgresql_is_refused() -> None:
    """Its database would run without the write-once triggers and the journal's lock."""
    with pytest.raises(ValueError, match="doit être PostgreSQL"):
        make_engine("sqlite:///webforms.db")


def test_0026_gives_the_existing_measures_the_territory_they_can_be_told_and_leaves_the_rest(databases: Databases) -> None:
    """Issue 13: a referral's EPCI, the measure it follows, the household's commune, the operator's
    only territory; a measure none of them tells stays without territory (listed for the admin)."""
    url = databases.empty()
    upgrade(url, "0025")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            ids = dict(conn.execute(text("SELECT code, id FROM territoire")).all())
            conn.execute(text("INSERT INTO organisation (id, name, created_at) VALUES (1, 'Opérateur', now()), (2, 'Autre', now())"))
            conn.execute(text("INSERT INTO organisation_territoire (organisation_id, territoire_id) VALUES (2, :t)"), {"t": ids["aml-artois"]})
            conn.execute(text(
                "INSERT INTO user_account (id, email, full_name, password_hash, role, organisation_id, active, created_at)"
                " VALUES (1, 'r@example.org', 'R', 'x', 'redacteur', 1, true, now())"))
            conn.execute(text(
                "INSERT INTO document (id, kind, organisation_id, author_id, statut, data, submitted_data, summary, created_at, updated_at, versions)"
                " VALUES (1, 'fiche_saisine', 1, 1, 'decide', '{}', '{\"territoire\": {\"epci\": \"CALL\"}}', '', now(), now(), 1)"))
            rows = [  # (id, organisation, type, commune)
                (1, 1, "aml", None), (2, 1, "asll_installation", "THONES"), (3, 1, "asll_maintien", None),
                (4, 2, "aml", "Ailleurs"), (5, 1, "asll_installation", "Ailleurs"), (6, 1, "asll_installation", "ANNECY"),
            ]
            for mid, org, kind, commune in rows:
                conn.execute(text(
                    "INSERT INTO mesure (id, reference, organisation_id, referent_id, type_mesure, menage_nom, menage_prenom, menage_commune,"
                    " duree_mois, statut, created_at, updated_at) VALUES (:id, :ref, :org, 1, :kind, 'N', 'P', :commune, 3, 'en_cours', now(), now())"),
                    {"id": mid, "ref": f"ME-{mid}", "org": org, "kind": kind, "commune": commune})
            conn.execute(text("INSERT INTO mesure_origine (mesure_id, saisine_id, created_at) VALUES (1, 1, now())"))
            conn.execute(text("INSERT INTO mesure_origine (mesure_id, mesure_precedente_id, created_at) VALUES (3, 2, now())"))
        upgrade(url, "0026")
        with engine.connect() as conn:
            found = dict(conn.execute(text("SELECT m.id, t.code FROM mesure m LEFT JOIN territoire t ON t.id = m.territoire_id")).all())
        # THONES: the PMS of Thônes (lot 1), accent and case aside; the Maintien follows its Installation.
        assert found == {1: "aml-lens-henin", 2: "asll-lot-1", 3: "asll-lot-1", 4: "aml-artois", 5: None, 6: "asll-lot-1"}
    finally:
        engine.dispose()
