"""Which deleted objects still have a tombstone, and re-creating one that has none.

:func:`missing_tombstones` asks the directory, with the Show-Deleted control
(1.2.840.113556.1.4.417), for each objectGUID; an object it does not return at all has no
tombstone left (garbage-collected after the tombstone lifetime) and can only be re-created;
every naming context of the domain is asked (domain, configuration, schema).
:func:`recreate_step` performs a plan's RECREATE step: one LDAP add of the entry recorded in the
step (its result: the new objectGUID); :func:`recreated_problem` reads the object back by DN and
compares every attribute with the entry.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import ldap

from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.partition_search import present_guids
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind
from dirguard.providers.ad.values import Value, guid_text


def missing_tombstones(conn: AdConnection, guids: Collection[str]) -> frozenset[str]:
    """The GUIDs (of objects dirguard knows as deleted) the directory no longer holds at all,
    in any partition (each keeps its tombstones in its own Deleted Objects container)."""
    wanted = frozenset(guids)
    return wanted - present_guids(conn, wanted)


def _raw(values: Sequence[Value]) -> list[bytes]:
    return [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]


def _matches(live: Sequence[bytes], wanted: Sequence[Value]) -> bool:
    """Bytes exactly, or text ignoring case (DNs, names)."""
    raw = set(_raw(wanted))
    return {bytes(v) for v in live} == raw or {bytes(v).lower() for v in live} == {
        r.lower() for r in raw
    }


def recreate_step(conn: AdConnection, step: PlannedStep) -> str:
    """Perform a RECREATE step (one LDAP add); the new object's objectGUID. LDAP errors are the
    caller's."""
    if step.kind is not StepKind.RECREATE:
        raise ValueError(f"not a re-create step: {step.kind.value}")
    dn = str(step.values[0])
    conn.ldap.add_s(dn, [(name, _raw(values)) for name, values in step.entry])
    [(_dn, live)] = conn.ldap.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID"])
    lowered = {k.lower(): v for k, v in live.items()}
    return guid_text(bytes(lowered["objectguid"][0]))


def recreated_problem(conn: AdConnection, step: PlannedStep) -> str | None:
    """Read the re-created object back by DN: the attributes that differ from the entry, or
    ``None``. LDAP errors are the caller's."""
    dn = str(step.values[0])
    [(_dn, live)] = conn.ldap.search_s(
        dn, ldap.SCOPE_BASE, "(objectClass=*)", [n for n, _v in step.entry]
    )
    lowered = {k.lower(): v for k, v in live.items()}
    differ = [
        name
        for name, values in step.entry
        if name.lower() != "objectclass" and not _matches(lowered.get(name.lower(), []), values)
    ]
    if differ:
        return f"re-created, but read back different {', '.join(sorted(differ))}"
    return None
