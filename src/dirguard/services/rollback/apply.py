"""Applying a stored restore plan to the directory, step by step, and verifying each step.

Each step finds its object by objectGUID (tombstones included, with the Show-Deleted control
1.2.840.113556.1.4.417) in the naming context its DN lies in (domain, configuration or schema
partition: :mod:`dirguard.providers.ad.partition_search`), checks that the object still holds what
the plan expects (a difference is a conflict: skipped unless the plan was made with ``force``),
performs one LDAP operation, reads the object back and compares it with the intended state. The
step's status and outcome and an audit record (dirguard acting on behalf of the person who asked)
are committed together after every step, so a partial failure is visible per step, also after a
crash.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ldap
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.ldap_errors import ldap_error_text
from dirguard.providers.ad.ldap_read import show_deleted_control
from dirguard.providers.ad.partition_search import find_by_guid, in_schema
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind, same_values, split_dn
from dirguard.providers.ad.plan.schema_refusal import SCHEMA_REFUSED, schema_refusal
from dirguard.providers.ad.plan.steps import planned_step
from dirguard.providers.ad.sd.sd_apply import security_conflict, security_problem, write_security
from dirguard.providers.ad.tombstones import recreate_step
from dirguard.providers.ad.values import Value
from dirguard.services.rollback.plan_store import stored_step
from dirguard.store.audit import SELF, AuditOutcome, record_audit
from dirguard.store.column_types import utcnow
from dirguard.store.models import RestorePlan, RestoreStep


class RollbackError(Exception):
    """The plan cannot be applied at all; the message says why."""


class StepFailed(Exception):
    """One step failed or did not verify; the message says what the directory holds."""


@dataclass(kw_only=True)
class ApplyReport:
    plan_id: int
    status: str
    counts: Counter[str] = field(default_factory=Counter)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "status": self.status,
            "counts": dict(sorted(self.counts.items())),
            "steps": self.steps,
        }


def _raw(values: Sequence[Value]) -> list[bytes]:
    return [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]


def _text(values: Sequence[bytes]) -> list[Value]:
    out: list[Value] = []
    for value in values:
        try:
            out.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(value)
    return out


def _same(live: Sequence[bytes], wanted: Sequence[Value]) -> bool:
    """Live values equal wanted ones: bytes exactly, text ignoring case (DNs, names)."""
    if {bytes(v) for v in live} == set(_raw(wanted)):
        return True
    return same_values(_text(live), [w for w in wanted])


def find_live(
    conn: AdConnection, guid: str, attribute: str | None, dn: str | None = None
) -> tuple[str, list[bytes]]:
    """The object's current DN (tombstone DN when deleted) and the attribute's values, found in
    the naming context holding ``dn`` (the DN known when planning) first, then in the others."""
    found = find_by_guid(conn, guid, [attribute] if attribute else ["objectGUID"], dn=dn)
    if found is None:
        raise StepFailed(
            f"no object with objectGUID {guid} in the directory (not even a tombstone)"
        )
    live_dn, attributes = found
    values = next((v for k, v in attributes.items() if k.lower() == (attribute or "").lower()), [])
    return live_dn, list(values)


def _check_expected(step: PlannedStep, dn: str, live: list[bytes]) -> str | None:
    """The conflict found at apply time, or ``None``."""
    if step.expected is None:
        return None
    if step.kind is StepKind.MOVE:
        return None if same_values((dn,), step.expected) else f"it is now at {dn}"
    if step.kind is StepKind.SET and not _same(live, step.expected):
        return "it changed again since the plan was made"
    if step.kind is StepKind.SET_SECURITY:
        return security_conflict(step, live)
    return None


def _run(conn: AdConnection, step: PlannedStep, dn: str, live: list[bytes]) -> str:
    """Perform the step; returns ``succeeded`` or ``unchanged`` (already as intended)."""
    name = step.attribute or ""
    value_raw = _raw(step.values)
    if step.kind is StepKind.SET_SECURITY:
        return write_security(conn, step, dn)
    if step.kind is StepKind.SET:
        if _same(live, step.values):
            return "unchanged"
        if step.values:
            conn.ldap.modify_s(dn, [(ldap.MOD_REPLACE, name, value_raw)])
        else:
            conn.ldap.modify_s(dn, [(ldap.MOD_DELETE, name, None)])
    elif step.kind is StepKind.ADD_VALUE:
        if any(_same([v], step.values) for v in live):
            return "unchanged"
        conn.ldap.modify_s(dn, [(ldap.MOD_ADD, name, value_raw)])
    elif step.kind is StepKind.REMOVE_VALUE:
        if not any(_same([v], step.values) for v in live):
            return "unchanged"
        conn.ldap.modify_s(dn, [(ldap.MOD_DELETE, name, value_raw)])
    elif step.kind is StepKind.MOVE:
        target = str(step.values[0])
        if same_values((dn,), (target,)):
            return "unchanged"
        rdn, parent = split_dn(target)
        conn.ldap.rename_s(dn, rdn, parent, delold=1)
    elif step.kind is StepKind.REANIMATE:
        target = str(step.values[0])
        conn.ldap.modify_ext_s(
            dn,
            [
                (ldap.MOD_DELETE, "isDeleted", None),
                (ldap.MOD_REPLACE, "distinguishedName", [target.encode()]),
            ],
            serverctrls=[show_deleted_control()],
        )
    elif step.kind is StepKind.DELETE:
        conn.ldap.delete_s(dn)
    return "succeeded"


def _verify(conn: AdConnection, step: PlannedStep) -> None:
    """Read the object back and compare it with the step's intended state."""
    if step.kind is StepKind.DELETE:
        if find_by_guid(conn, step.object_guid, [], dn=step.dn, deleted=False) is not None:
            raise StepFailed("the object is still there after the delete")
        return
    dn, live = find_live(conn, step.object_guid, step.attribute, step.dn)
    if step.kind in (StepKind.MOVE, StepKind.REANIMATE):
        if not same_values((dn,), (str(step.values[0]),)):
            raise StepFailed(f"read back at {dn}, not at {step.values[0]!s}")
    elif step.kind is StepKind.SET and not _same(live, step.values):
        raise StepFailed(f"read back {len(live)} value(s) that differ from the intended ones")
    elif step.kind is StepKind.SET_SECURITY and (problem := security_problem(conn, step, dn)):
        raise StepFailed(problem)
    elif step.kind is StepKind.ADD_VALUE and not any(_same([v], step.values) for v in live):
        raise StepFailed(f"{step.values[0]!s} is not in {step.attribute} after the add")
    elif step.kind is StepKind.REMOVE_VALUE and any(_same([v], step.values) for v in live):
        raise StepFailed(f"{step.values[0]!s} is still in {step.attribute} after the remove")


