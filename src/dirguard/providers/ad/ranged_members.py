"""A group's whole ``member`` list, by ranged retrieval.

AD returns at most MaxValRange values (1,500 on Windows Server 2003 and later) of a
multi-valued attribute in one answer: a larger group's ``member`` comes back as
``member;range=0-1499`` and the rest must be asked for as ``member;range=1500-*`` and so on,
until a range ending in ``*`` ("Searching Using Range Retrieval", Microsoft Learn,
https://learn.microsoft.com/windows/win32/adsi/searching-using-range-retrieval). Reading
``member`` plainly would see only the first 1,500 members — and a rule keeping the group in sync
would then take the others for non-members. Samba answers the same syntax (its
``ranged_results`` module).
"""

from __future__ import annotations

from typing import Any

import ldap

from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.base import SourceError

MAX_VAL_RANGE = 1500


def all_members(conn: Any, dn: str, *, step: int = MAX_VAL_RANGE) -> list[str]:
    """Every value of ``dn``'s ``member``, asked for ``step`` values at a time."""
    if step < 1:
        raise ValueError("step must be at least 1")
    found: list[str] = []
    start = 0
    while True:
        wanted = f"member;range={start}-{start + step - 1}"
        try:
            answer = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [wanted])
        except ldap.LDAPError as error:
            raise SourceError(f"reading the members of {dn}: {ldap_error_text(error)}") from None
        attrs: dict[str, list[bytes]] = answer[0][1] if answer else {}
        ranged = [k for k in attrs if k.lower().startswith("member;range=")]
        if not ranged:  # no range in the answer: every value came at once (or there is none)
            found += [v.decode() for v in attrs.get("member", [])]
            return found
        key = ranged[0]
        found += [v.decode() for v in attrs[key]]
        high = key.partition("=")[2].partition("-")[2]
        if high == "*":
            return found
        start = int(high) + 1
