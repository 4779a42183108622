"""The database is created by Alembic migrations, and they match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.databases import Databases
from webforms.db import make_engine, upgrade
from webforms.models import Base


def test_migrations_create_every_table_and_match_the_models(databases: Databases) -> None:
    url = databases.empty()
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= set(Base.metadata.tables) | {"alembic_version"}
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff
        upgrade(url)  # idempotent
    finally:
        engine.dispose()


def test_an_engine_other_than_postgresql_is_refused() -> None:
    """Its database would run without the write-once triggers and the journal's lock."""
    with pytest.raises(ValueError, match="doit être PostgreSQL"):
        make_engine("sqlite:///webforms.db")
