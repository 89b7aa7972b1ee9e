"""Running a web action for a console user: find the object as it is now, check the delegation,
preview, commit, audit.

The same two calls serve the console form, the REST endpoint and the CLI: :func:`preview_action`
(nothing is written; what would change, field by field) and :func:`run_action` (the preview is
taken again on the live object, checked again, and written as the Administrator's service
account — never with the operator's own rights). Both decide on the object as the directory
shows it at that moment, so one moved out of the operator's scope since the page was loaded is
refused. Every commit, and every refusal of one, is an audit record naming the operator, the
object, the action, before → after and the request id; passwords never appear.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dirguard.catalog.admin_actions import ACTIONS_BY_KEY, AdminAction
from dirguard.core.admin_plan import Performed
from dirguard.core.delegation import ConsoleUser, Decision, Target, decide
from dirguard.providers.base import SourceError, store_source
from dirguard.services.admin.cross_directory import READERS
from dirguard.services.admin.delegation import current_delegation
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime, choose_entra_tenant
from dirguard.store.audit import AuditOutcome, record_audit

DENIED = AuditOutcome.DENIED


@dataclass(frozen=True, kw_only=True)
class ActionRequest:
    """What the operator asked for."""

    action: str
    """A key of ``catalog/admin_actions.py``."""
    source: str
    """The domain's or tenant's configured name (``corp.example.com``)."""
    target: str
    """The object (DN, sAMAccountName, UPN); for a create, the OU it is created in."""
    params: Mapping[str, Any] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    approval: Mapping[str, Any] | None = None
    """Set only by ``services/approvals`` when an approved request runs: its id and approvers
    (recorded with the execution). An action a policy covers is refused without it."""


@dataclass(frozen=True, kw_only=True)
class ActionPreview:
    action: str
    title: str
    target: str
    """The object's DN (or the new object's, for a create)."""
    edits: tuple[dict[str, Any], ...]
    notes: tuple[str, ...]
    allowed_by: tuple[str, ...]
    """``role over scope`` of each assignment that allows it."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "title": self.title,
            "target": self.target,
            "edits": list(self.edits),
            "notes": list(self.notes),
            "allowed_by": list(self.allowed_by),
        }


@dataclass(frozen=True, kw_only=True)
class ActionResult:
    preview: ActionPreview
    object: str
    """Where the object is afterwards (a move's new DN, a create's DN)."""
    request_id: str
    audit_id: int
    revealed: str | None = field(default=None, repr=False)
    """A secret the action made (a Temporary Access Pass), shown to the operator this once."""

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.preview.as_dict(),
            "object": self.object,
            "request_id": self.request_id,
            "audit_id": self.audit_id,
            "revealed": self.revealed,
        }


def _declared(key: str) -> AdminAction:
    declared = ACTIONS_BY_KEY.get(key)
    if declared is None:
        raise ServiceError(f"no web action {key!r}", Problem.NOT_FOUND)
    return declared


@contextmanager
def ad_actions(runtime: Runtime, domain_name: str) -> Iterator[Any]:
    from dirguard.providers.ad.admin_actions import AdActions

    domain = runtime.ad_domain(domain_name)
    opener = runtime.openers(domain).administrator
    if opener is None:
        raise ServiceError(
            f"{domain.name}: no Administrator AD account is configured (admin_bind_upn and"
            " admin_password in its [[ad.domains]] entry): web actions are off for this domain",
            Problem.CONFIG,
        )
    with opener() as conn:
        yield AdActions(conn, source=store_source("ad", domain.name))


@contextmanager
def _entra_actions(runtime: Runtime, tenant_name: str) -> Iterator[Any]:
    from dirguard.catalog.permission_model import Service
    from dirguard.providers.entra.admin_actions import EntraActions

    tenant = choose_entra_tenant(runtime.config, tenant_name)
    if Service.ADMINISTRATOR not in tenant.services:
        raise ServiceError(
            f"{tenant.name}: the tenant does not run the Administrator service (add"
            " 'administrator' to its services and connect it): web actions are off for it",
            Problem.CONFIG,
        )
    with runtime.open_entra(tenant) as graph:
        yield EntraActions(graph, source=store_source("entra", tenant.name))


def directory_actions(runtime: Runtime, directory: str, source: str) -> Any:
    """The provider's actions on ``source`` (a context manager)."""
    return _actions(runtime, directory, source)


def _actions(runtime: Runtime, directory: str, source: str) -> Any:
    """The provider's actions on ``source`` (a context manager)."""
    if directory == "entra":
        return _entra_actions(runtime, source)
    return ad_actions(runtime, source)


