"""Migrations build exactly the schema the code uses, and come down cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.db import migrate
from app.db.tables import Base


def test_upgrade_matches_models_and_downgrade_empties(database_url):
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        assert migrate.is_current(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        migrate.downgrade(database_url, "base")
        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(database_url)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
