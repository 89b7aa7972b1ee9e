"""Planning Entra rollbacks from recorded history (pure): which Graph writes undo a selection of
change events, or bring one object back to an earlier state, in an order that works.

Per object the selection's events are folded into what the object must become again:

- created in the selection → deleted (last: nothing else of the plan needs it);
- deleted in the selection → brought back: a type Entra keeps in ``directory/deletedItems``
  (users, groups, applications, service principals, administrative units) is restored with its
  id, which brings its memberships, owners, role and app role assignments and licenses with it
  ("Recover from deletions", https://learn.microsoft.com/entra/architecture/recover-from-deletions);
  any other (conditional access policies, named locations, role assignments…) is created anew
  from its last recorded state, producing a new id (``id:<old id>``, :func:`~dirguard.core.plan.
  ref`). Every other step's payload that names the old id gets the new one, and depends on
  the step that makes it: a policy that used a re-created named location, or a role assignment
  of a restored user, comes after it;
- a property changed → PATCHed back to its value before the selection's first change of it,
  unless it was changed again since (the recorded value now is not what the selection left):
  a conflict, named and skipped unless ``force``;
- a link value (``members``, ``owners``) added or removed → removed or added back;
- an application password added → removed (``removePassword`` with its ``keyId``).

Restores come first, then re-creations in dependency order, then property and link writes, then
the deletions of created objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dirguard.catalog.resource_type import ResourceType
from dirguard.core.change_op import ChangeOp
from dirguard.core.plan import PlanDraft, Step, Target, ref
from dirguard.providers.base import Content, RecordedChange, RecordedObject, Unplannable
from dirguard.providers.entra import KIND
from dirguard.providers.entra.create_bodies import create_request
from dirguard.providers.entra.rollback_bodies import (
    collection_path,
    graph_value,
    patch_of,
    restored_apart,
    stored,
    written_apart,
)
from dirguard.providers.entra.write_bodies import GraphRequest, graph_json

PASSWORDS = "passwordCredentials"


class EntraPlanningError(Unplannable):
    """The selection cannot be planned; the message says why."""


@dataclass(frozen=True, kw_only=True)
class _Draft:
    step: Step
    rank: int
    """0 restore, 1 re-create, 2 write, 3 delete."""
    makes: str | None = None
    """The old id a restore or re-creation brings back."""


def _target(obj: RecordedObject, external: str | dict[str, str] | None = None) -> Target:
    return Target(
        provider=KIND,
        external_id=external if external is not None else obj.external_id,
        label=obj.label,
        resource_type=obj.resource_type.key,
    )


def _where(obj: RecordedObject, suffix: str = "") -> dict[str, str]:
    """Where a step writes: the object's collection and what follows its id (the writer puts
    in the target's id as it stands then, a produced one included)."""
    return {"collection": collection_path(obj.resource_type), "suffix": suffix}


def produced_name(old_id: str) -> str:
    return f"id:{old_id}"


def _same(row: ResourceType, attribute: str, left: Any, right: Any) -> bool:
    a, b = graph_value(row, attribute, left), graph_value(row, attribute, right)
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return bool(a == b)


def _creation(
    obj: RecordedObject, state: Content | None, *, fallback: bool = False
) -> dict[str, Any] | None:
    """The request creating ``obj`` anew from ``state`` by its row's write rules
    (:func:`~dirguard.providers.entra.create_bodies.create_request`: read-only and server-set
    fields left out, links bound, separate writes after — but those with steps of their own,
    :func:`_separate_steps`), as a step payload; ``None`` when its row cannot create it anew.
    The ids it holds are the recorded ones: the writer swaps in the new ids of objects the plan
    re-created (``renames``) and makes up the ``generated`` fields (a new user's password)."""
    if state is None:
        return None
    apart = restored_apart(obj.resource_type)
    try:
        made = create_request(
            obj.resource_type,
            graph_json(obj.resource_type, {k: v for k, v in state.items() if k not in apart}),
        )
    except ValueError as error:
        if fallback:  # a restore that cannot fall back to creating anew: said when it fails
            return None
        raise EntraPlanningError(f"{obj.label}: {error}") from None
    writes = obj.resource_type.writes
    made_id = writes.create.made_id if writes is not None and writes.create is not None else "id"
    return {
        "request": _request(made.request),
        "after": [_request(r) for r in made.after],
        "made_id": made_id,
        "generated": list(made.generated),
    }


