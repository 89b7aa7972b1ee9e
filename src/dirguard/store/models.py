"""The store's tables as SQLAlchemy 2 typed models.

Alembic owns the schema (``store/migrations``); these models describe it for the ORM, and a test
proves the two agree on SQLite and PostgreSQL. Every timestamp is an aware UTC datetime
(:class:`~dirguard.store.column_types.UtcDateTime`).

Binary attribute values (``objectGUID``, ``nTSecurityDescriptor``…) live inside the JSON columns
as ``{"$bytes": "<base64>"}`` markers (see :mod:`dirguard.store.json_codec`) rather than in a
separate blob: a version stays one readable, queryable document, and the codec guarantees the
bytes come back identical. Only the opaque cursor value is a real binary column.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from dirguard.core.change_op import ChangeOp
from dirguard.store.column_types import BigIntegerId, StoredJson, UtcDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


class Run(Base):
    """One execution of a job (snapshot, monitor, rollback, demo…) and how it ended."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RunStatus), name="status"),
        Index(None, "source", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(255))
    """Connection key the run worked on (domain or tenant name); ``None`` when not tied to one."""
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    counters: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class DirectoryObject(Base):
    """One directory or cloud object, identified by its source and immutable external id."""

    __tablename__ = "objects"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index(None, "source", "natural_key"),
        Index(None, "resource_type"),
        Index(None, "external_id"),
        Index(None, "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    """Connection key: the AD domain or Entra tenant name from the configuration."""
    resource_type: Mapped[str] = mapped_column(String(128))
    """Catalog key, e.g. ``ad.user``."""
    external_id: Mapped[str] = mapped_column(String(255))
    """objectGUID as canonical string, or the Graph ``id``: never changes for the object's life."""
    natural_key: Mapped[str | None] = mapped_column(String(1024))
    """Current human key (sAMAccountName, userPrincipalName…)."""
    path: Mapped[str | None] = mapped_column(Text)
    """Current distinguished name or cloud path."""
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ObjectVersion]] = relationship(
        back_populates="object", order_by="ObjectVersion.version", passive_deletes=True
    )


class ObjectVersion(Base):
    """The normalized content of an object as captured at one moment."""

    __tablename__ = "object_versions"
    __table_args__ = (
        UniqueConstraint("object_id", "version"),
        Index(None, "object_id", "captured_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    """1 for the first capture, then +1 for every capture whose content hash differs."""
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    content: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    """Normalized attributes; bytes are stored as ``$bytes`` markers and come back as bytes."""
    content_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 hex of :func:`dirguard.store.json_codec.content_hash` of ``content``."""
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))

    object: Mapped[DirectoryObject] = relationship(back_populates="versions")


