"""Shared helpers of the who-and-where tests: samba-tool as the admin, binds as a second account,
and Samba's own Python bindings (system python3) as an independent SDDL oracle."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import ldap

from dirguard.throwaway.samba_dc import SambaDC

DELEGATE_PASSWORD = "Deleg4te!Pass-x9"
SD_FLAGS_OWNER_GROUP_DACL_SACL = 0xF


def samba_tool(dc: SambaDC, *args: str) -> str:
    """Run samba-tool over LDAP as the admin; the password travels in PASSWD, not in argv."""
    env = {**os.environ, **dc.client_env(), "PASSWD": dc.admin_password}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        ["samba-tool", *args, "-H", dc.ldap_uri, "-U", dc.admin_user, "-s", str(dc.smb_conf)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"samba-tool {' '.join(args)}: {result.stderr[-800:]}"
    return result.stdout


def bind_as(dc: SambaDC, upn: str, password: str) -> Any:
    conn = ldap.initialize(dc.ldaps_uri)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(dc.ca_cert_path))
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    conn.simple_bind_s(upn, password)
    return conn


def read_attribute(conn: Any, dn: str, attribute: str) -> bytes:
    [(_, attrs)] = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [attribute])
    value: bytes = attrs[attribute][0]
    return value


_ORACLE = """
import json, sys
from samba.dcerpc import security
from samba.ndr import ndr_unpack
job = json.load(sys.stdin)
domain = security.dom_sid(job["domain_sid"])
out = []
for raw_hex, mine in job["items"]:
    theirs = ndr_unpack(security.descriptor, bytes.fromhex(raw_hex))
    reread = security.descriptor.from_sddl(mine, domain)
    out.append([theirs.as_sddl(domain), reread.as_sddl(domain)])
print(json.dumps(out))
"""


def samba_sddl(domain_sid: str, items: list[tuple[bytes, str]]) -> list[tuple[str, str]]:
    """For each (descriptor bytes, our SDDL): Samba's SDDL of the bytes, and Samba's SDDL of our
    SDDL read back by Samba. Equal pairs mean Samba and we describe the same descriptor."""
    payload = {"domain_sid": domain_sid, "items": [(raw.hex(), mine) for raw, mine in items]}
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    result = subprocess.run(
        ["/usr/bin/python3", "-c", _ORACLE],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"Samba's python bindings failed: {result.stderr[-800:]}")
    return [(a, b) for a, b in json.loads(result.stdout)]
