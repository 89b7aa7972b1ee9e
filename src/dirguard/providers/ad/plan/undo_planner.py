"""Planning the undo of a selection (pure: no I/O): selected events, an object back to a point in
time, a deleted object brought back. See :mod:`dirguard.providers.ad.plan.restore_plan` for the
step model.

Locations (destinations, link values, where a move finds its object) are worked out by
:mod:`dirguard.providers.ad.plan.relocation`.

Conflicts: for each attribute, linked value or DN the selection touched, the value the last
selected change left is compared with what dirguard holds now. A difference means someone changed
it again afterwards: the step is kept, named as a conflict, and skipped unless ``force``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.plan.relocation import DN_OPS, carried, relocated
from dirguard.providers.ad.plan.restore_plan import (
    HistoryEvent,
    ObjectFacts,
    PlannedStep,
    PlanningError,
    RestorePlanDraft,
    StepKind,
    as_values,
    link_step,
    move_step,
    ordered,
    same_values,
    set_step,
    shown,
    with_conflict,
    writable,
)
from dirguard.providers.ad.sd.sd_restore import ATTRIBUTE as SD_ATTRIBUTE
from dirguard.providers.ad.sd.sd_restore import point_in_time_step, security_step
from dirguard.providers.ad.values import DN_ATTRIBUTE, Content, Value, split_dn

UAC = "userAccountControl"
PASSWD_NOTREQD = 0x20
"""userAccountControl: the account may have an empty password."""

Membership = tuple[ObjectFacts, str]
"""An object holding a link to the one being restored, and the linked attribute (``member``)."""


def _dn_of(content: Content) -> str:
    return str(content.get(DN_ATTRIBUTE, [""])[0])


def _present(content: Content, attribute: str, value: Value) -> bool:
    return any(same_values((v,), (value,)) for v in content.get(attribute, []))


def reanimation_steps(
    facts: ObjectFacts,
    target_dn: str,
    memberships: Sequence[Membership],
    event_ids: tuple[int, ...] = (),
) -> list[PlannedStep]:
    """Reanimate the tombstone at ``target_dn``, set what the tombstone lost from the last live
    state, and put the links back (linked values of the object itself, then memberships). The
    fields the row says the directory sets on reanimation are cleared again when the live
    object had none."""
    if facts.last_live is None:
        raise PlanningError(
            f"{facts.dn}: dirguard holds no live state of this deleted object, so it cannot "
            "restore its attributes"
        )
    disable = facts.resource_type.restore.disable_instead
    last_live = dict(facts.last_live)
    note = ""
    if disable is not None:
        # An account's password is not on its tombstone (AD keeps none), so it comes back
        # without one. Nobody can sign in as it until one is set, except where the account
        # needs no password (PASSWD_NOTREQD): that one comes back disabled.
        note = (
            "; its password is not restored (AD keeps none on a tombstone): set a new one"
            " before it is used"
        )
        flags = last_live.get(UAC) or []
        if flags and int(str(flags[0])) & PASSWD_NOTREQD:
            last_live[UAC] = list(disable(last_live).values)
            note += "; it needs no password, so it comes back disabled until one is set"
    steps = [
        PlannedStep(
            kind=StepKind.REANIMATE,
            object_guid=facts.guid,
            dn=facts.dn,
            values=(target_dn,),
            description=f"Bring {split_dn(target_dn)[0]} back from the deleted objects into "
            f"{split_dn(target_dn)[1]} (same objectGUID and objectSid){note}",
            event_ids=event_ids,
        )
    ]
    restored = ObjectFacts(
        guid=facts.guid,
        resource_type=facts.resource_type,
        dn=target_dn,
        deleted=False,
        current=facts.current,
    )
    linked = {a.lower() for a in facts.resource_type.linked_fields}
    added = set(facts.resource_type.restore.reanimation_resets)
    for name in sorted(set(last_live) | set(facts.current) | added):
        if not writable(facts.resource_type, name) or name == DN_ATTRIBUTE:
            continue
        values = last_live.get(name, [])
        if name.lower() in linked:
            # a tombstone keeps no links, whatever the recorded tombstone still shows
            steps.extend(link_step(restored, name, str(v), add=True) for v in values)
        elif name in added and not values:
            steps.append(
                PlannedStep(
                    kind=StepKind.SET,
                    object_guid=facts.guid,
                    dn=target_dn,
                    attribute=name,
                    description=f"Clear {name} of {target_dn} (set to 0 by the reanimation; "
                    "the live object had none)",
                )
            )
        elif not same_values(values, facts.current.get(name, [])):
            # also clears what the tombstone holds and the live object did not
            steps.append(set_step(restored, name, tuple(values), None))
    for holder, attribute in memberships:
        steps.append(link_step(holder, attribute, target_dn, add=True))
    return steps


def plan_events(
    events: Sequence[HistoryEvent],
    facts: Mapping[str, ObjectFacts],
    *,
    memberships: Mapping[str, Sequence[Membership]] | None = None,
    force: bool = False,
    disable_instead: bool = False,
) -> RestorePlanDraft:
    """Undo ``events`` (any selection: one event, an actor's window…). ``facts`` holds every
    object the events touch; ``memberships`` the links of each deleted object at deletion.
    ``disable_instead``: an account the selection created is disabled, not deleted."""
    if not events:
        raise PlanningError("the selection holds no change events; nothing to undo")
    by_object: dict[str, list[HistoryEvent]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.sequence):
        by_object[event.object_guid].append(event)
    steps: list[PlannedStep] = []
    warnings: list[str] = []
    moves = [
        e
        for e in sorted(events, key=lambda e: e.sequence)
        if e.op in (ChangeOp.MOVE, ChangeOp.RENAME) and isinstance(e.old, str)
    ]
    for guid, object_events in by_object.items():
        obj = facts.get(guid)
        if obj is None:
            raise PlanningError(f"object {guid} of the selection is not in dirguard's store")
        steps.extend(
            _undo_object(
                obj, object_events, memberships or {}, force, disable_instead, warnings, moves
            )
        )
    for step in steps:
        if step.conflict is not None:
            action = "applied anyway (--force)" if not step.skipped else "skipped"
            warnings.append(f"{step.description}: {step.conflict}; {action}")
    return RestorePlanDraft(steps=relocated(tuple(steps), events), warnings=tuple(warnings))


def _undo_create(
    obj: ObjectFacts, ids: tuple[int, ...], disable_instead: bool, warnings: list[str]
) -> PlannedStep:
    disable = obj.resource_type.restore.disable_instead
    if disable_instead and disable is not None:
        write = disable(obj.current)
        return PlannedStep(
            kind=StepKind.SET,
            object_guid=obj.guid,
            dn=obj.dn,
            attribute=write.field,
            values=write.values,
            expected=write.expected,
            description=f"Disable {obj.dn} (created by the selected change; kept and disabled "
            "by the --disable-instead policy)",
            event_ids=ids,
        )
    if disable_instead:
        warnings.append(
            f"{obj.dn} was created by the selection and is not an account that can be "
            "disabled; it is deleted"
        )
    return PlannedStep(
        kind=StepKind.DELETE,
        object_guid=obj.guid,
        dn=obj.dn,
        description=f"Delete {obj.dn} (created by the selected change)",
        event_ids=ids,
    )


def _undo_object(
    obj: ObjectFacts,
    events: list[HistoryEvent],
    memberships: Mapping[str, Sequence[Membership]],
    force: bool,
    disable_instead: bool,
    warnings: list[str],
    moves: Sequence[HistoryEvent] = (),
) -> list[PlannedStep]:
    ops = {e.op for e in events}
    ids = tuple(e.id for e in events)
    if ChangeOp.CREATE in ops:
        if obj.deleted:
            warnings.append(f"{obj.dn} was created by the selection and is already deleted")
            return []
        return [_undo_create(obj, ids, disable_instead, warnings)]
    steps: list[PlannedStep] = []
    now = obj.current
    dn_events = [e for e in events if e.op in DN_OPS]
    if any(e.op == ChangeOp.DELETE for e in events):
        deletion = next(e for e in events if e.op == ChangeOp.DELETE)
        target = str(dn_events[0].old)
        if not obj.deleted:
            warnings.append(f"{obj.dn} was deleted by the selection but is live again; left as is")
        else:
            steps.extend(
                reanimation_steps(obj, target, memberships.get(obj.guid, ()), (deletion.id,))
            )
            now = obj.last_live or now
        dn_events = []
    elif dn_events:
        target = str(dn_events[0].old)
        expected = carried(str(dn_events[-1].new), moves, dn_events[-1])
        if dn_events[-1].op == ChangeOp.UNDELETE:
            steps.append(
                PlannedStep(
                    kind=StepKind.DELETE,
                    object_guid=obj.guid,
                    dn=obj.dn,
                    description=f"Delete {obj.dn} again (it was undeleted by the selection)",
                    event_ids=tuple(e.id for e in dn_events),
                )
            )
        else:
            conflict = (
                None if same_values((obj.dn,), (expected,)) else f"it has since moved to {obj.dn}"
            )
            step = move_step(obj, target, expected, tuple(e.id for e in dn_events))
            steps.append(with_conflict(step, conflict, force))
    steps.extend(_attribute_steps(obj, events, now, force))
    steps.extend(_security_steps(obj, events, now, force, warnings))
    steps.extend(_link_steps(obj, events, now, force))
    return steps


def _security_steps(
    obj: ObjectFacts, events: list[HistoryEvent], now: Content, force: bool, warnings: list[str]
) -> list[PlannedStep]:
    """One ``set-security`` step for the object's security descriptor changes, if any."""
    changes = [
        e
        for e in events
        if e.op == ChangeOp.MODIFY and (e.attribute or "").lower() == SD_ATTRIBUTE.lower()
    ]
    if not changes:
        return []
    step, warning = security_step(obj, changes, now, force)
    if warning is not None:
        warnings.append(warning)
    return [] if step is None else [step]


def _attribute_steps(
    obj: ObjectFacts, events: list[HistoryEvent], now: Content, force: bool
) -> list[PlannedStep]:
    touched: dict[str, list[HistoryEvent]] = defaultdict(list)
    for event in events:
        if event.op == ChangeOp.MODIFY and event.attribute:
            touched[event.attribute].append(event)
    steps: list[PlannedStep] = []
    for attribute, changes in touched.items():
        if not writable(obj.resource_type, attribute):
            continue
        target, expected = as_values(changes[0].old), as_values(changes[-1].new)
        current = tuple(now.get(attribute, []))
        conflict = (
            None
            if same_values(current, expected)
            else f"changed again since: it is now {shown(current)}, not {shown(expected)}"
        )
        step = set_step(obj, attribute, target, current, tuple(e.id for e in changes))
        steps.append(with_conflict(step, conflict, force))
    return steps


def _link_steps(
    obj: ObjectFacts, events: list[HistoryEvent], now: Content, force: bool
) -> list[PlannedStep]:
    net: dict[tuple[str, str], list[HistoryEvent]] = defaultdict(list)
    for event in events:
        if event.op in (ChangeOp.ADD_VALUE, ChangeOp.REMOVE_VALUE) and event.attribute:
            value = event.new if event.op == ChangeOp.ADD_VALUE else event.old
            net[(event.attribute, str(value).lower())].append(event)
    steps: list[PlannedStep] = []
    for (attribute, _key), changes in net.items():
        first, last = changes[0], changes[-1]
        value = str(first.new if first.op == ChangeOp.ADD_VALUE else first.old)
        should_be_present = first.op == ChangeOp.REMOVE_VALUE
        left_present = last.op == ChangeOp.ADD_VALUE
        if should_be_present == left_present:
            continue  # added and removed again within the selection: nothing to undo
        present = _present(now, attribute, value)
        conflict = None
        if present != left_present:
            conflict = "it was removed again since" if left_present else "it was added again since"
        step = link_step(
            obj, attribute, value, add=should_be_present, event_ids=tuple(e.id for e in changes)
        )
        steps.append(with_conflict(step, conflict, force))
    return steps


def plan_point_in_time(
    obj: ObjectFacts,
    target: Content,
    *,
    memberships: Sequence[Membership] = (),
) -> RestorePlanDraft:
    """Bring one object back to ``target`` (its recorded state at a moment): reanimate it when it
    is deleted now, move it back, set each attribute and linked value that differs."""
    steps: list[PlannedStep] = []
    target_dn = _dn_of(target)
    now = obj.current
    was_deleted = obj.deleted
    # a reanimated object gets a descriptor the DC derives anew: not compared
    if obj.deleted:
        steps.extend(reanimation_steps(obj, target_dn, memberships))
        now = obj.last_live or now
        obj = ObjectFacts(
            guid=obj.guid, resource_type=obj.resource_type, dn=target_dn, deleted=False, current=now
        )
    elif not same_values((obj.dn,), (target_dn,)):
        steps.append(move_step(obj, target_dn, obj.dn))
    linked = {a.lower() for a in obj.resource_type.linked_fields}
    for name in sorted(set(target) | set(now)):
        if name == DN_ATTRIBUTE or not writable(obj.resource_type, name):
            continue
        wanted, current = tuple(target.get(name, [])), tuple(now.get(name, []))
        if same_values(wanted, current):
            continue
        if name.lower() in linked:
            steps.extend(
                link_step(obj, name, str(v), add=False)
                for v in current
                if not _present(target, name, v)
            )
            steps.extend(
                link_step(obj, name, str(v), add=True) for v in wanted if not _present(now, name, v)
            )
        else:
            steps.append(set_step(obj, name, wanted, current))
    security = None if was_deleted else point_in_time_step(obj, target, now)
    if security is not None:
        steps.append(security)
    return RestorePlanDraft(steps=ordered(steps))


def plan_undelete(
    obj: ObjectFacts, memberships: Sequence[Membership], *, to_ou: str | None = None
) -> RestorePlanDraft:
    """Bring a deleted object back: into its last live parent, or into ``to_ou``."""
    if not obj.deleted:
        raise PlanningError(f"{obj.dn} is not deleted; nothing to undelete")
    if obj.last_live is None:
        raise PlanningError(f"{obj.dn}: dirguard never saw this object alive; cannot restore it")
    live_dn = _dn_of(obj.last_live)
    target_dn = live_dn if to_ou is None else f"{split_dn(live_dn)[0]},{to_ou}"
    return RestorePlanDraft(steps=ordered(reanimation_steps(obj, target_dn, memberships)))
