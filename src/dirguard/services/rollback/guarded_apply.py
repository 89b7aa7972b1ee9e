"""Applying a restore plan only with the rights it needs, and never in read-only mode without
elevation.

Before the first write the bound account's token groups are compared with the groups each
step needs, from the row of the object it writes
(:mod:`dirguard.providers.ad.plan.partition_rights`); a missing group refuses the whole plan. In
full mode dirguard applies the plan as ``bind_upn``. In read-only mode it writes nothing, unless
``elevation_bind_upn`` is configured: then exactly the missing groups are granted to
``bind_upn`` for the rollback (:mod:`dirguard.services.rollback.elevation`), dirguard binds anew
as ``bind_upn`` (group membership counts at bind), checks again, applies, and the membership is
removed in a ``finally``. Every refusal is in dirguard's audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.permission_model import Mode
from dirguard.catalog.resource_type import ResourceType
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.config.secret_store import SecretStore
from dirguard.providers.ad.account_token import bound_account, partition_bases
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.providers.ad.plan.partition_rights import (
    RightsVerdict,
    WriteTarget,
    verdict,
    write_targets,
)
from dirguard.providers.ad.plan.steps import planned_step
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.history import find_objects
from dirguard.services.rollback.apply import ApplyReport, RollbackError, apply_plan
from dirguard.services.rollback.elevation import (
    ElevationError,
    ElevationRequest,
    attach_plan,
    elevated,
    revoke_pending,
)
from dirguard.services.rollback.plan_store import stored_step
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models import DirectoryObject, RestorePlan

Opener = Callable[[], AdConnection]


class RightsRefused(Exception):
    """The plan was refused before any write: read-only mode, or a missing group."""

    def __init__(self, message: str, rights: RightsVerdict | None = None) -> None:
        super().__init__(message)
        self.rights = rights


class CredentialProblem(Exception):
    """A configured credential reference could not be resolved (message without the secret)."""


@dataclass(frozen=True, kw_only=True)
class Openers:
    """Connections for one domain: the bind account, and the elevation account if configured."""

    bind: Opener
    elevator: Opener | None


@dataclass(kw_only=True)
class GuardedApply:
    report: ApplyReport
    rights: RightsVerdict
    elevations: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "rights": self.rights.as_dict(),
            "elevations": self.elevations,
            "elevation_problems": self.problems,
        }


def _password(config: Config, domain: AdDomainConfig, key: str, reference: str | None) -> str:
    if reference is None:
        return ""
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    try:
        return resolve_credential(reference, store)
    except CredentialError as error:
        raise CredentialProblem(f"{domain.name}: {key}: {error}") from None


def openers_for(config: Config, domain: AdDomainConfig) -> Openers:
    """Openers bound with the domain's credentials, each resolved when it is first needed."""

    def bind() -> AdConnection:
        return connect(domain, _password(config, domain, "password", domain.password))

    if domain.elevation_bind_upn is None:
        return Openers(bind=bind, elevator=None)
    as_elevator = domain.model_copy(update={"bind_upn": domain.elevation_bind_upn})

    def elevator() -> AdConnection:
        secret = _password(config, domain, "elevation_password", domain.elevation_password)
        return connect(as_elevator, secret)

    return Openers(bind=bind, elevator=elevator)


def plan_targets(sessions: sessionmaker[Session], plan_id: int) -> list[WriteTarget]:
    """Every DN the plan's pending steps write (moves and reanimations: both ends), with the
    row of the object each step writes."""
    with sessions() as session:
        plan = session.get(RestorePlan, plan_id)
        if plan is None:
            raise RollbackError(f"no restore plan {plan_id}; `dirguard rollback plan` makes one")
        if plan.status != "planned":
            raise RollbackError(
                f"plan {plan_id} was already applied ({plan.status}); make a new plan"
            )
        steps = [planned_step(stored_step(s)) for s in plan.steps if s.status == "planned"]
        types = stored_types(session, plan.source, {s.object_guid for s in steps})
    return write_targets(steps, types)


