"""Each connection's consent state, kept in dirguard's store: what the last check found missing.

Every validation of a connection (``dirguard connect validate``, the monitor's periodic check,
``dirguard serve``'s) is recorded as one ``consent_checks`` row: complete, or what is missing,
with the features each missing grant breaks and how to fix it, or why the check could not run.
The newest row per connection is its state; the console shows a red banner while any
connection's newest check found something missing, and the banner goes as soon as a later
check finds everything held. Checking only reads the directory or tenant (also in read-only
mode); the only write is to dirguard's own store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig, Config, EntraTenantConfig
from dirguard.services.connection_validate import DomainOutcome, validate_domains, validate_tenant
from dirguard.services.errors import ServiceError
from dirguard.store.audit import SELF
from dirguard.store.column_types import utcnow
from dirguard.store.models import ConsentCheck

if TYPE_CHECKING:
    from dirguard.core.consent_check import MissingGrant
    from dirguard.providers.entra.validate import TenantValidation
    from dirguard.services.runtime import Runtime

AD, ENTRA = "ad", "entra"


@dataclass(frozen=True, kw_only=True)
class MissingItem:
    """One grant a connection lacks: what it is, what it breaks, how to fix it."""

    name: str
    kind: str
    features: tuple[str, ...]
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "features": list(self.features),
            "fix": self.fix,
        }


@dataclass(frozen=True, kw_only=True)
class ConsentState:
    """What the newest check of one connection found."""

    source: str
    """Store key (``ad:corp.example.com``, ``entra:contoso``)."""
    kind: str
    name: str
    mode: str
    checked_at: datetime
    checked_by: str
    complete: bool | None
    """``None``: the check could not run (``error``)."""
    missing: tuple[MissingItem, ...] = ()
    error: str | None = None

    @property
    def partial(self) -> bool:
        """Something the connection needs is missing: the console's red banner."""
        return self.complete is False

    def summary(self) -> str:
        if self.complete is None:
            return f"{self.name}: not checked: {self.error}"
        if self.complete:
            return f"{self.name}: everything its {self.mode} mode needs is held"
        names = ", ".join(m.name for m in self.missing)
        what = "partial consent" if self.kind == ENTRA else "missing group or right"
        return f"{self.name}: {what}: {names}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "name": self.name,
            "mode": self.mode,
            "checked_at": self.checked_at.isoformat(),
            "checked_by": self.checked_by,
            "complete": self.complete,
            "partial": self.partial,
            "missing": [m.as_dict() for m in self.missing],
            "error": self.error,
        }


def _ad_fix(domain: AdDomainConfig, account: str, grant: MissingGrant) -> str:
    again = f"then `dirguard connect validate --domain {domain.name}`"
    if grant.kind in ("ad-group", "ad-setup-group"):
        return f"add {account} to the group {grant.name!r} (as a domain admin), {again}"
    if grant.kind == "ad-container-access":
        return f"grant {account} {grant.name} (as a domain admin), {again}"
    return (
        f"grant {account} the extended right {grant.name!r} on the domain head"
        f" (`dirguard connect ad --domain {domain.name} --account {account}"
        f" --mode {domain.mode.value}` as a domain admin), {again}"
    )


def _entra_fix(tenant: EntraTenantConfig, grant: MissingGrant) -> str:
    return (
        f"grant {grant.name} ({grant.kind}) to dirguard's application and give admin consent:"
        f" `dirguard connect entra --tenant {tenant.name} --mode {tenant.mode.value}` as a Global"
        f" Administrator, then `dirguard connect validate --tenant {tenant.name}`"
    )


def _unchecked(kind: str, name: str, mode: str, checked_by: str) -> ConsentState:
    return ConsentState(
        source=f"{kind}:{name}",
        kind=kind,
        name=name,
        mode=mode,
        checked_at=utcnow(),
        checked_by=checked_by,
        complete=None,
    )