def _ended(body: Mapping[str, Any] | None, now: datetime | None = None) -> str | None:
    """When a request that keeps a schedule's recorded end (``scheduleInfo.expiration.
    endDateTime``, a PIM schedule) would have it end in the past: that end, else ``None``."""
    info = (body or {}).get("scheduleInfo")
    expiration = info.get("expiration") if isinstance(info, Mapping) else None
    end = expiration.get("endDateTime") if isinstance(expiration, Mapping) else None
    if not isinstance(end, str) or not end:
        return None
    try:
        moment = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return end if moment <= (now or datetime.now(UTC)) else None


def _request(request: GraphRequest) -> dict[str, Any]:
    return {"method": request.method, "path": request.path, "body": request.body}


def _restore(obj: RecordedObject) -> list[_Draft]:
    """A deleted object brought back, then the links it held (members, owners) from its last
    recorded state: a restore brings them back itself (those steps find nothing to do), an
    object created anew gets them from these steps."""
    rules = obj.resource_type.restore
    state = obj.last_live
    body = _creation(obj, state, fallback=rules.reanimate) if rules.recreate else None
    if rules.reanimate:
        fallback = rules.recreate and body is not None
        step = Step(
            op="restore",
            target=_target(obj),
            description=f"restore {obj.label} from deleted items (same id)"
            + (", or create it anew if it is no longer there (new id)" if fallback else ""),
            payload=_where(obj) | ({"recreate": body} if fallback else {}),
            produces=produced_name(obj.external_id),
        )
        drafts = [_Draft(step=step, rank=0, makes=obj.external_id)]
    elif not rules.recreate or body is None:
        why = rules.refusal or "dirguard holds no state of it to create it anew"
        raise EntraPlanningError(f"{obj.label}: deleted, and {why}")
    else:
        ended = _ended(body["request"]["body"])
        step = Step(
            op="create",
            target=_target(obj),
            description=f"create {obj.label} anew from its last recorded state (new id)"
            if ended is None
            else f"{obj.label} is not requested anew: its recorded end ({ended}) has passed",
            payload=_where(obj) | {"create": body},
            produces=produced_name(obj.external_id),
            skipped=ended is not None,
        )
        drafts = [_Draft(step=step, rank=1, makes=obj.external_id)]
    for attribute in sorted(obj.resource_type.linked_fields & set(state or {})):
        for value in (state or {}).get(attribute, []):
            if isinstance(value, str):
                drafts.append(_link(obj, attribute, value, add=True))
    drafts.extend(_separate_steps(obj, state or {}))
    return drafts


def _separate_steps(obj: RecordedObject, state: Content) -> list[_Draft]:
    """The fields a brought-back object gets by calls of their own (``restored_apart``: a
    user's licences, through ``assignLicense`` with the SKUs and disabled plans it had), each
    a step after the restore: a restore with the same id brings them back itself (the step
    finds nothing to do); an object created anew (purged from deleted items) gets them here, and
    a licence without a free seat fails this step alone, naming it."""
    row = obj.resource_type
    drafts = []
    for field, rule in sorted(restored_apart(row).items()):
        value = graph_value(row, field, state.get(field))
        held = sorted(rule.held_elsewhere(state)) if rule.held_elsewhere else []
        if held and isinstance(value, list):  # inherited from a group: its membership gives it
            value = [v for v in value if not (isinstance(v, Mapping) and v.get("skuId") in held)]
        if not value or rule.build is None or not rule.build(None, value)[0]:
            continue  # nothing recorded, or nothing a call can give back (a client secret)
        shown = ", ".join(_shown(v) for v in (value if isinstance(value, list) else [value]))
        step = Step(
            op="write-apart",
            target=_target(obj),
            attribute=field,
            description=f"give {obj.label} its {field} back ({shown}) if it is created anew "
            "(a restore from deleted items brings them back itself)"
            + (f"; {', '.join(held)} come(s) from its groups" if held else ""),
            payload=_where(obj)
            | {"value": value, "type": row.key}
            | ({"held_elsewhere": held} if held else {}),
        )
        drafts.append(_Draft(step=step, rank=2))
    return drafts


