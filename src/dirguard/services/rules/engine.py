"""Running a rule: dry run (what it would change, object by object, with counts) or run.

A run looks at every object the scope holds that meets the conditions at the run's moment (the
runtime's clock), and for each one takes the rule's actions in order. A web action is previewed
first on the object as it is now: when the preview changes nothing the object is already in the
desired state and nothing is written — so a second run changes nothing. Otherwise the action is
run by dirguard's service identity, named ``rule <name>``, through the very same
``run_action`` as the console (same checks on the live object, same audit record). ``notify``
and ``webhook`` follow only when another action changed the object in this run (a rule of
nothing else: the first time the object is found). One object's failure is recorded on that
object and the run goes on; the run is then ``partial``. Every run, dry runs included, is kept
with its per-object results (``rule_runs``, ``rule_run_objects``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from dirguard.core.delegation import ConsoleUser, Target, dn_within
from dirguard.core.rules import MEMBERSHIP, SIDE_EFFECTS, ActionKind, Rule, RuleAction
from dirguard.providers.base import SourceError
from dirguard.services.admin.actions import ActionRequest, preview_action, run_action
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rules import effects
from dirguard.services.rules.rule_store import get_rule
from dirguard.services.rules.run_report import Change, ObjectResult, RunReport, finish, start
from dirguard.services.rules.scope import matching_objects
from dirguard.services.runtime import Runtime
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models_rules import RuleRun, RuleRunObject


def rule_identity(rule: Rule) -> ConsoleUser:
    return ConsoleUser(name=f"rule {rule.name}")


def _name(target: Target) -> str:
    for key in ("displayName", "userPrincipalName", "sAMAccountName"):
        value = target.fields.get(key)
        value = value[0] if isinstance(value, list) and value else value
        if value:
            return str(value)
    return target.path


def _where(rule: Rule, target: Target, action: RuleAction) -> tuple[str, str, str]:
    """(directory, configured name, object reference) the action acts on: the object itself,
    or its counterpart in ``in`` matched by userPrincipalName (as Entra Connect matches)."""
    if action.on is None or action.on == target.source:
        return target.directory, target.source.partition(":")[2], target.path
    directory, _, name = action.on.partition(":")
    upn = target.fields.get("userPrincipalName")
    upn = upn[0] if isinstance(upn, list) and upn else upn
    if not upn:
        raise ServiceError(f"has no userPrincipalName to find its counterpart in {action.on}")
    return directory, name, str(upn)


def _web_request(
    action: RuleAction, directory: str, source: str, ref: str
) -> tuple[str, str, dict[str, Any]]:
    """(catalog key, target, params) of the web action a rule action stands for."""
    p = action.params
    match action.kind:
        case ActionKind.SET:
            return f"{directory}.user.edit", ref, {"fields": dict(p["fields"])}
        case ActionKind.ADD_TO_GROUP:
            return f"{directory}.group.add-member", str(p["group"]), {"member": ref}
        case ActionKind.REMOVE_FROM_GROUP:
            return f"{directory}.group.remove-member", str(p["group"]), {"member": ref}
        case ActionKind.ASSIGN_LICENSES:
            return "entra.user.assign-licenses", ref, {"add": list(p["licenses"])}
        case ActionKind.REMOVE_LICENSES:
            return "entra.user.assign-licenses", ref, {"remove": list(p["licenses"])}
        case ActionKind.MOVE:
            return "ad.user.move", ref, {"to": str(p["to"])}
        case ActionKind.DISABLE:
            if directory != "ad":
                raise ServiceError("'disable' is for AD accounts; use 'suspend' in Entra")
            return "ad.user.disable", ref, {}
        case ActionKind.SUSPEND:
            keep = {k: bool(p[k]) for k in ("remove_groups", "remove_licenses") if k in p}
            return "entra.user.suspend", ref, keep
        case ActionKind.ACTION:
            return str(p["key"]), str(p.get("target") or ref), dict(p.get("params") or {})
    raise ServiceError(f"{action.kind} is not a web action")


class _Run:
    def __init__(self, runtime: Runtime, rule: Rule, run_id: int, dry_run: bool) -> None:
        self.runtime, self.rule, self.run_id, self.dry_run = runtime, rule, run_id, dry_run
        self.user = rule_identity(rule)
        self.now = runtime.clock()
        self.step = 0

    def web(self, target: Target, action: RuleAction) -> Change:
        directory, source, ref = _where(self.rule, target, action)
        key, on, params = _web_request(action, directory, source, ref)
        if action.kind is ActionKind.MOVE and dn_within(ref, str(params["to"])):
            return Change(action=action.label(), key=key, target=ref, status="unchanged")
        self.step += 1
        request = ActionRequest(
            action=key,
            source=source,
            target=on,
            params=params,
            request_id=f"rule-run-{self.run_id}-{self.step}",
        )
        shown = preview_action(self.runtime, self.user, request, as_service=True)
        change = Change(
            action=action.label(),
            key=key,
            target=shown.target,
            edits=list(shown.edits),
            notes=list(shown.notes),
        )
        if not shown.edits:
            change.status = "unchanged"
        elif self.dry_run:
            change.status = "would-change"
        else:
            done = run_action(self.runtime, self.user, request, as_service=True)
            change.status, change.audit_id = "changed", done.audit_id
        return change

    def meetings(self, target: Target, action: RuleAction) -> Change:
        directory, tenant, ref = _where(self.rule, target, action)
        if directory != "entra":
            raise ServiceError("meetings live in Exchange Online: give 'in = \"entra:<tenant>\"'")
        mode = str(action.params["mode"])
        to = None
        if mode == "forward":
            to = effects.recipients(self.runtime, target, action.params["to"], tenant)[0]
        found = effects.meetings_plan(self.runtime, tenant, ref, mode, to, self.now)
        change = Change(
            action=action.label(),
            key=f"meetings.{mode}",
            target=ref,
            edits=[
                {
                    "field": "meetings",
                    "before": [str(m.get("subject")) for m in found],
                    "after": None if mode == "cancel" else [f"forwarded to {to}"],
                }
            ]
            if found
            else [],
        )
        if not found:
            change.status = "unchanged"
        elif self.dry_run:
            change.status = "would-change"
        else:
            comment = str(action.params.get("comment") or f"Handed over by rule {self.rule.name}")
            effects.meetings_do(self.runtime, tenant, ref, mode, to, found, comment)
            change.status = "changed"
            change.audit_id = self._audit(f"rules.meetings.{mode}", f"entra:{tenant}/{ref}", change)
        return change

    def side_effect(self, target: Target, action: RuleAction, changes: list[Change]) -> Change:
        p = action.params
        summary = "; ".join(
            f"{c.key} on {c.target}" for c in changes if c.status in ("changed", "would-change")
        )
        extra = {"rule": self.rule.name, "changes": summary or "nothing"}
        if action.kind is ActionKind.NOTIFY:
            tenant = action.on.partition(":")[2] if action.on else None
            to = effects.recipients(self.runtime, target, p["to"], tenant)
            subject = effects.render(str(p["subject"]), target, extra)
            change = Change(
                action=action.label(),
                key="notify",
                target=", ".join(to),
                edits=[{"field": "mail", "before": None, "after": [subject]}],
            )
            if self.dry_run:
                change.status = "would-change"
                return change
            from dirguard.services.notifications.outbox import notify

            body = effects.render(str(p.get("body") or ""), target, extra)
            context = {"subject": subject, "lines": body.splitlines(), **extra}
            delivery = notify(self.runtime, str(p.get("template") or "message"), context, to)
            if delivery.status == "failed":
                raise ServiceError(f"mail to {', '.join(to)} failed: {delivery.error}")
            change.notes = [f"notification {delivery.id}: {delivery.status}"]
            change.status = "changed"
            change.audit_id = self._audit("rules.notify", f"mail:{','.join(to)}", change)
            return change
        change = Change(action=action.label(), key="webhook", target=str(p["url"]))
        if self.dry_run:
            change.status = "would-change"
            return change
        payload = {
            "rule": self.rule.name,
            "object": {"source": target.source, "path": target.path, "name": _name(target)},
            "changes": [c.as_dict() for c in changes],
        }
        answered = effects.call_webhook(self.runtime, self.rule.name, p, payload)
        change.notes = [f"answered {answered}"]
        change.status = "changed"
        return change

    def _audit(self, action: str, target: str, change: Change) -> int:
        with self.runtime.sessions.begin() as session:
            return record_audit(
                session,
                self.user.name,
                action,
                target,
                {"edits": change.edits, "rule_run": self.run_id, "service_account": "rules"},
                AuditOutcome.SUCCEEDED,
            ).id

    def one(self, target: Target) -> ObjectResult:
        result = ObjectResult(source=target.source, path=target.path, name=_name(target))
        state = [a for a in self.rule.actions if a.kind not in SIDE_EFFECTS | MEMBERSHIP]
        for action in state:
            try:
                if action.kind is ActionKind.MEETINGS:
                    change = self.meetings(target, action)
                else:
                    change = self.web(target, action)
            except (ServiceError, SourceError) as error:
                change = Change(action=action.label(), status="failed", error=str(error))
            result.changes.append(change)
        moved = [c for c in result.changes if c.status in ("changed", "would-change")]
        first_time = not state and not _seen(self.runtime, self.rule.name, target)
        if moved or first_time:
            for action in (a for a in self.rule.actions if a.kind in SIDE_EFFECTS):
                try:
                    result.changes.append(self.side_effect(target, action, result.changes))
                except (ServiceError, SourceError) as error:
                    failed = Change(action=action.label(), status="failed", error=str(error))
                    result.changes.append(failed)
        return result


def _seen(runtime: Runtime, rule: str, target: Target) -> bool:
    """Whether a real run of the rule already acted on the object."""
    with runtime.sessions() as session:
        return (
            session.scalars(
                select(RuleRunObject.id)
                .join(RuleRun, RuleRun.id == RuleRunObject.run_id)
                .where(
                    RuleRun.rule_name == rule,
                    RuleRun.dry_run.is_(False),
                    RuleRunObject.source == target.source,
                    RuleRunObject.path == target.path,
                    RuleRunObject.status == "changed",
                )
                .limit(1)
            ).first()
            is not None
        )


def run_rule(
    runtime: Runtime,
    name: str,
    *,
    dry_run: bool,
    started_by: str | None = None,
    only: Sequence[str] | None = None,
    force: bool = False,
) -> RunReport:
    """Dry-run or run the saved rule ``name``; ``only``: just these objects (a trigger's);
    ``force``: carry out a keep-members plan its guard holds (services/rules/sync.py)."""
    saved = get_rule(runtime, name)
    rule = saved.rule
    if not rule.enabled and not dry_run:
        raise ServiceError(f"rule {name!r} is disabled: enable it, or dry-run it", Problem.CONFLICT)
    report = start(runtime, rule, saved.version, dry_run, started_by or runtime.principal)
    try:
        targets = matching_objects(runtime, rule, report.started_at, only=only)
        if rule.limit is not None and not dry_run and len(targets) > rule.limit:
            raise ServiceError(
                f"rule {name!r}: {len(targets)} objects match, more than its limit of"
                f" {rule.limit}: nothing was changed (dry-run it to see them)",
                Problem.CONFLICT,
            )
        run = _Run(runtime, rule, report.run_id, dry_run)
        run.now = report.started_at
        for target in targets:
            try:
                report.objects.append(run.one(target))
            except Exception as error:  # one object's surprise never stops the others
                failed = ObjectResult(source=target.source, path=target.path, name=_name(target))
                failed.changes.append(Change(action="*", status="failed", error=repr(error)))
                report.objects.append(failed)
        keeping = [a for a in rule.actions if a.kind in MEMBERSHIP]
        if keeping:
            from dirguard.services.rules.sync import MembershipSync

            sync = MembershipSync(runtime, rule, run.user, report, force=force, only=only)
            for action in keeping:
                sync.run(action, targets)
    except ServiceError as error:
        finish(runtime, report, error=str(error))
        raise
    finish(runtime, report)
    return report