def stored_types(session: Session, source: str, guids: Iterable[str]) -> dict[str, ResourceType]:
    """The row of each stored object of ``source`` among ``guids``."""
    wanted = list(guids)
    if not wanted:
        return {}
    rows = session.execute(
        select(DirectoryObject.external_id, DirectoryObject.resource_type).where(
            DirectoryObject.source == source, DirectoryObject.external_id.in_(wanted)
        )
    )
    return {row.external_id: RESOURCE_TYPES[row.resource_type] for row in rows}


def check_rights(
    conn: AdConnection, domain: AdDomainConfig, targets: Iterable[WriteTarget]
) -> RightsVerdict:
    """What ``bind_upn`` (the account ``conn`` is bound as) lacks to write ``targets`` (reads
    only)."""
    if domain.bind_upn is None:
        raise RightsRefused(
            f"{domain.name}: set bind_upn (the account dirguard binds as, also with Kerberos) "
            "so that its group memberships can be checked before a rollback"
        )
    account = bound_account(conn, domain.bind_upn)
    return verdict(account.name, targets, partition_bases(conn), account.groups)


def _deny(
    sessions: sessionmaker[Session],
    target: str,
    requested_by: str,
    message: str,
    rights: RightsVerdict | None,
) -> RightsRefused:
    with sessions.begin() as session:
        record_audit(
            session,
            requested_by,
            "rollback.refused",
            target,
            {"reason": message, "rights": rights.as_dict() if rights else None},
            AuditOutcome.DENIED,
        )
    return RightsRefused(message, rights)


def read_only_message(domain: AdDomainConfig) -> str:
    return (
        f"{domain.name} is in read-only mode: dirguard does not write to it, so nothing was "
        "written. To roll back, configure just-in-time elevation (elevation_bind_upn and "
        "elevation_password: an account that may add "
        f"{domain.bind_upn or 'the bind account'} to the admin group the plan needs), or set "
        'mode = "full" with a bind account that is a member of that group'
    )


PlanMaker = Callable[[AdConnection], int]
"""Stores the plan to apply (reading over the given connection) and returns its id."""


def _guarded(
    sessions: sessionmaker[Session],
    domain: AdDomainConfig,
    openers: Openers,
    *,
    requested_by: str,
    reason: str,
    probe: Callable[[AdConnection], list[WriteTarget]],
    make_plan: PlanMaker,
    known_plan: int | None = None,
) -> GuardedApply:
    """Check the rights ``probe`` names, elevate for the missing groups in read-only mode, make
    the plan (inside the elevation, so a capture sees what the elevated account sees), check the
    plan's own targets, apply."""
    if domain.mode is Mode.READ_ONLY and openers.elevator is None:
        raise _deny(sessions, reason, requested_by, read_only_message(domain), None)
    with openers.bind() as conn:
        rights = check_rights(conn, domain, probe(conn))
        if rights.ok:
            plan_id = make_plan(conn)
            rights = check_rights(conn, domain, plan_targets(sessions, plan_id))
            if not rights.ok:
                raise _deny(sessions, f"plan {plan_id}", requested_by, rights.message(), rights)
            report = apply_plan(sessions, conn, plan_id, requested_by=requested_by)
            return GuardedApply(report=report, rights=rights)
    if domain.mode is not Mode.READ_ONLY or openers.elevator is None:
        raise _deny(sessions, reason, requested_by, rights.message(), rights)
    request = ElevationRequest(
        source=domain.name,
        account=domain.bind_upn or "",
        requested_by=requested_by,
        reason=reason,
        plan_id=known_plan,
    )
    with (
        elevated(sessions, openers.elevator, request, rights.missing_groups) as run,
        openers.bind() as conn,
    ):
        plan_id = make_plan(conn)
        if known_plan is None:
            attach_plan(sessions, run.ids, plan_id)
        again = check_rights(conn, domain, plan_targets(sessions, plan_id))
        if not again.ok:
            message = "after elevation: " + again.message()
            raise _deny(sessions, f"plan {plan_id}", requested_by, message, again)
        report = apply_plan(sessions, conn, plan_id, requested_by=requested_by)
    return GuardedApply(report=report, rights=again, elevations=run.ids, problems=run.problems)


