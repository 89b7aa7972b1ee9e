"""Performing AD plan steps over LDAP, reading each one back, and checking the rights they need.

Each step finds its object by objectGUID (tombstones included, with the Show-Deleted control
1.2.840.113556.1.4.417) in the naming context its DN lies in (domain, configuration or schema
partition: :mod:`dirguard.providers.ad.partition_search`), checks that the object still holds what
the plan expects (a difference is a conflict: skipped unless the plan was made with ``force``),
performs one LDAP operation, and is read back and compared with the intended state. A
re-creation produces the object's new objectGUID. Consecutive steps that set attributes of one
object (an undelete's attributes after the reanimation) are one read before, one LDAP modify
(AD applies a modify's changes all or none) and one read back (:func:`perform_sets`); when that
modify is refused, each is performed and read back alone, so each says what was refused.

:class:`AdStepWriter` is AD's write side of the provider protocol
(:class:`dirguard.providers.base.StepWriter`): the source-neutral step loop in
:mod:`dirguard.services.rollback.steps` calls it for each step. Its rights check compares the
bound account's token groups (``tokenGroups``) with the groups each step needs, from the row of
the object it writes (:mod:`dirguard.providers.ad.plan.partition_rights`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import ldap

from dirguard.core.plan import Step
from dirguard.providers.ad.account_token import AccountTokenError, bound_account, partition_bases
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.ad.ldap_read import show_deleted_control
from dirguard.providers.ad.partition_search import find_by_guid, in_schema
from dirguard.providers.ad.plan.partition_rights import (
    PartitionError,
    RightsVerdict,
    verdict,
    write_targets,
)
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind, same_values
from dirguard.providers.ad.plan.schema_refusal import SCHEMA_REFUSED, schema_refusal
from dirguard.providers.ad.plan.steps import planned_step
from dirguard.providers.ad.ranged_members import completed
from dirguard.providers.ad.sd.sd_apply import security_conflict, security_problem, write_security
from dirguard.providers.ad.tombstones import recreate_step, recreated_problem
from dirguard.providers.ad.values import Value, split_dn
from dirguard.providers.base import SourceError, StepResult
from dirguard.providers.registry import RESOURCE_TYPES


class StepFailed(Exception):
    """One step failed or did not verify; the message says what the directory holds."""


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
    return live_dn, _values_of(conn, live_dn, attributes, attribute) if attribute else []


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


def _already_done(conn: AdConnection, step: PlannedStep, dn: str, live: list[bytes]) -> bool:
    """Whether the directory already holds what the step would write. Read before the expected
    value is compared: a step an interrupted apply performed but did not record would otherwise
    count as changed again (or fail, a reanimation of a live object)."""
    deleted = "\\0ADEL:" in dn
    target = str(step.values[0]) if step.values else ""
    if step.kind is StepKind.SET:
        return _same(live, step.values)
    if step.kind in (StepKind.MOVE, StepKind.REANIMATE):
        return not deleted and same_values((dn,), (target,))
    if step.kind is StepKind.DELETE:
        return deleted
    if step.kind is StepKind.SET_SECURITY:
        return security_problem(conn, step, dn) is None
    return False


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
    if step.kind is StepKind.RECREATE:
        if (problem := recreated_problem(conn, step)) is not None:
            raise StepFailed(problem)
        return
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


def perform(conn: AdConnection, step: PlannedStep, *, force: bool) -> StepResult:
    """Perform one step, without reading it back (:func:`verify` does)."""
    if step.kind in SCHEMA_REFUSED and in_schema(conn.contexts, step.dn):
        # planning skips these already (dirguard.providers.ad.plan.schema_refusal); a second line
        # of defence
        return StepResult(status="failed", outcome=schema_refusal(step.dn))
    try:
        if step.kind is StepKind.RECREATE:
            guid = recreate_step(conn, step)
            return StepResult(
                status="succeeded",
                outcome=f"verified; re-created with the new objectGUID {guid}",
                produced_id=guid,
            )
        dn, live = find_live(conn, step.object_guid, step.attribute, step.dn)
        if step.kind not in (StepKind.REANIMATE, StepKind.DELETE) and "\\0ADEL:" in dn:
            raise StepFailed(f"the object is deleted ({dn}); bring it back first")
        if _already_done(conn, step, dn, live):
            # an apply that stopped after this write and before recording it: done already
            return StepResult(status="unchanged", outcome="already as intended")
        conflict = _check_expected(step, dn, live)
        if conflict is not None and not force:
            return StepResult(
                status="skipped", outcome=f"skipped: {conflict} (plan again, or with --force)"
            )
        status = _run(conn, step, dn, live)
    except StepFailed as error:
        return StepResult(status="failed", outcome=str(error))
    except ldap.LDAPError as error:
        return StepResult(
            status="failed", outcome=f"the directory refused: {ldap_error_text(error)}"
        )
    return StepResult(
        status=status, outcome="verified" if status == "succeeded" else "already as intended"
    )


def verify(conn: AdConnection, step: PlannedStep) -> str | None:
    """How the directory differs from the step's intended state, or ``None``."""
    try:
        _verify(conn, step)
    except StepFailed as error:
        return str(error)
    except ldap.LDAPError as error:
        return f"the directory refused: {ldap_error_text(error)}"
    return None


