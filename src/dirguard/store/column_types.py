"""Column types shared by the models: UTC timestamps and JSON that keeps bytes.

``UtcDateTime`` accepts only timezone-aware datetimes (a naive one is a bug: which zone?), stores
them as UTC and always returns aware UTC datetimes — SQLite keeps no offset, PostgreSQL's
``timestamptz`` does; both come back the same.

``StoredJson`` is JSON on SQLite and JSONB on PostgreSQL, passed through
:mod:`dirguard.store.json_codec` so byte strings round-trip byte for byte.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from dirguard.store import json_codec

BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; SQLite's ``INTEGER PRIMARY KEY`` is already 64-bit (and rowid)."""


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp (``DateTime(timezone=True)``)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use an aware UTC time")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StoredJson(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) whose byte strings survive the round trip."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # ``None`` is SQL NULL (``none_as_null``): "no value", queryable with IS NULL.
        if value is None:
            return None
        if type(value) is json_codec.JsonText:
            return value  # serialized already; the store's serializer writes its text
        return json_codec.encode(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return json_codec.decode(value)
