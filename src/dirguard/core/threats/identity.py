"""Which object a rule means: by name or DN pattern, or by security identifier.

A pattern beginning ``S-1-`` is matched against the object's ``objectSid`` (the well-known
SIDs and RIDs of the privileged groups: ``S-1-5-32-544`` Administrators, ``S-1-5-21-*-512``
Domain Admins, ...), so renaming Domain Admins does not hide it from a rule. Any other pattern
is matched against the object's DN and name now and against the names it was first recorded
under, so a group without a fixed RID (DnsAdmins, made by the DNS server's installation) is
still found after a rename: it is looked up by the name it had when dirguard first saw it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from dirguard.core.threats.checks import glob_match

SID_PREFIX = "s-1-"


class Identities(Protocol):
    """Where the SID and the first recorded names of a stored object come from."""

    def sid(self, object_id: int) -> str | None: ...

    def first_names(self, object_id: int) -> Sequence[str]: ...


def is_sid_pattern(pattern: str) -> bool:
    return pattern.casefold().startswith(SID_PREFIX)


def sid_text(raw: Any) -> str | None:
    """The ``S-1-...`` text of a binary SID (MS-DTYP 2.4.2.2), or ``None`` when ``raw`` is not
    one (a text SID is returned as it is)."""
    if isinstance(raw, str):
        return raw if is_sid_pattern(raw) else None
    if not isinstance(raw, bytes | bytearray) or len(raw) < 8:
        return None
    revision, count = raw[0], raw[1]
    if revision != 1 or len(raw) != 8 + 4 * count:
        return None
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "-".join(["S", "1", str(authority), *map(str, subs)])


def content_sid(content: dict[str, Any]) -> str | None:
    """The SID of an object's stored content (``objectSid``), if it has one."""
    for key, value in content.items():
        if key.casefold() == "objectsid":
            first = value[0] if isinstance(value, list) and value else value
            return sid_text(first)
    return None


FIRST_NAME_KEYS = ("samaccountname", "name", "cn", "distinguishedname", "displayname")
"""Attributes of an object's first stored version it is also known by."""


def content_names(content: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in content.items():
        if key.casefold() in FIRST_NAME_KEYS:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item:
                    names.append(item)
    return names


def selects(
    patterns: Iterable[str],
    path: str | None,
    name: str | None,
    object_id: int | None,
    ids: Identities | None,
) -> bool:
    """Whether the object (its DN ``path``, its ``name``, and through ``ids`` its SID and
    first names) matches one of ``patterns``."""
    by_sid = [p for p in patterns if is_sid_pattern(p)]
    by_name = [p for p in patterns if not is_sid_pattern(p)]
    current = [n for n in (path, name) if n]
    if by_name and any(glob_match(n, by_name) for n in current):
        return True
    if ids is None or object_id is None:
        return False
    if by_sid and (sid := ids.sid(object_id)) is not None and glob_match(sid, by_sid):
        return True
    return bool(by_name) and any(glob_match(n, by_name) for n in ids.first_names(object_id))