def _shown(value: Any) -> str:
    if isinstance(value, Mapping) and "skuId" in value:
        disabled = value.get("disabledPlans") or []
        return str(value["skuId"]) + (f" without {len(disabled)} plan(s)" if disabled else "")
    return repr(value)


def _patch(
    obj: RecordedObject, attribute: str, before: Any, left: Any, force: bool
) -> _Draft | None:
    """The PATCH writing ``attribute`` back to ``before`` (its body by the row's write rules),
    a conflict when it was changed again since; ``None`` when the row never PATCHes it."""
    row = obj.resource_type
    now = obj.current.get(attribute) if not obj.deleted else (obj.last_live or {}).get(attribute)
    state = (obj.last_live or {}) if obj.deleted else obj.current
    body, refused = patch_of(row, attribute, before, state)
    if body is None:
        step = Step(
            op="patch",
            target=_target(obj),
            attribute=attribute,
            description=f"{attribute} of {obj.label} is not written back: {refused}",
            payload=_where(obj),
            skipped=True,
        )
        return _Draft(step=step, rank=2)
    conflict = None
    if not obj.deleted and not _same(row, attribute, now, left):
        shown = graph_value(row, attribute, now)
        conflict = f"{attribute} was changed again since (now {shown!r})"
    step = Step(
        op="patch",
        target=_target(obj),
        attribute=attribute,
        description=f"set {attribute} of {obj.label} back to "
        f"{graph_value(row, attribute, before)!r}",
        payload=_where(obj) | {"body": body},
        expected=graph_value(row, attribute, left),
        conflict=conflict,
        skipped=conflict is not None and not force,
    )
    return _Draft(step=step, rank=2)


def _undone(now: list[Any], changes: list[RecordedChange]) -> list[Any]:
    """``now`` with ``changes`` undone, newest first: values added taken out, values removed put
    back, a whole replaced value set back; what others changed since stays."""
    values = list(now)
    for change in reversed(changes):
        if change.op == ChangeOp.MODIFY.value:
            values = stored(change.old)
        elif change.op == ChangeOp.ADD_VALUE.value:
            values = [v for v in values if v != change.new]
        elif change.op == ChangeOp.REMOVE_VALUE.value and change.old not in values:
            values.append(change.old)
    return values


def _apart_back(
    obj: RecordedObject, attribute: str, changes: list[RecordedChange]
) -> _Draft | None:
    """A write-apart step undoing changes of a field written by a call of its own (a group's
    licences, through ``assignLicense``: its members inherit them back); ``None`` when the
    stored value already is what undoing them gives."""
    row = obj.resource_type
    state = (obj.last_live or {}) if obj.deleted else obj.current
    now = stored(state.get(attribute))
    wanted = _undone(now, changes)
    if _same(row, attribute, now, wanted):
        return None
    value = graph_value(row, attribute, wanted) or []
    shown = ", ".join(_shown(v) for v in (value if isinstance(value, list) else [value]))
    step = Step(
        op="write-apart",
        target=_target(obj),
        attribute=attribute,
        description=f"set {attribute} of {obj.label} back to [{shown}]",
        payload=_where(obj) | {"value": value, "type": row.key},
        expected=graph_value(row, attribute, now),
    )
    return _Draft(step=step, rank=2)


def _link(obj: RecordedObject, attribute: str, value: str, add: bool) -> _Draft:
    verb = "add" if add else "remove"
    step = Step(
        op=f"{verb}-link",
        target=_target(obj),
        attribute=attribute,
        description=f"{verb} {value} {'to' if add else 'from'} {attribute} of {obj.label}",
        payload=_where(obj, f"/{attribute}") | {"member": value},
    )
    return _Draft(step=step, rank=2)


def _remove_password(obj: RecordedObject, credential: Any) -> _Draft | None:
    key_id = credential.get("keyId") if isinstance(credential, Mapping) else None
    if not key_id:
        return None
    step = Step(
        op="remove-password",
        target=_target(obj),
        attribute=PASSWORDS,
        description=f"remove the password {credential.get('displayName') or key_id} "
        f"added to {obj.label}",
        payload=_where(obj, "/removePassword") | {"body": {"keyId": key_id}},
    )
    return _Draft(step=step, rank=2)


