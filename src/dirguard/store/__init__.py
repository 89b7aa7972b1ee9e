"""The store: SQLAlchemy 2 models, Alembic migrations and small repository functions.

- :mod:`~dirguard.store.database` opens SQLite (WAL) or PostgreSQL and migrates the schema;
- :mod:`~dirguard.store.models` holds the tables, :mod:`~dirguard.store.json_codec` how bytes
  live in JSON;
- :mod:`~dirguard.store.events`, :mod:`~dirguard.store.cursors`, :mod:`~dirguard.store.runs`
  and :mod:`~dirguard.store.audit` write to them. They flush but never commit: the caller's
  transaction decides what is stored together.
"""
