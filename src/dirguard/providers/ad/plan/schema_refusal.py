"""Whole-object steps a row's restore rules refuse, refused already when planning (pure: no I/O).

AD never deletes, re-creates or reanimates an object of the schema partition (an unwanted class
or attribute is made defunct instead); changing a schema object's attributes is legal. The
``ad.schema_object`` row says so (:data:`dirguard.providers.ad.types.SCHEMA_RESTORE`). A plan step
that would delete (undoing a creation), re-create or reanimate (undoing a deletion) an object
whose row does not allow it is therefore kept in the plan, marked skipped with the row's reason,
whatever ``--force`` says, so ``rollback plan``, ``rollback check`` and ``restore`` show it
before anyone applies it. The executor keeps its own check of schema DNs
(:func:`dirguard.providers.ad.apply.perform`) with the same wording, as a second line of
defence.

Planning has no LDAP connection, so it cannot compare a DN with the schema naming context; it
reads the rules of the object's row instead: a snapshot or capture stores every object with the
row its partition and classes select (:func:`dirguard.providers.ad.values.classify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dirguard.catalog.resource_type import RestoreRules
from dirguard.providers.ad.plan.restore_plan import (
    ObjectFacts,
    PlannedStep,
    RestorePlanDraft,
    StepKind,
    same_values,
)
from dirguard.providers.ad.types import SCHEMA_RESTORE

SCHEMA_REFUSED = frozenset({StepKind.DELETE, StepKind.RECREATE, StepKind.REANIMATE})
"""Steps AD refuses on schema objects; neither the planner nor the executor tries them."""

BROUGHT_BACK = frozenset({StepKind.RECREATE, StepKind.REANIMATE})


def schema_refusal(dn: str) -> str:
    """Why a delete, re-create or reanimation of the schema object ``dn`` is not done."""
    return f"{dn} {SCHEMA_RESTORE.refusal}"


def allowed(rules: RestoreRules, kind: StepKind) -> bool:
    """Whether ``rules`` allow a step of ``kind`` (attribute and link steps always are)."""
    if kind is StepKind.DELETE:
        return rules.delete
    if kind is StepKind.RECREATE:
        return rules.recreate
    if kind is StepKind.REANIMATE:
        return rules.reanimate
    return True


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
    """``draft`` with every delete, re-create and reanimation the object's row refuses (a
    schema object's) skipped, with the row's reason (``force`` plays no part). When an object is
    not brought back, the other steps on it and the links others would get to it are skipped
    too: they would find no live object."""

    def refusal(step: PlannedStep) -> str | None:
        """The row's reason when it refuses ``step``."""
        obj = facts.get(step.object_guid)
        if obj is None or allowed(obj.resource_type.restore, step.kind):
            return None
        return f"{_named_dn(step)} {obj.resource_type.restore.refusal}"

    def refused(step: PlannedStep) -> bool:
        return refusal(step) is not None

    # GUID of each object not brought back -> the DN it would have had
    not_back = {
        s.object_guid: _named_dn(s) for s in draft.steps if s.kind in BROUGHT_BACK and refused(s)
    }
    steps: list[PlannedStep] = []
    warnings = list(draft.warnings)
    for step in draft.steps:
        reason = refusal(step)
        if reason is not None:
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