def _delete(obj: RecordedObject) -> _Draft:
    step = Step(
        op="delete",
        target=_target(obj),
        description=f"delete {obj.label}, which the selection created",
        payload=_where(obj),
    )
    return _Draft(step=step, rank=3)


def _object_drafts(
    obj: RecordedObject, events: Sequence[RecordedChange], force: bool
) -> list[_Draft]:
    ops = [e.op for e in events]
    if ChangeOp.CREATE.value in ops:
        return [] if obj.deleted else [_delete(obj)]
    drafts: list[_Draft] = []
    if obj.deleted and ChangeOp.DELETE.value in ops:
        drafts.extend(_restore(obj))
    by_attribute: dict[str, list[RecordedChange]] = {}
    links: dict[tuple[str, str], list[RecordedChange]] = {}
    undone = {f for f, rule in restored_apart(obj.resource_type).items() if rule.undo_changes}
    apart: dict[str, list[RecordedChange]] = {}
    for event in events:
        if event.attribute is None:
            continue
        if event.attribute in undone:
            apart.setdefault(event.attribute, []).append(event)
        elif event.op == ChangeOp.MODIFY.value:
            by_attribute.setdefault(event.attribute, []).append(event)
        elif event.op in (ChangeOp.ADD_VALUE.value, ChangeOp.REMOVE_VALUE.value):
            value = event.new if event.op == ChangeOp.ADD_VALUE.value else event.old
            key = (event.attribute, value if isinstance(value, str) else repr(value))
            links.setdefault(key, []).append(event)
    for attribute, changes in sorted(apart.items()):
        if (draft := _apart_back(obj, attribute, changes)) is not None:
            drafts.append(draft)
    for attribute, changes in by_attribute.items():
        if attribute in written_apart(obj.resource_type):
            continue
        if (draft := _patch(obj, attribute, changes[0].old, changes[-1].new, force)) is not None:
            drafts.append(draft)
    for (attribute, _key), changes in links.items():
        first = changes[0]
        added_first = first.op == ChangeOp.ADD_VALUE.value
        value = first.new if added_first else first.old
        if attribute == PASSWORDS:
            if added_first and (draft := _remove_password(obj, value)) is not None:
                drafts.append(draft)
            continue
        if isinstance(value, str):
            drafts.append(_link(obj, attribute, value, add=not added_first))
    return drafts


def _one_per_holding(drafts: list[_Draft], objects: Mapping[str, RecordedObject]) -> list[_Draft]:
    """Of re-creations that are the same thing listed twice (a role assignment and PIM's
    active schedule of it: the same ``audit_names``), the one whose re-creation brings the
    other back (``GraphWrites.lists_others``)."""
    groups: dict[tuple[str, ...], list[tuple[_Draft, RecordedObject]]] = {}
    for draft in drafts:
        obj = objects.get(str(draft.step.target.external_id))
        names = obj.resource_type.audit_names if obj is not None else None
        if draft.step.op != "create" or obj is None or names is None:
            continue
        held = names(obj.last_live or {})
        if held:
            groups.setdefault(held, []).append((draft, obj))
    dropped: set[int] = set()
    for group in groups.values():
        if len(group) < 2:
            continue
        for draft, obj in group:
            writes = obj.resource_type.writes
            lists = writes.lists_others if writes is not None else None
            if lists is None:
                views_of_other = any(
                    w is not None
                    and w.lists_others is not None
                    and not w.lists_others(o.last_live or {})
                    for _d, o in group
                    if (w := o.resource_type.writes) is not None
                )
                if views_of_other:
                    dropped.add(id(draft))
            elif lists(obj.last_live or {}):
                dropped.add(id(draft))
    return [d for d in drafts if id(d) not in dropped]


