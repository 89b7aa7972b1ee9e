"""Read-only views the console's Audit and Permissions pages (and their API routes) show.

- :func:`list_audit`: dirguard's own audit log (sign-ins, plans, approvals, applies, elevations),
  newest first, filtered by actor and action prefix, paged by id.
- :func:`permission_matrix`: for each configured connection, the manifest's rows for its
  services and mode, each marked held, missing or not checked after the connection's newest
  consent check (:mod:`dirguard.services.consent_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Permission, Service
from dirguard.services.consent_state import AD, ENTRA, ConsentState, latest_states
from dirguard.services.errors import ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord

AD_KINDS = frozenset({Kind.AD_GROUP, Kind.AD_EXTENDED_RIGHT, Kind.AD_CONTAINER_ACCESS})


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "details": self.details,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def list_audit(
    runtime: Runtime,
    *,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[AuditEntry]:
    """Audit records, newest first (``action``: a prefix such as ``rollback.``)."""
    if not 1 <= limit <= 1000:
        raise ServiceError(f"limit {limit}: give 1 to 1000")
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditRecord.actor == actor)
    if action:
        query = query.where(AuditRecord.action.startswith(action, autoescape=True))
    if before is not None:
        query = query.where(AuditRecord.id < before)
    with runtime.sessions() as session:
        return [
            AuditEntry(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                details=_plain(dict(r.details or {})),
            )
            for r in session.scalars(query)
        ]


@dataclass(frozen=True, kw_only=True)
class PermissionRow:
    name: str
    kind: str
    principal: str
    lifecycle: str
    description: str
    status: str
    """``held``, ``missing`` or ``not checked``."""

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True, kw_only=True)
class ConnectionPermissions:
    source: str
    name: str
    kind: str
    mode: str
    services: tuple[str, ...]
    checked_at: datetime | None
    rows: tuple[PermissionRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "kind": self.kind,
            "mode": self.mode,
            "services": list(self.services),
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "rows": [r.as_dict() for r in self.rows],
        }


def _rows(permissions: list[Permission], state: ConsentState | None) -> tuple[PermissionRow, ...]:
    missing = {(m.name.casefold(), m.kind) for m in state.missing} if state else set()
    checked = state is not None and state.complete is not None
    found = []
    for p in permissions:
        if (p.name.casefold(), p.kind.value) in missing:
            status = "missing"
        elif checked and p.lifecycle is not Lifecycle.SETUP_ONLY:
            status = "held"
        else:
            status = "not checked"
        found.append(
            PermissionRow(
                name=p.name,
                kind=p.kind.value,
                principal=p.principal.value,
                lifecycle=p.lifecycle.value,
                description=p.description,
                status=status,
            )
        )
    return tuple(found)


def permission_matrix(runtime: Runtime) -> list[ConnectionPermissions]:
    """The manifest against what each configured connection holds (its newest check)."""
    with runtime.sessions() as session:
        states = latest_states(session)
    found = []
    for domain in runtime.config.ad.domains:
        source = f"{AD}:{domain.name}"
        rows = [
            p
            for p in MANIFEST.select(service=Service.GUARDIAN, mode=domain.mode)
            if p.kind in AD_KINDS
        ]
        state = states.get(source)
        found.append(
            ConnectionPermissions(
                source=source,
                name=domain.name,
                kind=AD,
                mode=domain.mode.value,
                services=(Service.GUARDIAN.value,),
                checked_at=state.checked_at if state else None,
                rows=_rows(rows, state),
            )
        )
    for tenant in runtime.config.entra.tenants:
        source = f"{ENTRA}:{tenant.name}"
        rows = [
            p
            for service in tenant.services
            for p in MANIFEST.select(service=service, mode=Mode(tenant.mode))
            if p.kind not in AD_KINDS and p.kind is not Kind.AD_SETUP_GROUP
        ]
        state = states.get(source)
        found.append(
            ConnectionPermissions(
                source=source,
                name=tenant.name,
                kind=ENTRA,
                mode=tenant.mode.value,
                services=tuple(s.value for s in tenant.services),
                checked_at=state.checked_at if state else None,
                rows=_rows(rows, state),
            )
        )
    return found
