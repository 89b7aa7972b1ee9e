"""Dynamic groups and managed units: a rule's ``keep-members`` action keeps a group's members
(AD or Entra) or a managed unit's (``core/delegation.ScopeKind.MANAGED``, stored by dirguard)
equal to the objects the rule finds.

Each run reads the members the group has now and compares them with the objects the scope
holds that meet the conditions: the same directory matches by DN (RDN by RDN) or Entra id; an
Entra group kept for an AD scope matches the AD users' counterparts by userPrincipalName, as
Entra Connect does. The plan (:mod:`dirguard.core.membership_sync`) adds what matches and
removes what no longer does, unless its removals look like a broken query: then the run holds
it — the dry run says so with the counts — until it is repeated with ``force``.

Group members are added and removed one at a time through the Administrator's own
``<directory>.group.add-member`` / ``remove-member`` web actions (the same checks on the live
group, protected groups refused, the same audit record, ``rule <name>`` as operator); a member
that fails is recorded on that member and the others go on. Entra groups with dynamic
membership are refused: Entra keeps their members by its own rule and answers 400 to a write.
A managed unit's membership is rows of ``managed_unit_members``, written with one audit record
per member in the same transaction. A second run changes nothing.

A trigger's run sees only the objects the captured change touched, not the whole scope: it adds
those that match and removes only those among them that no longer match (never, for counterparts
in another directory, whose removal needs the whole scope: the next scheduled run does it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from dirguard.core.delegation import ConsoleUser, ScopeKind, Target, member_key
from dirguard.core.membership_sync import (
    DEFAULT_MAX_REMOVE_PERCENT,
    MembershipPlan,
    plan_membership,
)
from dirguard.core.rules import Rule, RuleAction
from dirguard.providers.base import SourceError
from dirguard.services.admin.actions import ActionRequest, directory_actions, run_action
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rules.run_report import Change, ObjectResult, RunReport
from dirguard.services.runtime import Runtime
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models_admin import DelegationScope, ManagedUnitMember


@dataclass(kw_only=True)
class _Members:
    """Who is in the group now and what the rule wants, each key → (reference, name)."""

    directory: str
    source: str
    """Store key of the group's (or, for a unit, the members') domain or tenant."""
    group: str
    """The group's DN or id, or the managed unit's name."""
    shown: str
    current: dict[str, tuple[str, str]]
    """key → (the member's DN or id, its name)."""
    desired: dict[str, tuple[str, str, str]]
    """key → (reference to add it by, its name, the path of the rule's object)."""
    by_upn: bool = False
    unit: bool = False


def _first(target: Target, name: str) -> str | None:
    value = target.fields.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value else None


def _name(target: Target) -> str:
    return (
        _first(target, "displayName")
        or _first(target, "userPrincipalName")
        or _first(target, "sAMAccountName")
        or target.path
    )


class MembershipSync:
    """The keep-members actions of one rule run."""

    def __init__(
        self,
        runtime: Runtime,
        rule: Rule,
        user: ConsoleUser,
        report: RunReport,
        *,
        force: bool,
        only: Sequence[str] | None,
    ) -> None:
        self.runtime, self.rule, self.user, self.report = runtime, rule, user, report
        self.force, self.only = force, only
        self.step = 0

    def run(self, action: RuleAction, targets: Sequence[Target]) -> None:
        label = f"keep-members {action.params.get('group') or action.params.get('unit')}"
        entry: dict[str, Any] = {"action": label, "status": "unchanged"}
        self.report.memberships.append(entry)
        try:
            members = self._members(action, targets)
        except (ServiceError, SourceError) as error:
            entry.update(status="failed", error=str(error))
            return
        entry["group"] = members.shown
        removable = None
        if self.only is not None:
            removable = (
                frozenset()
                if members.by_upn
                else frozenset(member_key(members.directory, p) for p in self.only)
            )
        percent = action.params.get("max_remove_percent")
        plan = plan_membership(
            {k: ref for k, (ref, _) in members.current.items()},
            {k: ref for k, (ref, _, _) in members.desired.items()},
            max_remove_percent=DEFAULT_MAX_REMOVE_PERCENT if percent is None else int(percent),
            force=self.force,
            removable=removable,
        )
        entry["counts"] = plan.counts()
        if plan.changes_nothing:
            return
        entry["status"] = "would-change" if self.report.dry_run else "changed"
        if plan.held:
            entry.update(status="held", reason=plan.held)
            if not self.report.dry_run:
                return
        self._apply(label, members, plan)

    # ---- reading ------------------------------------------------------------------------------

    def _members(self, action: RuleAction, targets: Sequence[Target]) -> _Members:
        if action.params.get("unit"):
            return self._unit(str(action.params["unit"]), targets)
        on = action.on or self.rule.scope.store_source
        directory, _, name = on.partition(":")
        by_upn = on != self.rule.scope.store_source
        desired: dict[str, tuple[str, str, str]] = {}
        for target in targets:
            if by_upn:
                upn = _first(target, "userPrincipalName")
                if upn is None:
                    self._failed(target, "has no userPrincipalName to find its counterpart")
                    continue
                desired[upn.casefold()] = (upn, _name(target), target.path)
            else:
                key = member_key(directory, target.path)
                desired[key] = (target.path, _name(target), target.path)
        ref = str(action.params["group"])
        with directory_actions(self.runtime, directory, name) as actions:
            group = actions.find(ref)
            if group.object_kind != "group":
                raise ServiceError(f"{ref!r} is a {group.object_kind}, not a group")
            if directory == "ad":
                from dirguard.providers.ad.ranged_members import all_members

                dns = all_members(actions.conn.ldap, group.path)
                current = {member_key("ad", dn): (dn, dn) for dn in dns}
            else:
                if "DynamicMembership" in (group.fields.get("groupTypes") or ()):
                    raise ServiceError(
                        f"{group.fields.get('displayName')!r} has dynamic membership: Entra"
                        " keeps its members by its own membership rule, not a dirguard rule",
                        Problem.CONFLICT,
                    )
                current = {}
                for member in actions.collect(
                    f"groups/{group.path}/members",
                    **{"$select": "id,userPrincipalName,displayName"},
                ):
                    upn = str(member.get("userPrincipalName") or "")
                    if by_upn:
                        key = upn.casefold() if upn else f"id:{member['id']}"
                    else:
                        key = member_key("entra", str(member["id"]))
                    shown = str(member.get("displayName") or upn or member["id"])
                    current[key] = (str(member["id"]), shown)
        shown = group.path if directory == "ad" else f"{group.fields.get('displayName')} ({ref})"
        return _Members(
            directory=directory,
            source=on,
            group=group.path,
            shown=shown,
            current=current,
            desired=desired,
            by_upn=by_upn,
        )

    def _unit(self, name: str, targets: Sequence[Target]) -> _Members:
        source = self.rule.scope.store_source
        with self.runtime.sessions() as session:
            scope = session.scalar(select(DelegationScope).where(DelegationScope.name == name))
            if scope is None or scope.definition.get("kind") != ScopeKind.MANAGED.value:
                raise ServiceError(
                    f"no managed unit {name!r}: save a delegation scope of kind 'managed' first",
                    Problem.NOT_FOUND,
                )
            rows = session.scalars(
                select(ManagedUnitMember).where(
                    ManagedUnitMember.scope_id == scope.id, ManagedUnitMember.source == source
                )
            )
            current = {r.member_key: (r.path, r.name) for r in rows}
        desired = {member_key(t.directory, t.path): (t.path, _name(t), t.path) for t in targets}
        return _Members(
            directory=self.rule.scope.directory,
            source=source,
            group=name,
            shown=f"managed unit {name}",
            current=current,
            desired=desired,
            unit=True,
        )

    # ---- writing ------------------------------------------------------------------------------

    def _result(self, source: str, path: str, name: str) -> ObjectResult:
        for result in self.report.objects:
            if result.source == source and result.path.casefold() == path.casefold():
                return result
        result = ObjectResult(source=source, path=path, name=name)
        self.report.objects.append(result)
        return result

    def _failed(self, target: Target, error: str) -> None:
        result = self._result(target.source, target.path, _name(target))
        result.changes.append(Change(action="keep-members", status="failed", error=error))

    def _apply(self, label: str, members: _Members, plan: MembershipPlan) -> None:
        for adding, items in ((True, plan.adds), (False, plan.removes)):
            verb = "add-member" if adding else "remove-member"
            key_name = (
                f"delegation.unit.{verb}" if members.unit else f"{members.directory}.group.{verb}"
            )
            for key, ref in items:
                if adding:
                    _, name, path = members.desired[key]
                    result = self._result(self.rule.scope.store_source, path, name)
                else:
                    name = members.current[key][1]
                    result = self._result(members.source, ref, name)
                change = Change(
                    action=label,
                    key=key_name,
                    target=members.shown,
                    edits=[
                        {
                            "field": "member",
                            "before": None if adding else [ref],
                            "after": [ref] if adding else None,
                        }
                    ],
                    status="would-change",
                )
                result.changes.append(change)
                if self.report.dry_run:
                    continue
                try:
                    if members.unit:
                        change.audit_id = self._unit_write(members, key, ref, name, adding)
                    else:
                        change.audit_id = self._group_write(members, ref, adding)
                    change.status = "changed"
                except (ServiceError, SourceError) as error:
                    change.status, change.error = "failed", str(error)

    def _group_write(self, members: _Members, member: str, adding: bool) -> int:
        self.step += 1
        verb = "add-member" if adding else "remove-member"
        request = ActionRequest(
            action=f"{members.directory}.group.{verb}",
            source=members.source.partition(":")[2],
            target=members.group,
            params={"member": member},
            request_id=f"rule-run-{self.report.run_id}-m{self.step}",
        )
        return run_action(self.runtime, self.user, request, as_service=True).audit_id

    def _unit_write(self, members: _Members, key: str, path: str, name: str, adding: bool) -> int:
        with self.runtime.sessions.begin() as session:
            scope = session.scalar(
                select(DelegationScope).where(DelegationScope.name == members.group)
            )
            if scope is None:
                raise ServiceError(f"managed unit {members.group!r} is gone", Problem.NOT_FOUND)
            if adding:
                session.add(
                    ManagedUnitMember(
                        scope_id=scope.id,
                        source=members.source,
                        member_key=key,
                        path=path,
                        name=name,
                        added_by=self.user.name,
                    )
                )
            else:
                session.execute(
                    delete(ManagedUnitMember).where(
                        ManagedUnitMember.scope_id == scope.id,
                        ManagedUnitMember.source == members.source,
                        ManagedUnitMember.member_key == key,
                    )
                )
            verb = "add-member" if adding else "remove-member"
            return record_audit(
                session,
                self.user.name,
                f"delegation.unit.{verb}",
                members.group,
                {"member": f"{members.source}/{path}", "rule_run": self.report.run_id},
                AuditOutcome.SUCCEEDED,
            ).id