def apply_step(conn: AdConnection, step: PlannedStep, *, force: bool) -> tuple[str, str]:
    """``(status, outcome)`` of one step performed and read back: succeeded, unchanged, skipped
    or failed."""
    result = perform(conn, step, force=force)
    if result.status in ("succeeded", "unchanged") and (problem := verify(conn, step)):
        return "failed", problem
    return result.status, result.outcome


def _values_of(
    conn: AdConnection, dn: str, attributes: Mapping[str, list[bytes]], name: str
) -> list[bytes]:
    """``name``'s values in a read of ``dn``: past MaxValRange (a group of more than 1,500
    members) the DC sends the first range only, and the rest is read by range."""
    try:
        return completed(conn.ldap, dn, dict(attributes), name, [show_deleted_control()])
    except SourceError as error:
        raise StepFailed(str(error)) from None


def _one_by_one(conn: AdConnection, steps: Sequence[PlannedStep], force: bool) -> list[StepResult]:
    results = []
    for step in steps:
        status, outcome = apply_step(conn, step, force=force)
        results.append(StepResult(status=status, outcome=outcome))
    return results


def perform_sets(
    conn: AdConnection, steps: Sequence[PlannedStep], *, force: bool
) -> list[StepResult]:
    """Set steps of one object (distinct attributes), performed and read back together: each
    step's checks as :func:`perform` makes them, against one read; the writes in one modify;
    one read back, compared per step."""
    names = [step.attribute or "" for step in steps]
    first = steps[0]
    try:
        dn, attributes = _read(conn, first.object_guid, names, first.dn)
        if "\\0ADEL:" in dn:
            raise StepFailed(f"the object is deleted ({dn}); bring it back first")
        results: list[StepResult | None] = []
        changes: list[tuple[int, str, list[bytes] | None]] = []
        for step, name in zip(steps, names, strict=True):
            live = _values_of(conn, dn, attributes, name)
            if _already_done(conn, step, dn, live):
                results.append(StepResult(status="unchanged", outcome="already as intended"))
                continue
            conflict = _check_expected(step, dn, live)
            if conflict is not None and not force:
                outcome = f"skipped: {conflict} (plan again, or with --force)"
                results.append(StepResult(status="skipped", outcome=outcome))
                continue
            results.append(None)
            if step.values:
                changes.append((ldap.MOD_REPLACE, name, _raw(step.values)))
            else:
                changes.append((ldap.MOD_DELETE, name, None))
        if changes:
            conn.ldap.modify_s(dn, changes)
    except StepFailed as error:
        return [StepResult(status="failed", outcome=str(error)) for _ in steps]
    except ldap.LDAPError:
        # nothing of the modify was written: each step alone says what the directory refuses
        return _one_by_one(conn, steps, force)
    done = [result or StepResult(status="succeeded", outcome="verified") for result in results]
    try:
        back_dn, back = _read(conn, first.object_guid, names, first.dn)
    except StepFailed as error:
        return [
            StepResult(status="failed", outcome=str(error)) if r.status != "skipped" else r
            for r in done
        ]
    except ldap.LDAPError as error:
        refused = f"the directory refused: {ldap_error_text(error)}"
        return [
            StepResult(status="failed", outcome=refused) if r.status != "skipped" else r
            for r in done
        ]
    checked = []
    for step, name, result in zip(steps, names, done, strict=True):
        live = _values_of(conn, back_dn, back, name)
        if result.status != "skipped" and not _same(live, step.values):
            outcome = f"read back {len(live)} value(s) that differ from the intended ones"
            result = StepResult(status="failed", outcome=outcome)
        checked.append(result)
    return checked