def apply_guarded(
    sessions: sessionmaker[Session],
    domain: AdDomainConfig,
    openers: Openers,
    plan_id: int,
    *,
    requested_by: str,
) -> GuardedApply:
    """Apply stored plan ``plan_id`` as described in the module docstring; :class:`RightsRefused`
    before any write when it may not."""
    targets = plan_targets(sessions, plan_id)
    return _guarded(
        sessions,
        domain,
        openers,
        requested_by=requested_by,
        reason=f"rollback plan {plan_id}",
        probe=lambda _conn: targets,
        make_plan=lambda _conn: plan_id,
        known_plan=plan_id,
    )


def undelete_guarded(
    sessions: sessionmaker[Session],
    domain: AdDomainConfig,
    openers: Openers,
    object_text: str,
    *,
    requested_by: str,
    make_plan: PlanMaker,
) -> GuardedApply:
    """Plan (with ``make_plan``) and apply the undelete of ``object_text`` under the same rules;
    it needs what a reanimation in the object's partition needs (its last known DN in the
    store: a subnet in the configuration partition needs Enterprise Admins; an object the store
    does not know is taken to be in the domain partition). With elevation the plan is made
    while elevated: the capture before planning must see the tombstone, which a read-only
    account may not be shown."""
    with sessions() as session:
        known = find_objects(session, object_text, domain.name)
    stored_dn = known[0].path if len(known) == 1 else None
    row = RESOURCE_TYPES[known[0].resource_type] if len(known) == 1 else None
    return _guarded(
        sessions,
        domain,
        openers,
        requested_by=requested_by,
        reason=f"undelete {object_text}",
        probe=lambda conn: [
            WriteTarget(dn=stored_dn or conn.contexts.default, resource_type=row, reanimation=True)
        ],
        make_plan=make_plan,
    )


def revoke_all_pending(
    config: Config,
    sessions: sessionmaker[Session],
    domains: Iterable[AdDomainConfig],
    *,
    by: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """End the pending elevations of ``domains`` (run at the start of every AD-writing or
    monitoring command); the ended rows, and a problem per domain where that failed."""
    ended: list[dict[str, Any]] = []
    problems: list[str] = []
    for domain in domains:
        try:
            opener = openers_for(config, domain).elevator
            ended += revoke_pending(sessions, domain.name, opener, by=by)
        except (ElevationError, CredentialProblem) as error:
            problems.append(str(error))
    return ended, problems


def check_plan(
    sessions: sessionmaker[Session], domain: AdDomainConfig, openers: Openers, plan_id: int
) -> dict[str, Any]:
    """What ``rollback apply`` would do with plan ``plan_id``, without writing: ``apply``,
    ``elevate`` (read-only mode: the missing groups granted for the plan) or ``refuse``."""
    targets = plan_targets(sessions, plan_id)
    with openers.bind() as conn:
        rights = check_rights(conn, domain, targets)
    read_only = domain.mode is Mode.READ_ONLY
    if read_only and openers.elevator is None:
        would, message = "refuse", read_only_message(domain)
    elif rights.ok:
        would, message = "apply", rights.message()
    elif read_only:
        would = "elevate"
        message = (
            f"{domain.elevation_bind_upn} would add {domain.bind_upn} to "
            f"{', '.join(rights.missing_groups)} for this plan and remove it afterwards"
        )
    else:
        would, message = "refuse", rights.message()
    return {
        "plan_id": plan_id,
        "mode": domain.mode.value,
        "elevation_configured": openers.elevator is not None,
        "rights": rights.as_dict(),
        "would": would,
        "message": message,
    }
