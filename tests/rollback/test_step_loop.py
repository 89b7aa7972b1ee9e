"""The source-neutral step loop (``services/rollback/steps.py``) with a plan stored in a real
store (SQLite and PostgreSQL): a step creates an object and produces its id, later steps depend
on it and use that id (in their payload, and as their target), a failed step's dependants are
skipped while independent steps still run, and every outcome and produced id is recorded.

The provider is :class:`MemoryDirectory`, an in-memory directory written here: the step loop is
the thing under test and the provider is its collaborator, standing in for a source with id
remapping (Entra re-creates an object under a new id) that no real one offers yet; AD's own
executor runs against the real Samba DC in the other rollback tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.plan import PlanDraft, PlanShapeError, Step, Target, ref
from dirguard.providers.base import StepResult
from dirguard.services.errors import ServiceError
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.rollback.steps import apply_plan
from dirguard.store.column_types import utcnow
from dirguard.store.models import AuditRecord, RestoreStep

PROVIDER = "memory"


@dataclass(frozen=True, kw_only=True)
class Rights:
    ok: bool = True
    missing_groups: tuple[str, ...] = ()

    def needed(self) -> tuple[str, ...]:
        return ()

    def message(self) -> str:
        return "all there"

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok}


@dataclass
class MemoryDirectory:
    """Objects by id, each a dict of fields; ``create`` gives a new id, like a Graph POST.
    ``refuse`` names labels whose creation fails."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse: frozenset[str] = frozenset()
    seen: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    written_at: list[datetime] = field(default_factory=list)

    def apply(self, step: Step, produced: Mapping[str, str], *, force: bool) -> StepResult:
        target = step.target.external_id
        assert isinstance(target, str), "the loop resolves references before calling"
        self.seen.append((step.op, target, dict(step.payload)))
        self.written_at.append(utcnow())
        if step.op == "create":
            if step.target.label in self.refuse:
                return StepResult(status="failed", outcome="the source refused the create")
            new_id = f"id-{next(self.ids)}"
            self.objects[new_id] = {"name": step.target.label, **step.payload}
            return StepResult(status="succeeded", outcome="created", produced_id=new_id)
        if target not in self.objects:
            return StepResult(status="failed", outcome=f"no object {target}")
        if step.op == "add-member":
            self.objects[target].setdefault("members", []).append(step.payload["member"])
        elif step.op == "set":
            self.objects[target].update(step.payload)
        return StepResult(status="succeeded", outcome="done")

    def verify(self, step: Step, produced: Mapping[str, str]) -> str | None:
        target = step.target.external_id
        if step.op == "add-member":
            assert isinstance(target, str)
            if step.payload["member"] not in self.objects[target].get("members", []):
                return "the member is not there"
        return None

    def rights(self, steps: Sequence[Step]) -> Rights:
        return Rights()


def _step(op: str, external_id: str | dict[str, str], label: str, **fields: Any) -> Step:
    return Step(
        op=op,
        target=Target(provider=PROVIDER, external_id=external_id, label=label),
        description=f"{op} {label}",
        payload=fields.pop("payload", {}),
        **fields,
    )


def _plan(sessions: sessionmaker[Session], steps: Sequence[Step]) -> int:
    with sessions.begin() as session:
        plan = save_plan(
            session,
            source="memory:test",
            requested_by="carol",
            selection={"test": True},
            force=False,
            draft=PlanDraft(steps=tuple(steps)),
        )
        return plan.id


RECREATE_AND_LINK = (
    _step("create", "old-id", "alice", produces="alice", payload={"mail": "alice@x"}),
    _step("add-member", "group-1", "admins", depends_on=(1,), payload={"member": ref("alice")}),
    _step("set", ref("alice"), "alice", depends_on=(1,), payload={"title": "Ops"}),
    _step("set", "group-1", "admins", payload={"description": "restored"}),
)