def _with_references(drafts: list[_Draft]) -> tuple[Step, ...]:
    """Order the drafts (restores, re-creations by their references, writes, deletes), swap in
    the produced id for every old id a re-creation replaces, and add the dependencies."""
    made = {d.makes: d for d in drafts if d.makes is not None}
    renamed = {old: ref(d.step.produces) for old, d in made.items() if d.step.produces}

    def named(value: Any) -> set[str]:
        if isinstance(value, str):
            return {old for old in made if old in value}
        if isinstance(value, Mapping):
            return set().union(*(named(v) for v in value.values())) if value else set()
        if isinstance(value, list | tuple):
            return set().union(*(named(v) for v in value)) if value else set()
        return set()

    def swapped(value: Any) -> Any:
        if isinstance(value, str):
            return renamed.get(value, value)
        if isinstance(value, Mapping):
            return {k: swapped(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swapped(v) for v in value]
        return value

    needs = {id(d): named(d.step.payload) | named([d.step.target.external_id]) for d in drafts}
    for d in drafts:
        if d.makes is not None:
            needs[id(d)].discard(d.makes)
    ordered: list[_Draft] = []
    pending = sorted(drafts, key=lambda d: d.rank)
    while pending:
        ready = [d for d in pending if all(made[n] in ordered for n in needs[id(d)])]
        if not ready:
            ready = pending[:1]  # a cycle: keep plan order, the writer reports the failure
        ordered.append(ready[0])
        pending.remove(ready[0])
    position = {id(d): i for i, d in enumerate(ordered, start=1)}
    steps: list[Step] = []
    for d in ordered:
        step = d.step
        depends = tuple(sorted(position[id(made[n])] for n in needs[id(d)]))
        target = step.target
        if (
            isinstance(target.external_id, str)
            and target.external_id in renamed
            and d.makes is None
        ):
            target = replace(target, external_id=renamed[target.external_id])
        payload = dict(step.payload)
        creation = payload.get("create") or payload.get("recreate")
        wanted = sorted(named(creation) - {d.makes}) if creation else []
        if wanted:  # ids inside the request (bodies, URLs): swapped by the writer
            payload["renames"] = {old: renamed[old] for old in wanted if old in renamed}
        payload = {k: v if k in ("create", "recreate") else swapped(v) for k, v in payload.items()}
        steps.append(replace(step, target=target, payload=payload, depends_on=depends))
    return tuple(steps)


def plan_changes(
    changes: Sequence[RecordedChange], objects: Mapping[str, RecordedObject], *, force: bool
) -> PlanDraft:
    """The steps that undo ``changes`` (see the module docstring)."""
    if not changes:
        raise EntraPlanningError("no recorded change matches the selection; nothing to undo")
    per_object: dict[str, list[RecordedChange]] = {}
    for change in sorted(changes, key=lambda c: c.sequence):
        per_object.setdefault(change.external_id, []).append(change)
    drafts: list[_Draft] = []
    for external_id, events in per_object.items():
        drafts.extend(_object_drafts(objects[external_id], events, force))
    steps = _with_references(_one_per_holding(drafts, objects))
    conflicts = sum(1 for s in steps if s.conflict)
    warnings = (
        (f"{conflicts} value(s) were changed again since; their steps are skipped "
         "(--force undoes them anyway)",)
        if conflicts and not force
        else ()
    )  # fmt: skip
    return PlanDraft(steps=steps, warnings=warnings)


def plan_state(obj: RecordedObject, state: Content) -> PlanDraft:
    """Steps that bring ``obj`` back to ``state``: restored (or created anew) first when it is
    deleted now, then every writable property that differs PATCHed, every link value that
    differs added or removed."""
    row = obj.resource_type
    drafts: list[_Draft] = []
    now: Content = obj.current
    if obj.deleted:
        drafts.extend(_restore(replace(obj, last_live=state)))
        if not row.restore.reanimate:
            return PlanDraft(steps=_with_references(drafts))
        now = obj.last_live or {}
    left_out = row.read_only_fields | row.volatile_fields | row.never_written | written_apart(row)
    for attribute in sorted(set(state) | set(now)):
        if attribute in left_out or attribute.startswith("@odata"):
            continue
        before, current = state.get(attribute, []), now.get(attribute, [])
        if attribute in row.linked_fields:
            for value in sorted(set(map(str, before)) - set(map(str, current))):
                drafts.append(_link(obj, attribute, value, add=True))
            for value in sorted(set(map(str, current)) - set(map(str, before))):
                drafts.append(_link(obj, attribute, value, add=False))
        elif not _same(row, attribute, before, current):
            draft = _patch(replace(obj, deleted=False, current=now), attribute, before, current,
                           force=True)  # fmt: skip
            if draft is not None:
                drafts.append(draft)
    return PlanDraft(steps=_with_references(drafts))
