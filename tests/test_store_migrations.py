"""Alembic owns the schema: upgrade, downgrade and agreement with the models, on both backends."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, column, inspect, select, table

from dirguard.providers.ad.plan.restore_plan import PlannedStep
from dirguard.providers.ad.plan.steps import planned_step
from dirguard.services.rollback.plan_store import stored_step
from dirguard.store.column_types import StoredJson, UtcDateTime
from dirguard.store.database import (
    create_engine_for,
    current_revision,
    downgrade,
    head_revision,
    session_factory,
    shipped_head,
    table_row_counts,
    upgrade,
    upgrade_to_newest,
)
from dirguard.store.models import TABLES, Base, RestoreStep


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


def test_plan_steps_migration_keeps_existing_ad_steps(store_url: str) -> None:
    """0004: a step stored before it (an AD step, its expected values inside the step JSON,
    bytes included) becomes an ``ad`` step with that expected value, no dependencies and nothing
    produced, reads back as the same AD step, and goes back into the step JSON on downgrade."""
    descriptor = bytes(range(256))
    legacy: dict[str, Any] = {
        "kind": "set",
        "object_guid": "6f1c2a5e-0000-4000-8000-000000000001",
        "dn": "CN=pat,DC=corp,DC=example",
        "attribute": "description",
        "values": ["first"],
        "expected": ["second", descriptor],
        "description": "Set description of CN=pat back to 'first'",
        "event_ids": [7],
        "conflict": None,
        "skipped": False,
        "entry": [],
    }
    engine = create_engine_for(store_url)
    try:
        upgrade(engine, "0003")
        plans = table(
            "restore_plans",
            *(column(n) for n in ("id", "source", "requested_by", "status")),
            column("created_at", UtcDateTime()),
            column("selection", StoredJson()),
            column("force", Boolean()),
        )
        steps = table(
            "restore_steps",
            *(column(n) for n in ("plan_id", "position", "kind", "object_external_id")),
            *(column(n) for n in ("target", "attribute", "description", "status")),
            column("step", StoredJson()),
        )
        with engine.begin() as connection:
            connection.execute(
                plans.insert().values(
                    id=1,
                    source="corp.example",
                    requested_by="bob",
                    status="planned",
                    created_at=datetime.now(UTC),
                    selection={"event": 1},
                    force=False,
                )
            )
            connection.execute(
                steps.insert().values(
                    plan_id=1,
                    position=1,
                    kind="set",
                    object_external_id=legacy["object_guid"],
                    target=legacy["dn"],
                    attribute="description",
                    description=legacy["description"],
                    status="planned",
                    step=legacy,
                )
            )
        upgrade(engine)
        with session_factory(engine)() as session:
            row = session.scalars(select(RestoreStep)).one()
            assert (row.provider, row.depends_on, row.produces, row.produced_id) == (
                "ad",
                [],
                None,
                None,
            )
            assert row.expected == ["second", descriptor]
            assert planned_step(stored_step(row)) == PlannedStep.from_dict(legacy)
        downgrade(engine, "0003")
        with engine.connect() as connection:
            [stored] = connection.execute(select(steps.c.step)).scalars()
        assert stored["expected"] == ["second", descriptor]
    finally:
        engine.dispose()


def test_the_shipped_head_read_from_file_names_is_alembics_head() -> None:
    assert shipped_head() == head_revision()


def test_opening_a_store_migrates_a_fresh_or_older_one_and_leaves_the_newest_alone(
    store_url: str,
) -> None:
    engine = create_engine_for(store_url)
    try:
        upgrade_to_newest(engine)  # fresh: every table created
        assert current_revision(engine) == head_revision()
        assert table_row_counts(engine, TABLES) == dict.fromkeys(TABLES, 0)
        downgrade(engine, "0017")
        upgrade_to_newest(engine)  # one behind: migrated
        assert current_revision(engine) == head_revision()
        upgrade_to_newest(engine)  # at the newest: still there, nothing lost
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_store_at_the_newest_schema_is_opened_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_engine_for(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    script = (
        "import sys\n"
        "from dirguard.store.database import create_engine_for, upgrade_to_newest\n"
        f"engine = create_engine_for({url!r})\n"
        "upgrade_to_newest(engine)\n"
        "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
