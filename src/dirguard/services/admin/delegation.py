"""Managing delegation (roles, scopes, assignments) and reading it for decisions.

Every change is one transaction with its audit record (who changed what, the definition before
and after), so the delegation in force and its history never disagree. Who may manage
delegation at all — the console's administrator role — is checked by the front end's role
dependency before these are called; the decisions on objects (``core/delegation.decide``) are
taken by ``services/admin/actions.py`` on every read and write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dirguard.core.delegation import (
    Assignment,
    DelegationError,
    Role,
    Scope,
    ScopeKind,
    Trustee,
)
from dirguard.services.admin.delegation_codec import (
    role_document,
    role_from_document,
    scope_document,
    scope_from_document,
)
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models_admin import (
    DelegationAssignment,
    DelegationRole,
    DelegationScope,
    ManagedUnitMember,
)

TRUSTEE_KINDS = ("user", "entra-group", "ad-group", "local-group")


@dataclass(frozen=True, kw_only=True)
class Delegation:
    """Everything in force: roles, scopes and assignments."""

    roles: tuple[Role, ...]
    scopes: tuple[Scope, ...]
    assignments: tuple[Assignment, ...]

    def as_document(self) -> dict[str, Any]:
        """The export file's content (``dirguard admin delegation export``)."""
        return {
            "roles": [role_document(r) for r in self.roles],
            "scopes": [scope_document(s) for s in self.scopes],
            "assignments": [
                {
                    "role": a.role.name,
                    "scope": a.scope.name,
                    "trustee": {"kind": a.trustee.kind, "id": a.trustee.ident},
                }
                for a in self.assignments
            ],
        }


def _invalid(error: DelegationError) -> ServiceError:
    return ServiceError(str(error), Problem.CONFLICT)


def load_delegation(session: Session) -> Delegation:
    roles = {
        r.id: role_from_document(r.definition) for r in session.scalars(select(DelegationRole))
    }
    scopes = {
        s.id: scope_from_document(s.definition) for s in session.scalars(select(DelegationScope))
    }
    managed = [i for i, s in scopes.items() if s.kind is ScopeKind.MANAGED]
    if managed:
        members: dict[int, set[tuple[str, str]]] = {i: set() for i in managed}
        rows = session.execute(
            select(
                ManagedUnitMember.scope_id, ManagedUnitMember.source, ManagedUnitMember.member_key
            ).where(ManagedUnitMember.scope_id.in_(managed))
        )
        for scope_id, source, key in rows:
            members[scope_id].add((source, key))
        for scope_id, found in members.items():
            scopes[scope_id] = replace(scopes[scope_id], members=frozenset(found))
    assignments = tuple(
        Assignment(
            role=roles[a.role_id],
            scope=scopes[a.scope_id],
            trustee=Trustee(kind=a.trustee_kind, ident=a.trustee_ident),
        )
        for a in session.scalars(select(DelegationAssignment).order_by(DelegationAssignment.id))
    )
    return Delegation(
        roles=tuple(sorted(roles.values(), key=lambda r: r.name)),
        scopes=tuple(sorted(scopes.values(), key=lambda s: s.name)),
        assignments=assignments,
    )


def current_delegation(runtime: Runtime) -> Delegation:
    with runtime.sessions() as session:
        return load_delegation(session)


def _store_definition(
    runtime: Runtime,
    model: type[DelegationRole] | type[DelegationScope],
    kind: str,
    name: str,
    after: dict[str, Any],
) -> None:
    """Create or replace the role or scope ``name`` with one audit record (before, after)."""
    with runtime.sessions.begin() as session:
        row: Any = session.scalar(select(model).where(model.name == name))
        before = None if row is None else row.definition
        if row is None:
            session.add(model(name=name, definition=after, updated_by=runtime.principal))
        else:
            row.definition, row.updated_by = after, runtime.principal
            row.updated_at = runtime.clock()
        record_audit(
            session,
            runtime.principal,
            f"delegation.{kind}.save",
            name,
            {"before": before, "after": after},
            AuditOutcome.SUCCEEDED,
        )


def save_role(runtime: Runtime, document: dict[str, Any]) -> Role:
    """Create or replace the role of that name."""
    try:
        role = role_from_document(document)
    except DelegationError as error:
        raise _invalid(error) from None
    _store_definition(runtime, DelegationRole, "role", role.name, role_document(role))
    return role


