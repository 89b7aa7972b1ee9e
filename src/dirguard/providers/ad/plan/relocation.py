"""Where things are when each step of a restore plan runs (pure: no I/O).

An object's destination, and a DN value put back into a link, is written where it will be once
the plan has run: a child deleted inside an OU that was renamed in the selection comes back
under the OU's old name. A move step expects its object where the moves before it (of its
parents) leave it, and the planner's conflict check expects an object where the selection's
later moves of its parents carried it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.plan.restore_plan import (
    HistoryEvent,
    PlannedStep,
    StepKind,
    ordered,
)
from dirguard.providers.ad.values import is_tombstone_dn, split_dn

DN_OPS = frozenset({ChangeOp.MOVE, ChangeOp.RENAME, ChangeOp.DELETE, ChangeOp.UNDELETE})

COMING_BACK = (StepKind.REANIMATE, StepKind.RECREATE, StepKind.MOVE)


def carried(dn: str, moves: Sequence[HistoryEvent], last: HistoryEvent) -> str:
    """``dn`` (an object's DN after its ``last`` move) carried along by the later moves and
    renames of its parents in the selection."""
    for move in moves:
        old = str(move.old)
        if move.sequence > last.sequence and dn.lower().endswith("," + old.lower()):
            dn = dn[: len(dn) - len(old)] + str(move.new)
    return dn


def relocated(
    steps: tuple[PlannedStep, ...], events: Sequence[HistoryEvent]
) -> tuple[PlannedStep, ...]:
    """``steps`` (ordered) with destinations and linked DN values written where things will be
    after the plan, and each move expecting its object where the earlier moves leave it."""
    final = {s.object_guid: str(s.values[0]) for s in steps if s.kind in COMING_BACK}
    names: dict[str, str] = {}
    """Every live DN an object that comes back or moves back had in the selection -> its guid."""
    for event in events:
        if event.object_guid in final and event.op in DN_OPS:
            for value in (event.old, event.new):
                if isinstance(value, str) and value and not is_tombstone_dn(value):
                    names[value.lower()] = event.object_guid
    for step in steps:
        if step.kind is StepKind.MOVE and step.expected:
            names[str(step.expected[0]).lower()] = step.object_guid

    def locate(dn: str, seen: frozenset[str] = frozenset()) -> str:
        """Where the object named ``dn`` at some moment of the selection ends up."""
        guid = names.get(dn.lower())
        if guid is not None and guid not in seen:
            target = final[guid]
            rdn, parent = split_dn(target)
            return f"{rdn},{locate(parent, seen | {guid})}" if parent else target
        rdn, parent = split_dn(dn)
        return f"{rdn},{locate(parent, seen)}" if parent else dn

    linked_dn = StepKind.ADD_VALUE, StepKind.REMOVE_VALUE
    moved: list[tuple[str, str]] = []
    out: list[PlannedStep] = []
    for step in ordered(
        replace(s, values=(locate(str(s.values[0])),))
        if s.kind in (*COMING_BACK, *linked_dn) and s.values
        else s
        for s in steps
    ):
        if step.kind is StepKind.MOVE and step.expected:
            now = _after_moves(str(step.expected[0]), moved)
            step = replace(step, dn=now, expected=(now,))
            moved.append((now.lower(), str(step.values[0])))
        out.append(step)
    return tuple(out)


def _after_moves(dn: str, moved: Sequence[tuple[str, str]]) -> str:
    """``dn`` after the subtree moves ``(old DN lowercased, new DN)`` ran, in order."""
    for old, new in moved:
        lowered = dn.lower()
        if lowered == old:
            dn = new
        elif lowered.endswith("," + old):
            dn = dn[: len(dn) - len(old)] + new
    return dn
