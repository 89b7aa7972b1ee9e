"""Many rows into one table by the DB-API driver's ``executemany``: the hot inserts of a capture.

A capture page of ten thousand member adds is ten thousand change events and as many link rows.
Through SQLAlchemy's ``insert()`` with a list of parameter sets, most of the time went into
SQLAlchemy's per-row parameter handling (building each row's parameters, running each column's
type processor), not into the database. Here the statement is written once, every value is
converted by the same column type's bind processor SQLAlchemy would use (so what is stored is
byte for byte what the ORM stores: SQLite's timestamp text, JSON through the store's serializer),
repeated timestamps are converted once, and the rows go to the driver in one ``executemany``
on the session's own connection — inside the caller's transaction, which commits them with the
cursor that covers them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from dirguard.store.column_types import StoredJson
from dirguard.store.json_codec import JsonText

_Processor = Callable[[Any], Any] | None


def _statement(
    dialect: Dialect, table: Table, columns: Sequence[str], ignore_conflicts: bool
) -> str:
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(column) for column in columns)
    marks = ", ".join(mark for _ in columns)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks}){conflict}"  # noqa: S608 (the table's own column names)


def _processor(table: Table, column: str, dialect: Dialect) -> _Processor:
    """The column type's bind processor for ``dialect`` (what SQLAlchemy runs on a value)."""
    type_ = table.c[column].type
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is not None and isinstance(type_, StoredJson) and dialect.name == "sqlite":
        serialize = process

        def text(value: Any) -> Any:  # what the JSON column's serializer writes for JsonText
            if value is None:
                return None  # SQL NULL (none_as_null)
            return value.text if type(value) is JsonText else serialize(value)

        return text
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    try:
        timestamps = base.python_type is datetime
    except NotImplementedError:
        timestamps = False
    if process is None or not timestamps:
        return process
    converted: dict[datetime, Any] = {}  # a page's events share a few timestamps

    def once(value: Any) -> Any:
        if value is None:
            return None
        try:
            return converted[value]
        except KeyError:
            result = converted[value] = process(value)
            return result

    return once


def insert_many(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert ``rows`` (each the values of ``columns`` in that order) in one driver
    ``executemany`` on the session's connection; ``ignore_conflicts``: skip rows a unique
    constraint already holds (``ON CONFLICT DO NOTHING``, SQLite and PostgreSQL). Column
    defaults are not applied: give every column that needs a value. Flushes nothing; the
    caller's transaction commits."""
    if not rows:
        return
    unknown = [column for column in columns if column not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    connection = session.connection()
    dialect = connection.dialect
    converting = [
        (index, process)
        for index, column in enumerate(columns)
        if (process := _processor(table, column, dialect)) is not None
    ]
    parameters: list[tuple[Any, ...]]
    if converting:  # column by column (zip and map loop in C): a call per converted value only
        values = list(zip(*rows, strict=True))
        for index, process in converting:
            values[index] = tuple(map(process, values[index]))
        parameters = list(zip(*values, strict=True))
    else:  # SQLAlchemy hands lists of tuples (or dictionaries) to the driver
        parameters = [row if type(row) is tuple else tuple(row) for row in rows]
    connection.exec_driver_sql(_statement(dialect, table, columns, ignore_conflicts), parameters)