class ObjectLink(Base):
    """A link some recorded version of an object held: the index that finds a deleted object's
    holders (:mod:`dirguard.store.links`)."""

    __tablename__ = "object_links"
    __table_args__ = (
        UniqueConstraint("object_id", "attribute", "target_key"),
        Index(None, "target_key"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    """The holder (a group holding ``member``, a user holding ``manager``)."""
    attribute: Mapped[str] = mapped_column(String(512))
    target_key: Mapped[str] = mapped_column(String(64))
    """:func:`dirguard.store.links.link_key` of the target's DN."""


class ChangeEvent(Base):
    """One attribute or linked-value change, chained per source by a SHA-256 digest."""

    __tablename__ = "change_events"
    __table_args__ = (
        UniqueConstraint("source", "sequence"),
        CheckConstraint(_in("op", ChangeOp), name="op"),
        # Every index here is updated by every stored event: only those a query uses (migration
        # 0018 dropped three that none did).
        Index(None, "object_id", "sequence"),
        Index(None, "observed_at"),
        Index(None, "run_id"),
        Index(None, "timeline_at", "id"),
        Index(None, "source", "timeline_at", "id"),
        Index(None, "object_id", "timeline_at", "id"),
        Index(None, "actor", "timeline_at", "id"),
        Index(None, "attribute", "timeline_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    """The object's source, repeated here because the hash chain runs per source."""
    sequence: Mapped[int] = mapped_column(BigInteger)
    """1, 2, 3… within the source, without gaps."""
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="RESTRICT"))
    op: Mapped[str] = mapped_column(String(16))
    attribute: Mapped[str | None] = mapped_column(String(512))
    """Attribute path (``member``, ``passwordPolicies``, ``conditions.users.includeUsers``)."""
    old_value: Mapped[Any] = mapped_column(StoredJson(), nullable=True)
    new_value: Mapped[Any] = mapped_column(StoredJson(), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(512))
    """Who made the change; ``None`` means not (yet) known."""
    actor_source: Mapped[str | None] = mapped_column(String(64))
    """Where the actor came from (``samba-audit``, ``event-5136``, ``directoryAudits``…)."""
    actor_address: Mapped[str | None] = mapped_column(String(255))
    occurred_at: Mapped[datetime | None]
    """When the change happened according to the source; ``None`` when it does not say."""
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    timeline_at: Mapped[datetime]
    """Where the event stands on the timeline: ``occurred_at``, or ``observed_at`` where the source
    does not say. With ``id`` it is the keyset of every change search
    (:mod:`dirguard.services.change_search`)."""
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    correlation_id: Mapped[str | None] = mapped_column(String(255))
    """Groups events of one operation (Entra ``correlationId``/transaction id)."""
    prev_digest: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class Cursor(Base):
    """Where incremental collection of one stream stands (DirSync cookie, Graph deltaLink)."""

    __tablename__ = "cursors"
    __table_args__ = (UniqueConstraint("source", "stream"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    stream: Mapped[str] = mapped_column(String(128))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    """Opaque: cookie bytes as received; a deltaLink as its UTF-8 bytes."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


class AuditRecord(Base):
    """What dirguard itself did, for whom, and how it ended."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"), Index(None, "actor", "at"))

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    """The person on whose behalf dirguard acted, or ``dirguard`` for its own jobs."""
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(1024))
    details: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    outcome: Mapped[str] = mapped_column(String(32))


class RestorePlan(Base):
    """A rollback or undelete plan: what was selected, by whom, and how applying it ended."""

    __tablename__ = "restore_plans"
    __table_args__ = (Index(None, "source", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(255))
    """The person the plan was made for; dirguard applies it on their behalf."""
    selection: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    """What was selected (event id, object and time, actor and window, undelete target)."""
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    """``planned``, ``applied``, ``partial`` (some steps failed or were skipped) or ``failed``."""
    applied_at: Mapped[datetime | None]

    steps: Mapped[list[RestoreStep]] = relationship(
        back_populates="plan", order_by="RestoreStep.position", passive_deletes=True
    )


class RestoreStep(Base):
    """One step of a plan (a provider's operation on one object), in order, with the outcome of
    applying it (:class:`dirguard.core.plan.Step`)."""

    __tablename__ = "restore_steps"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("restore_plans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    """The provider that performs the step (``ad``, ``entra``)."""
    kind: Mapped[str] = mapped_column(String(32))
    """The provider's operation name (``set``, ``reanimate``…)."""
    object_external_id: Mapped[str] = mapped_column(String(255))
    """The object's immutable id; a reference to a produced id is kept in ``step``."""
    target: Mapped[str] = mapped_column(Text)
    """The object's label (DN) as dirguard knew it when planning (for people; execution goes by
    the external id)."""
    attribute: Mapped[str | None] = mapped_column(String(512))
    step: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    """The provider's payload (values, event ids…), as the planner made it."""
    expected: Mapped[Any] = mapped_column(StoredJson(), nullable=True)
    """What the object should hold when the step runs; ``None``: nothing to check."""
    depends_on: Mapped[list[int]] = mapped_column(StoredJson(), default=list)
    """Positions of earlier steps that must succeed first."""
    produces: Mapped[str | None] = mapped_column(String(255))
    """The name later steps use for the id this step produces."""
    produced_id: Mapped[str | None] = mapped_column(String(255))
    """The id it produced, once applied."""
    description: Mapped[str] = mapped_column(Text)
    conflict: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    """``planned``, ``skipped``, ``succeeded``, ``unchanged`` or ``failed``."""
    outcome: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None]

    plan: Mapped[RestorePlan] = relationship(back_populates="steps")


TABLES = (
    "runs",
    "objects",
    "object_versions",
    "object_links",
    "change_events",
    "cursors",
    "audit_log",
    "restore_plans",
    "restore_steps",
    "elevations",
    "saved_searches",
    "console_accounts",
    "console_sessions",
    "api_tokens",
    "login_failures",
    "alerts",
    "threat_hits",
    "consent_checks",
    "plan_approvals",
    "notifications",
    "approval_requests",
)
"""The store's tables, in the order ``dirguard db status`` lists them."""


class Elevation(Base):
    """One just-in-time group membership granted for a rollback, from before it was added until
    it was removed (``pending`` until then, also when dirguard stopped in between)."""

    __tablename__ = "elevations"
    __table_args__ = (Index(None, "source", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    account: Mapped[str] = mapped_column(String(255))
    """The elevated account's user principal name (the read-only bind account)."""
    account_dn: Mapped[str] = mapped_column(Text)
    group_name: Mapped[str] = mapped_column(String(255))
    group_dn: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("restore_plans.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending`` (the membership may be in place) or ``ended`` (removed, or never added)."""
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_note: Mapped[str | None] = mapped_column(Text)
    """How it ended: removed after the rollback, revoked at a later start, never added…"""


class SavedSearch(Base):
    """A change search kept under a name by its owner; a shared one is offered to everyone."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("owner", "name"), Index(None, "shared"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(255))
    """The console user who saved it."""
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    filter: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    """The filter as :meth:`dirguard.services.change_filter.ChangeFilter.as_dict` gives it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentCheck(Base):
    """One check of what a connection's account or application holds against the permission
    manifest (``connect validate``, the monitor's and ``dirguard serve``'s periodic check); the
    newest per source is the connection's consent state."""

    __tablename__ = "consent_checks"
    __table_args__ = (Index(None, "source", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    """Store key of the connection (``ad:corp.example.com``, ``entra:contoso``)."""
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_by: Mapped[str] = mapped_column(String(255))
    """Who ran the check (a person, or ``dirguard`` for the periodic one)."""
    mode: Mapped[str] = mapped_column(String(16))
    """The connection's mode when checked (``read-only`` or ``full``)."""
    complete: Mapped[bool | None] = mapped_column(Boolean)
    """``True``: everything needed is held; ``False``: something is missing; ``None``: the check
    could not run (``error`` says why)."""
    missing: Mapped[list[dict[str, Any]]] = mapped_column(StoredJson(), default=list)
    """What is missing: name, kind, the features it breaks and how to fix it."""
    error: Mapped[str | None] = mapped_column(Text)


class PlanApproval(Base):
    """One person's decision on something that waits for approval: a rollback plan (four-eyes,
    ``plan_id``) or an approval request for a web action (``request_id``,
    ``store/models_approvals.py``); each person decides once."""

    __tablename__ = "plan_approvals"
    __table_args__ = (
        UniqueConstraint("plan_id", "approved_by"),
        UniqueConstraint("request_id", "approved_by"),
        CheckConstraint("decision IN ('approve', 'reject')", name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("restore_plans.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_requests.id", ondelete="CASCADE")
    )
    approved_by: Mapped[str] = mapped_column(String(255))
    """Who decided (approved, or rejected: ``decision``)."""
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(16), default="approve")
    note: Mapped[str | None] = mapped_column(Text)


# Tables of other capabilities, on the same metadata (imported last: they import Base from here).
from dirguard.store import (  # noqa: E402, F401
    console_models,
    models_admin,
    models_alerts,
    models_approvals,
    models_notifications,
    models_rules,
)