def apply_step(conn: AdConnection, step: PlannedStep, *, force: bool) -> tuple[str, str]:
    """``(status, outcome)`` of one step: succeeded, unchanged, skipped or failed."""
    if step.kind in SCHEMA_REFUSED and in_schema(conn.contexts, step.dn):
        # planning skips these already (dirguard.providers.ad.plan.schema_refusal); a second line
        # of defence
        return "failed", schema_refusal(step.dn)
    if step.kind is StepKind.RECREATE:
        return recreate_step(conn, step)
    try:
        dn, live = find_live(conn, step.object_guid, step.attribute, step.dn)
        if (
            step.kind is not StepKind.REANIMATE
            and "\\0ADEL:" in dn
            and step.kind is not StepKind.DELETE
        ):
            raise StepFailed(f"the object is deleted ({dn}); bring it back first")
        conflict = _check_expected(step, dn, live)
        if conflict is not None and not force:
            return "skipped", f"skipped: {conflict} (plan again, or with --force)"
        status = _run(conn, step, dn, live)
        _verify(conn, step)
    except StepFailed as error:
        return "failed", str(error)
    except ldap.LDAPError as error:
        return "failed", f"the directory refused: {ldap_error_text(error)}"
    return status, "verified" if status == "succeeded" else "already as intended"


def apply_plan(
    sessions: sessionmaker[Session], conn: AdConnection, plan_id: int, *, requested_by: str
) -> ApplyReport:
    """Apply every pending step of plan ``plan_id`` in order; one commit per step."""
    with sessions() as session:
        plan = session.get(RestorePlan, plan_id)
        if plan is None:
            raise RollbackError(f"no restore plan {plan_id}; `dirguard rollback plan` makes one")
        if plan.status != "planned":
            raise RollbackError(
                f"plan {plan_id} was already applied ({plan.status}); make a new plan"
            )
        force = plan.force
        pending = [
            (s.id, planned_step(stored_step(s))) for s in plan.steps if s.status == "planned"
        ]
        source = plan.source
    report = ApplyReport(plan_id=plan_id, status="applied")
    for step_id, step in pending:
        status, outcome = apply_step(conn, step, force=force)
        with sessions.begin() as session:
            row = session.get_one(RestoreStep, step_id)
            row.status, row.outcome, row.applied_at = status, outcome, utcnow()
            if status != "skipped":
                record_audit(
                    session,
                    requested_by,
                    f"rollback.{step.kind.value}",
                    step.dn,
                    {
                        "by": SELF,
                        "on_behalf_of": requested_by,
                        "plan": plan_id,
                        "position": row.position,
                        "source": source,
                        "object_guid": step.object_guid,
                        "attribute": step.attribute,
                        "values": list(step.values),
                        "description": step.description,
                        "result": outcome,
                    },
                    AuditOutcome.FAILED if status == "failed" else AuditOutcome.SUCCEEDED,
                )
    with sessions.begin() as session:
        plan = session.get_one(RestorePlan, plan_id)
        statuses = Counter(s.status for s in plan.steps)
        report.counts = statuses
        if statuses["failed"] and not (statuses["succeeded"] + statuses["unchanged"]):
            report.status = "failed"
        elif statuses["failed"] or statuses["skipped"]:
            report.status = "partial"
        plan.status, plan.applied_at = report.status, utcnow()
        report.steps = [
            {
                "position": s.position,
                "description": s.description,
                "status": s.status,
                "outcome": s.outcome,
            }
            for s in plan.steps
        ]
    return report
