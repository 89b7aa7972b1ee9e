"""Opening the store and migrating its schema.

SQLite is the embedded default (one file, WAL journal, foreign keys on); PostgreSQL is used when
the URL says so (``postgresql://`` or ``postgresql+psycopg://``, driven by psycopg 3). Alembic
owns the schema: :func:`upgrade` runs the migrations that ship inside this package, so no
``alembic.ini`` is needed at run time. Nothing here calls ``metadata.create_all``.

Every error raised here is a :class:`StoreError` whose message never contains a password.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, column, create_engine, event, func, inspect, select, table
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from dirguard.config.paths import default_store_url
from dirguard.store import json_codec, wal_checkpoint

if TYPE_CHECKING:
    # Alembic is imported where migrations run or are inspected (``dirguard db``, the tests):
    # every other command opens a store and never needs it (a tenth of their start-up).
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another writer's lock before failing."""

WRITE_OPTION = "dirguard_write"
"""Execution option of a connection whose transaction writes (see :class:`StoreSession`)."""

SUPPORTED_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
_DRIVERS = {
    "sqlite": "sqlite+pysqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


class StoreError(Exception):
    """The store cannot be used; the message says why (and never shows a password)."""


class StoreUrlError(StoreError):
    """The store URL is malformed or names an unsupported database."""


class StoreUnavailable(StoreError):
    """The database could not be reached or opened."""


def default_sqlite_url() -> str:
    """The embedded default: ``sqlite:///$XDG_DATA_HOME/dirguard/dirguard.db``."""
    return default_store_url()


def parse_store_url(url: str) -> URL:
    """Parse and normalize a store URL (driver chosen, ``~`` expanded); reject the unsupported."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The URL itself is not repeated: it may hold a password.
        raise StoreUrlError(
            "the store URL is not a database URL; expected e.g. sqlite:////var/lib/dirguard/db "
            "or postgresql://user@host/dirguard"
        ) from None
    scheme = parsed.drivername
    if scheme not in _DRIVERS:
        raise StoreUrlError(
            f"unsupported store URL scheme {scheme!r}; supported: {', '.join(SUPPORTED_SCHEMES)}"
        )
    parsed = parsed.set(drivername=_DRIVERS[scheme])
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database or "").expanduser()))
    return parsed


def masked(url: str | URL) -> str:
    """The URL as it may be shown to people and logs: password replaced by ``***``."""
    if isinstance(url, str):
        parse_store_url(url)  # the checks and their errors
        url = make_url(url)  # shown as given, without the chosen driver
    return url.render_as_string(hide_password=True)


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL; ``None`` for in-memory or non-SQLite URLs."""
    parsed = url if isinstance(url, URL) else parse_store_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


SQLITE_CACHE_KIB = 32 * 1024
"""The page cache of each SQLite connection, in KiB."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (below), so
        # DDL in migrations is transactional too and SAVEPOINTs work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            # A page cache of 32 MiB (SQLite's default is 2 MiB): the link index is keyed by
            # a hash, so a snapshot's inserts land all over it; with 2 MiB a 50,000-user
            # tenant's snapshot spent 9.5 s of CPU in SQLite, with 32 MiB 6 s (the cache is
            # filled only as far as the database is large, and bounded by that size)
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            # Checkpoints run on a thread after the commits (store/wal_checkpoint.py); the
            # connection's own only as a backstop.
            cursor.execute(f"PRAGMA wal_autocheckpoint = {wal_checkpoint.BACKSTOP_PAGES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock at BEGIN, where SQLite's busy timeout waits
        # for another writer. A deferred one that reads first and writes later cannot wait: if
        # another writer committed in between, its snapshot is stale and the write fails at once
        # with "database is locked" (SQLITE_BUSY_SNAPSHOT), whatever the timeout.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def json_text(value: Any) -> str:
    """JSON columns' serializer: orjson (a snapshot writes tens of thousands of documents), the
    standard library for what orjson refuses (integers beyond 64 bits); a
    :class:`~dirguard.store.json_codec.JsonText` is written as it is."""
    if type(value) is json_codec.JsonText:
        return value.text
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value)


def create_engine_for(url: str) -> Engine:
    """An engine for ``url``: SQLite file (parent directory created) or PostgreSQL via psycopg."""
    parsed = parse_store_url(url)
    path = sqlite_path(parsed)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(
                f"cannot create the directory {path.parent} for the SQLite store: {error.strerror}"
            ) from None
    try:
        engine = create_engine(
            parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite", json_serializer=json_text
        )
    except NoSuchModuleError:
        raise StoreUrlError(
            f"no driver for {parsed.drivername}; install dirguard[postgres] for PostgreSQL"
        ) from None
    except ModuleNotFoundError as error:
        raise StoreUrlError(
            f"the database driver {error.name!r} is not installed; "
            "install dirguard[postgres] for PostgreSQL"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _unavailable(engine: Engine, error: DBAPIError) -> StoreUnavailable:
    reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    password = engine.url.password
    if password:
        reason = reason.replace(str(password), "***")
    where = engine.url.render_as_string(hide_password=True)
    return StoreUnavailable(f"cannot use the store at {where}: {reason}")


def migrations_config() -> Config:
    """Alembic configuration pointing at the migrations shipped in this package."""
    from alembic.config import Config

    config = Config()
    location = resources.files("dirguard.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str:
    """The newest migration this version of dirguard knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrations_config()).get_current_head()
    if head is None:
        raise StoreError("no migrations found in the dirguard package (broken installation)")
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; ``None`` for an empty (never upgraded) database."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as error:
        raise _unavailable(engine, error) from None