def test_a_later_step_uses_the_id_an_earlier_step_produced(
    store_sessions: sessionmaker[Session],
) -> None:
    directory = MemoryDirectory(objects={"group-1": {"name": "admins"}})
    plan_id = _plan(store_sessions, RECREATE_AND_LINK)

    report = apply_plan(store_sessions, directory, plan_id, requested_by="carol")

    assert report.status == "applied"
    assert [s.status for s in report.steps] == ["succeeded"] * 4
    [new_id] = [k for k in directory.objects if k != "group-1"]
    assert directory.objects["group-1"]["members"] == [new_id]
    assert directory.objects[new_id] == {"name": "alice", "mail": "alice@x", "title": "Ops"}
    assert directory.seen[1] == ("add-member", "group-1", {"member": new_id})
    assert directory.seen[2][1] == new_id, "the target named by reference is the new object"
    with store_sessions() as session:
        rows = session.scalars(select(RestoreStep).order_by(RestoreStep.position)).all()
        assert [r.produced_id for r in rows] == [new_id, None, None, None]
        assert [r.depends_on for r in rows] == [[], [1], [1], []]
        assert rows[2].object_external_id == "$ref:alice"
        audit = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [a.action for a in audit] == [
            "rollback.create",
            "rollback.add-member",
            "rollback.set",
            "rollback.set",
        ]
        assert audit[0].details["produced_id"] == new_id
        assert {a.details["on_behalf_of"] for a in audit} == {"carol"}


def test_a_step_counts_as_applied_from_when_its_write_began(
    store_sessions: sessionmaker[Session],
) -> None:
    """A monitor capturing beside the apply may store a write's event before the step's outcome
    is recorded: the step's ``applied_at`` is not later than its write, so that event is still
    "observed after the step" and recognised as dirguard's own (``rollback/own_writes.py``)."""
    directory = MemoryDirectory(objects={"group-1": {"name": "admins"}})
    plan_id = _plan(store_sessions, RECREATE_AND_LINK)
    apply_plan(store_sessions, directory, plan_id, requested_by="carol")
    with store_sessions() as session:
        rows = session.scalars(select(RestoreStep).order_by(RestoreStep.position)).all()
        applied = [r.applied_at for r in rows]
    assert all(a is not None for a in applied)
    for when, written in zip(applied, directory.written_at, strict=True):
        assert when is not None and when.replace(tzinfo=written.tzinfo) <= written


def test_an_interrupted_apply_resumes_with_the_ids_it_had_produced(
    store_sessions: sessionmaker[Session],
) -> None:
    """The create was done and recorded before the apply stopped: applying again runs only the
    rest, with the id the create produced then."""
    directory = MemoryDirectory(objects={"group-1": {"name": "admins"}, "id-7": {"name": "alice"}})
    plan_id = _plan(store_sessions, RECREATE_AND_LINK)
    with store_sessions.begin() as session:
        first = session.scalars(
            select(RestoreStep).where(RestoreStep.plan_id == plan_id, RestoreStep.position == 1)
        ).one()
        first.status, first.produced_id = "succeeded", "id-7"

    report = apply_plan(store_sessions, directory, plan_id, requested_by="carol")

    assert report.status == "applied"
    assert [op for op, _, _ in directory.seen] == ["add-member", "set", "set"], "no second create"
    assert directory.objects["group-1"]["members"] == ["id-7"]
    assert directory.objects["id-7"]["title"] == "Ops"


def test_dependants_of_a_failed_step_are_skipped_and_the_rest_runs(
    store_sessions: sessionmaker[Session],
) -> None:
    directory = MemoryDirectory(
        objects={"group-1": {"name": "admins"}}, refuse=frozenset({"alice"})
    )
    plan_id = _plan(store_sessions, RECREATE_AND_LINK)

    report = apply_plan(store_sessions, directory, plan_id, requested_by="carol")

    assert report.status == "partial"
    assert [(s.status, s.outcome) for s in report.steps] == [
        ("failed", "the source refused the create"),
        ("skipped", "skipped: it depends on step 1, which failed"),
        ("skipped", "skipped: it depends on step 1, which failed"),
        ("succeeded", "done"),
    ]
    assert [op for op, _target, _payload in directory.seen] == ["create", "set"]
    assert directory.objects == {"group-1": {"name": "admins", "description": "restored"}}
    with pytest.raises(ServiceError, match="already applied"):
        apply_plan(store_sessions, directory, plan_id, requested_by="carol")


def test_a_plan_whose_references_do_not_hold_together_is_not_stored(
    store_sessions: sessionmaker[Session],
) -> None:
    produced = _step("create", "old", "alice", produces="alice")
    unlinked = _step("set", ref("alice"), "alice")  # uses alice's id without depending on it
    with pytest.raises(PlanShapeError, match="without depending on it"):
        _plan(store_sessions, [produced, unlinked])
    with pytest.raises(PlanShapeError, match="not an earlier step"):
        _plan(store_sessions, [_step("set", "x", "x", depends_on=(1,))])
    with pytest.raises(PlanShapeError, match="no earlier step makes"):
        _plan(store_sessions, [_step("set", ref("bob"), "bob")])
