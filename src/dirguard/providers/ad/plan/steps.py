"""AD plan steps as source-neutral :class:`~dirguard.core.plan.Step` values, and back (pure).

The AD planner makes :class:`~dirguard.providers.ad.plan.restore_plan.PlannedStep` values; each
becomes one generic step whose operation is the step kind (``set``, ``reanimate``…), whose target
is the object's objectGUID and DN, and whose payload is the rest of the planned step (attribute,
values, event ids, the entry of a re-creation). The executor
(:mod:`dirguard.providers.ad.apply`) turns the generic step back into a planned step.

Dependencies: the steps that need an object brought back (reanimated or re-created) depend on
that step, so they are skipped, not tried, when it fails: the later steps on the same object and
the links others get to it (values naming its DN). A re-creation produces the object's new
objectGUID, recorded with the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.core.plan import PlanDraft, Step, Target
from dirguard.providers.ad.plan.restore_plan import (
    PlannedStep,
    RestorePlanDraft,
    StepKind,
    same_values,
)

PROVIDER = "ad"
BROUGHT_BACK = frozenset({StepKind.REANIMATE, StepKind.RECREATE})
_STEP_FIELDS = frozenset({"kind", "object_guid", "dn", "expected", "description", "conflict"})


def produced_name(step: PlannedStep) -> str:
    """The name of the new objectGUID a re-creation produces."""
    return f"objectGUID of {step.values[0]!s}"


def _depends_on(step: PlannedStep, earlier: Mapping[int, PlannedStep]) -> tuple[int, ...]:
    found: list[int] = []
    for position, back in earlier.items():
        if back.kind not in BROUGHT_BACK or not back.values:
            continue
        same_object = back.object_guid == step.object_guid
        links_to_it = step.kind is StepKind.ADD_VALUE and same_values(
            step.values, (str(back.values[0]),)
        )
        if same_object or links_to_it:
            found.append(position)
    return tuple(found)


def generic_step(step: PlannedStep, depends_on: tuple[int, ...] = ()) -> Step:
    payload = {k: v for k, v in step.as_dict().items() if k not in _STEP_FIELDS | {"skipped"}}
    return Step(
        op=step.kind.value,
        target=Target(provider=PROVIDER, external_id=step.object_guid, label=step.dn),
        description=step.description,
        attribute=step.attribute,
        payload=payload,
        expected=None if step.expected is None else list(step.expected),
        depends_on=depends_on,
        produces=produced_name(step) if step.kind is StepKind.RECREATE else None,
        conflict=step.conflict,
        skipped=step.skipped,
    )


def generic_plan(draft: RestorePlanDraft) -> PlanDraft:
    """The draft's steps as generic steps, with their dependencies."""
    steps: list[Step] = []
    earlier: dict[int, PlannedStep] = {}
    for position, step in enumerate(draft.steps, start=1):
        steps.append(generic_step(step, _depends_on(step, earlier)))
        earlier[position] = step
    notes = {
        "unattributed_left_out": draft.unattributed_left_out,
        "unattributed_included": draft.unattributed_included,
    }
    return PlanDraft(
        steps=tuple(steps),
        warnings=draft.warnings,
        notes={k: v for k, v in notes.items() if v},
    )


def planned_step(step: Step) -> PlannedStep:
    """The AD step a generic one stands for."""
    data: dict[str, Any] = {
        **step.payload,
        "kind": step.op,
        "object_guid": str(step.target.external_id),
        "dn": step.target.label,
        "expected": step.expected,
        "description": step.description,
        "conflict": step.conflict,
        "skipped": step.skipped,
    }
    return PlannedStep.from_dict(data)
