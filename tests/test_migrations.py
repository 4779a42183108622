"""The database is created by Alembic migrations, and they match the models."""

from __future__ import annotations

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
