"""The source-neutral plan model: what a rollback, restore or undelete will do, step by step (pure).

A :class:`Step` is one write a provider knows how to perform: an operation the provider names
(``set``, ``reanimate`` for AD; ``patch``, ``restore`` for Graph), the object it acts on
(:class:`Target`: provider, external id, a label people read such as the DN), the value the
object should hold now (``expected``: a difference is a conflict), the provider's ``payload``,
the earlier steps it needs (``depends_on``: their positions) and, when it makes a new object, the
name of the id it ``produces`` (a re-created AD object's objectGUID, a Graph object's new id).

A later step names such an id with :func:`ref` (``{"$ref": name}``) anywhere in its payload, or
as its target's external id; the step loop (:mod:`dirguard.services.rollback.steps`) swaps in the
ids produced so far (:func:`resolved`) before the provider sees the step, and skips a step whose
dependency failed or was skipped.

Positions count from 1 in plan order; a step depends only on earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

REF_KEY = "$ref"


class UnresolvedReference(LookupError):
    """A step names an id no earlier step has produced."""


def ref(name: str) -> dict[str, str]:
    """A payload value (or target external id) standing for the id step ``name`` produces."""
    return {REF_KEY: name}


def ref_name(value: Any) -> str | None:
    """The name ``value`` refers to, when it is a :func:`ref` marker."""
    if isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get(REF_KEY), str):
        return str(value[REF_KEY])
    return None


def references(value: Any) -> frozenset[str]:
    """Every produced-id name ``value`` (a payload, nested lists and mappings) refers to."""
    name = ref_name(value)
    if name is not None:
        return frozenset({name})
    if isinstance(value, Mapping):
        return frozenset().union(*(references(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return frozenset().union(*(references(v) for v in value))
    return frozenset()


def resolve_value(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with every :func:`ref` marker replaced by the produced id it names."""
    name = ref_name(value)
    if name is not None:
        if name not in ids:
            raise UnresolvedReference(f"no earlier step produced {name!r}")
        return ids[name]
    if isinstance(value, Mapping):
        return {key: resolve_value(v, ids) for key, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve_value(v, ids) for v in value)
    return value


@dataclass(frozen=True, kw_only=True)
class Target:
    """The object a step acts on."""

    provider: str
    """The provider's kind (``ad``, ``entra``)."""
    external_id: str | dict[str, str]
    """The object's immutable id (objectGUID, Graph id), or a :func:`ref` to one produced by an
    earlier step."""
    label: str
    """What people know it by when planning (a DN, a display name)."""
    resource_type: str | None = None
    """The key of the object's row in the resource-type registry, when the store knows the
    object (filled in when a stored plan is loaded; rights are derived from it)."""


@dataclass(frozen=True, kw_only=True)
class Step:
    op: str
    """The provider's operation name."""
    target: Target
    description: str
    attribute: str | None = None
    """The attribute (property path) it writes, when it writes one (``member``,
    ``accountEnabled``): how dirguard recognises its own writes in the history."""
    payload: Mapping[str, Any] = field(default_factory=dict)
    """What the provider needs to perform the step (JSON-ready; bytes are fine)."""
    expected: Any = None
    """What the object should hold now; ``None``: nothing to check."""
    depends_on: tuple[int, ...] = ()
    """Positions of earlier steps that must have succeeded (or found nothing to do) first."""
    produces: str | None = None
    """The name later steps use for the id this step produces."""
    conflict: str | None = None
    """Found when planning: the object no longer holds what the selected change left."""
    skipped: bool = False
    """Planned as skipped (a conflict without ``force``, or a step the source refuses)."""

    def needs(self) -> frozenset[str]:
        """The produced-id names this step refers to."""
        return references(self.payload) | references(self.target.external_id)


def resolved(step: Step, ids: Mapping[str, str]) -> Step:
    """``step`` with every reference to a produced id replaced by the id
    (:class:`UnresolvedReference` when one was not produced)."""
    external = step.target.external_id
    if not isinstance(external, str):
        external = str(resolve_value(external, ids))
    return replace(
        step,
        target=replace(step.target, external_id=external),
        payload=resolve_value(dict(step.payload), ids),
    )


@dataclass(frozen=True, kw_only=True)
class PlanDraft:
    """A provider's plan before it is stored: the steps in order and what to tell people."""

    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = ()
    notes: Mapping[str, int] = field(default_factory=dict)
    """Counts kept with the selection (e.g. ``unattributed_left_out``); zero counts are left
    out."""


class PlanShapeError(ValueError):
    """A plan's dependencies or references do not hold together."""


def check_shape(steps: Iterable[Step]) -> None:
    """Every dependency names an earlier step, every produced name is unique and every reference
    names an id produced by a step it depends on."""
    producer: dict[str, int] = {}
    for position, step in enumerate(steps, start=1):
        for earlier in step.depends_on:
            if not 1 <= earlier < position:
                raise PlanShapeError(f"step {position} depends on {earlier}, not an earlier step")
        for name in step.needs():
            source = producer.get(name)
            if source is None:
                raise PlanShapeError(f"step {position} uses {name!r}, which no earlier step makes")
            if source not in step.depends_on:
                raise PlanShapeError(
                    f"step {position} uses {name!r} from step {source} without depending on it"
                )
        if step.produces is not None:
            if step.produces in producer:
                raise PlanShapeError(f"{step.produces!r} is produced twice")
            producer[step.produces] = position


def _resolve_known(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with the :func:`ref` markers naming ``ids`` replaced; other markers kept."""
    name = ref_name(value)
    if name is not None:
        return ids.get(name, value)
    if isinstance(value, Mapping):
        return {key: _resolve_known(v, ids) for key, v in value.items()}
    if isinstance(value, list):
        return [_resolve_known(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve_known(v, ids) for v in value)
    return value


def reusing(draft: PlanDraft, made: Mapping[str, str]) -> PlanDraft:
    """``draft`` without the steps that would make again an object an earlier plan already
    made (``made``: produced-id name → the id it got, e.g. ``id:<old id>`` → the re-created
    user's new id, still present): later steps use that id, their dependencies on the dropped
    steps are gone and the positions renumbered; each reuse is said in the warnings."""
    dropped = {
        position
        for position, step in enumerate(draft.steps, start=1)
        if step.produces is not None and step.produces in made
    }
    if not dropped:
        return draft
    new_position: dict[int, int] = {}
    steps: list[Step] = []
    warnings = list(draft.warnings)
    for position, step in enumerate(draft.steps, start=1):
        if position in dropped:
            assert step.produces is not None
            warnings.append(
                f"{step.target.label}: made by an earlier plan as {made[step.produces]}, which"
                " is still there: that object is used, not made again"
            )
            continue
        new_position[position] = len(steps) + 1
        external = step.target.external_id
        if not isinstance(external, str):
            external = _resolve_known(external, made)
        steps.append(
            replace(
                step,
                target=replace(step.target, external_id=external),
                payload=_resolve_known(dict(step.payload), made),
                depends_on=tuple(new_position[d] for d in step.depends_on if d not in dropped),
            )
        )
    return replace(draft, steps=tuple(steps), warnings=tuple(warnings))
