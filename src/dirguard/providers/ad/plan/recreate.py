"""Re-creating deleted objects whose tombstone is gone (pure: no I/O).

When the directory holds no tombstone of a deleted object any more (found with the Show-Deleted
control by :mod:`dirguard.providers.ad.tombstones`), reanimation cannot work. The plan then adds the
object anew from dirguard's history: one LDAP add with the attributes the reanimation and the
following steps on that object would have given it (its links to others travel with it; the
links others hold to it are added by DN afterwards, as for a reanimation; the fields the row
leaves to the directory are not written). The new object gets a
new objectGUID and objectSid, and the plan says so plainly; an account (a row with a
disable-instead rule) comes back disabled because its password cannot be restored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from dirguard.providers.ad.plan.restore_plan import (
    ObjectFacts,
    PlannedStep,
    RestorePlanDraft,
    StepKind,
    same_values,
    writable,
)
from dirguard.providers.ad.values import DN_ATTRIBUTE, Value, split_dn


def _entry(obj: ObjectFacts, steps: list[PlannedStep]) -> dict[str, list[Value]]:
    assert obj.last_live is not None
    omitted = obj.resource_type.restore.recreate_omits
    entry: dict[str, list[Value]] = {"objectClass": list(obj.last_live.get("objectClass", []))}
    for name, values in obj.last_live.items():
        if name != DN_ATTRIBUTE and name not in omitted and writable(obj.resource_type, name):
            entry[name] = list(values)
    for step in steps:
        name = step.attribute or ""
        if not name or name in omitted:
            continue
        if step.kind is StepKind.SET:
            entry[name] = list(step.values)
        elif step.kind is StepKind.ADD_VALUE:
            kept = entry.setdefault(name, [])
            kept.extend(v for v in step.values if not any(same_values((v,), (k,)) for k in kept))
        elif step.kind is StepKind.REMOVE_VALUE:
            entry[name] = [
                k
                for k in entry.get(name, [])
                if not any(same_values((v,), (k,)) for v in step.values)
            ]
    disable = obj.resource_type.restore.disable_instead
    if disable is not None:
        write = disable(entry)
        entry[write.field] = list(write.values)
    return {name: values for name, values in entry.items() if values}


def with_recreations(
    draft: RestorePlanDraft, facts: Mapping[str, ObjectFacts], gone: Collection[str]
) -> RestorePlanDraft:
    """``draft`` with the reanimation of each object in ``gone`` (GUIDs whose tombstone is no
    longer in the directory) and every later step on it folded into one RECREATE step."""
    if not gone:
        return draft
    steps: list[PlannedStep] = []
    warnings = list(draft.warnings)
    folded: set[int] = set()
    for index, step in enumerate(draft.steps):
        if index in folded:
            continue
        if step.kind is not StepKind.REANIMATE or step.object_guid not in gone:
            steps.append(step)
            continue
        obj = facts[step.object_guid]
        later = [
            (i, s)
            for i, s in enumerate(draft.steps)
            if i > index and s.object_guid == step.object_guid
        ]
        folded.update(i for i, _s in later)
        target = str(step.values[0])
        rdn, parent = split_dn(target)
        entry = _entry(obj, [s for _i, s in later])
        account = obj.resource_type.restore.disable_instead is not None
        steps.append(
            replace(
                step,
                kind=StepKind.RECREATE,
                entry=tuple(sorted((n, tuple(v)) for n, v in entry.items())),
                description=f"Re-create {rdn} in {parent} from dirguard's history (no tombstone "
                "is left): it gets a NEW objectGUID and objectSid"
                + ("; it comes back disabled" if account else ""),
            )
        )
        warnings.append(
            f"{target}: no tombstone is left (checked with the Show-Deleted control), so it is "
            "re-created from dirguard's history; its objectGUID and objectSid change, and "
            "permissions or references naming the old ones do not follow it"
            + (
                "; its password cannot be restored: the account comes back disabled"
                if account
                else ""
            )
        )
    return replace(draft, steps=tuple(steps), warnings=tuple(warnings))