def _refused(decision: Decision, user: ConsoleUser) -> ServiceError:
    return ServiceError(f"{user.name} may not: {decision.reason}", Problem.PERMISSION)


def with_ad_groups(runtime: Runtime, user: ConsoleUser, assignments: Any) -> ConsoleUser:
    """``user`` with the AD groups of their AD account (matched by sign-in name), when some
    assignment is made to an AD group; read live, so a membership removed in AD counts at once."""
    from dataclasses import replace

    from dirguard.core.delegation import Trustee

    if not any(a.trustee.kind == "ad-group" for a in assignments):
        return user
    groups = set(user.groups)
    for domain in runtime.config.ad.domains:
        if domain.admin_bind_upn is None:
            continue
        with ad_actions(runtime, domain.name) as actions:
            groups |= {
                Trustee(kind="ad-group", ident=dn.casefold()) for dn in actions.groups_of(user.name)
            }
    return replace(user, groups=frozenset(groups))


def _check(
    runtime: Runtime,
    user: ConsoleUser,
    declared: AdminAction,
    targets: list[Target],
    writes: list[str],
) -> Decision:
    """One decision covering every place the action touches (a move: where the object is and
    where it goes); the first refusal wins."""
    assignments = current_delegation(runtime).assignments
    user = with_ad_groups(runtime, user, assignments)
    decision = Decision(allowed=False, reason="nothing to decide on")
    for target in targets:
        decision = decide(assignments, user, declared.key, target, writes=writes)
        if not decision.allowed:
            return decision
    return decision


def _prepare(
    runtime: Runtime,
    user: ConsoleUser,
    request: ActionRequest,
    actions: Any,
    *,
    as_service: bool = False,
) -> tuple[ActionPreview, Any]:
    declared = _declared(request.action)
    try:
        if declared.creates:
            where = actions.container(request.target, request.params, declared.key)
        else:
            where = actions.find(request.target)
        params = dict(request.params)
        for need in declared.reads_other:
            params[f"_{need}"] = READERS[need](runtime, where, request.params)
        if declared.restores is not None:
            params["_recorded"] = _last_run(runtime, declared, where.source, where.path)
        plan = actions.plan(declared.key, where, params)
        checked = [where, *plan.checks]
    except SourceError as error:
        problem = Problem.PERMISSION if error.refused else Problem.CONFLICT
        raise ServiceError(str(error), problem) from None
    writes = [e.field for e in plan.edits if e.field not in ("memberOf", "distinguishedName")]
    if as_service:
        # dirguard's own identity (a rule): no delegation, the rule's scope bounds it
        decision = Decision(allowed=True, reason="dirguard service identity")
    else:
        decision = _check(runtime, user, declared, checked, writes)
    if not decision.allowed:
        raise _refused(decision, user)
    preview = ActionPreview(
        action=declared.key,
        title=declared.title,
        target=plan.new_path or plan.path,
        edits=tuple(e.shown() for e in plan.edits),
        notes=plan.notes,
        allowed_by=tuple(f"{a.role.name} over {a.scope.name}" for a in decision.via)
        or ((user.name,) if as_service else ()),
    )
    return preview, plan


def preview_action(
    runtime: Runtime, user: ConsoleUser, request: ActionRequest, *, as_service: bool = False
) -> ActionPreview:
    """What the action would change, after the delegation check; nothing is written.
    ``as_service``: ``user`` is dirguard's own identity (``rule <name>``), not delegated."""
    with _actions(runtime, _declared(request.action).directory, request.source) as actions:
        return _prepare(runtime, user, request, actions, as_service=as_service)[0]


