"""Security descriptor steps against the directory (planning them from the store is
:mod:`dirguard.providers.ad.sd.sd_history`).

:func:`write_security` writes the step's descriptor with the SD-flags server control
(1.2.840.113556.1.4.801) naming only the parts it carries (DACL; owner and group when they
changed), so the server replaces those and leaves the rest, the SACL included, alone.
:func:`security_conflict` and :func:`security_problem` compare explicit DACL ACEs only (the
server re-derives inherited ACEs from the parent and orders ACEs canonically).
"""

from __future__ import annotations

from collections.abc import Sequence

import ldap

from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.ldap_read import sd_flags_control
from dirguard.providers.ad.plan.restore_plan import PlannedStep
from dirguard.providers.ad.sd.dacl_edit import (
    GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
    with_owner_and_group,
)
from dirguard.providers.ad.sd.sd_restore import ATTRIBUTE, mismatch, sd_flags_of

COMPARED = "explicit ACEs compared; inherited ones come from the parent"


def read_security(conn: AdConnection, dn: str, flags: int) -> bytes:
    """``dn``'s descriptor holding the parts ``flags`` names."""
    found = conn.ldap.search_ext_s(
        dn, ldap.SCOPE_BASE, "(objectClass=*)", [ATTRIBUTE], serverctrls=[sd_flags_control(flags)]
    )
    values: list[bytes] = next(
        (v for k, v in found[0][1].items() if k.lower() == ATTRIBUTE.lower()), []
    )
    if not values:
        raise ldap.NO_SUCH_ATTRIBUTE(
            {
                "desc": "No such attribute",
                "info": f"the security descriptor of {dn} is not readable",
            }
        )
    return bytes(values[0])


def _descriptor_of(step: PlannedStep) -> bytes:
    value = step.values[0] if step.values else None
    if not isinstance(value, bytes):
        raise ValueError(f"step on {step.dn} carries no binary security descriptor")
    return value


def security_conflict(step: PlannedStep, live: Sequence[bytes]) -> str | None:
    """At apply time: the descriptor is no longer what the selected change left."""
    if not step.expected or not live or not isinstance(step.expected[0], bytes):
        return None
    flags = sd_flags_of(_descriptor_of(step))
    found = mismatch(step.expected[0], bytes(live[0]), flags)
    return None if found is None else f"its DACL changed again since ({COMPARED}): {found}"


def write_security(conn: AdConnection, step: PlannedStep, dn: str) -> str:
    """Write the step's descriptor; ``unchanged`` when the directory already holds it."""
    descriptor = _descriptor_of(step)
    flags = sd_flags_of(descriptor)
    if mismatch(descriptor, read_security(conn, dn, flags), flags) is None:
        return "unchanged"
    live_owner_group = read_security(
        conn, dn, OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION
    )
    descriptor = with_owner_and_group(descriptor, live_owner_group)
    conn.ldap.modify_ext_s(
        dn,
        [(ldap.MOD_REPLACE, ATTRIBUTE, [descriptor])],
        serverctrls=[sd_flags_control(flags)],
    )
    return "succeeded"


def security_problem(conn: AdConnection, step: PlannedStep, dn: str) -> str | None:
    """Read back: how the directory's descriptor differs from the intended one, or ``None``."""
    descriptor = _descriptor_of(step)
    flags = sd_flags_of(descriptor)
    found = mismatch(descriptor, read_security(conn, dn, flags), flags)
    return None if found is None else f"read back a different descriptor ({COMPARED}): {found}"