def save_scope(runtime: Runtime, document: dict[str, Any]) -> Scope:
    """Create or replace the scope of that name."""
    try:
        scope = scope_from_document(document)
    except DelegationError as error:
        raise _invalid(error) from None
    _store_definition(runtime, DelegationScope, "scope", scope.name, scope_document(scope))
    return scope


def _named(session: Session, model: type[Any], name: str, what: str) -> Any:
    row = session.scalar(select(model).where(model.name == name))
    if row is None:
        raise ServiceError(f"no {what} named {name!r}", Problem.NOT_FOUND)
    return row


def _trustee(kind: str, ident: str) -> Trustee:
    if kind not in TRUSTEE_KINDS:
        raise ServiceError(
            f"trustee kind {kind!r} is not one of {', '.join(TRUSTEE_KINDS)}", Problem.CONFLICT
        )
    if not ident.strip():
        raise ServiceError("the trustee's id is empty", Problem.CONFLICT)
    return Trustee(kind=kind, ident=ident.strip().casefold())


def _assignment(
    session: Session, role_row: DelegationRole, scope_row: DelegationScope, trustee: Trustee
) -> DelegationAssignment | None:
    return session.scalar(
        select(DelegationAssignment).where(
            DelegationAssignment.role_id == role_row.id,
            DelegationAssignment.scope_id == scope_row.id,
            DelegationAssignment.trustee_kind == trustee.kind,
            DelegationAssignment.trustee_ident == trustee.ident,
        )
    )


def _audit_assignment(
    session: Session, runtime: Runtime, action: str, trustee: Trustee, role: str, scope: str
) -> None:
    record_audit(
        session,
        runtime.principal,
        action,
        f"{trustee.kind}:{trustee.ident}",
        {"role": role, "scope": scope},
        AuditOutcome.SUCCEEDED,
    )


def assign(runtime: Runtime, role: str, scope: str, kind: str, ident: str) -> Assignment:
    """Give ``role`` over ``scope`` to a console user or group (idempotent)."""
    trustee = _trustee(kind, ident)
    with runtime.sessions.begin() as session:
        role_row = _named(session, DelegationRole, role, "role")
        scope_row = _named(session, DelegationScope, scope, "scope")
        if _assignment(session, role_row, scope_row, trustee) is None:
            session.add(
                DelegationAssignment(
                    role_id=role_row.id,
                    scope_id=scope_row.id,
                    trustee_kind=trustee.kind,
                    trustee_ident=trustee.ident,
                    created_by=runtime.principal,
                )
            )
            _audit_assignment(session, runtime, "delegation.assign", trustee, role, scope)
        return Assignment(
            role=role_from_document(role_row.definition),
            scope=scope_from_document(scope_row.definition),
            trustee=trustee,
        )


def unassign(runtime: Runtime, role: str, scope: str, kind: str, ident: str) -> bool:
    """Take the assignment away; ``False`` when there was none."""
    trustee = _trustee(kind, ident)
    with runtime.sessions.begin() as session:
        role_row = _named(session, DelegationRole, role, "role")
        scope_row = _named(session, DelegationScope, scope, "scope")
        row = _assignment(session, role_row, scope_row, trustee)
        if row is None:
            return False
        session.delete(row)
        _audit_assignment(session, runtime, "delegation.unassign", trustee, role, scope)
        return True


def delete_role(runtime: Runtime, name: str) -> None:
    """Delete a role and every assignment of it."""
    with runtime.sessions.begin() as session:
        row = _named(session, DelegationRole, name, "role")
        session.execute(delete(DelegationAssignment).where(DelegationAssignment.role_id == row.id))
        record_audit(
            session,
            runtime.principal,
            "delegation.role.delete",
            name,
            {"before": row.definition},
            AuditOutcome.SUCCEEDED,
        )
        session.delete(row)


def delete_scope(runtime: Runtime, name: str) -> None:
    """Delete a scope and every assignment over it."""
    with runtime.sessions.begin() as session:
        row = _named(session, DelegationScope, name, "scope")
        session.execute(delete(DelegationAssignment).where(DelegationAssignment.scope_id == row.id))
        record_audit(
            session,
            runtime.principal,
            "delegation.scope.delete",
            name,
            {"before": row.definition},
            AuditOutcome.SUCCEEDED,
        )
        session.delete(row)
