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


def all_values(
    conn: Any,
    dn: str,
    attribute: str = "member",
    *,
    step: int = MAX_VAL_RANGE,
    start: int = 0,
    serverctrls: list[Any] | None = None,
) -> list[bytes]:
    """Every value of ``dn``'s ``attribute`` from the ``start``-th on, asked for ``step``
    values at a time."""
    if step < 1:
        raise ValueError("step must be at least 1")
    found: list[bytes] = []
    prefix = f"{attribute.lower()};range="
    while True:
        wanted = f"{attribute};range={start}-{start + step - 1}"
        try:
            answer = conn.search_ext_s(
                dn, ldap.SCOPE_BASE, "(objectClass=*)", [wanted], serverctrls=serverctrls
            )
        except ldap.LDAPError as error:
            raise SourceError(
                f"reading the {attribute} values of {dn}: {ldap_error_text(error)}"
            ) from None
        attrs: dict[str, list[bytes]] = answer[0][1] if answer else {}
        ranged = [k for k in attrs if k.lower().startswith(prefix)]
        if not ranged:  # no range in the answer: every value came at once (or there is none)
            plain = next((v for k, v in attrs.items() if k.lower() == attribute.lower()), [])
            return found + list(plain)
        key = ranged[0]
        found += list(attrs[key])
        high = key.partition("=")[2].partition("-")[2]
        if high == "*":
            return found
        start = int(high) + 1


def all_members(conn: Any, dn: str, *, step: int = MAX_VAL_RANGE) -> list[str]:
    """Every value of ``dn``'s ``member``, asked for ``step`` values at a time."""
    return [v.decode() for v in all_values(conn, dn, "member", step=step)]


def completed(
    conn: Any,
    dn: str,
    attributes: dict[str, list[bytes]],
    attribute: str,
    serverctrls: list[Any] | None = None,
) -> list[bytes]:
    """``attribute``'s values in a search answer, completed by ranged retrieval when the DC
    sent only the first range (``member;range=0-1499``, a group past MaxValRange)."""
    name = attribute.lower()
    for key, values in attributes.items():
        if key.lower() == name:
            return list(values)
        if key.lower().startswith(f"{name};range="):
            high = key.partition("=")[2].partition("-")[2]
            if high == "*":
                return list(values)
            rest = all_values(conn, dn, attribute, start=int(high) + 1, serverctrls=serverctrls)
            return [*values, *rest]
    return []