def _read(
    conn: AdConnection, guid: str, names: Sequence[str], dn: str | None
) -> tuple[str, dict[str, list[bytes]]]:
    found = find_by_guid(conn, guid, list(names), dn=dn)
    if found is None:
        raise StepFailed(
            f"no object with objectGUID {guid} in the directory (not even a tombstone)"
        )
    return found


class AdStepWriter:
    """AD's write side for the step loop: one connection, bound as ``bind_upn`` (closed on
    leaving the ``with`` block)."""

    def __init__(self, conn: AdConnection, *, source: str, bind_upn: str | None) -> None:
        self.conn = conn
        self.source = source
        self.bind_upn = bind_upn

    def __enter__(self) -> AdStepWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()

    def apply(self, step: Step, produced: Mapping[str, str], *, force: bool) -> StepResult:
        return perform(self.conn, planned_step(step), force=force)

    def verify(self, step: Step, produced: Mapping[str, str]) -> str | None:
        return verify(self.conn, planned_step(step))

    def batch_key(self, step: Step) -> object | None:
        """Attribute values set on one object go together (one modify)."""
        if step.op != StepKind.SET.value or not step.attribute or not step.target.external_id:
            return None
        return (StepKind.SET.value, str(step.target.external_id).lower())

    def apply_batch(
        self, steps: Sequence[Step], produced: Mapping[str, str], *, force: bool
    ) -> list[StepResult]:
        planned = [planned_step(step) for step in steps]
        names = [(p.attribute or "").lower() for p in planned]
        if len(set(names)) < len(names):  # one attribute twice: each after the one before
            return _one_by_one(self.conn, planned, force)
        return perform_sets(self.conn, planned, force=force)

    def rights(self, steps: Sequence[Step]) -> RightsVerdict:
        """What ``bind_upn`` lacks to write every step (reads only)."""
        if self.bind_upn is None:
            raise SourceError(
                f"{self.source}: set bind_upn (the account dirguard binds as, also with "
                "Kerberos) so that its group memberships can be checked before a rollback",
                refused=True,
            )
        default = self.conn.contexts.default  # a step with no DN known: the domain partition
        planned = [replace(p, dn=p.dn or default) for p in map(planned_step, steps)]
        rows = {
            str(s.target.external_id): RESOURCE_TYPES[s.target.resource_type]
            for s in steps
            if s.target.resource_type is not None
        }
        targets = write_targets(planned, rows)
        try:
            account = bound_account(self.conn, self.bind_upn)
            return verdict(account.name, targets, partition_bases(self.conn), account.groups)
        except (AccountTokenError, PartitionError) as error:
            raise SourceError(str(error)) from None
        except ldap.LDAPError as error:
            raise SourceError(f"{self.source}: {ldap_error_text(error)}") from None
