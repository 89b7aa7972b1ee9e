"""Alembic environment for dirguard's store.

dirguard runs migrations programmatically (:mod:`dirguard.store.database`) and hands over an open
connection in ``config.attributes["connection"]``; there is no ``alembic.ini`` and no URL here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dirguard.store.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "dirguard migrations need a connection in config.attributes['connection']; "
            "run them with `dirguard db upgrade`"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("dirguard migrations run online only (against a connection)")
run_migrations()
