"""Grant an account rights on a container directly in a Samba DC's own database (``sam.ldb``).

This file is not imported by dirguard: ``samba_local_acl`` runs it with the Python that runs
``samba-tool`` (the one with Samba's own bindings), as root on the DC. It exists because Samba
refuses some descriptor changes over LDAP even to Domain Admins: ``CN=Deleted Objects`` is owned
by SYSTEM and gives Administrators no READ_CONTROL or WRITE_DAC, and Samba does not let an
administrator take ownership over LDAP, as Windows does. Opened locally with the system session,
the database allows it; the change still goes through Samba's modules (replication metadata,
audit log), as ``samba-tool`` changes do.

Arguments: ``--conf SMB_CONF --dn DN --sid SID --mask MASK``. Prints one JSON object:
``{"status": "present" | "added", "before": SDDL, "after": SDDL}``. Errors go to standard error
with exit code 1 (2 for bad arguments, from argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ACCESS_ALLOWED = 0
INHERITED_ACE = 0x10


def _held(descriptor: Any, sid: str, mask: int) -> bool:
    aces = descriptor.dacl.aces if descriptor.dacl is not None else []
    return any(
        ace.type == ACCESS_ALLOWED
        and not ace.flags & INHERITED_ACE
        and str(ace.trustee) == sid
        and ace.access_mask & mask == mask
        for ace in aces
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True, help="the DC's smb.conf")
    parser.add_argument("--dn", required=True, help="the container")
    parser.add_argument("--sid", required=True, help="the account's SID")
    parser.add_argument("--mask", required=True, type=lambda t: int(t, 0), help="access mask")
    args = parser.parse_args(argv)
    try:
        import ldb  # type: ignore[import-not-found]
        from samba import param  # type: ignore[import-not-found]
        from samba.auth import system_session  # type: ignore[import-not-found]
        from samba.dcerpc import security  # type: ignore[import-not-found]
        from samba.ndr import ndr_pack, ndr_unpack  # type: ignore[import-not-found]
        from samba.samdb import SamDB  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"Samba's Python bindings are not importable here: {exc}", file=sys.stderr)
        return 1
    try:
        lp = param.LoadParm()
        lp.load(args.conf)
        db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
        controls = ["show_deleted:1"]
        found = db.search(
            args.dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=controls
        )
        descriptor = ndr_unpack(security.descriptor, found[0]["nTSecurityDescriptor"][0])
        domain_sid = security.dom_sid(db.get_domain_sid())
        before = descriptor.as_sddl(domain_sid)
        if _held(descriptor, args.sid, args.mask):
            print(json.dumps({"status": "present", "before": before, "after": before}))
            return 0
        ace = security.ace()
        ace.type = security.SEC_ACE_TYPE_ACCESS_ALLOWED
        ace.access_mask = args.mask
        ace.trustee = security.dom_sid(args.sid)
        descriptor.dacl_add(ace)
        message = ldb.Message()
        message.dn = ldb.Dn(db, args.dn)
        message["nTSecurityDescriptor"] = ldb.MessageElement(
            ndr_pack(descriptor), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor"
        )
        db.modify(message, controls=controls)
        found = db.search(
            args.dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=controls
        )
        after = ndr_unpack(security.descriptor, found[0]["nTSecurityDescriptor"][0])
    except Exception as exc:  # reported to the caller, which names the DC
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"status": "added", "before": before, "after": after.as_sddl(domain_sid)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
