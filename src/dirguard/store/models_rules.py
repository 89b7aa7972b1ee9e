"""Rules, their versions and runs, and the scheduler's job leases and job history.

Registered on the same metadata as :mod:`dirguard.store.models` (which imports this module at its
end). A rule is stored as its file's data (``core/rules.rule_data``): every save that changes it
adds a version, so the console can show who changed what and an export is the current version.
A run keeps one row per object it looked at, with each change and its outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dirguard.store.column_types import StoredJson, UtcDateTime, utcnow
from dirguard.store.models import Base


class StoredRule(Base):
    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class RuleVersion(Base):
    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    saved_by: Mapped[str] = mapped_column(String(255))


class RuleRun(Base):
    __tablename__ = "rule_runs"
    __table_args__ = (Index(None, "rule_name", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    started_by: Mapped[str] = mapped_column(String(255))
    """Who asked: a console user, ``schedule`` or ``trigger``."""
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    """``running``, ``succeeded``, ``partial`` (some object failed) or ``failed``."""
    counts: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class RuleRunObject(Base):
    __tablename__ = "rule_run_objects"
    __table_args__ = (Index(None, "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rule_runs.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))
    """``changed`` (or ``would-change``), ``unchanged`` or ``failed``."""
    changes: Mapped[list[Any]] = mapped_column(StoredJson(), default=list)


class JobLease(Base):
    """Who runs a job now: one row per running (kind, key); inserting it is taking the lock, so
    two workers on the same store never run the same job at once (the primary key refuses the
    second), and a lease past ``until`` (its worker died) may be taken over."""

    __tablename__ = "job_leases"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    until: Mapped[datetime] = mapped_column(UtcDateTime())


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index(None, "kind", "key", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    worker: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    error: Mapped[str | None] = mapped_column(Text)