def domain_state(domain: AdDomainConfig, outcome: DomainOutcome, checked_by: str) -> ConsentState:
    """The state one domain's validation shows."""
    base = _unchecked(AD, domain.name, domain.mode.value, checked_by)
    result = outcome.result
    if result is None:
        return replace(base, complete=None, error=outcome.error)
    check = result.check
    if check.account_dn is None:
        gone = MissingItem(
            name=check.account,
            kind="ad-account",
            features=(),
            fix=f"the bind account {check.account} does not exist: create it with"
            f" `dirguard connect ad --domain {domain.name} --mode {domain.mode.value}`",
        )
        return replace(base, complete=False, missing=(gone,))
    missing = tuple(
        MissingItem(
            name=m.name,
            kind=m.kind,
            features=tuple(m.features),
            fix=_ad_fix(domain, check.account, m),
        )
        for m in check.missing
    )
    return replace(base, complete=not missing, missing=missing)


def tenant_state(
    tenant: EntraTenantConfig,
    result: TenantValidation | None,
    checked_by: str,
    error: str | None = None,
) -> ConsentState:
    """The state one tenant's validation (or its failure) shows."""
    base = _unchecked(ENTRA, tenant.name, tenant.mode.value, checked_by)
    if result is None:
        return replace(base, complete=None, error=error or "the check did not run")
    missing = tuple(
        MissingItem(name=m.name, kind=m.kind, features=tuple(m.features), fix=_entra_fix(tenant, m))
        for m in result.consent.missing
    )
    return replace(base, complete=not missing, missing=missing)


def record_states(sessions: sessionmaker[Session], states: Sequence[ConsentState]) -> None:
    """Store each state as a new check (one transaction)."""
    with sessions.begin() as session:
        for state in states:
            session.add(
                ConsentCheck(
                    source=state.source,
                    checked_at=state.checked_at,
                    checked_by=state.checked_by,
                    mode=state.mode,
                    complete=state.complete,
                    missing=[m.as_dict() for m in state.missing],
                    error=state.error,
                )
            )


def _state(row: ConsentCheck) -> ConsentState:
    kind, _, name = row.source.partition(":")
    return ConsentState(
        source=row.source,
        kind=kind,
        name=name,
        mode=row.mode,
        checked_at=row.checked_at,
        checked_by=row.checked_by,
        complete=row.complete,
        missing=tuple(
            MissingItem(
                name=str(m.get("name", "")),
                kind=str(m.get("kind", "")),
                features=tuple(m.get("features") or ()),
                fix=str(m.get("fix", "")),
            )
            for m in row.missing or ()
        ),
        error=row.error,
    )


def latest_states(session: Session) -> dict[str, ConsentState]:
    """The newest check of every connection ever checked, by store key."""
    newest = (
        select(ConsentCheck.source, func.max(ConsentCheck.id).label("id"))
        .group_by(ConsentCheck.source)
        .subquery()
    )
    rows = session.scalars(select(ConsentCheck).join(newest, ConsentCheck.id == newest.c.id))
    return {row.source: _state(row) for row in rows}


def configured_sources(config: Config) -> list[str]:
    """Store keys of every configured connection, AD domains first."""
    return [f"{AD}:{d.name}" for d in config.ad.domains] + [
        f"{ENTRA}:{t.name}" for t in config.entra.tenants
    ]


def current_states(runtime: Runtime) -> list[ConsentState]:
    """The newest state of each configured connection (one not checked yet is left out)."""
    with runtime.sessions() as session:
        states = latest_states(session)
    return [states[s] for s in configured_sources(runtime.config) if s in states]


def check_now(
    config: Config,
    *,
    domains: Sequence[AdDomainConfig] | None = None,
    tenants: Sequence[EntraTenantConfig] | None = None,
    checked_by: str = SELF,
) -> list[ConsentState]:
    """Validate the connections (default: every configured one) and return what each shows; a
    connection that cannot be checked gets a state with its error (nothing is raised)."""
    chosen_domains = list(config.ad.domains if domains is None else domains)
    chosen_tenants = list(config.entra.tenants if tenants is None else tenants)
    states = [
        domain_state(domain, outcome, checked_by)
        for domain, outcome in zip(
            chosen_domains, validate_domains(config, chosen_domains), strict=True
        )
    ]
    for tenant in chosen_tenants:
        try:
            states.append(tenant_state(tenant, validate_tenant(config, tenant), checked_by))
        except ServiceError as error:
            states.append(tenant_state(tenant, None, checked_by, error=str(error)))
    return states


def check_and_record(runtime: Runtime) -> list[ConsentState]:
    """Check every configured connection and record what each shows (the periodic check)."""
    states = check_now(runtime.config, checked_by=runtime.principal)
    record_states(runtime.sessions, states)
    return states
