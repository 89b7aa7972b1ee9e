"""Storing plans of any provider in ``restore_plans`` / ``restore_steps`` and reading them back.

A plan is stored once, with every step as the provider planned it (:class:`~dirguard.core.plan.
Step`: operation, target, expected value, payload, dependencies, produced-id name); applying it
(:mod:`dirguard.services.rollback.steps`) records each step's status, outcome and produced id.
A target whose external id is a reference to an id produced by an earlier step is stored as
``$ref:<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.core.plan import PlanDraft, Step, Target, check_shape, ref, ref_name, reusing
from dirguard.providers.base import source_name
from dirguard.services.errors import Problem, ServiceError
from dirguard.store import json_codec
from dirguard.store.models import DirectoryObject, RestorePlan, RestoreStep

REF_PREFIX = "$ref:"
PLANNED = "planned"


def no_plan(plan_id: int) -> ServiceError:
    return ServiceError(
        f"no restore plan {plan_id}; `dirguard rollback plan` makes one", Problem.NOT_FOUND
    )


def _external_id(target: Target) -> str:
    name = ref_name(target.external_id)
    return f"{REF_PREFIX}{name}" if name is not None else str(target.external_id)


def stored_step(row: RestoreStep, types: Mapping[str, str] | None = None) -> Step:
    """The step a row holds, as planned (``types``: the resource-type key of each object the
    store knows, by external id)."""
    external: str | dict[str, str] = row.object_external_id
    if row.object_external_id.startswith(REF_PREFIX):
        external = ref(row.object_external_id.removeprefix(REF_PREFIX))
    target = Target(
        provider=row.provider,
        external_id=external,
        label=row.target,
        resource_type=(types or {}).get(row.object_external_id),
    )
    return Step(
        op=row.kind,
        target=target,
        description=row.description,
        attribute=row.attribute,
        payload=dict(row.step),
        expected=row.expected,
        depends_on=tuple(row.depends_on or ()),
        produces=row.produces,
        conflict=row.conflict,
    )


def already_made(session: Session, source: str, names: set[str]) -> dict[str, str]:
    """Of the produced-id ``names`` a new plan would make, those an earlier plan of ``source``
    already made with a step that succeeded, mapped to the id they got — unless the store
    records that object deleted since (then it is made again). A re-plan after a partial
    apply then uses the re-created object instead of creating it a second time."""
    if not names:
        return {}
    rows = session.execute(
        select(RestoreStep.produces, RestoreStep.produced_id)
        .join(RestorePlan, RestorePlan.id == RestoreStep.plan_id)
        .where(
            RestorePlan.source == source,
            RestoreStep.produces.in_(sorted(names)),
            RestoreStep.status == "succeeded",
            RestoreStep.produced_id.is_not(None),
        )
        .order_by(RestoreStep.applied_at, RestoreStep.id)
    )
    made = {str(name): str(made_id) for name, made_id in rows}
    if not made:
        return {}
    gone = set(
        session.scalars(
            select(DirectoryObject.external_id).where(
                DirectoryObject.source == source,
                DirectoryObject.external_id.in_(sorted(made.values())),
                DirectoryObject.deleted.is_(True),
            )
        )
    )
    return {name: made_id for name, made_id in made.items() if made_id not in gone}


def save_plan(
    session: Session,
    *,
    source: str,
    requested_by: str,
    selection: dict[str, Any],
    force: bool,
    draft: PlanDraft,
) -> RestorePlan:
    """Store the plan and its steps (flushes; the caller commits). A step that would make an
    object an earlier plan already made (:func:`already_made`) is left out; the others use it."""
    produced = {s.produces for s in draft.steps if s.produces is not None}
    draft = reusing(draft, already_made(session, source, produced))
    if not draft.steps:
        raise ServiceError("the selection needs no change: the directory already matches it")
    check_shape(draft.steps)
    plan = RestorePlan(
        source=source,
        requested_by=requested_by,
        selection={
            **selection,
            **{k: v for k, v in draft.notes.items() if v},
            "warnings": list(draft.warnings),
        },
        force=force,
        status=PLANNED,
    )
    session.add(plan)
    session.flush()
    for position, step in enumerate(draft.steps, start=1):
        session.add(
            RestoreStep(
                plan_id=plan.id,
                position=position,
                provider=step.target.provider,
                kind=step.op,
                object_external_id=_external_id(step.target),
                target=step.target.label,
                attribute=step.attribute,
                step=dict(step.payload),
                expected=step.expected,
                depends_on=list(step.depends_on),
                produces=step.produces,
                description=step.description,
                conflict=step.conflict,
                status="skipped" if step.skipped else PLANNED,
                outcome=f"skipped: {step.conflict}" if step.skipped else None,
            )
        )
    session.flush()
    return plan


@dataclass(frozen=True, kw_only=True)
class StoredStep:
    position: int
    kind: str
    object_guid: str
    dn: str
    attribute: str | None
    description: str
    conflict: str | None
    status: str
    outcome: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "kind": self.kind,
            "object_guid": self.object_guid,
            "dn": self.dn,
            "attribute": self.attribute,
            "description": self.description,
            "conflict": self.conflict,
            "status": self.status,
            "outcome": self.outcome,
        }


@dataclass(frozen=True, kw_only=True)
class StoredPlan:
    """A stored plan, its steps and their outcomes (as ``rollback plan`` and ``apply`` show)."""

    id: int
    source: str
    created_at: datetime
    requested_by: str
    selection: dict[str, Any]
    force: bool
    status: str
    applied_at: datetime | None
    steps: tuple[StoredStep, ...]

    @property
    def warnings(self) -> list[str]:
        return [str(w) for w in self.selection.get("warnings", [])]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "requested_by": self.requested_by,
            "selection": json_codec.encode(self.selection),
            "force": self.force,
            "status": self.status,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "steps": [s.as_dict() for s in self.steps],
        }


def load_plan(session: Session, plan_id: int) -> StoredPlan:
    """A stored plan with its steps (:class:`ServiceError` not-found when there is none)."""
    plan = session.get(RestorePlan, plan_id)
    if plan is None:
        raise no_plan(plan_id)
    return StoredPlan(
        id=plan.id,
        source=source_name(plan.source),
        created_at=plan.created_at,
        requested_by=plan.requested_by,
        selection=dict(plan.selection),
        force=plan.force,
        status=plan.status,
        applied_at=plan.applied_at,
        steps=tuple(
            StoredStep(
                position=s.position,
                kind=s.kind,
                object_guid=s.object_external_id,
                dn=s.target,
                attribute=s.attribute,
                description=s.description,
                conflict=s.conflict,
                status=s.status,
                outcome=s.outcome,
            )
            for s in plan.steps
        ),
    )