def _run(engine: Engine, action: str, revision: str) -> None:
    from alembic import command

    config = migrations_config()
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            config.attributes["connection"] = connection
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    except DBAPIError as error:
        raise _unavailable(engine, error) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (the newest by default), in one transaction."""
    _run(engine, "upgrade", revision)


def shipped_head() -> str:
    """The newest migration shipped, from the migration files' names (``NNNN_what.py``, whose
    revision id is ``NNNN``), without Alembic: the migrations are numbered in one line, each
    revising the one before (``tests/test_store_migrations.py`` holds this to Alembic's head)."""
    versions = resources.files("dirguard.store") / "migrations" / "versions"
    numbers = [
        entry.name.partition("_")[0]
        for entry in versions.iterdir()
        if entry.name.endswith(".py") and entry.name.partition("_")[0].isdigit()
    ]
    if not numbers:
        raise StoreError("no migrations found in the dirguard package (broken installation)")
    return max(numbers)


def _stored_revisions(engine: Engine) -> set[str] | None:
    """The revisions in the database's ``alembic_version`` table; ``None`` when it cannot be
    read (no such table yet: a fresh store), left to :func:`upgrade` to create or report."""
    try:
        with engine.connect() as connection:
            versions = table("alembic_version", column("version_num"))
            rows = connection.execute(select(versions.c.version_num)).scalars()
            return {str(row) for row in rows}
    except DBAPIError:
        return None


def upgrade_to_newest(engine: Engine) -> None:
    """Migrate the database to the newest shipped schema, as :func:`upgrade` does; when the
    database says it is there already, nothing more is done (Alembic, a tenth of a command's
    start-up, is then not even imported)."""
    if _stored_revisions(engine) == {shipped_head()}:
        return
    upgrade(engine)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base`` removes every table)."""
    _run(engine, "downgrade", revision)


def table_row_counts(engine: Engine, tables: tuple[str, ...]) -> dict[str, int | None]:
    """Rows per table; ``None`` for a table that does not exist (yet)."""
    try:
        with engine.connect() as connection:
            existing = set(inspect(connection).get_table_names())
            return {
                name: (
                    connection.execute(select(func.count()).select_from(table(name))).scalar_one()
                    if name in existing
                    else None
                )
                for name in tables
            }
    except DBAPIError as error:
        raise _unavailable(engine, error) from None


class StoreSession(Session):
    """A session whose explicit transactions (``with sessions.begin() as session``: every write
    in dirguard) are write transactions: on SQLite they begin with ``BEGIN IMMEDIATE``, so two
    writers (the monitor and an apply, the web console and a capture) queue for the lock
    instead of one failing with "database is locked". Reads (``with sessions() as session``)
    begin deferred and never wait for a writer (WAL). Keep write transactions short: the lock
    is held from their start."""

    def begin(self, nested: bool = False) -> SessionTransaction:
        transaction = super().begin(nested=nested)
        if not nested:
            self.connection(execution_options={WRITE_OPTION: True})
        return transaction


@event.listens_for(StoreSession, "after_commit")
def _after_commit(session: Session) -> None:
    engine = session.get_bind().engine
    if engine.dialect.name == "sqlite" and (path := sqlite_path(engine.url)) is not None:
        wal_checkpoint.committed(path)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, class_=StoreSession, expire_on_commit=False)
