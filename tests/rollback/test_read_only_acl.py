"""The default deployment (read-only mode) sees and undoes permission changes (the session's
real Samba AD DC, through the CLI).

A non-admin account reads ``nTSecurityDescriptor`` only when its search carries the SD-flags
control with a value naming the parts it may read (owner, group, DACL; the SACL needs the
security privilege). python-ldap's ``LDAPControl(oid, criticality, value)`` takes its third
argument as ``controlValue``, which the base class never encodes: the control went out empty,
the DC asked for every part and the read-only account got no descriptor at all, so an ACE change
was neither recorded nor rolled back in read-only mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.ldap_read import read_by_guid, sd_flags_control
from dirguard.providers.ad.sd.security_descriptor import parse_security_descriptor
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import Account, ro_account
from tests.rollback.helpers import guid_of, scratch_ou
from tests.rollback.test_acl_rollback import Cli, _dsacl_aces
from tests.rollback.test_elevation import _config
from tests.who.helpers import bind_as

__all__ = ["ro_account"]


def test_the_sd_flags_control_carries_its_value() -> None:
    control = sd_flags_control()
    assert control.encodeControlValue() == b"\x30\x03\x02\x01\x07"  # SEQUENCE { INTEGER 7 }


@pytest.mark.samba
def test_a_read_only_account_reads_the_descriptor(
    samba_dc: SambaDC, ldap_admin: Any, ro_account: Account, unique: Callable[[str], str]
) -> None:
    with scratch_ou(ldap_admin, f"OU={unique('rosd')},{samba_dc.base_dn}") as ou_dn:
        conn = bind_as(samba_dc, ro_account.upn, ro_account.password)
        try:
            entry = read_by_guid(conn, guid_of(ldap_admin, ou_dn))
            assert entry is not None
            [raw] = entry[1]["nTSecurityDescriptor"]
            parsed = parse_security_descriptor(raw)
            assert parsed.owner and parsed.dacl is not None and parsed.sacl is None
            [(_, attrs)] = conn.search_ext_s(
                ou_dn, ldap.SCOPE_BASE, attrlist=["nTSecurityDescriptor"]
            )
            assert "nTSecurityDescriptor" not in attrs, "without the control: nothing"
        finally:
            conn.unbind_s()


@pytest.mark.samba
def test_read_only_mode_captures_an_ace_change_with_its_actor_and_undoes_it_elevated(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    ro_account: Account,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    config, env = _config(tmp_path, samba_dc, ro_account)
    cli = Cli(config, env)
    with scratch_ou(ldap_admin, f"OU={unique('roacl')},{samba_dc.base_dn}") as ou_dn:
        cli("snapshot", "ad")
        before = _dsacl_aces(samba_tool("dsacl", "get", f"--objectdn={ou_dn}"))
        grant = f"(A;;RPWP;;;{ro_account.sid})"
        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl={grant}")
        cli("capture", "ad")
        [change] = cli("changes", "--object", ou_dn, "--attribute", "nTSecurityDescriptor")[
            "changes"
        ]
        assert change["details"], json.dumps(change)[:3000]
        assert [a["ace"] for a in change["details"]["aces_added"]] == [grant]
        assert change["actor"] and "administrator" in change["actor"].lower()

        plan = cli("rollback", "plan", "--event", str(change["sequence"]))
        applied = cli("rollback", "apply", str(plan["id"]))
        assert [s["status"] for s in applied["steps"]] == ["succeeded"], applied
        assert applied["elevations"], "read-only mode wrote only through an elevation"
        after = _dsacl_aces(samba_tool("dsacl", "get", f"--objectdn={ou_dn}"))
        assert sorted(after) == sorted(before)