def run_action(
    runtime: Runtime, user: ConsoleUser, request: ActionRequest, *, as_service: bool = False
) -> ActionResult:
    """Check, preview again on the live object, write, audit."""
    declared = _declared(request.action)
    audit_target = f"{store_source(declared.directory, request.source)}/{request.target}"
    policy = runtime.config.approvals.policy_for(declared.key)
    if policy is not None and request.approval is None:
        message = f"{declared.key} needs approval (policy {policy.name!r}): submit it for approval"
        _audit(runtime, user, declared, audit_target, request, {"error": message}, DENIED)
        raise ServiceError(message, Problem.CONFLICT)
    try:
        with _actions(runtime, declared.directory, request.source) as actions:
            preview, plan = _prepare(runtime, user, request, actions, as_service=as_service)
            done = Performed(path=preview.target) if plan.changes_nothing else actions.perform(plan)
    except ServiceError as error:
        outcome = (
            AuditOutcome.DENIED if error.problem is Problem.PERMISSION else AuditOutcome.FAILED
        )
        _audit(runtime, user, declared, audit_target, request, {"error": error.message}, outcome)
        raise
    except SourceError as error:
        problem = Problem.PERMISSION if error.refused else Problem.CONFLICT
        _audit(
            runtime,
            user,
            declared,
            audit_target,
            request,
            {"error": str(error)},
            AuditOutcome.FAILED,
        )
        raise ServiceError(str(error), problem) from None
    audit_id = _audit(
        runtime,
        user,
        declared,
        f"{store_source(declared.directory, request.source)}/{done.path}",
        request,
        {
            "edits": list(preview.edits),
            "notes": list(preview.notes),
            "allowed_by": list(preview.allowed_by),
            **({"approval": dict(request.approval)} if request.approval else {}),
        },
        AuditOutcome.SUCCEEDED,
    )
    return ActionResult(
        preview=preview,
        object=done.path,
        request_id=request.request_id,
        audit_id=audit_id,
        revealed=done.revealed,
    )


def _last_run(
    runtime: Runtime, declared: AdminAction, source: str, path: str
) -> dict[str, Any] | None:
    """What the last successful run of the action ``declared`` undoes recorded on the object
    (its audit record's details), or ``None``."""
    from sqlalchemy import select

    from dirguard.store.models import AuditRecord

    with runtime.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.action == f"admin.{declared.restores}",
                AuditRecord.target == f"{source}/{path}",
                AuditRecord.outcome == AuditOutcome.SUCCEEDED.value,
            )
            .order_by(AuditRecord.id.desc())
            .limit(1)
        ).first()
        return None if record is None else dict(record.details)


def _audit(
    runtime: Runtime,
    user: ConsoleUser,
    declared: AdminAction,
    target: str,
    request: ActionRequest,
    details: dict[str, Any],
    outcome: AuditOutcome,
) -> int:
    with runtime.sessions.begin() as session:
        record = record_audit(
            session,
            user.name,
            f"admin.{declared.key}",
            target,
            {**details, "request_id": request.request_id, "service_account": "administrator"},
            outcome,
        )
        return record.id


@dataclass(frozen=True, kw_only=True)
class ListedObject:
    """An object the operator may see, with the fields their roles let them read."""

    path: str
    kind: str
    name: str
    fields: dict[str, Any]
    actions: tuple[str, ...]
    """The actions some assignment over it grants (what the console offers on it)."""


def _row_actions(covering: list[Any], target: Target) -> tuple[str, ...]:
    """The actions the covering assignments allow on this object: of its directory and kind,
    and not the creating ones (those act on an OU or unit, offered below the list)."""
    keys = {k for a in covering for k in a.role.actions}
    return tuple(
        sorted(
            k
            for k in keys
            if (declared := ACTIONS_BY_KEY.get(k)) is not None
            and declared.directory == target.directory
            and declared.object_kind == target.object_kind
            and not declared.creates
        )
    )


def list_objects(
    runtime: Runtime,
    user: ConsoleUser,
    source: str,
    kind: str,
    text: str = "",
    *,
    directory: str = "ad",
    limit: int = 200,
) -> tuple[list[ListedObject], bool]:
    """The users or groups in ``source`` that ``user``'s scopes hold (nothing outside them is
    ever returned), at most ``limit``; and whether there were more."""
    from dirguard.core.delegation import holding, readable

    every = current_delegation(runtime).assignments
    user = with_ad_groups(runtime, user, every)
    assignments = holding(every, user)
    if not assignments:
        return [], False
    with _actions(runtime, directory, source) as actions:
        try:
            found = actions.search(kind, text)
        except SourceError as error:
            raise ServiceError(str(error), Problem.CONFLICT) from None
    listed: list[ListedObject] = []
    for target in found:
        covering = [a for a in assignments if a.scope.contains(target)]
        if not covering:
            continue
        if len(listed) == limit:
            return listed, True
        fields = readable(covering, user, target)
        fields.pop("protected", None)
        names = (
            target.fields.get("deviceName")
            or target.fields.get("displayName")
            or target.fields.get("sAMAccountName")
            or target.path
        )
        listed.append(
            ListedObject(
                path=target.path,
                kind=target.object_kind,
                name=str(names[0] if isinstance(names, list) else names),
                fields=fields,
                actions=_row_actions(covering, target),
            )
        )
    return listed, False
