"""Alembic owns the schema: upgrade, downgrade and agreement with the models, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from dirguard.store.database import (
    create_engine_for,
    current_revision,
    downgrade,
    head_revision,
    table_row_counts,
    upgrade,
)
from dirguard.store.models import TABLES, Base


def test_upgrade_from_empty_reaches_head_and_creates_every_table(store_url: str) -> None:
    engine = create_engine_for(store_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert table_row_counts(engine, TABLES) == dict.fromkeys(TABLES, 0)
        upgrade(engine)  # a second upgrade is a no-op, not an error
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_tables_and_upgrade_restores_them(store_url: str) -> None:
    engine = create_engine_for(store_url)
    try:
        upgrade(engine)
        downgrade(engine, "base")
        assert current_revision(engine) is None
        with engine.connect() as connection:
            remaining = set(inspect(connection).get_table_names()) & set(TABLES)
        assert remaining == set()
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert table_row_counts(engine, TABLES) == dict.fromkeys(TABLES, 0)
    finally:
        engine.dispose()


def test_models_and_migrations_agree(store_url: str) -> None:
    engine = create_engine_for(store_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
