"""The Administrator's tables: delegated roles, scopes and who holds which role where.

Registered on the same metadata as :mod:`dirguard.store.models` (which imports this module at its
end), so Alembic and the schema test see them. Roles and scopes are stored as JSON definitions
(``services/admin/delegation_codec.py`` reads them into ``core/delegation`` objects): they are
small, always read whole, and exported and imported as files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dirguard.store.column_types import StoredJson, utcnow
from dirguard.store.models import Base


class DelegationRole(Base):
    __tablename__ = "delegation_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class DelegationScope(Base):
    __tablename__ = "delegation_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(StoredJson())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class DelegationAssignment(Base):
    __tablename__ = "delegation_assignments"
    __table_args__ = (
        UniqueConstraint("role_id", "scope_id", "trustee_kind", "trustee_ident"),
        Index(None, "trustee_kind", "trustee_ident"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("delegation_roles.id", ondelete="CASCADE"))
    scope_id: Mapped[int] = mapped_column(ForeignKey("delegation_scopes.id", ondelete="CASCADE"))
    trustee_kind: Mapped[str] = mapped_column(String(32))
    trustee_ident: Mapped[str] = mapped_column(String(1024))
    """Case-folded: a sign-in name, a group id or DN."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))


class ManagedUnitMember(Base):
    """One member of a managed unit (``core/delegation.ScopeKind.MANAGED``): put there by the
    rule run ``run_id`` of a ``keep-members`` action, removed when a later run no longer finds
    it. Delegation decisions read these rows instead of querying the directory."""

    __tablename__ = "managed_unit_members"
    __table_args__ = (UniqueConstraint("scope_id", "source", "member_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("delegation_scopes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(255))
    """Store key of the member's domain or tenant."""
    member_key: Mapped[str] = mapped_column(String(1024))
    """``core/delegation.member_key`` of its DN or id."""
    path: Mapped[str] = mapped_column(String(1024))
    """Its DN or id as the directory spells it."""
    name: Mapped[str] = mapped_column(String(1024))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(255))
    """The rule (``rule <name>``) that added it."""
