"""Steps AD refuses on schema objects, refused already when planning (pure: no I/O).

AD never deletes, re-creates or reanimates an object of the schema partition (an unwanted class
or attribute is made defunct instead); changing a schema object's attributes is legal. A plan
step that would delete (undoing a creation), re-create or reanimate (undoing a deletion) a
schema object is therefore kept in the plan, marked skipped with the reason, whatever
``--force`` says, so ``rollback plan``, ``rollback check`` and ``restore`` show it before anyone
applies it. The executor keeps its own check (:func:`dirguard.services.rollback.apply.apply_step`)
with the same wording, as a second line of defence.

Planning has no LDAP connection, so it cannot compare a DN with the schema naming context; it
knows the partition from the object's catalog type instead: a snapshot or capture stores every
object with the resource type its partition and classes give it
(:func:`dirguard.providers.ad.values.classify`), and ``ad.schema_object`` is read from the schema
partition only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dirguard.catalog.resource_type import LdapSource, Partition, ResourceType
from dirguard.providers.ad.plan.restore_plan import (
    ObjectFacts,
    PlannedStep,
    RestorePlanDraft,
    StepKind,
    same_values,
)

SCHEMA_REFUSED = frozenset({StepKind.DELETE, StepKind.RECREATE, StepKind.REANIMATE})
"""Steps AD refuses on schema objects; neither the planner nor the executor tries them."""

BROUGHT_BACK = frozenset({StepKind.RECREATE, StepKind.REANIMATE})


def schema_refusal(dn: str) -> str:
    """Why a delete, re-create or reanimation of the schema object ``dn`` is not done."""
    return (
        f"{dn} is in the schema partition: AD never deletes, re-creates or reanimates "
        "schema objects (an unwanted class or attribute can only be made defunct, by hand: "
        "isDefunct = TRUE)"
    )


def in_schema_partition(resource_type: ResourceType) -> bool:
    """Objects of ``resource_type`` are read from (so lie in) the AD schema partition."""
    source = resource_type.source
    return isinstance(source, LdapSource) and source.partition is Partition.SCHEMA


def _named_dn(step: PlannedStep) -> str:
    """The DN a person knows the object by: where it is brought back to, else where it is."""
    if step.kind in BROUGHT_BACK and step.values:
        return str(step.values[0])
    return step.dn


def _refused(step: PlannedStep, reason: str) -> PlannedStep:
    return replace(step, conflict=reason, skipped=True)


def refuse_schema_steps(
    draft: RestorePlanDraft, facts: Mapping[str, ObjectFacts]
) -> RestorePlanDraft:
    """``draft`` with every delete, re-create and reanimation of a schema object skipped with
    :func:`schema_refusal` as its reason (``force`` plays no part). When a schema object is not
    brought back, the other steps on it and the links others would get to it are skipped too:
    they would find no live object."""

    def refused(step: PlannedStep) -> bool:
        obj = facts.get(step.object_guid)
        return (
            step.kind in SCHEMA_REFUSED
            and obj is not None
            and in_schema_partition(obj.resource_type)
        )

    # GUID of each schema object not brought back -> the DN it would have had
    not_back = {
        s.object_guid: _named_dn(s) for s in draft.steps if s.kind in BROUGHT_BACK and refused(s)
    }
    steps: list[PlannedStep] = []
    warnings = list(draft.warnings)
    for step in draft.steps:
        if refused(step):
            reason = schema_refusal(_named_dn(step))
            steps.append(_refused(step, reason))
            warnings.append(f"{step.description}: refused, {reason}; skipped, also with --force")
            continue
        lost = not_back.get(step.object_guid) or next(
            (
                dn
                for dn in not_back.values()
                if step.kind is StepKind.ADD_VALUE and same_values(step.values, (dn,))
            ),
            None,
        )
        if lost is not None:
            steps.append(
                _refused(
                    step,
                    f"{lost} is not brought back (schema partition), so this step has no "
                    "object to act on",
                )
            )
            continue
        steps.append(step)
    return replace(draft, steps=tuple(steps), warnings=tuple(warnings))
